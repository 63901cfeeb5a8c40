/**
 * The NAT core (docs/nat.md): decisions on the first packet of each direction while the entry is
 * unconfirmed, null bindings, reply-tuple rewrite, the bysource table, `get_unique_tuple()` with
 * its address choice and port search, the "taken" predicates with the `found` counter and the
 * v6.5+ TIME_WAIT eviction, packet translation, and the confirm-time clash resolution.
 *
 * Everything per entry lives in typed arrays indexed by conntrack slot; the working tuple is a
 * handful of number fields (no allocation per packet).
 *
 * @see net/netfilter/nf_nat_core.c, net/netfilter/nf_conntrack_core.c
 */
import {
  CONFIRM_CLASH_INSERTED, CONFIRM_DROP, CONFIRM_INSERT, CONFIRM_MERGED, NF_ACCEPT, NF_DROP,
  type Conntrack, type NatPath,
} from '../conntrack/conntrack.js';
import {
  IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, IPS_CONFIRMED,
  IPS_DYING, IPS_FIXED_TIMEOUT, IPS_NAT_CLASH,
} from '../conntrack/constants.js';
import type { Pkt } from '../conntrack/packet.js';
import { TCP_CONNTRACK_SYN_SENT, TCP_CONNTRACK_TIME_WAIT } from '../conntrack/proto-tcp-const.js';
import { CT_EXT_NAT } from '../conntrack/sizing.js';
import { REASON_NAT_EVICT, REASON_TIMEOUT_LOOKUP } from '../conntrack/stats.js';
import type { SysctlValues } from '../conntrack/sysctl.js';
import {
  IPS_DST_NAT, IPS_DST_NAT_DONE, IPS_NAT_DONE_MASK, IPS_NAT_MASK, IPS_SEQ_ADJUST, IPS_SRC_NAT, IPS_SRC_NAT_DONE,
  NatRangeBuf, NF_INET_LOCAL_IN, NF_INET_POST_ROUTING, NF_INET_PRE_ROUTING, NF_NAT_HARDER_THRESH, NF_NAT_MANIP_DST, NF_NAT_MANIP_SRC,
  NF_NAT_MAX_ATTEMPTS, NF_NAT_RANGE_MAP_IPS, NF_NAT_RANGE_PERSISTENT, NF_NAT_RANGE_PROTO_OFFSET,
  NF_NAT_RANGE_PROTO_RANDOM, NF_NAT_RANGE_PROTO_RANDOM_ALL, NF_NAT_RANGE_PROTO_RANDOM_FULLY,
  NF_NAT_RANGE_PROTO_SPECIFIED, type NatRange,
} from './constants.js';
import { bswap32, jhash2, reciprocalScale32 } from './jhash.js';
import { PortUsage } from './port-usage.js';
import { T_TD_END, tdw } from '../conntrack/tcp-store.js';

const IPPROTO_DCCP = 33;
const IPPROTO_SCTP = 132;

/** What a NAT rule lookup returns besides a rule id ≥ 0. */
export const NAT_NO_RULE = -1;
/** The rule drops the packet (masquerade with no address on the interface). */
export const NAT_RULE_DROP = -2;

/**
 * Where NAT rules come from (the ruleset adapter implements it). For the packet `pkt` at `hook`
 * (NF_INET_PRE_ROUTING for DNAT, NF_INET_POST_ROUTING for SNAT), fill `range` and return the
 * rule id, NAT_NO_RULE when no NAT rule fires (null binding), or NAT_RULE_DROP. `masq` is set
 * true by a masquerade rule (the entry gets the NAT extension). `slot` is the (new) entry, for
 * `ct` matches in nat chains; NF_INET_LOCAL_IN asks for the input hook's SRC manip.
 */
export interface NatDecider {
  decide(hook: number, pkt: Pkt, range: NatRange, out: { masq: boolean }, slot?: number): number;
}

/** Options of the NAT core. */
export interface NatOptions {
  version: readonly [number, number];
  /** Uniform 16-bit draws for `get_random_u16()`. */
  randomU16: () => number;
  /** Rules; undefined: no NAT hook registered (only the confirm-time clash handling runs, e.g. for the race). */
  decider: NatDecider | undefined;
  /** Extensions configured on every entry (for the masquerade extension's kernel bytes). */
  sysctl: SysctlValues;
  /** Key of the bysource hash (the kernel's boot-time random key). @defaultValue 0 */
  bysourceSeed?: number;
}

/** Per-rule NAT counters. */
export interface RuleCounters {
  /** Setups by the rule (first packets it mapped). */
  mappings: number;
  /** Setups whose port search found no free tuple (the tuple installed anyway is in use). */
  exhausted: number;
  /** Entries of the rule dropped at confirm (`insert_failed` with `drop`). */
  insert_failed: number;
}

function allowClash(proto: number, v: number): boolean {
  if (v < 4007) return false;
  if (proto === IPPROTO_UDP || proto === IPPROTO_UDPLITE) return true;
  if (proto === IPPROTO_GRE) return v >= 5008;
  if (proto === IPPROTO_TCP || proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6 || proto === IPPROTO_SCTP || proto === IPPROTO_DCCP) return false;
  return v >= 6012;
}

