import {
  IPCT_DESTROY, IPCT_NEW, IPCT_REPLY, IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP,
  IPPROTO_UDP, IPPROTO_UDPLITE, IPS_ASSURED, IPS_CONFIRMED, IPS_DYING, IPS_FIXED_TIMEOUT,
  IPS_SEEN_REPLY, MAX_CHAINLEN, MIN_CHAINLEN,
} from './constants.js';
import { jiffiesAt } from '../core/time.js';
import { HashKey, reciprocalScale, tupleHash } from './hash.js';
import { Malformed, Pkt } from './packet.js';
import {
  genericPacket, grePacket, icmpInvertType, icmpIsError, icmpPacket, icmpv6InvertType, icmpv6Untracked,
  udpPacket, udplitePacket, udpRuleFor,
} from './proto-simple.js';
import { tcpCanEarlyDrop, tcpNew, tcpPacket, tcpTimeoutsJiffies, tcpValidFlags, type TcpSysctl } from './proto-tcp.js';
import { B_CLS, B_EXT, B_TPOL, H_OWNER, T_UDP_STREAM_TS, TcpStore } from './tcp-store.js';

/** Int32 words per slot of `Conntrack.side` and their offsets. */
export const SIDE_STRIDE = 3;
export const S_FLOW = 0;
export const S_BORN = 1;
export const S_LAST_SEEN = 2;
import { CT_EXT_TIMEOUT, entryBytesByMask, entryKernelBytes, BUCKET_HEAD_BYTES } from './sizing.js';
import {
  CtStats, REASON_EARLY_DROP, REASON_POLICY, REASON_PROBE, REASON_TCP_REOPEN, REASON_TCP_RST, REASON_TIMEOUT_EARLY_DROP_SCAN,
  REASON_TIMEOUT_GC, REASON_TIMEOUT_LOOKUP,
} from './stats.js';
import type { SysctlValues } from './sysctl.js';
import { ConntrackTable, H_L3ST, H_DST, H_PORTS, H_RPORTS, H_SRC, H_TIMEOUT, HOT_STRIDE } from './table.js';
import { makeTimeoutPolicy, type TimeoutSet } from './timeout-policy.js';
import { TrackerOut, VERDICT_ACCEPT, VERDICT_DROP, VERDICT_INVALID, VERDICT_REPEAT } from './tracker.js';

/** Kernel verdicts returned by `packetIn`. */
export const NF_DROP = 0;
export const NF_ACCEPT = 1;

/** `enum ip_conntrack_info` values the model reports for the last packet. */
export const IP_CT_ESTABLISHED = 0;
export const IP_CT_RELATED = 1;
export const IP_CT_NEW = 2;
export const IP_CT_ESTABLISHED_REPLY = 3;
export const IP_CT_RELATED_REPLY = 4;
/** Packet left conntrack without an entry (invalid, untracked, or dropped). */
export const IP_CT_NONE = -1;

/** Receives what the table does; the metrics layer and the event log implement it. */
export interface ConntrackObserver {
  /** An event message (§9.1): `mask` holds IPCT_* bits; DESTROY comes alone. Entry fields are readable. */
  event?(slot: number, mask: number): void;
  /** An entry leaves the table (REASON_* from stats.ts). Called before the slot is reused. */
  destroyed?(slot: number, reason: number): void;
  /** A new entry was confirmed. */
  confirmed?(slot: number): void;
}

/**
 * The hook points table-pressure policies use (all optional; none installed = the kernel).
 * Policies read the table and return decisions; the core applies and counts them.
 */
export interface PressureHooks {
  /**
   * The table is full and a new entry is needed (replaces the kernel's early_drop). Write the
   * victims' slots into `out` and return how many; 0 refuses, and the packet is dropped.
   */
  chooseVictims?: (bucket: number, out: Int32Array) => number;
  // may return KERNEL_EARLY_DROP to run the kernel's early_drop instead
  /** A refresh is about to set `timeout` jiffies on the entry: return the timeout to use. */
  timeout?: (slot: number, timeout: number) => number;
  /** The gc worker visits a live entry: return true to evict it (reason `policy`). */
  gcVisit?: (slot: number) => boolean;
}

/** `NatPath.confirmClash` results. */
export const CONFIRM_INSERT = 0;
export const CONFIRM_DROP = 1;
export const CONFIRM_MERGED = 2;
export const CONFIRM_CLASH_INSERTED = 3;

/**
 * Where NAT and the modelled multi-CPU race plug into the packet path (sim/nat implements it;
 * undefined when neither is configured, and then the path is exactly the plain conntrack one).
 */
