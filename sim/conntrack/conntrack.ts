import {
  IPCT_DESTROY, IPCT_NEW, IPCT_PROTOINFO, IPCT_REPLY, TH_ACK, TH_FIN, TH_RST, TH_SYN, IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP,
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
import { B_CLS, B_EXT, B_STATE, B_TPOL, H_OWNER, T_UDP_STREAM_TS, TcpStore } from './tcp-store.js';
import { TCP_CONNTRACK_CLOSE } from './proto-tcp-const.js';

/** Int32 words per slot of `Conntrack.side` and their offsets. */
export const SIDE_STRIDE = 1;
export const S_FLOW = 0;
import { CT_EXT_ACCT, CT_EXT_SEQADJ, CT_EXT_SYNPROXY, CT_EXT_TIMEOUT, CT_EXT_TSTAMP, entryBytesByMask, BUCKET_HEAD_BYTES, roundBuckets } from './sizing.js';
import {
  CtStats, REASON_EARLY_DROP, REASON_POLICY, REASON_PROBE, REASON_TCP_REOPEN, REASON_TCP_RST, REASON_TIMEOUT_EARLY_DROP_SCAN,
  REASON_TIMEOUT_GC, REASON_TIMEOUT_LOOKUP,
} from './stats.js';
import type { SysctlName, SysctlValues } from './sysctl.js';
import { BKT_INLINE, BKT_STRIDE, ConntrackTable, H_BORN, H_L3ST, H_DST, H_LAST_SEEN, H_PORTS, H_RPORTS, H_SRC, H_TIMEOUT, HOT_STRIDE } from './table.js';
import { makeTimeoutPolicy, type TimeoutSet } from './timeout-policy.js';
import { TrackerOut, VERDICT_ACCEPT, VERDICT_DROP, VERDICT_INVALID, VERDICT_REPEAT } from './tracker.js';

/** Kernel verdicts returned by `packetIn`. */
export const NF_DROP = 0;
export const NF_ACCEPT = 1;
/** A rule consumed the packet (synproxy answering a SYN). */
export const NF_STOLEN = 2;
/**
 * A `reject` rule dropped the packet and sent an error back (TCP RST / ICMP unreachable). Not a
 * kernel verdict value (nft_reject_*_eval() sends the error and returns NF_DROP): the model
 * returns it so that the sender learns of the error at once.
 */
export const NF_REJECT = 16;

/** `enum ip_conntrack_info` values the model reports for the last packet. */
export const IP_CT_ESTABLISHED = 0;
export const IP_CT_RELATED = 1;
export const IP_CT_NEW = 2;
export const IP_CT_ESTABLISHED_REPLY = 3;
export const IP_CT_RELATED_REPLY = 4;
/** Packet left conntrack without an entry (invalid, or dropped). */
export const IP_CT_NONE = -1;
/** The packet is UNTRACKED (a `notrack` rule, ICMPv6 ND/MLD): `ct state untracked`. */
export const IP_CT_UNTRACKED = 7;

/**
 * Stages of the rule path (where `RulePath.run` is called in `packetIn`, in the kernel's hook order):
 * RAW before conntrack (prerouting chains with priority < -200), CT between conntrack and DNAT
 * (prerouting -200 ≤ p < -100), ROUTED after DNAT (prerouting p ≥ -100, then input or forward,
 * then postrouting p < 100), SNAT after the SNAT decision (postrouting p ≥ 100), before confirm.
 */
export const RULE_STAGE_RAW = 0;
export const RULE_STAGE_CT = 1;
export const RULE_STAGE_ROUTED = 2;
export const RULE_STAGE_SNAT = 3;

/**
 * Where filter/raw rules plug into the packet path (sim/rules/path.ts implements it; undefined:
 * no rules, and the path is exactly the plain conntrack one).
 */
export interface RulePath {
  /** Runs the chains of `stage`; returns NF_ACCEPT, NF_DROP, NF_STOLEN or NF_REJECT. */
  run(stage: number, pkt: Pkt, slot: number, ctinfo: number, untracked: boolean): number;
  /** After RULE_STAGE_RAW: whether `notrack` made the packet untracked, and a `ct zone set` zone (-1 none). */
  readonly untracked: boolean;
  readonly zone: number;
  /** After RULE_STAGE_ROUTED: whether the packet was delivered locally (input) rather than forwarded. */
  readonly local: boolean;
  /** After a stage returned NF_REJECT: what goes back (REJECT_TCP_RST 1, REJECT_ICMP_UNREACH 0) and the ICMP/ICMPv6 code. */
  readonly rejectKind: number;
  readonly rejectCode: number;
  /** The output and postrouting chains for a packet the firewall itself sends (a reject's RST / ICMP error). */
  runLocal(pkt: Pkt, slot: number, ctinfo: number): number;
}

/** RulePath.rejectKind values (as NFT_REJECT_ICMP_UNREACH / NFT_REJECT_TCP_RST). */
export const REJECT_ICMP_UNREACH = 0;
export const REJECT_TCP_RST = 1;

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
   * packet in place). Returns NF_ACCEPT or NF_DROP. Same as `dnat` then `snat`.
   */
  packet(slot: number, dir: number, isNew: boolean, pkt: Pkt): number;
  /** The PRE_ROUTING half (DST manip): decision on a new entry, translation. */
  dnat(slot: number, dir: number, isNew: boolean, pkt: Pkt): number;
  /** The POST_ROUTING half (SRC manip), or LOCAL_IN's when `local` (a packet delivered to the host). */
  snat(slot: number, dir: number, isNew: boolean, pkt: Pkt, local: boolean): number;
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