function hasPorts(proto: number): boolean {
  return proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_UDPLITE || proto === IPPROTO_SCTP || proto === IPPROTO_DCCP;
}

export class Nat implements NatPath {
  readonly v: number;
  private readonly ct: Conntrack;
  private readonly rnd: () => number;
  readonly decider: NatDecider | undefined;
  /** Reusable range and decider output. */
  private readonly range = new NatRangeBuf();
  private readonly nullRange = new NatRangeBuf();
  private readonly dec = { masq: false };

  // per slot
  /** Rule that set up the SRC / DST manip (-1: null binding or none). */
  ruleSrc: Int32Array;
  ruleDst: Int32Array;
  /** 1 when the entry carries the NAT extension (masquerade). */
  masq: Uint8Array;
  /** Bysource chain links (prev: -1 not linked, ≤ -2 head of bucket -(p+2)). */
  private bsNext: Int32Array;
  private bsPrev: Int32Array;
  /** Port-usage key of an SNATed entry (-1 none). */
  private useKey: Int32Array;

  /** Bysource heads: max(nf_conntrack_buckets at NAT init, 1024) (docs/nat.md §1.6). */
  readonly bsHeads: Int32Array;
  private readonly bsSeed: number;

  /** Confirm-time merge target (NatPath). */
  winner = -1;

  /** Counters beyond `/proc/net/stat/nf_conntrack`. */
  readonly counters = {
    /** SRC/DST setups by a rule, and those that changed the tuple. */
    mappings: 0,
    mappings_changed: 0,
    /** Null bindings (setups without a rule). */
    null_bindings: 0,
    /** Null bindings that had to move the source port (implicit reallocation). */
    null_binding_realloc: 0,
    /** Port searches that ended on a tuple in use (exhaustion). */
    exhausted: 0,
    /** Entries reused from bysource (step 1). */
    bysource_reuse: 0,
    /** Probes of the port search. */
    probes: 0,
    /** TIME_WAIT/CLOSE entries killed by the v6.5+ eviction. */
    evicted_time_wait: 0,
    /** Entries inserted reply-only (IPS_NAT_CLASH). */
    nat_clash_entries: 0,
    /** Confirm-time merges. */
    clash_merged: 0,
    /** Replies dropped at confirm on a REPLY-tuple clash (exhaustion, SNAT race). */
    reply_clash_drops: 0,
    /** Drops at confirm on an ORIGINAL clash (same-flow race lost). */
    orig_clash_drops: 0,
  };
  /** Per rule id. */
  readonly rules: RuleCounters[] = [];
  /** Port usage per (NAT address, destination, protocol). */
  readonly usage = new PortUsage();

  /** Pre-v5.0 per-protocol port rovers (`udp_port_rover`, …). */
  private readonly rover = new Map<number, number>();
  private masqCount = 0;

  // working tuple (get_unique_tuple operates on it in place)
  private tSrc = 0;
  private tDst = 0;
  private tSport = 0;
  private tDport = 0;
  private tL3 = 0;
  private tProto = 0;
  /** rports low half of the entry (ICMP: inverted type/code). */
  private tRlow = 0;
  /** The four address words `find_best_ips_proto()` hashes (IPv4 in the first; reused). */
  private readonly words = [0, 0, 0, 0];
  /** Whether the last search ended on a used tuple. */
  private searchFailed = false;

  constructor(ct: Conntrack, opt: NatOptions) {
    this.ct = ct;
    this.v = opt.version[0] * 1000 + opt.version[1];
    this.rnd = opt.randomU16;
    this.decider = opt.decider;
    const cap = ct.table.capacity;
    this.ruleSrc = new Int32Array(cap).fill(-1);
    this.ruleDst = new Int32Array(cap).fill(-1);
    this.masq = new Uint8Array(cap);
    this.bsNext = new Int32Array(cap).fill(-1);
    this.bsPrev = new Int32Array(cap).fill(-1);
    this.useKey = new Int32Array(cap).fill(-1);
    this.bsHeads = new Int32Array(Math.max(ct.table.nbuckets, 1024)).fill(-1);
    this.bsSeed = opt.bysourceSeed ?? 0;
    ct.table.enableNat();
    const prevGrow = ct.table.onGrow;
    ct.table.onGrow = (c) => { prevGrow?.(c); this.grow(c); };
    ct.nat = this;
  }

  private grow(c: number): void {
    const g = (a: Int32Array, fill: number) => { const b = new Int32Array(c).fill(fill); b.set(a); return b; };
    this.ruleSrc = g(this.ruleSrc, -1);
    this.ruleDst = g(this.ruleDst, -1);
    this.bsNext = g(this.bsNext, -1);
    this.bsPrev = g(this.bsPrev, -1);
    this.useKey = g(this.useKey, -1);
    const m = new Uint8Array(c); m.set(this.masq); this.masq = m;
  }

  private rule(id: number): RuleCounters {
    while (this.rules.length <= id) this.rules.push({ mappings: 0, exhausted: 0, insert_failed: 0 });
    return this.rules[id]!;
  }

  // ---------------------------------------------------------------- NatPath

  extraBytes(): number {
    // the NAT extension of masqueraded entries is counted per entry by Conntrack.addExtension
    return this.bsHeads.length * 8;
  }