export interface NatPath {
  /**
   * The NAT hooks for one packet attached to `slot` after the tracker accepted it: DNAT at
   * PRE_ROUTING, SNAT at POST_ROUTING (decisions on unconfirmed entries, translation of the
   * packet in place). Returns NF_ACCEPT or NF_DROP.
   */
  packet(slot: number, dir: number, isNew: boolean, pkt: Pkt): number;
  /**
   * Confirm-time clash check and resolution (docs/nat.md §3) for an unconfirmed entry whose
   * chains are `ob` (ORIGINAL) and `rb` (REPLY). Returns CONFIRM_*; after CONFIRM_MERGED the
   * packet belongs to `winner`; after CONFIRM_DROP the counters are already updated.
   */
  confirmClash(slot: number, ob: number, rb: number, pkt: Pkt): number;
  winner: number;
  /** An entry was linked into the table (normal or reply-only insertion). */
  linked(slot: number): void;
  /** A slot is about to be freed (bysource removal, NAT counters). */
  freed(slot: number): void;
  /** Kernel bytes NAT adds beyond the conntrack entries (extension areas, bysource array). */
  extraBytes(): number;
}

/** What `chooseVictims` returns to fall back to the kernel's early_drop. */
export const KERNEL_EARLY_DROP = -1;

/** Everything a conntrack instance needs; built from a scenario or the replay command. */
export interface ConntrackConfig {
  hz: number;
  /** Kernel [major, minor]: selects version-dependent rules. */
  version: readonly [number, number];
  sysctl: SysctlValues;
  hashKey: HashKey;
  /** Uniform [0,1) draws for the random chain-length limit (`get_random_u32_below`). */
  random: () => number;
  /** Whether a `conntrack -E` listener exists for the whole run (nf_conntrack_events = 2). */
  eventListener: boolean;
}

/**
 * One network namespace's conntrack: the table, the trackers and the per-packet path
 * (`nf_conntrack_in` → lookup / allocation → L4 tracker → confirm). Time comes from the caller
 * (`setNow`), in microseconds; the table keeps kernel jiffies.
 */
export class Conntrack {
  readonly table: ConntrackTable;
  tcp: TcpStore;
  readonly stats = new CtStats();
  readonly hz: number;
  /** `nf_conntrack_max` (0 = unlimited before v6.19). */
  readonly max: number;
  /** Per-netns count: entries allocated and not yet freed (§1.7). */
  count = 0;
  /** Current time in µs and in jiffies (`nfct_time_stamp`). */
  nowUs = 0;
  now32 = 0;
  /** Highest count reached, and the time (µs) of the first table-full drop (-1: none yet). */
  peakCount = 0;
  firstDropUs = -1;
  /** Time (µs) of the first allocation that found the table full (-1: none yet). */
  firstFullUs = -1;
  /** Set by a failed allocation; read and cleared by the gc worker (§3.3). */
  gcEarlyDrop = false;
  observer: ConntrackObserver | undefined;

  /**
   * Per-slot side record, SIDE_STRIDE int32 words: the flow id (which of its generator's flows
   * created the entry), jiffies at confirmation (`born`) and at the last packet (`lastSeen`).
   * The other per-entry fields (class, timeout set, extension bits, owner, UDP stream_ts) live in
   * the slot's 64-byte proto record (`tcp`, see tcp-store.ts). Read them with the accessors below.
   */
  side: Int32Array;

  /** Traffic class of the flow that created the entry. */
  clsOf(slot: number): number { return this.tcp.b[(slot << 6) + B_CLS]!; }
  /** Which generator (index + 1; 0 none) created the entry. */
  ownerOf(slot: number): number { return this.tcp.h[(slot << 5) + H_OWNER]!; }
  /** Which of its generator's flows created the entry. */
  flowOf(slot: number): number { return this.side[slot * SIDE_STRIDE + S_FLOW]!; }
  /** Jiffies at confirmation. */
  bornOf(slot: number): number { return this.side[slot * SIDE_STRIDE + S_BORN]!; }
  /** Jiffies at the last packet attached. */
  lastSeenOf(slot: number): number { return this.side[slot * SIDE_STRIDE + S_LAST_SEEN]!; }
  /** UDP `stream_ts` (jiffies; UDP entries only). */
  streamTsOf(slot: number): number { return this.tcp.w[(slot << 4) + T_UDP_STREAM_TS]!; }
  /** Index into `timeoutSets` (0 = no policy attached). */
  tpolOf(slot: number): number { return this.tcp.b[(slot << 6) + B_TPOL]!; }
  /** CT_EXT_* bits of the per-entry extensions the entry carries. */
  extMaskOf(slot: number): number { return this.tcp.b[(slot << 6) + B_EXT]!; }

  /** NAT / race path (sim/nat); undefined: plain conntrack. */
  nat: NatPath | undefined;
  /**
   * The modelled multi-CPU race (docs/nat.md §3.3): a new entry stays invisible to lookups from
   * other CPUs until `pendUntil[slot]` (µs). Null when one CPU is modelled.
   */
  pendUntil: Float64Array | null = null;
  pendCpu: Uint8Array | null = null;
  /** CPU the current packet is processed on, and how long a first packet stays unconfirmed. */
  curCpu = 0;
  raceDelayUs = 0;
  private raceCpus = 1;
  private raceDraw: (() => number) | undefined;