/**
 * Owner of the SEQADJ extension's data (sim/synproxy): the sequence offset of an entry's
 * direction, which the TCP tracker subtracts from the other direction's acks (§4.7).
 * @see nf_ct_seq_offset
 */
export interface SeqAdjProvider {
  offset(slot: number, dir: number): number;
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
  /** `nf_conntrack_max` (0 = unlimited before v6.19); an action may change it (`setSysctl`). */
  max: number;
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
   * created the entry). Jiffies at confirmation (`born`) and at the last packet (`lastSeen`) are
   * in the hot record (table.ts); the other per-entry fields (class, timeout set, extension bits,
   * owner, UDP stream_ts) live in the slot's 64-byte proto record (`tcp`, see tcp-store.ts). Read
   * them with the accessors below.
   */
  side: Int32Array;

  /** Traffic class of the flow that created the entry. */
  clsOf(slot: number): number { return this.tcp.b[(slot << 6) + B_CLS]!; }
  /** Which generator (index + 1; 0 none) created the entry. */
  ownerOf(slot: number): number { return this.tcp.h[(slot << 5) + H_OWNER]!; }
  /** Which of its generator's flows created the entry. */
  flowOf(slot: number): number { return this.side[slot * SIDE_STRIDE + S_FLOW]!; }
  /** Jiffies at confirmation. */
  bornOf(slot: number): number { return this.table.hot[slot * HOT_STRIDE + H_BORN]!; }
  /** Jiffies at the last packet attached. */
  lastSeenOf(slot: number): number { return this.table.hot[slot * HOT_STRIDE + H_LAST_SEEN]!; }
  /** UDP `stream_ts` (jiffies; UDP entries only). */
  streamTsOf(slot: number): number { return this.tcp.w[(slot << 4) + T_UDP_STREAM_TS]!; }
  /** Index into `timeoutSets` (0 = no policy attached). */
  tpolOf(slot: number): number { return this.tcp.b[(slot << 6) + B_TPOL]!; }
  /** Attaches timeout set `index` to the entry (the caller adds CT_EXT_TIMEOUT). */
  setTpol(slot: number, index: number): void { this.tcp.b[(slot << 6) + B_TPOL] = index; }
  /** CT_EXT_* bits of the per-entry extensions the entry carries. */
  extMaskOf(slot: number): number { return this.tcp.b[(slot << 6) + B_EXT]!; }
  /**
   * `ct->mark` per slot (ct mark set by rules; `conntrack -D --mark` filters on it). Empty until a
   * mark is first set (`setMark`), so runs without marks carry no per-entry cost; read with `markOf`.
   */
  mark: Int32Array = new Int32Array(0);
  /** The entry's `ct mark` (0 unless a rule set one). */
  markOf(slot: number): number { return this.mark.length === 0 ? 0 : this.mark[slot]!; }
  /** Sets an entry's `ct mark` (allocates the per-slot marks on first use). */
  setMark(slot: number, v: number): void {
    if (this.mark.length === 0) this.mark = new Int32Array(this.table.capacity);
    this.mark[slot] = v;
  }
  /**
   * The acct extension's counters (§10.2, `struct nf_conn_counter[2]`): per slot × direction
   * (slot × 2 + dir) packets and bytes. Null until nf_conntrack_acct is first on, so runs
   * without accounting carry no per-entry cost; only entries with CT_EXT_ACCT count.
   */
  acctPackets: Float64Array | null = null;
  acctBytes: Float64Array | null = null;
  /** The tstamp extension's start (µs of the run clock, set at confirm); null until nf_conntrack_timestamp is first on. */
  tstampStart: Float64Array | null = null;

  /** SEQADJ data (sim/synproxy); undefined when nothing adjusts sequence numbers. */
  seqadj: SeqAdjProvider | undefined;
  /**
   * Runs last before confirm (priority NF_IP_PRI_CONNTRACK_CONFIRM − 1, POST_ROUTING / LOCAL_IN) for
   * packets attached to an entry on the rule path: SYNPROXY's hook and the sequence adjustment
   * of `nf_confirm()` (sim/synproxy). Returns NF_ACCEPT, NF_DROP or NF_STOLEN.
   */
  confirmHook: ((pkt: Pkt, slot: number, dir: number) => number) | undefined;

  /** NAT / race path (sim/nat); undefined: plain conntrack. */
  nat: NatPath | undefined;
  /** Filter/raw rules (sim/rules/path.ts); undefined: no rules. */
  rules: RulePath | undefined;
  /** Per slot: the entry's zone id (`ct zone set` in raw; 0 default). */
  zone: Uint16Array = new Uint16Array(0);
  /** Zone of the packet being looked up (from its template), and whether any entry ever had a non-zero zone. */
  private curZone = 0;
  private zoned = false;
  /** Event bits rule statements cached for the current packet (`ct mark set` → IPCT_MARK). */
  ruleEvents = 0;
  /** Whether the current packet's rule stages already ran inside the conntrack path. */
  private filtered = false;
  /** Verdict of the last packetIn (NF_REJECT when a reject rule answered it). */
  lastVerdict = NF_ACCEPT;
  /**
   * The seed paper's error-handling proposal (scenario `kernel.untracked_when_full`, see
   * docs/rules.md §9): when no entry can be allocated, the packet passes UNTRACKED instead of being dropped,
   * unless `natNeedsEntry` says a NAT rule would need an entry for it.
   */
  untrackedWhenFull = false;
  natNeedsEntry: ((pkt: Pkt) => boolean) | undefined;
  /** Whether the last packet passed untracked because the table was full (untrackedWhenFull). */
  lastUntrackedFull = false;
  /** The entry a rejected packet was attached to (-1 none, -2 an unconfirmed entry, now freed), and its direction. */
  private rejSlot = -1;
  private rejDir = 0;
  /** Scratch packet for the RST / ICMP error a reject sends (no allocation per packet). */
  private readonly rej = new Pkt();
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
  private unlimitedMax: boolean;
  /** Kernel version as major × 1000 + minor. */
  private readonly ver: number;
  /** CT_EXT_ACCT / CT_EXT_TSTAMP bits new entries get (nf_conntrack_acct, nf_conntrack_timestamp now). */
  private newExt = 0;
  /** The acct/tstamp bits at start: `entryBytes` counts them for every entry. */
  private readonly baseExt: number;
  /** Kernel ≥ 6.12 (a reject's RST closes the entry, nf_conntrack_tcp_set_closing()). */
  private readonly v6012: boolean;
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
    this.ver = v;
    this.v6012 = v >= 6012;
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
    // acct and tstamp are per-entry bits (an action may switch them on or off mid-run); entryBytes
    // counts the start-time ones, so runs that never switch them count exactly as before
    this.bytesByMask = entryBytesByMask({ acct: false, ecache: this.ecache, tstamp: false });
    this.setExtSysctls();
    this.baseExt = this.newExt;
    this.entryBytes = this.bytesByMask[this.baseExt]!;
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
    if (this.mark.length !== 0) { const m = new Int32Array(c); m.set(this.mark); this.mark = m; }
    const g64 = (a: Float64Array | null, n: number) => { if (a === null) return null; const b = new Float64Array(n); b.set(a); return b; };
    this.acctPackets = g64(this.acctPackets, 2 * c);
    this.acctBytes = g64(this.acctBytes, 2 * c);
    this.tstampStart = g64(this.tstampStart, c);
    if (this.zone.length !== 0) { const z = new Uint16Array(c); z.set(this.zone); this.zone = z; }
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
  destroy(slot: number, reason: number, node = -1, bucket = -1): void {
    const tb = this.table;
    tb.orStatus(slot, IPS_DYING);
    if (this.eventsOn) this.observer?.event?.(slot, 1 << IPCT_DESTROY);
    this.observer?.destroyed?.(slot, reason);
    // a walk that found one of the entry's nodes passes its bucket, sparing one tuple hash
    tb.unlink(slot * 2, node === slot * 2 ? bucket : -1);
    tb.unlink(slot * 2 + 1, node === slot * 2 + 1 ? bucket : -1);
    this.release(slot);
  }

  /** Returns a slot to the free list and decrements the count. @see nf_conntrack_free */
  private release(slot: number): void {
    if (this.nat !== undefined) this.nat.freed(slot);
    const tb8 = this.tcp.b;
    tb8[(slot << 6) + B_TPOL] = 0;
    const m = tb8[(slot << 6) + B_EXT]!;
    if (m !== this.baseExt) this.extExtraBytes -= this.bytesByMask[m]! - this.bytesByMask[this.baseExt]!;
    tb8[(slot << 6) + B_EXT] = 0;
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
    // the chain's node ids are in the bucket record (or its spill block): read them head first
    const w = b * BKT_STRIDE;
    let bk = tb.bkt;
    let n = bk[w]!;
    let base = n <= BKT_INLINE ? w + 1 : bk[w + 1]!;
    let p = n - 1;
    while (p >= 0) {
      const node = bk[base + p]!;
      const slot = node >> 1;
      const r = slot * HOT_STRIDE;
      if (((h[r + H_TIMEOUT]! - this.now32) | 0) <= 0) {
        // resume after the entry (and its partner node, if that comes right behind it)
        let q = p - 1;
        if (q >= 0 && bk[base + q]! >> 1 === slot) q--;
        const next = q >= 0 ? bk[base + q]! : -1;
        this.stats.reaped_lookup++;
        this.destroy(slot, REASON_TIMEOUT_LOOKUP, node, b);
        if (next < 0) return -1;
        p = tb.relocate(b, next, q);
        bk = tb.bkt;
        n = bk[w]!;
        base = n <= BKT_INLINE ? w + 1 : bk[w + 1]!;
        continue;
      }
      if (h[r + H_L3ST]! >>> 16 === l3proto && (this.pendUntil === null || !this.invisible(slot)) && (!this.zoned || this.zone[slot] === this.curZone)) {
        if ((node & 1) === 0) {
          if (h[r + H_SRC] === src && h[r + H_DST] === dst && h[r + H_PORTS] === ports) return node;
        } else if (tb.rsrc === null) {
          if (h[r + H_DST] === src && h[r + H_SRC] === dst && h[r + H_RPORTS] === ports) return node;
        } else if (tb.rsrc[slot] === src && tb.rdst![slot] === dst && h[r + H_RPORTS] === ports) {
          return node;
        }
      }
      p--;
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
      const w = b * BKT_STRIDE;
      let p = tb.bkt[w]! - 1;
      while (p >= 0) {
        const bk = tb.bkt;
        const base = bk[w]! <= BKT_INLINE ? w + 1 : bk[w + 1]!;
        const node = bk[base + p]!;
        const slot = node >> 1;
        const r = slot * HOT_STRIDE;
        // an entry's partner node right behind it gets the same decision: step over it, so
        // that deleting the entry does not cut the walk short
        let q = p - 1;
        if (q >= 0 && bk[base + q]! >> 1 === slot) q--;
        let reason: number;
        if (((h[r + H_TIMEOUT]! - this.now32) | 0) <= 0) {
          this.stats.reaped_early_drop++;
          reason = REASON_TIMEOUT_EARLY_DROP_SCAN;
        } else if ((h[r + H_L3ST]! & (IPS_ASSURED | IPS_DYING)) === 0) {
          drops++;
          reason = REASON_EARLY_DROP;
        } else {
          p = q;
          continue;
        }
        const next = q >= 0 ? bk[base + q]! : -1;
        this.destroy(slot, reason, node, b);
        if (next < 0) break;
        p = tb.relocate(b, next, q);
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
    const rp = this.rules;
    this.lastUntrackedFull = false;
    if (rp === undefined) return this.conntrackIn(pkt);
    const v = this.rulePathIn(rp, pkt);
    this.lastVerdict = v === NF_REJECT ? this.reject(rp, pkt) : v;
    return this.lastVerdict;
  }

  /** The rule path in the kernel's order (docs/rules.md §8.1); returns the packet's verdict. */
  private rulePathIn(rp: RulePath, pkt: Pkt): number {
    // a packet from the wire carries no mark and no zone
    pkt.mark = 0;
    this.curZone = 0;
    this.filtered = false;
    this.ruleEvents = 0;
    this.rejSlot = -1;
    let v = rp.run(RULE_STAGE_RAW, pkt, -1, IP_CT_NONE, false);
    if (v !== NF_ACCEPT) { this.lastSlot = -1; this.lastCtinfo = IP_CT_NONE; return v; }
    if (rp.untracked) {
      // nft_notrack_eval(): IP_CT_UNTRACKED; nf_conntrack_in() passes it untouched, NAT ignores it
      this.stats.notrack++;
      this.lastSlot = -1;
      this.lastCtinfo = IP_CT_UNTRACKED;
      return this.rulesNoEntry(rp, pkt, true);
    }
    if (rp.zone > 0) {
      this.curZone = rp.zone;
      // per-slot zones exist only once a rule set one (no per-entry cost otherwise)
      if (!this.zoned) { this.zoned = true; this.zone = new Uint16Array(this.table.capacity); }
    }
    v = this.conntrackIn(pkt);
    if (v !== NF_ACCEPT || this.filtered) return v;
    // left conntrack without its rules having run: no entry (invalid), untracked, or RELATED
    if (this.lastSlot >= 0) {
      const slot = this.lastSlot, ctinfo = this.lastCtinfo;
      this.rejSlot = slot;
      this.rejDir = ctinfo === IP_CT_RELATED_REPLY ? 1 : 0;
      v = rp.run(RULE_STAGE_CT, pkt, slot, ctinfo, false);
      if (v === NF_ACCEPT) v = rp.run(RULE_STAGE_ROUTED, pkt, slot, ctinfo, false);
      if (v === NF_ACCEPT) v = rp.run(RULE_STAGE_SNAT, pkt, slot, ctinfo, false);
      if (v !== NF_ACCEPT) this.lastSlot = -1;
      return v;
    }
    return this.rulesNoEntry(rp, pkt, this.lastCtinfo === IP_CT_UNTRACKED);
  }

  /**
   * A reject rule dropped `pkt`: the firewall sends a TCP RST or an ICMP error back (see
   * docs/rules.md §8.8). The RST is attached to the rejected packet's entry (nf_send_reset() → nf_ct_attach():
   * RELATED_REPLY, no tracker, never confirmed) and, from v6.12 in the model, moves a confirmed
   * TCP entry to CLOSE (nf_conntrack_tcp_set_closing()); without an entry it meets conntrack at
   * LOCAL_OUT as a bare RST, which the tracker refuses (invalid). The ICMP error (icmp_send())
   * is looked up by conntrack like any ICMP error: RELATED to a confirmed entry, else `error`.
   * Both then cross the output and postrouting chains. Returns NF_REJECT when the answer left,
   * NF_DROP when nothing was sent (RST for a non-TCP packet or for an RST, an ICMP error about an
   * ICMP error) or a rule dropped the answer.
   */
  private reject(rp: RulePath, pkt: Pkt): number {
    const r = this.rej;
    const saveSlot = this.lastSlot, saveInfo = this.lastCtinfo, saveFull = this.lastUntrackedFull;
    r.reset();
    r.l3 = pkt.l3; r.cls = pkt.cls; r.owner = pkt.owner; r.flow = pkt.flow;
    r.src = pkt.dst; r.dst = pkt.src;
    let slot = -1, ctinfo = IP_CT_NONE;
    if (rp.rejectKind === REJECT_TCP_RST) {
      if (pkt.proto !== IPPROTO_TCP || (pkt.tcpFlags & TH_RST) !== 0) return NF_DROP;
      r.proto = IPPROTO_TCP;
      r.sport = pkt.dport; r.dport = pkt.sport;
      if ((pkt.tcpFlags & TH_ACK) !== 0) { r.tcpFlags = TH_RST; r.seq = pkt.ack; } else {
        r.tcpFlags = TH_RST | TH_ACK;
        r.ack = (pkt.seq + ((pkt.tcpFlags & TH_SYN) !== 0 ? 1 : 0) + ((pkt.tcpFlags & TH_FIN) !== 0 ? 1 : 0) + pkt.dataLen) >>> 0;
      }
      r.len = pkt.l3 === 4 ? 40 : 60;
      const s = this.rejSlot;
      if (s >= 0) {
        slot = s;
        ctinfo = this.rejDir === 0 ? IP_CT_RELATED_REPLY : IP_CT_RELATED;
        if (this.v6012 && (this.table.statusOf(s) & IPS_CONFIRMED) !== 0 && (this.table.l3protoOf(s) & 0xff) === IPPROTO_TCP) this.setClosing(s);
      } else if (s === -1) {
        // no entry to attach to: the RST is a new packet to conntrack at LOCAL_OUT
        this.rules = undefined;
        this.conntrackIn(r);
        this.rules = rp;
        slot = this.lastSlot; ctinfo = this.lastCtinfo;
      }
    } else {
      if ((pkt.proto === IPPROTO_ICMP && icmpIsError(pkt.dport >> 8)) || (pkt.proto === IPPROTO_ICMPV6 && (pkt.dport >> 8) < 128)) return NF_DROP;
      r.proto = pkt.l3 === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
      r.dport = ((pkt.l3 === 4 ? 3 : 1) << 8) | rp.rejectCode;
      r.innerValid = true; r.innerProto = pkt.proto;
      r.innerSrc = pkt.src; r.innerDst = pkt.dst; r.innerSport = pkt.sport; r.innerDport = pkt.dport;
      r.len = Math.min(pkt.l3 === 4 ? 576 : 1280, (pkt.l3 === 4 ? 28 : 48) + pkt.len);
      this.rules = undefined;
      this.conntrackIn(r);
      this.rules = rp;
      slot = this.lastSlot; ctinfo = this.lastCtinfo;
    }
    const v = rp.runLocal(r, slot, ctinfo);
    this.lastSlot = saveSlot; this.lastCtinfo = saveInfo; this.lastUntrackedFull = saveFull;
    if (v !== NF_ACCEPT) return NF_DROP;
    this.stats.reject_sent++;
    return NF_REJECT;
  }

  /**
   * A confirmed TCP entry whose packet was answered by a reject's RST goes to CLOSE with the
   * CLOSE timeout (unless already CLOSE or IPS_FIXED_TIMEOUT) and caches IPCT_PROTOINFO.
   * @see nf_conntrack_tcp_set_closing
   */
  private setClosing(slot: number): void {
    const tcp = this.tcp;
    const old = tcp.stateOf(slot);
    tcp.b[(slot << 6) + B_STATE] = TCP_CONNTRACK_CLOSE;
    if (old === TCP_CONNTRACK_CLOSE || (this.table.statusOf(slot) & IPS_FIXED_TIMEOUT) !== 0) return;
    const t = this.timeoutSets[this.tpolOf(slot)]!;
    this.table.setTimeoutOf(slot, (this.now32 + t.tcp[TCP_CONNTRACK_CLOSE]!) | 0);
    if (this.eventsOn) this.observer?.event?.(slot, 1 << IPCT_PROTOINFO);
  }

  /** The rule stages after conntrack for a packet without an entry (invalid or untracked; NAT ignores it). */
  private rulesNoEntry(rp: RulePath, pkt: Pkt, untracked: boolean): number {
    const ci = this.lastCtinfo;
    let v = rp.run(RULE_STAGE_CT, pkt, -1, ci, untracked);
    if (v === NF_ACCEPT) v = rp.run(RULE_STAGE_ROUTED, pkt, -1, ci, untracked);
    if (v === NF_ACCEPT) v = rp.run(RULE_STAGE_SNAT, pkt, -1, ci, untracked);
    return v;
  }

  /** `nf_conntrack_in` and, for an attached packet, NAT, the filter rules and confirm. */
  private conntrackIn(pkt: Pkt): number {
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
          if (this.untrackedWhenFull) {
            const needs = this.natNeedsEntry;
            if (needs === undefined || !needs(pkt)) {
              // the proposal: accept untracked (no NAT can apply without an entry)
              st.untracked_full++;
              this.lastUntrackedFull = true;
              this.lastCtinfo = IP_CT_UNTRACKED;
              return NF_ACCEPT;
            }
            st.untracked_full_nat_drop++;
          }
          st.drop++;
          return NF_DROP;
        }
        tb.fillTuple(slot, pkt.src, pkt.dst, ports, rports, l3proto);
        this.tcp.b[(slot << 6) + B_CLS] = pkt.cls;
        this.tcp.h[(slot << 5) + H_OWNER] = pkt.owner;
        this.side[slot * SIDE_STRIDE + S_FLOW] = pkt.flow;
        if (this.zone.length !== 0) this.zone[slot] = this.curZone;
        if (pkt.tmplExt !== 0) {
          // the template's extensions go to the new entry (init_conntrack(): SYNPROXY's SYN)
          for (let b = 1; b <= pkt.tmplExt; b <<= 1) if ((pkt.tmplExt & b) !== 0) this.addExtension(slot, b);
        }
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
      // the tracker's nf_ct_refresh_acct / nf_ct_kill_acct count the packet (fixed-timeout
      // entries too: only their timeout is left alone); ignored packets and SYN retransmits are not
      if (out.verdict === VERDICT_ACCEPT && (this.extMaskOf(slot) & CT_EXT_ACCT) !== 0 &&
          (out.refresh || out.kill || (status & IPS_FIXED_TIMEOUT) !== 0)) {
        this.acctPackets![slot * 2 + dir]++;
        this.acctBytes![slot * 2 + dir] += pkt.len;
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
      const rp = this.rules;
      if (rp !== undefined) {
        // nf_conntrack_in() sets SEEN_REPLY before the later hooks run (§1.6 step 7)
        if (dir === 1 && !out.kill && (tb.statusOf(slot) & IPS_SEEN_REPLY) === 0) {
          tb.orStatus(slot, IPS_SEEN_REPLY);
          events |= 1 << IPCT_REPLY;
        }
        this.filtered = true;
        const nat = this.nat;
        let v = rp.run(RULE_STAGE_CT, pkt, slot, ctinfo, false);
        if (v === NF_ACCEPT && nat !== undefined) v = nat.dnat(slot, dir, isNew, pkt);
        if (v === NF_ACCEPT) v = rp.run(RULE_STAGE_ROUTED, pkt, slot, ctinfo, false);
        if (v === NF_ACCEPT && nat !== undefined) v = nat.snat(slot, dir, isNew, pkt, rp.local);
        if (v === NF_ACCEPT) v = rp.run(RULE_STAGE_SNAT, pkt, slot, ctinfo, false);
        if (v === NF_ACCEPT && this.confirmHook !== undefined) v = this.confirmHook(pkt, slot, dir);
        if (v !== NF_ACCEPT) {
          // dropped before confirm: an unconfirmed entry is simply freed, no events (§1.7)
          this.rejSlot = isNew ? -2 : slot;
          this.rejDir = dir;
          if (isNew) { st.freed_rule++; this.freeUnconfirmed(slot); }
          return v;
        }
        events |= this.ruleEvents;
      } else if (this.nat !== undefined && this.nat.packet(slot, dir, isNew, pkt) === NF_DROP) {
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
      this.table.hot[slot * HOT_STRIDE + H_LAST_SEEN] = this.now32;
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
    // a raised nf_conntrack_max (an action) lets the slot arrays grow past their first size
    const slot = this.table.allocSlot(this.unlimitedMax || this.max > this.table.capacity);
    if (slot < 0) throw new Error(`conntrack invariant: no free slot at count ${this.count}, max ${this.max}`);
    this.stats.allocated++;
    if (this.mark.length !== 0) this.mark[slot] = 0;
    // nf_ct_acct_ext_add / nf_ct_tstamp_ext_add at allocation, by the sysctls' values now
    const e = this.newExt;
    this.tcp.b[(slot << 6) + B_EXT] = e;
    if (e !== this.baseExt) this.extExtraBytes += this.bytesByMask[e]! - this.bytesByMask[this.baseExt]!;
    if (e !== 0) this.clearAcct(slot);
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
        this.acctMerge(nat.winner, slot);
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
    tb.hot[slot * HOT_STRIDE + H_BORN] = this.now32;
    if ((this.extMaskOf(slot) & CT_EXT_TSTAMP) !== 0) this.tstampStart![slot] = this.nowUs;
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
        const m = this.extMaskOf(slot);
        const ro = (m & CT_EXT_SEQADJ) !== 0 && this.seqadj !== undefined ? this.seqadj.offset(slot, dir ^ 1) : 0;
        tcpPacket(this.tcp, slot, dir, pkt, status, t.tcp, isNew ? 0 : this.remaining(slot), this.tcpSys, out, ro, (m & CT_EXT_SYNPROXY) !== 0);
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
      if (icmpv6Untracked(type)) { st.untracked++; this.lastCtinfo = IP_CT_UNTRACKED; return NF_ACCEPT; }
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
    this.table.hot[slot * HOT_STRIDE + H_LAST_SEEN] = this.now32;
  }

  /** Evicts an entry whose endpoints did not answer keepalive probes. */
  evictProbe(slot: number): void {
    this.stats.evicted_probe++;
    this.destroy(slot, REASON_PROBE);
  }

  /**
   * Kills every entry (`conntrack -F`), each with a DESTROY event, in the kernel's order: buckets
   * in index order, and in each the first entry met at its ORIGINAL node, again and again (the
   * walk restarts at the bucket after every deletion). Returns how many were deleted.
   * @see ctnetlink_flush_conntrack, nf_ct_iterate_cleanup, get_next_corpse
   */
  flush(reason: number): number {
    const tb = this.table;
    let n = 0;
    for (let b = 0; b < tb.nbuckets; b++) {
      for (;;) {
        let p = tb.chainLength(b) - 1;
        while (p >= 0 && (tb.at(b, p) & 1) !== 0) p--;
        if (p < 0) break;
        this.destroy(tb.at(b, p) >> 1, reason, tb.at(b, p), b);
        n++;
      }
    }
    return n;
  }

  /** Reaps an expired entry on behalf of the gc worker. */
  reapGc(slot: number, node = -1, bucket = -1): void {
    this.stats.reaped_gc++;
    this.destroy(slot, REASON_TIMEOUT_GC, node, bucket);
  }

  /** Zeroes an entry's acct counters (a new entry). */
  private clearAcct(slot: number): void {
    if (this.acctPackets !== null) {
      this.acctPackets[slot * 2] = 0; this.acctPackets[slot * 2 + 1] = 0;
      this.acctBytes![slot * 2] = 0; this.acctBytes![slot * 2 + 1] = 0;
    }
    if (this.tstampStart !== null) this.tstampStart[slot] = 0;
  }

  /** A clash merge adds the loser's counters to the winner's. @see nf_ct_acct_merge */
  private acctMerge(winner: number, loser: number): void {
    if ((this.extMaskOf(winner) & this.extMaskOf(loser) & CT_EXT_ACCT) === 0) return;
    const p = this.acctPackets!, b = this.acctBytes!;
    for (let d = 0; d < 2; d++) {
      p[winner * 2 + d] += p[loser * 2 + d]!;
      b[winner * 2 + d] += b[loser * 2 + d]!;
    }
  }

  /** Reads nf_conntrack_acct / nf_conntrack_timestamp: the extensions new entries get, and their arrays. */
  private setExtSysctls(): void {
    const s = this.sys;
    const cap = this.table.capacity;
    this.newExt = (s.nf_conntrack_acct === 1 ? CT_EXT_ACCT : 0) | (s.nf_conntrack_timestamp === 1 ? CT_EXT_TSTAMP : 0);
    if (s.nf_conntrack_acct === 1 && this.acctPackets === null) {
      this.acctPackets = new Float64Array(2 * cap);
      this.acctBytes = new Float64Array(2 * cap);
    }
    if (s.nf_conntrack_timestamp === 1 && this.tstampStart === null) this.tstampStart = new Float64Array(cap);
  }

  /** Whether an entry carries the acct extension (its counters are meaningful). */
  hasAcct(slot: number): boolean {
    return (this.extMaskOf(slot) & CT_EXT_ACCT) !== 0;
  }

  /** Whether an entry carries the tstamp extension (`tstampStart` is meaningful). */
  hasTstamp(slot: number): boolean {
    return (this.extMaskOf(slot) & CT_EXT_TSTAMP) !== 0;
  }

  /**
   * Writes one sysctl at the current time, as `sysctl -w` on a running kernel does (docs/model.md
   * §14): nf_conntrack_max changes the limit only (nothing is evicted when lowered);
   * nf_conntrack_buckets rehashes (`rehash`); a timeout applies from the next refresh on (entries
   * keep their deadlines; timeout policies keep the values they copied); nf_conntrack_acct /
   * nf_conntrack_timestamp decide the extensions of entries created from now on; the tcp_*
   * switches apply to the next packet. nf_conntrack_events cannot change mid-run in the model.
   * The caller validates the value (`checkSysctlValue`).
   */
  setSysctl(name: SysctlName, value: number): void {
    const s = this.sys;
    switch (name) {
      case 'nf_conntrack_max':
        if (value === 0 && this.ver >= 6019) throw new RangeError('nf_conntrack_max = 0 is not allowed from v6.19');
        s.nf_conntrack_max = value;
        this.max = value;
        this.unlimitedMax = value === 0;
        return;
      case 'nf_conntrack_buckets':
        this.rehash(value);
        return;
      case 'nf_conntrack_events':
        throw new RangeError('nf_conntrack_events cannot change during a run in this model');
      default:
        s[name] = value;
    }
    if (name === 'nf_conntrack_acct' || name === 'nf_conntrack_timestamp') this.setExtSysctls();
    else if (name.startsWith('nf_conntrack_tcp_')) this._tcpSys = undefined;
    if (name.endsWith('_timeout') || name.includes('_timeout_')) this.timeoutSets[0] = this.defaultTimeoutSet();
  }

  /** The netns default timeouts (index 0 of `timeoutSets`) from the current sysctls, in jiffies. */
  private defaultTimeoutSet(): TimeoutSet {
    const s = this.sys;
    const j = (sec: number) => sec * this.hz;
    return {
      name: 'default', l4proto: 0,
      tcp: tcpTimeoutsJiffies(s as unknown as Record<string, number>, this.hz),
      udpUnreplied: j(s.nf_conntrack_udp_timeout), udpReplied: j(s.nf_conntrack_udp_timeout_stream),
      icmp: j(s.nf_conntrack_icmp_timeout), icmpv6: j(s.nf_conntrack_icmpv6_timeout),
      generic: j(s.nf_conntrack_generic_timeout),
      greUnreplied: j(s.nf_conntrack_gre_timeout), greReplied: j(s.nf_conntrack_gre_timeout_stream),
    };
  }

  /**
   * Writing nf_conntrack_buckets: the size is rounded up to a multiple of 512; the same size is a
   * no-op; otherwise every linked node moves to a new bucket array under the same hash key, old
   * buckets walked in index order and each chain from its head, every node head-inserted into
   * its new chain (so nodes that land in one new chain end up in the reverse of the order they
   * were met). nf_conntrack_max is not touched. Returns the new bucket count.
   * @see nf_conntrack_hash_resize, nf_ct_alloc_hashtable
   */
  rehash(buckets: number): number {
    const n = roundBuckets(buckets);
    const tb = this.table;
    if (n === tb.nbuckets) return n;
    tb.rehash(n);
    this.sys.nf_conntrack_buckets = n;
    this.notePeakBytes();
    return n;
  }

  /**
   * `conntrack -D` with a filter: the entries a dump lists (ORIGINAL nodes in bucket order) for
   * which `match(slot)` holds are deleted one by one, each with a DESTROY event. Like the
   * kernel's dump, the walk reaps expired entries it passes (any node, counted as reaped on
   * lookup) and does not list them. Returns how many were deleted and how many reaped.
   * @see ctnetlink_dump_table, ctnetlink_del_conntrack
   */
  deleteMatching(match: (slot: number) => boolean, reason: number): { deleted: number; reaped: number } {
    const tb = this.table;
    const picked: number[] = [];
    let reaped = 0;
    for (let b = 0; b < tb.nbuckets; b++) {
      let p = tb.chainLength(b) - 1;
      while (p >= 0) {
        const node = tb.at(b, p);
        const slot = node >> 1;
        let q = p - 1;
        if (this.isExpired(slot)) {
          if (q >= 0 && tb.at(b, q) >> 1 === slot) q--;
          const next = q >= 0 ? tb.at(b, q) : -1;
          this.stats.reaped_lookup++;
          this.destroy(slot, REASON_TIMEOUT_LOOKUP, node, b);
          reaped++;
          p = next < 0 ? -1 : tb.relocate(b, next, q);
          continue;
        } else if ((node & 1) === 0 && match(slot)) {
          picked.push(slot);
        }
        p = q;
      }
    }
    for (const slot of picked) this.destroy(slot, reason);
    return { deleted: picked.length, reaped };
  }
}