  freed(slot: number): void {
    if (this.bsPrev[slot] !== -1) this.bsUnlink(slot);
    if (this.masq[slot] !== 0) { this.masq[slot] = 0; this.masqCount--; }
    const k = this.useKey[slot]!;
    if (k >= 0) { this.usage.release(k); this.useKey[slot] = -1; }
    this.ruleSrc[slot] = -1;
    this.ruleDst[slot] = -1;
  }

  linked(slot: number): void {
    const tb = this.ct.table;
    const r = this.ruleSrc[slot]!;
    if (r >= 0 && (tb.statusOf(slot) & IPS_NAT_CLASH) === 0) {
      // port usage of SNAT rules: the reply tuple (dst:dport → natAddr:port) holds one port of the key
      const proto = tb.l3protoOf(slot) & 0xff;
      const rp = tb.rportsOf(slot);
      this.useKey[slot] = this.usage.acquire(tb.rdst![slot]!, tb.rsrc![slot]!, hasPorts(proto) ? rp >>> 16 : 0, tb.l3protoOf(slot), this.ruleSize[r] ?? 64512, r);
    }
  }

  /** Range size per SNAT rule (for port utilisation), set at setup. */
  private readonly ruleSize: number[] = [];

  packet(slot: number, dir: number, isNew: boolean, pkt: Pkt): number {
    if (this.decider === undefined) return NF_ACCEPT;
    if (this.dnat(slot, dir, isNew, pkt) === NF_DROP) return NF_DROP;
    return this.snat(slot, dir, isNew, pkt, false);
  }

  /** PRE_ROUTING: DST manip (nf_nat_ipv4_pre_routing → nf_nat_inet_fn). */
  dnat(slot: number, dir: number, isNew: boolean, pkt: Pkt): number {
    const d = this.decider;
    if (d === undefined) return NF_ACCEPT;
    const tb = this.ct.table;
    if (isNew && (tb.statusOf(slot) & IPS_DST_NAT_DONE) === 0) {
      const r = this.decide(d, NF_INET_PRE_ROUTING, pkt, slot, NF_NAT_MANIP_DST);
      if (r === NF_DROP) return NF_DROP;
    }
    this.manipPkt(slot, dir, NF_NAT_MANIP_DST, pkt);
    return NF_ACCEPT;
  }

  /**
   * POST_ROUTING: SRC manip (routing has run on the translated destination); for a packet
   * delivered to the host (`local`), LOCAL_IN's SRC manip (nf_nat_ipv4_local_in).
   */
  snat(slot: number, dir: number, isNew: boolean, pkt: Pkt, local: boolean): number {
    const d = this.decider;
    if (d === undefined) return NF_ACCEPT;
    const tb = this.ct.table;
    if (isNew && (tb.statusOf(slot) & IPS_SRC_NAT_DONE) === 0) {
      const r = this.decide(d, local ? NF_INET_LOCAL_IN : NF_INET_POST_ROUTING, pkt, slot, NF_NAT_MANIP_SRC);
      if (r === NF_DROP) return NF_DROP;
    }
    this.manipPkt(slot, dir, NF_NAT_MANIP_SRC, pkt);
    return NF_ACCEPT;
  }

  private decide(d: NatDecider, hook: number, pkt: Pkt, slot: number, manip: number): number {
    const range = this.range.reset();
    this.dec.masq = false;
    const id = d.decide(hook, pkt, range, this.dec, slot);
    if (id === NAT_RULE_DROP) return NF_DROP;
    if (id >= 0) {
      this.counters.mappings++;
      const rc = this.rule(id);
      rc.mappings++;
      if (manip === NF_NAT_MANIP_SRC) {
        this.ruleSrc[slot] = id;
        this.ruleSize[id] = this.rangeSizeOf(range, pkt.sport);
      } else this.ruleDst[slot] = id;
      if (this.dec.masq && this.masq[slot] === 0) { this.masq[slot] = 1; this.masqCount++; this.ct.addExtension(slot, CT_EXT_NAT); }
      const changed = this.setupInfo(slot, range, manip);
      if (changed) this.counters.mappings_changed++;
      if (this.searchFailed) { this.counters.exhausted++; rc.exhausted++; }
      return NF_ACCEPT;
    }
    this.allocNullBinding(slot, manip);
    return NF_ACCEPT;
  }

  private rangeSizeOf(range: NatRange, port: number): number {
    if ((range.flags & NF_NAT_RANGE_PROTO_SPECIFIED) !== 0) return Math.abs(range.maxProto - range.minProto) + 1;
    return port < 512 ? 511 : port < 1024 ? 424 : 64512;
  }

  /**
   * Null binding (docs/nat.md §1.3): MAP_IPS to the current address, no port range.
   * @see __nf_nat_alloc_null_binding
   */
  allocNullBinding(slot: number, manip: number): void {
    const tb = this.ct.table;
    const r = this.nullRange.reset();
    r.flags = NF_NAT_RANGE_MAP_IPS;
    const a = manip === NF_NAT_MANIP_SRC ? tb.rdst![slot]! : tb.rsrc![slot]!;
    r.minAddr = a;
    r.maxAddr = a;
    this.counters.null_bindings++;
    if (this.setupInfo(slot, r, manip)) this.counters.null_binding_realloc++;
  }