  /** Models `cpus` CPUs with a confirm delay of `delayUs`; `draw` gives uniform [0,1) draws for each packet's CPU. */
  enableRace(cpus: number, delayUs: number, draw: () => number): void {
    if (cpus <= 1) return;
    this.raceCpus = cpus;
    this.raceDelayUs = delayUs;
    this.raceDraw = draw;
    const cap = this.table.capacity;
    this.pendUntil = new Float64Array(cap);
    this.pendCpu = new Uint8Array(cap);
  }

  /** Whether lookups from the current CPU skip this entry (unconfirmed on another CPU). */
  invisible(slot: number): boolean {
    return this.pendUntil !== null && this.pendUntil[slot]! > this.nowUs && this.pendCpu![slot] !== this.curCpu;
  }

  // what the last packetIn did (read by generators)
  lastSlot = -1;
  lastCtinfo = IP_CT_NONE;

  /** Timeout sets: index 0 = the netns defaults (sysctls), then timeout policies (§7). */
  readonly timeoutSets: TimeoutSet[] = [];
  /**
   * Hook for attaching a timeout policy to a new entry (like a CT template's `--timeout`, or
   * nftables `ct timeout set`): returns an index into `timeoutSets`, 0 for none.
   */
  timeoutPolicyFor: ((pkt: Pkt) => number) | undefined;
  /** Kernel bytes per entry by extension mask (table-wide acct/ecache/tstamp included). */
  private readonly bytesByMask: Int32Array;
  /** Bytes live entries' per-entry extensions add over `entryBytes` (summed over live entries). */
  private extExtraBytes = 0;
  /** Highest kernelBytes() seen (entries and their extensions, at creation or when an extension is added). */
  peakKernelBytes = 0;
  private readonly udpRule: number;
  private readonly unlimitedMax: boolean;
  private readonly chainLimit: 'none' | 'old' | 'new';
  private readonly ecache: boolean;
  readonly entryBytes: number;
  private readonly out = new TrackerOut();
  readonly sys: SysctlValues;
  private readonly random: () => number;

  constructor(cfg: ConntrackConfig) {
    const s = cfg.sysctl;
    this.sys = s;
    this.hz = cfg.hz;
    this.random = cfg.random;
    this.max = s.nf_conntrack_max;
    const v = cfg.version[0] * 1000 + cfg.version[1];
    this.unlimitedMax = s.nf_conntrack_max === 0 && v < 6019;
    if (s.nf_conntrack_max === 0 && !this.unlimitedMax) throw new RangeError('nf_conntrack_max = 0 is not allowed from v6.19');
    this.chainLimit = v >= 6003 ? 'new' : v >= 5015 ? 'old' : 'none';
    this.udpRule = udpRuleFor(cfg.version);
    const cap = this.unlimitedMax ? 1024 : this.max;
    this.table = new ConntrackTable(s.nf_conntrack_buckets, cap, cfg.hashKey);
    this.tcp = new TcpStore(cap);
    this.side = new Int32Array(cap * SIDE_STRIDE);
    this.table.onGrow = (c) => this.growSide(c);
    const hz = cfg.hz;
    const j = (sec: number) => sec * hz;
    this.timeoutSets.push({
      name: 'default', l4proto: 0,
      tcp: tcpTimeoutsJiffies(s as unknown as Record<string, number>, hz),
      udpUnreplied: j(s.nf_conntrack_udp_timeout), udpReplied: j(s.nf_conntrack_udp_timeout_stream),
      icmp: j(s.nf_conntrack_icmp_timeout), icmpv6: j(s.nf_conntrack_icmpv6_timeout),
      generic: j(s.nf_conntrack_generic_timeout),
      greUnreplied: j(s.nf_conntrack_gre_timeout), greReplied: j(s.nf_conntrack_gre_timeout_stream),
    });
    this.ecache = s.nf_conntrack_events === 1 || (s.nf_conntrack_events === 2 && cfg.eventListener);
    this.eventsOn = this.ecache && cfg.eventListener;
    const ext = { acct: s.nf_conntrack_acct === 1, ecache: this.ecache, tstamp: s.nf_conntrack_timestamp === 1 };
    this.entryBytes = entryKernelBytes({ ...ext, timeout: false });
    this.bytesByMask = entryBytesByMask(ext);
    this.peakKernelBytes = this.kernelBytes();
  }

  /** Events are delivered only to entries with the ecache extension while a listener exists. */
  private readonly eventsOn: boolean;

  private growSide(c: number): void {
    const g8 = (a: Uint8Array) => { const b = new Uint8Array(c); b.set(a); return b; };
    const sd = new Int32Array(c * SIDE_STRIDE); sd.set(this.side); this.side = sd;
    if (this.pendUntil !== null) {
      const pu = new Float64Array(c); pu.set(this.pendUntil); this.pendUntil = pu;
      this.pendCpu = g8(this.pendCpu!);
    }
    const old = this.tcp;
    const nt = new TcpStore(c);
    nt.copyFrom(old);
    this.tcp = nt;
  }