  /**
   * `nf_nat_setup_info()` (docs/nat.md §1.5) for an unconfirmed entry: returns whether the
   * tuple changed. Sets the manip bits, rewrites the REPLY tuple, inserts into bysource (SRC).
   */
  setupInfo(slot: number, range: NatRange, manip: number): boolean {
    const tb = this.ct.table;
    this.searchFailed = false;
    if ((tb.statusOf(slot) & IPS_CONFIRMED) !== 0) return false;
    // curr = invert(reply)
    this.loadCurrent(slot);
    const cs = this.tSrc, cd = this.tDst, csp = this.tSport, cdp = this.tDport;
    this.getUniqueTuple(slot, range, manip);
    const changed = this.tSrc !== cs || this.tDst !== cd || this.tSport !== csp || this.tDport !== cdp;
    if (changed) {
      this.storeReply(slot);
      tb.orStatus(slot, manip === NF_NAT_MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT);
    }
    if (manip === NF_NAT_MANIP_SRC) this.bsInsert(slot);
    tb.orStatus(slot, manip === NF_NAT_MANIP_SRC ? IPS_SRC_NAT_DONE : IPS_DST_NAT_DONE);
    return changed;
  }

  /** Loads `invert(ct.reply)` into the working tuple. */
  private loadCurrent(slot: number): void {
    const tb = this.ct.table;
    const l3p = tb.l3protoOf(slot);
    const rp = tb.rportsOf(slot);
    this.tL3 = l3p;
    this.tProto = l3p & 0xff;
    this.tSrc = tb.rdst![slot]!;
    this.tDst = tb.rsrc![slot]!;
    this.tRlow = rp & 0xffff;
    if (this.tProto === IPPROTO_ICMP || this.tProto === IPPROTO_ICMPV6) {
      this.tSport = rp >>> 16; // id
      this.tDport = tb.portsOf(slot) & 0xffff; // original type/code
    } else {
      this.tSport = rp & 0xffff;
      this.tDport = rp >>> 16;
    }
  }

  /** ct.reply = invert(working tuple). @see nf_conntrack_alter_reply */
  private storeReply(slot: number): void {
    const tb = this.ct.table;
    tb.rsrc![slot] = this.tDst;
    tb.rdst![slot] = this.tSrc;
    tb.setRports(slot, this.invPorts());
  }

  /** Port word of invert(working tuple). */
  private invPorts(): number {
    if (this.tProto === IPPROTO_ICMP || this.tProto === IPPROTO_ICMPV6) return ((this.tSport << 16) | this.tRlow) | 0;
    return ((this.tDport << 16) | this.tSport) | 0;
  }

  // ---------------------------------------------------------------- get_unique_tuple (docs/nat.md §2.2)

  /** `get_unique_tuple()`: leaves the chosen tuple in the working registers. */
  private getUniqueTuple(slot: number, range: NatRange, manip: number): void {
    const v = this.v;
    const randomAll = (range.flags & NF_NAT_RANGE_PROTO_RANDOM_ALL) !== 0;
    // step 1: identity or bysource reuse (SRC, no random flag)
    if (manip === NF_NAT_MANIP_SRC && !randomAll) {
      if (this.inRange(range)) {
        const used = v >= 6012 ? this.usedNew(slot) : this.used(slot);
        if (!used) return;
      } else if (this.findAppropriateSrc(slot, range)) {
        if (!this.used(slot)) { this.counters.bysource_reuse++; return; }
        // restore the current tuple's source for step 2
        this.loadCurrentKeepDst(slot);
      }
    }
    // step 2: address
    this.findBestIps(range, manip);
    // step 3: keep the current port if acceptable
    if (!randomAll) {
      if ((range.flags & NF_NAT_RANGE_PROTO_SPECIFIED) !== 0) {
        if ((range.flags & NF_NAT_RANGE_PROTO_OFFSET) === 0 && this.l4InRange(manip, range.minProto, range.maxProto)
          && (range.minProto === range.maxProto || !this.used(slot))) return;
      } else if (!this.used(slot)) {
        return;
      }
    }
    // step 4: search
    if (v >= 5000) this.l4UniqueTuple(slot, range, manip);
    else this.l4UniqueTupleOld(slot, range, manip);
  }

  private loadCurrentKeepDst(slot: number): void {
    const d = this.tDst, dp = this.tDport;
    this.loadCurrent(slot);
    this.tDst = d;
    this.tDport = dp;
  }

  /** `nf_in_range()`: source address and source port/id of the working tuple (SRC manip). */
  private inRange(range: NatRange): boolean {
    if ((range.flags & NF_NAT_RANGE_MAP_IPS) !== 0) {
      if (!addrIn(this.tSrc, range.minAddr, range.maxAddr, this.tL3)) return false;
    }
    if ((range.flags & NF_NAT_RANGE_PROTO_SPECIFIED) === 0) return true;
    return this.l4InRange(NF_NAT_MANIP_SRC, range.minProto, range.maxProto);
  }

  /** `l4proto_in_range()`. */
  private l4InRange(manip: number, min: number, max: number): boolean {
    const p = this.tProto;
    let port: number;
    if (p === IPPROTO_ICMP || p === IPPROTO_ICMPV6) port = this.tSport;
    else if (hasPorts(p) || p === IPPROTO_GRE) port = manip === NF_NAT_MANIP_SRC ? this.tSport : this.tDport;
    else return true;
    return port >= min && port <= max;
  }

  /**
   * `find_appropriate_src()` (docs/nat.md §1.6): the first entry of our bysource bucket with the
   * same protocol and ORIGINAL source whose mapped source lies in the range; writes it into the
   * working tuple's source. Returns whether one was found.
   */
  private findAppropriateSrc(slot: number, range: NatRange): boolean {
    const tb = this.ct.table;
    const l3p = tb.l3protoOf(slot);
    const src = tb.srcOf(slot);
    const sport = tb.portsOf(slot) >>> 16;
    const cs = this.tSrc, csp = this.tSport;
    for (let e = this.bsHeads[this.bsBucket(l3p, src, sport)]!; e >= 0; e = this.bsNext[e]!) {
      if (e === slot || tb.l3protoOf(e) !== l3p || tb.srcOf(e) !== src || (tb.portsOf(e) >>> 16) !== sport) continue;
      // candidate: invert(that.reply) with our destination
      this.tSrc = tb.rdst![e]!;
      const rp = tb.rportsOf(e);
      this.tSport = (this.tProto === IPPROTO_ICMP || this.tProto === IPPROTO_ICMPV6) ? rp >>> 16 : rp & 0xffff;
      if (this.inRange(range)) return true;
    }
    this.tSrc = cs;
    this.tSport = csp;
    return false;
  }

  /** `find_best_ips_proto()` (docs/nat.md §2.4). */
  private findBestIps(range: NatRange, manip: number): void {
    if ((range.flags & NF_NAT_RANGE_MAP_IPS) === 0) return;
    let a: number;
    if (range.minAddr === range.maxAddr || (this.tL3 >> 8) === 6) {
      // IPv6 addresses are interned ids in the model: multi-address IPv6 ranges take the first address
      a = range.minAddr;
    } else {
      const init = (range.flags & NF_NAT_RANGE_PERSISTENT) !== 0 ? 0 : bswap32(this.tDst);
      const w = this.words;
      w[0] = bswap32(this.tSrc);
      const j = jhash2(w, init);
      const min = range.minAddr >>> 0, max = range.maxAddr >>> 0;
      a = (min + reciprocalScale32(j, max - min + 1)) | 0;
    }
    if (manip === NF_NAT_MANIP_SRC) this.tSrc = a;
    else this.tDst = a;
  }

  /**
   * `nf_nat_l4proto_unique_tuple()` (v5.0+; docs/nat.md §2.5): the port/id search with its
   * attempt cap, halving and random restarts.
   */
  private l4UniqueTuple(slot: number, range: NatRange, manip: number): void {
    const p = this.tProto;
    const icmp = p === IPPROTO_ICMP || p === IPPROTO_ICMPV6;
    let min: number, rangeSize: number;
    const srcKey = icmp || manip === NF_NAT_MANIP_SRC;
    const spec = (range.flags & NF_NAT_RANGE_PROTO_SPECIFIED) !== 0;
    if (icmp) {
      if (!spec) { min = 0; rangeSize = 65536; } else { min = range.minProto; rangeSize = range.maxProto - range.minProto + 1; }
    } else if (hasPorts(p)) {
      if (!spec) {
        if (manip === NF_NAT_MANIP_DST) return;
        const port = this.tSport;
        if (port < 512) { min = 1; rangeSize = 511; } else if (port < 1024) { min = 600; rangeSize = 424; } else { min = 1024; rangeSize = 64512; }
      } else {
        let lo = range.minProto, hi = range.maxProto;
        if (hi < lo) { const t = lo; lo = hi; hi = t; }
        min = lo; rangeSize = hi - lo + 1;
      }
    } else {
      return; // GRE without a master, other protocols: unchanged
    }
    let off: number;
    if ((range.flags & NF_NAT_RANGE_PROTO_OFFSET) !== 0) off = ((srcKey ? this.tSport : this.tDport) - range.baseProto) & 0xffff;
    else if ((range.flags & NF_NAT_RANGE_PROTO_RANDOM_ALL) !== 0 || manip !== NF_NAT_MANIP_DST || this.v < 6008) off = this.rnd() & 0xffff;
    else off = 0;
    let attempts = rangeSize < NF_NAT_MAX_ATTEMPTS ? rangeSize : NF_NAT_MAX_ATTEMPTS;
    for (;;) {
      for (let i = 0; i < attempts; i++, off = (off + 1) & 0xffff) {
        const key = min + (off % rangeSize);
        if (srcKey) this.tSport = key; else this.tDport = key;
        this.counters.probes++;
        if (!this.usedHarder(slot, attempts - i)) return;
      }
      if (attempts >= rangeSize || attempts < 16) { this.searchFailed = true; return; }
      attempts = attempts >> 1;
      off = this.rnd() & 0xffff;
    }
  }