  /** Advances the clock (µs, never backwards). */
  setNow(us: number): void {
    this.nowUs = us;
    this.now32 = jiffiesAt(us, this.hz) | 0;
  }

  /** Kernel bytes the table uses now: bucket array plus every counted entry (§10.3). */
  kernelBytes(): number {
    const natBytes = this.nat === undefined ? 0 : this.nat.extraBytes();
    return this.table.nbuckets * BUCKET_HEAD_BYTES + this.count * this.entryBytes + this.extExtraBytes + natBytes;
  }

  /**
   * Attaches a per-entry extension (CT_EXT_* bit) to an entry: its extension area grows, maybe
   * into the next kmalloc size class (§10.2). Idempotent. @see nf_ct_ext_add
   */
  addExtension(slot: number, bit: number): void {
    const m = this.extMaskOf(slot);
    if ((m & bit) !== 0) return;
    this.extExtraBytes += this.bytesByMask[m | bit]! - this.bytesByMask[m]!;
    this.tcp.b[(slot << 6) + B_EXT] = m | bit;
    this.notePeakBytes();
  }

  private notePeakBytes(): void {
    const b = this.kernelBytes();
    if (b > this.peakKernelBytes) this.peakKernelBytes = b;
  }

  isExpired(slot: number): boolean {
    return ((this.table.timeoutOf(slot) - this.now32) | 0) <= 0;
  }

  /** Jiffies left before the entry expires (0 when expired). @see nf_ct_expires */
  remaining(slot: number): number {
    const r = (this.table.timeoutOf(slot) - this.now32) | 0;
    return r > 0 ? r : 0;
  }

  /**
   * Deletes a confirmed entry: DESTROY event, unlink both nodes, free, count--.
   * @see nf_ct_delete, nf_ct_kill
   */
  destroy(slot: number, reason: number): void {
    const tb = this.table;
    tb.orStatus(slot, IPS_DYING);
    if (this.eventsOn) this.observer?.event?.(slot, 1 << IPCT_DESTROY);
    this.observer?.destroyed?.(slot, reason);
    tb.unlink(slot * 2);
    tb.unlink(slot * 2 + 1);
    this.release(slot);
  }

  /** Returns a slot to the free list and decrements the count. @see nf_conntrack_free */
  private release(slot: number): void {
    if (this.nat !== undefined) this.nat.freed(slot);
    const tb8 = this.tcp.b;
    tb8[(slot << 6) + B_TPOL] = 0;
    const m = tb8[(slot << 6) + B_EXT]!;
    if (m !== 0) {
      this.extExtraBytes -= this.bytesByMask[m]! - this.bytesByMask[0]!;
      tb8[(slot << 6) + B_EXT] = 0;
    }
    this.table.freeSlot(slot);
    this.count--;
  }

  /** Frees an entry that never made it into the hash (no events). @see nf_conntrack_free */
  freeUnconfirmed(slot: number): void {
    this.release(slot);
    this.stats.freed_unconfirmed++;
  }

  /**
   * Walks the chain of a tuple's bucket and returns the matching node, or -1. Expired entries
   * passed on the way are reaped (§3.4); the walk stops at the match.
   * @see ____nf_conntrack_find
   */
  find(src: number, dst: number, ports: number, l3proto: number): number {
    return this.findHashed(src, dst, ports, l3proto, tupleHash(this.table.key, src, dst, ports, l3proto));
  }

  /** `find` with the tuple's raw hash already computed (the packet path reuses it at allocation). */
  private findHashed(src: number, dst: number, ports: number, l3proto: number, hash: number): number {
    const tb = this.table;
    const h = tb.hot; // one 32-byte record per slot: a chain node costs one cache line
    const b = reciprocalScale(hash, tb.nbuckets);
    let node = tb.headOf(b);
    while (node >= 0) {
      const slot = node >> 1;
      const r = slot * HOT_STRIDE;
      let next = h[r + (node & 1)]!;
      if (((h[r + H_TIMEOUT]! - this.now32) | 0) <= 0) {
        if (next >= 0 && next >> 1 === slot) next = h[r + (next & 1)]!;
        this.stats.reaped_lookup++;
        this.destroy(slot, REASON_TIMEOUT_LOOKUP);
        node = next;
        continue;
      }
      if (h[r + H_L3ST]! >>> 16 === l3proto && (this.pendUntil === null || !this.invisible(slot))) {
        if ((node & 1) === 0) {
          if (h[r + H_SRC] === src && h[r + H_DST] === dst && h[r + H_PORTS] === ports) return node;
        } else if (tb.rsrc === null) {
          if (h[r + H_DST] === src && h[r + H_SRC] === dst && h[r + H_RPORTS] === ports) return node;
        } else if (tb.rsrc[slot] === src && tb.rdst![slot] === dst && h[r + H_RPORTS] === ports) {
          return node;
        }
      }
      node = next;
    }
    return -1;
  }