  /** The pre-v5.0 search (`nf_nat_l4proto_unique_tuple()` in nf_nat_proto_common.c): whole range from a rover. */
  private l4UniqueTupleOld(slot: number, range: NatRange, manip: number): void {
    const p = this.tProto;
    const icmp = p === IPPROTO_ICMP || p === IPPROTO_ICMPV6;
    if (!icmp && !hasPorts(p)) return;
    const srcKey = icmp || manip === NF_NAT_MANIP_SRC;
    let min: number, rangeSize: number;
    if ((range.flags & NF_NAT_RANGE_PROTO_SPECIFIED) === 0) {
      if (icmp) { min = 0; rangeSize = 65536; } else {
        if (manip === NF_NAT_MANIP_DST) return;
        const port = this.tSport;
        if (port < 512) { min = 1; rangeSize = 511; } else if (port < 1024) { min = 600; rangeSize = 424; } else { min = 1024; rangeSize = 64512; }
      }
    } else { min = range.minProto; rangeSize = range.maxProto - range.minProto + 1; }
    const randomAll = (range.flags & NF_NAT_RANGE_PROTO_RANDOM_ALL) !== 0;
    let off = randomAll ? this.rnd() & 0xffff : this.rover.get(p) ?? 0;
    for (let i = 0; ; off = (off + 1) & 0xffff) {
      const key = min + (off % rangeSize);
      if (srcKey) this.tSport = key; else this.tDport = key;
      this.counters.probes++;
      if (++i !== rangeSize && this.used(slot)) continue;
      if (i === rangeSize) this.searchFailed = this.usedQuiet(slot);
      if (!randomAll) this.rover.set(p, off);
      return;
    }
  }

  // ---------------------------------------------------------------- taken predicates (docs/nat.md §2.6)

  /**
   * `nf_nat_used_tuple()` → `nf_conntrack_tuple_taken()`: is invert(working tuple) in the table?
   * Reaps expired entries met on the way; skips entries unconfirmed on another CPU and (v5.0+)
   * entries with our ORIGINAL tuple; counts `found` on a hit.
   */
  used(slot: number): boolean {
    const h = this.findReply(slot, true, this.v >= 5000);
    if (h < 0) return false;
    this.ct.stats.found++;
    return true;
  }

  /** Same test without counting `found` (classifies the search outcome; never reaps). */
  private usedQuiet(slot: number): boolean {
    return this.scan(slot, false, this.v >= 5000) >= 0;
  }

  /** Finds the node equal to invert(working tuple); -1 if none. */
  private findReply(slot: number, reap: boolean, skipSameOrig: boolean): number {
    return this.scan(slot, reap, skipSameOrig);
  }

  private scan(slot: number, reap: boolean, skipSameOrig: boolean): number {
    const ct = this.ct;
    const tb = ct.table;
    const rs = this.tDst, rd = this.tSrc, rp = this.invPorts(), l3p = this.tL3;
    const b = tb.bucketOf(rs, rd, rp, l3p);
    let p = tb.chainLength(b) - 1;
    while (p >= 0) {
      const node = tb.at(b, p);
      const s = node >> 1;
      let q = p - 1;
      if (reap && ct.isExpired(s)) {
        if (q >= 0 && tb.at(b, q) >> 1 === s) q--;
        const next = q >= 0 ? tb.at(b, q) : -1;
        ct.stats.reaped_lookup++;
        ct.destroy(s, REASON_TIMEOUT_LOOKUP, node, b);
        p = next < 0 ? -1 : tb.relocate(b, next, q);
        continue;
      }
      if (s !== slot && tb.l3protoOf(s) === l3p && !ct.invisible(s) && nodeIs(tb, node, rs, rd, rp)) {
        if (!(skipSameOrig && tb.srcOf(s) === tb.srcOf(slot) && tb.dstOf(s) === tb.dstOf(slot) && tb.portsOf(s) === tb.portsOf(slot))) return node;
      }
      p = q;
    }
    return -1;
  }

  /**
   * `nf_nat_used_tuple_new()` (v6.12+, docs/nat.md §2.6.2): the identity check of step 1 keeps
   * the tuple when the clash is the same flow seen from the other side.
   */
  private usedNew(slot: number): boolean {
    if (!this.used(slot)) return false;
    const tb = this.ct.table;
    if (!allowClash(this.tProto, this.v)) return true;
    if ((tb.statusOf(slot) & (IPS_NAT_MASK | IPS_SEQ_ADJUST)) !== 0) return true;
    // the clashing entry: by the tuple itself, else by its inverse
    let h = this.ct.find(this.tSrc, this.tDst, ((this.tSport << 16) | this.tDport) | 0, this.tL3);
    if (h < 0) h = this.findReply(slot, false, false);
    if (h < 0) return false;
    const o = h >> 1;
    if ((tb.statusOf(o) & (IPS_NAT_MASK | IPS_SEQ_ADJUST)) !== 0) return true;
    // other.ORIGINAL == our REPLY → the reverse-direction race: keep the tuple
    return !(tb.srcOf(o) === tb.rsrc![slot] && tb.dstOf(o) === tb.rdst![slot] && tb.portsOf(o) === tb.rportsOf(slot));
  }

  /**
   * `nf_nat_used_tuple_harder()` (v6.5+, docs/nat.md §2.6.3): in the last 32 probes of a round,
   * a TCP SYN may evict a SNATed TIME_WAIT/CLOSE entry whose sequence it has passed.
   */
  private usedHarder(slot: number, attemptsLeft: number): boolean {
    const ct = this.ct;
    if (this.v < 6005 || attemptsLeft > NF_NAT_HARDER_THRESH || this.tProto !== IPPROTO_TCP
      || ct.tcp.stateOf(slot) !== TCP_CONNTRACK_SYN_SENT) return this.used(slot);
    const h = this.findReply(slot, true, false);
    if (h < 0) return false;
    if ((h & 1) === 0) return true;
    const o = h >> 1;
    const st = ct.table.statusOf(o);
    if (ct.tcp.stateOf(o) < TCP_CONNTRACK_TIME_WAIT || (st & (IPS_FIXED_TIMEOUT | IPS_DYING)) !== 0 || (st & IPS_SRC_NAT) === 0) return true;
    if (((ct.tcp.w[tdw(slot * 2) + T_TD_END]! - ct.tcp.w[tdw(o * 2) + T_TD_END]!) | 0) <= 0) return true;
    this.counters.evicted_time_wait++;
    ct.destroy(o, REASON_NAT_EVICT);
    return false;
  }

  // ---------------------------------------------------------------- bysource (docs/nat.md §1.6)