  /**
   * The allocation-path early drop (§2.1): scan NF_CT_EVICTION_RANGE buckets from the new
   * flow's bucket; reap expired entries without counting them; delete every non-ASSURED, live
   * entry of the first bucket that has any. Returns true when something was dropped.
   * @see early_drop, early_drop_list
   */
  earlyDrop(bucket: number): boolean {
    const tb = this.table;
    const h = tb.hot;
    const nb = tb.nbuckets;
    let b = bucket;
    for (let i = 0; i < 8; i++) {
      if (i > 0) b = (b + 1) % nb;
      let drops = 0;
      let node = tb.headOf(b);
      while (node >= 0) {
        const slot = node >> 1;
        const r = slot * HOT_STRIDE;
        // an entry's partner node right behind it gets the same decision: step over it, so
        // that deleting the entry does not cut the walk short
        let next = h[r + (node & 1)]!;
        if (next >= 0 && next >> 1 === slot) next = h[r + (next & 1)]!;
        if (((h[r + H_TIMEOUT]! - this.now32) | 0) <= 0) {
          this.stats.reaped_early_drop++;
          this.destroy(slot, REASON_TIMEOUT_EARLY_DROP_SCAN);
        } else if ((h[r + H_L3ST]! & (IPS_ASSURED | IPS_DYING)) === 0) {
          this.destroy(slot, REASON_EARLY_DROP);
          drops++;
        }
        node = next;
      }
      if (drops > 0) {
        this.stats.early_drop += drops;
        return true;
      }
    }
    return false;
  }


  /** Whether the gc's 95% mode may evict this entry (§3.3). @see gc_worker_can_early_drop */
  gcCanEarlyDrop(slot: number): boolean {
    if ((this.table.statusOf(slot) & IPS_ASSURED) === 0) return true;
    return (this.table.l3protoOf(slot) & 0xff) === IPPROTO_TCP && tcpCanEarlyDrop(this.tcp, slot);
  }

  /** Where table-pressure policies plug in (empty: the kernel's own behaviour). */
  readonly hooks: PressureHooks = {};
  private readonly victims = new Int32Array(4096);