  private bsBucket(l3p: number, src: number, sport: number): number {
    let h = Math.imul(src ^ this.bsSeed, 0x9e3779b1);
    h ^= Math.imul(((sport << 16) | l3p) ^ (h >>> 15), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return reciprocalScale32(h >>> 0, this.bsHeads.length);
  }

  private bsInsert(slot: number): void {
    if (this.bsPrev[slot] !== -1) return;
    const tb = this.ct.table;
    const b = this.bsBucket(tb.l3protoOf(slot), tb.srcOf(slot), tb.portsOf(slot) >>> 16);
    const first = this.bsHeads[b]!;
    this.bsNext[slot] = first;
    this.bsPrev[slot] = -(b + 2);
    if (first >= 0) this.bsPrev[first] = slot;
    this.bsHeads[b] = slot;
  }

  private bsUnlink(slot: number): void {
    const p = this.bsPrev[slot]!;
    const n = this.bsNext[slot]!;
    if (p >= 0) this.bsNext[p] = n; else this.bsHeads[-p - 2] = n;
    if (n >= 0) this.bsPrev[n] = p;
    this.bsPrev[slot] = -1;
    this.bsNext[slot] = -1;
  }

  /** Entries in the bysource chain of an ORIGINAL source (tests). */
  bysourceChain(l3proto: number, src: number, sport: number): number[] {
    const out: number[] = [];
    for (let e = this.bsHeads[this.bsBucket(l3proto, src, sport)]!; e >= 0; e = this.bsNext[e]!) out.push(e);
    return out;
  }

  // ---------------------------------------------------------------- translation (docs/nat.md §1.7)

  /** `nf_nat_packet()` for one manip: rewrites the packet from the entry's tuples. */
  private manipPkt(slot: number, dir: number, manip: number, pkt: Pkt): void {
    const tb = this.ct.table;
    const st = tb.statusOf(slot);
    let bit = manip === NF_NAT_MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
    if (dir === 1) bit = bit === IPS_SRC_NAT ? IPS_DST_NAT : IPS_SRC_NAT;
    if ((st & bit) === 0) return;
    const proto = tb.l3protoOf(slot) & 0xff;
    const icmp = proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6;
    const ports = hasPorts(proto);
    // target = invert(ct.tuple[!dir])
    if (dir === 0) {
      const rp = tb.rportsOf(slot);
      if (manip === NF_NAT_MANIP_SRC) {
        pkt.src = tb.rdst![slot]!;
        if (ports) pkt.sport = rp & 0xffff; else if (icmp) pkt.sport = rp >>> 16;
      } else {
        pkt.dst = tb.rsrc![slot]!;
        if (ports) pkt.dport = rp >>> 16; else if (icmp) pkt.sport = rp >>> 16;
      }
    } else {
      const op = tb.portsOf(slot);
      if (manip === NF_NAT_MANIP_SRC) {
        pkt.src = tb.dstOf(slot);
        if (ports) pkt.sport = op & 0xffff; else if (icmp) pkt.sport = op >>> 16;
      } else {
        pkt.dst = tb.srcOf(slot);
        if (ports) pkt.dport = op >>> 16; else if (icmp) pkt.sport = op >>> 16;
      }
    }
  }

  // ---------------------------------------------------------------- confirm-time clashes (docs/nat.md §3.2)

  confirmClash(slot: number, ob: number, rb: number, pkt: Pkt): number {
    const tb = this.ct.table;
    const l3p = tb.l3protoOf(slot);
    let h = findNodeIn(tb, ob, tb.srcOf(slot), tb.dstOf(slot), tb.portsOf(slot), l3p);
    let origClash = true;
    if (h < 0) {
      h = findNodeIn(tb, rb, tb.rsrc![slot]!, tb.rdst![slot]!, tb.rportsOf(slot), l3p);
      origClash = false;
    }
    if (h < 0) return CONFIRM_INSERT;
    return this.resolveClash(slot, h >> 1, rb, pkt, origClash);
  }

  /** `nf_ct_resolve_clash()` with its version history (docs/nat.md §3.2). */
  private resolveClash(loser: number, winner: number, rb: number, pkt: Pkt, origClash: boolean): number {
    const ct = this.ct;
    const tb = ct.table;
    const st = ct.stats;
    const v = this.v;
    const proto = tb.l3protoOf(loser) & 0xff;
    if (allowClash(proto, v)) {
      if (this.mergeable(loser, winner)) return this.merge(loser, winner, pkt);
      if (v >= 5006) {
        // nf_ct_resolve_clash_harder: reply-only insertion unless the REPLY tuple clashes too
        const r = findNodeIn(tb, rb, tb.rsrc![loser]!, tb.rdst![loser]!, tb.rportsOf(loser), tb.l3protoOf(loser));
        if (r >= 0) {
          const w2 = r >> 1;
          if (this.mergeable(loser, w2)) return this.merge(loser, w2, pkt);
        } else {
          tb.setTimeoutOf(loser, (ct.now32 + ct.hz) | 0);
          tb.orStatus(loser, IPS_FIXED_TIMEOUT | IPS_NAT_CLASH);
          this.counters.nat_clash_entries++;
          if (v >= 5010) st.clash_resolve++; else st.insert_failed++;
          return CONFIRM_CLASH_INSERTED;
        }
      }
    }
    st.drop++;
    st.insert_failed++;
    if (origClash) this.counters.orig_clash_drops++; else this.counters.reply_clash_drops++;
    const r = this.ruleSrc[loser]!;
    if (r >= 0) this.rule(r).insert_failed++;
    return CONFIRM_DROP;
  }

  private mergeable(loser: number, w: number): boolean {
    const tb = this.ct.table;
    const v = this.v;
    if ((tb.statusOf(w) & IPS_DYING) !== 0) return false;
    const noNat = (tb.statusOf(w) & IPS_NAT_DONE_MASK) === 0;
    if (v < 5000) return noNat && sameOrig(tb, loser, w);
    if (sameOrig(tb, loser, w) && sameReply(tb, loser, w)) return true;
    if (v < 6012) return noNat && sameOrig(tb, loser, w);
    // nf_ct_match_reverse
    return tb.srcOf(loser) === tb.rsrc![w] && tb.dstOf(loser) === tb.rdst![w] && tb.portsOf(loser) === tb.rportsOf(w)
      && tb.rsrc![loser] === tb.srcOf(w) && tb.rdst![loser] === tb.dstOf(w) && tb.rportsOf(loser) === tb.portsOf(w);
  }

  private merge(loser: number, w: number, pkt: Pkt): number {
    const ct = this.ct;
    const tb = ct.table;
    if (this.v >= 5010) ct.stats.clash_resolve++; else ct.stats.insert_failed++;
    this.counters.clash_merged++;
    this.winner = w;
    // the packet now carries the winner's NAT: translate it from the winner's tuples
    if (this.decider !== undefined) {
      const proto = tb.l3protoOf(w) & 0xff;
      const fwd = sameOrig(tb, loser, w);
      const a = fwd ? tb.rdst![w]! : tb.dstOf(w);
      const b = fwd ? tb.rsrc![w]! : tb.srcOf(w);
      const p = fwd ? tb.rportsOf(w) : tb.portsOf(w);
      pkt.src = a;
      pkt.dst = b;
      if (hasPorts(proto)) { pkt.sport = fwd ? p & 0xffff : p >>> 16; pkt.dport = fwd ? p >>> 16 : p & 0xffff; }
    }
    return CONFIRM_MERGED;
  }
}

/** Whether node `node` of the table carries the tuple (src, dst, ports). */
function nodeIs(tb: Conntrack['table'], node: number, src: number, dst: number, ports: number): boolean {
  const s = node >> 1;
  if ((node & 1) === 0) return tb.srcOf(s) === src && tb.dstOf(s) === dst && tb.portsOf(s) === ports;
  return tb.rsrc![s] === src && tb.rdst![s] === dst && tb.rportsOf(s) === ports;
}

/** First node of a chain equal to the tuple (confirm-time walk: no reaping, every linked entry). */
function findNodeIn(tb: Conntrack['table'], bucket: number, src: number, dst: number, ports: number, l3p: number): number {
  for (let p = tb.chainLength(bucket) - 1; p >= 0; p--) {
    const node = tb.at(bucket, p);
    if (tb.l3protoOf(node >> 1) === l3p && nodeIs(tb, node, src, dst, ports)) return node;
  }
  return -1;
}

function sameOrig(tb: Conntrack['table'], a: number, b: number): boolean {
  return tb.srcOf(a) === tb.srcOf(b) && tb.dstOf(a) === tb.dstOf(b) && tb.portsOf(a) === tb.portsOf(b) && tb.l3protoOf(a) === tb.l3protoOf(b);
}

function sameReply(tb: Conntrack['table'], a: number, b: number): boolean {
  return tb.rsrc![a] === tb.rsrc![b] && tb.rdst![a] === tb.rdst![b] && tb.rportsOf(a) === tb.rportsOf(b);
}

/** Address within [min, max] (IPv4 compared as unsigned; IPv6 ids only by equality with the bounds). */
function addrIn(a: number, min: number, max: number, l3p: number): boolean {
  if ((l3p >> 8) === 6) return a === min || a === max;
  const x = a >>> 0;
  return x >= (min >>> 0) && x <= (max >>> 0);
}

export { NF_NAT_RANGE_PROTO_RANDOM, NF_NAT_RANGE_PROTO_RANDOM_FULLY, IPPROTO_GRE };