  /**
   * One packet through conntrack at the current time (call `setNow` first). Returns NF_ACCEPT
   * or NF_DROP; `lastSlot`/`lastCtinfo` tell what it was attached to.
   * @see nf_conntrack_in
   */
  packetIn(pkt: Pkt): number {
    this.lastSlot = -1;
    this.lastCtinfo = IP_CT_NONE;
    const st = this.stats;
    if (pkt.malformed === Malformed.TruncatedL3 || pkt.malformed === Malformed.TruncatedL4) {
      // no tuple could be built (§1.6 step 1); ICMP header errors count in `error` instead
      if (pkt.proto === IPPROTO_ICMP || pkt.proto === IPPROTO_ICMPV6) st.error++;
      else st.invalid++;
      return NF_ACCEPT;
    }
    const proto = pkt.proto;
    if (this.raceDraw !== undefined) this.curCpu = Math.floor(this.raceDraw() * this.raceCpus);
    if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
      const r = this.icmpPre(pkt);
      if (r >= 0) return r;
    }
    const l3proto = (pkt.l3 << 8) | proto;
    const ports = ((pkt.sport << 16) | pkt.dport) | 0;
    for (;;) {
      const tb = this.table;
      const hash = tupleHash(tb.key, pkt.src, pkt.dst, ports, l3proto);
      const node = this.findHashed(pkt.src, pkt.dst, ports, l3proto, hash);
      let slot: number;
      let dir: number;
      let isNew = false;
      if (node < 0) {
        const rports = this.replyPorts(pkt, ports);
        if (rports === null) {
          st.invalid++;
          return NF_ACCEPT;
        }
        slot = this.alloc(hash);
        if (slot < 0) {
          st.drop++;
          return NF_DROP;
        }
        tb.fillTuple(slot, pkt.src, pkt.dst, ports, rports, l3proto);
        this.tcp.b[(slot << 6) + B_CLS] = pkt.cls;
        this.tcp.h[(slot << 5) + H_OWNER] = pkt.owner;
        this.side[slot * SIDE_STRIDE + S_FLOW] = pkt.flow;
        if (this.timeoutPolicyFor !== undefined) {
          const tp = this.timeoutPolicyFor(pkt);
          if (tp !== 0) {
            this.tcp.b[(slot << 6) + B_TPOL] = tp;
            this.addExtension(slot, CT_EXT_TIMEOUT);
          }
        }
        this.notePeakBytes();
        dir = 0;
        isNew = true;
      } else {
        slot = node >> 1;
        dir = node & 1;
      }
      const status = tb.statusOf(slot);
      const out = this.out.reset();
      this.track(slot, dir, pkt, status, isNew, out);
      if (out.refresh && (status & IPS_FIXED_TIMEOUT) === 0) {
        const th = this.hooks.timeout;
        const to = th === undefined ? out.timeout : th(slot, out.timeout);
        tb.setTimeoutOf(slot, isNew ? to : (this.now32 + to) | 0);
      }
      if (out.verdict !== VERDICT_ACCEPT) {
        if (out.verdict === VERDICT_REPEAT) {
          st.killed_reopen++;
          this.destroy(slot, REASON_TCP_REOPEN);
          continue;
        }
        st.invalid++;
        if (out.verdict === VERDICT_DROP) st.drop++;
        if (isNew) this.freeUnconfirmed(slot);
        return out.verdict === VERDICT_DROP ? NF_DROP : NF_ACCEPT;
      }
      let events = out.events;
      tb.orStatus(slot, out.setStatus);
      const ctinfo = dir === 1 ? IP_CT_ESTABLISHED_REPLY : (status & IPS_SEEN_REPLY) !== 0 ? IP_CT_ESTABLISHED : IP_CT_NEW;
      if (this.nat !== undefined && this.nat.packet(slot, dir, isNew, pkt) === NF_DROP) {
        if (isNew) this.freeUnconfirmed(slot);
        return NF_DROP;
      }
      if (out.kill) {
        // the tracker deletes the entry itself (nf_ct_kill_acct), before nf_conntrack_in sets
        // SEEN_REPLY: the DESTROY event of a refused connection still says [UNREPLIED]
        st.killed_rst++;
        this.destroy(slot, REASON_TCP_RST);
        this.lastCtinfo = ctinfo;
        return NF_ACCEPT;
      }
      if (dir === 1 && (tb.statusOf(slot) & IPS_SEEN_REPLY) === 0) {
        tb.orStatus(slot, IPS_SEEN_REPLY);
        events |= 1 << IPCT_REPLY;
      }
      if (isNew) {
        const c = this.confirm(slot, hash, pkt);
        if (c < 0) return NF_DROP;
        if (c === 0) events |= 1 << IPCT_NEW;
        else {
          // merged into the entry that confirmed first (docs/nat.md §3.2 b)
          slot = this.nat!.winner;
          events = 0;
        }
      }
      this.side[slot * SIDE_STRIDE + S_LAST_SEEN] = this.now32;
      this.lastSlot = slot;
      this.lastCtinfo = ctinfo;
      if (events !== 0 && this.eventsOn) this.observer?.event?.(slot, events);
      return NF_ACCEPT;
    }
  }

  /** Reply-direction port word, or null when the tuple cannot be inverted. @see nf_ct_invert_tuple */
  private replyPorts(pkt: Pkt, ports: number): number | null {
    const p = pkt.proto;
    if (p === IPPROTO_ICMP || p === IPPROTO_ICMPV6) {
      const type = pkt.dport >> 8;
      const inv = p === IPPROTO_ICMP ? icmpInvertType(type) : icmpv6InvertType(type);
      if (inv < 0) return null;
      return ((pkt.sport << 16) | (inv << 8) | (pkt.dport & 0xff)) | 0;
    }
    return ((ports << 16) | (ports >>> 16)) | 0;
  }

  /**
   * Allocation with the table-full check (§2.1). Returns a slot, or -1 when the table is full
   * and early drop found nothing (the gc's 95% flag is then raised).
   * @see __nf_conntrack_alloc
   */
  private alloc(hash: number): number {
    const ct = ++this.count;
    if (!this.unlimitedMax && ct > this.max) {
      if (this.firstFullUs < 0) this.firstFullUs = this.nowUs;
      const b = reciprocalScale(hash, this.table.nbuckets);
      const choose = this.hooks.chooseVictims;
      let ok: boolean;
      if (choose === undefined) ok = this.earlyDrop(b);
      else {
        const n = choose(b, this.victims);
        ok = n === KERNEL_EARLY_DROP ? this.earlyDrop(b) : this.evictVictims(n);
      }
      if (!ok) {
        this.gcEarlyDrop = true;
        this.count--;
        if (this.firstDropUs < 0) this.firstDropUs = this.nowUs;
        return -1;
      }
    }
    if (this.count > this.peakCount) this.peakCount = this.count;
    const slot = this.table.allocSlot(this.unlimitedMax);
    if (slot < 0) throw new Error(`conntrack invariant: no free slot at count ${this.count}, max ${this.max}`);
    this.stats.allocated++;
    return slot;
  }

  /** Deletes the first `n` slots of the victim buffer on a policy's behalf. */
  private evictVictims(n: number): boolean {
    const tb = this.table;
    for (let i = 0; i < n; i++) {
      const slot = this.victims[i]!;
      if ((tb.statusOf(slot) & IPS_CONFIRMED) === 0 || (tb.statusOf(slot) & IPS_DYING) !== 0) {
        throw new Error(`policy chose slot ${slot}, which is not a live confirmed entry`);
      }
      if (this.isExpired(slot)) {
        this.stats.reaped_early_drop++;
        this.destroy(slot, REASON_TIMEOUT_EARLY_DROP_SCAN);
      } else {
        this.stats.evicted_policy++;
        this.destroy(slot, REASON_POLICY);
      }
    }
    return n > 0;
  }

  /**
   * Insert both nodes at the head of their chains after the chain-length check (§1.8); the
   * timeout becomes absolute. Returns false (entry freed) when a chain is too long.
   * @see __nf_conntrack_confirm
   */
  private confirm(slot: number, hash: number, pkt: Pkt): number {
    const tb = this.table;
    const ob = reciprocalScale(hash, tb.nbuckets);
    const rb = tb.bucketOf(tb.replySrc(slot), tb.replyDst(slot), tb.rportsOf(slot), tb.l3protoOf(slot));
    if (this.chainLimit !== 'none') {
      const limit = this.chainLimit === 'new'
        ? MIN_CHAINLEN + Math.floor(this.random() * MAX_CHAINLEN)
        : 8 + Math.floor(this.random() * 24);
      // "chainlen++ > max_chainlen" fails on the (limit + 2)-th node of either chain
      if (tb.chainLength(ob) > limit + 1 || tb.chainLength(rb) > limit + 1) {
        this.stats.chaintoolong++;
        this.stats.insert_failed++;
        this.freeUnconfirmed(slot);
        return -1;
      }
    }
    const nat = this.nat;
    if (nat !== undefined) {
      const r = nat.confirmClash(slot, ob, rb, pkt);
      if (r === CONFIRM_DROP) {
        this.freeUnconfirmed(slot);
        return -1;
      }
      if (r === CONFIRM_MERGED) {
        this.freeUnconfirmed(slot);
        return 1;
      }
      if (r === CONFIRM_CLASH_INSERTED) {
        // reply-only insertion: the ORIGINAL node stays unhashed; the fixed 1 s timeout is set
        tb.linkHead(slot * 2 + 1, rb);
        this.linked(slot);
        return 0;
      }
    }
    tb.setTimeoutOf(slot, (tb.timeoutOf(slot) + this.now32) | 0);
    tb.linkHead(slot * 2, ob);
    tb.linkHead(slot * 2 + 1, rb);
    this.linked(slot);
    return 0;
  }

  private linked(slot: number): void {
    const tb = this.table;
    tb.orStatus(slot, IPS_CONFIRMED);
    this.side[slot * SIDE_STRIDE + S_BORN] = this.now32;
    if (this.pendUntil !== null) {
      this.pendUntil[slot] = this.nowUs + this.raceDelayUs;
      this.pendCpu![slot] = this.curCpu;
    }
    this.stats.confirmed++;
    this.nat?.linked(slot);
    this.observer?.confirmed?.(slot);
  }

  /** Runs the L4 tracker for one packet (§4–§6). */
  private track(slot: number, dir: number, pkt: Pkt, status: number, isNew: boolean, out: TrackerOut): void {
    const t = this.timeoutSets[this.tpolOf(slot)]!;
    switch (pkt.proto) {
      case IPPROTO_TCP: {
        // tcp_error(): header and flag checks run inside the tracker, after allocation (§2.1)
        if (pkt.malformed !== 0 || !tcpValidFlags(pkt.tcpFlags)) { out.verdict = VERDICT_INVALID; return; }
        if (isNew && !tcpNew(this.tcp, slot, pkt, this.tcpSys)) { out.verdict = VERDICT_INVALID; return; }
        tcpPacket(this.tcp, slot, dir, pkt, status, t.tcp, isNew ? 0 : this.remaining(slot), this.tcpSys, out);
        return;
      }
      case IPPROTO_UDP:
        if (pkt.malformed !== 0) { out.verdict = VERDICT_INVALID; return; }
        if (isNew) this.tcp.w[(slot << 4) + T_UDP_STREAM_TS] = (this.now32 + 2 * this.hz) | 0;
        udpPacket(status, this.now32, this.streamTsOf(slot), t.udpUnreplied, t.udpReplied, this.udpRule, out);
        return;
      case IPPROTO_UDPLITE:
        if (pkt.malformed !== 0) { out.verdict = VERDICT_INVALID; return; }
        udplitePacket(status, t.udpUnreplied, t.udpReplied, out);
        return;
      case IPPROTO_ICMP:
        icmpPacket(status, pkt.dport >> 8, false, t.icmp, out);
        return;
      case IPPROTO_ICMPV6:
        icmpPacket(status, pkt.dport >> 8, true, t.icmpv6, out);
        return;
      case IPPROTO_GRE:
        grePacket(status, t.greUnreplied, t.greReplied, out);
        return;
      default:
        genericPacket(t.generic, out);
    }
  }

  /**
   * Adds a timeout policy (unset fields take the netns defaults) and returns its index for
   * `timeoutPolicyFor`. @see nf_ct_timeout_lookup
   */
  addTimeoutPolicy(name: string, proto: string, seconds: Record<string, number>): number {
    if (this.timeoutSets.length >= 255) throw new RangeError('at most 254 timeout policies');
    this.timeoutSets.push(makeTimeoutPolicy(this.timeoutSets[0]!, name, proto, seconds, this.hz));
    return this.timeoutSets.length - 1;
  }

  private get tcpSys() {
    const s = this.sys;
    return this._tcpSys ??= {
      tcp_loose: s.nf_conntrack_tcp_loose, tcp_be_liberal: s.nf_conntrack_tcp_be_liberal,
      tcp_ignore_invalid_rst: s.nf_conntrack_tcp_ignore_invalid_rst, tcp_max_retrans: s.nf_conntrack_tcp_max_retrans,
      hz: this.hz,
    };
  }
  private _tcpSys: TcpSysctl | undefined;

  /**
   * ICMP/ICMPv6 before the normal lookup (§6.1, §6.2): invalid types, untracked ND/MLD, and
   * errors attached as RELATED to the entry of their embedded packet. Returns a verdict when
   * the packet is done, or -1 to continue with the normal path (queries).
   * @see nf_conntrack_icmpv4_error, nf_conntrack_icmpv6_error, nf_conntrack_inet_error
   */
  private icmpPre(pkt: Pkt): number {
    const st = this.stats;
    const type = pkt.dport >> 8;
    const v6 = pkt.proto === IPPROTO_ICMPV6;
    if (pkt.malformed !== 0) { st.error++; return NF_ACCEPT; }
    if (v6) {
      if (icmpv6Untracked(type)) { st.untracked++; return NF_ACCEPT; }
      if (type >= 128) return -1;
    } else {
      if (type > 18) { st.error++; return NF_ACCEPT; }
      if (!icmpIsError(type)) return -1;
    }
    // error message: look up the inverted embedded tuple
    if (!pkt.innerValid) { st.error++; return NF_ACCEPT; }
    const ip = pkt.innerProto;
    const src = pkt.innerDst, dst = pkt.innerSrc;
    let ports: number;
    if (ip === IPPROTO_ICMP || ip === IPPROTO_ICMPV6) {
      const inv = ip === IPPROTO_ICMP ? icmpInvertType(pkt.innerDport >> 8) : icmpv6InvertType(pkt.innerDport >> 8);
      if (inv < 0) { st.error++; return NF_ACCEPT; }
      ports = ((pkt.innerSport << 16) | (inv << 8) | (pkt.innerDport & 0xff)) | 0;
    } else {
      ports = ((pkt.innerDport << 16) | pkt.innerSport) | 0;
    }
    const node = this.find(src, dst, ports, (pkt.l3 << 8) | ip);
    if (node < 0) { st.error++; return NF_ACCEPT; }
    const slot = node >> 1;
    const tb = this.table;
    const ctDst = (node & 1) === 0 ? tb.dstOf(slot) : tb.srcOf(slot);
    if (ctDst !== pkt.dst) { st.error++; return NF_ACCEPT; }
    st.related++;
    this.lastSlot = slot;
    this.lastCtinfo = (node & 1) === 0 ? IP_CT_RELATED : IP_CT_RELATED_REPLY;

    return NF_ACCEPT;
  }

  /** Jiffies since the last packet attached to the entry. */
  idle(slot: number): number {
    return (this.now32 - this.lastSeenOf(slot)) | 0;
  }

  /**
   * Both endpoints answered a keepalive probe: re-arm the entry's timeout for the length its
   * last refresh gave it, as a packet of the flow would (not for IPS_FIXED_TIMEOUT entries).
   */
  probeRefresh(slot: number): void {
    const tb = this.table;
    const len = (tb.timeoutOf(slot) - this.lastSeenOf(slot)) | 0;
    if (len > 0 && (tb.statusOf(slot) & IPS_FIXED_TIMEOUT) === 0) tb.setTimeoutOf(slot, (this.now32 + len) | 0);
    this.side[slot * SIDE_STRIDE + S_LAST_SEEN] = this.now32;
  }

  /** Evicts an entry whose endpoints did not answer keepalive probes. */
  evictProbe(slot: number): void {
    this.stats.evicted_probe++;
    this.destroy(slot, REASON_PROBE);
  }

  /** Kills every entry (conntrack -F). */
  flush(reason: number): void {
    const tb = this.table;
    for (let b = 0; b < tb.nbuckets; b++) {
      while (tb.headOf(b) >= 0) this.destroy(tb.headOf(b) >> 1, reason);
    }
  }

  /** Reaps an expired entry on behalf of the gc worker. */
  reapGc(slot: number): void {
    this.stats.reaped_gc++;
    this.destroy(slot, REASON_TIMEOUT_GC);
  }
}
