/**
 * The rule path (docs/rules.md §8.1): the `type filter` chains of a ruleset placed where the
 * kernel's hook order puts them around conntrack. `Conntrack.packetIn` calls `run(stage, ...)`:
 *
 *   RULE_STAGE_RAW     prerouting chains with priority < -200 (NF_IP_PRI_CONNTRACK): raw, notrack, ct zone set
 *   -- nf_conntrack_in (lookup / create; table-full drops happen here, before any rule) --
 *   RULE_STAGE_CT      prerouting -200 <= p < -100 (mangle)
 *   -- DNAT (nat prerouting, NF_IP_PRI_NAT_DST -100) --
 *   RULE_STAGE_ROUTED  prerouting p >= -100; routing; input (destination is a local interface
 *                      address) or forward; then, for forwarded packets, postrouting p < 100
 *   -- SNAT (nat postrouting, NF_IP_PRI_NAT_SRC 100; nat input for local delivery) --
 *   RULE_STAGE_SNAT    postrouting p >= 100 (forwarded packets)
 *   -- confirm (NF_IP_PRI_CONNTRACK_CONFIRM, INT_MAX) --
 *
 * Interfaces: the packet enters on the interface that routes its source and leaves on the one
 * that routes its (translated) destination. Without routes every packet is forwarded and has no
 * interfaces. The simulated hosts are all outside the firewall: there is no locally generated
 * traffic, so output chains never run (they are accepted and listed).
 */
import {
  NF_ACCEPT, NF_DROP, NF_REJECT, NF_STOLEN, RULE_STAGE_CT, RULE_STAGE_RAW, RULE_STAGE_ROUTED, RULE_STAGE_SNAT,
  type Conntrack, type RulePath,
} from '../conntrack/conntrack.js';
import type { Pkt } from '../conntrack/packet.js';
import type { AddrInterner } from '../conntrack/addr.js';
import {
  type Routes, type Ruleset, RULE_VERDICT_ACCEPT, RULE_VERDICT_DROP, RULE_VERDICT_REJECT, RULE_VERDICT_STOLEN,
} from './types.js';

const NF_IP_PRI_CONNTRACK = -200;
const NF_IP_PRI_NAT_DST = -100;
const NF_IP_PRI_NAT_SRC = 100;
const LO = -(2 ** 31);
const HI = 2 ** 31;

/** Maps a rule verdict to a netfilter one (and remembers what a reject sends). */
function toNf(v: number): number {
  switch (v) {
    case RULE_VERDICT_ACCEPT: return NF_ACCEPT;
    case RULE_VERDICT_DROP: return NF_DROP;
    case RULE_VERDICT_REJECT: return NF_REJECT;
    case RULE_VERDICT_STOLEN: return NF_STOLEN;
  }
  throw new Error(`rule path: unknown verdict ${v}`);
}

export class RulesetPath implements RulePath {
  untracked = false;
  zone = -1;
  local = false;
  rejectKind = 0;
  rejectCode = 3;
  /** IPv4 addresses of the interfaces (a destination among them is delivered locally). */
  private readonly localAddrs: Int32Array;
  private v6 = false;
  private iif = -1;
  private oif = -1;
  private readonly any: boolean;

  constructor(readonly ruleset: Ruleset, readonly routes: Routes | undefined) {
    const addrs: number[] = [];
    if (routes !== undefined) for (let i = 0; i < routes.count; i++) { const a = routes.addr(i); if (a !== undefined && !addrs.includes(a | 0)) addrs.push(a | 0); }
    this.localAddrs = Int32Array.from(addrs);
    this.any = (['prerouting', 'input', 'forward', 'postrouting'] as const).some((h) => ruleset.hasFilter(h));
  }

  /** Installs the path on a run's conntrack (and binds the ruleset's expressions to it). */
  install(ct: Conntrack): void {
    this.ruleset.bindConntrack(ct);
    ct.rules = this;
  }

  /** Lets IPv6 packets be routed (their ids resolved to addresses). */
  bindInterner(interner: AddrInterner): void {
    this.ruleset.bindInterner(interner);
    this.routes?.bindInterner(interner);
    this.v6 = true;
  }

  private isLocal(pkt: Pkt): boolean {
    if (pkt.l3 !== 4) return false;
    const a = this.localAddrs, d = pkt.dst | 0;
    for (let i = 0; i < a.length; i++) if (a[i] === d) return true;
    return false;
  }

  run(stage: number, pkt: Pkt, slot: number, ctinfo: number, untracked: boolean): number {
    const v = this.stage(stage, pkt, slot, ctinfo, untracked);
    if (v === NF_REJECT) { this.rejectKind = this.ruleset.lastRejectKind; this.rejectCode = this.ruleset.lastRejectCode; }
    return v;
  }

  /** A locally generated packet (a reject's answer): output chains, then postrouting chains. */
  runLocal(pkt: Pkt, slot: number, ctinfo: number): number {
    const rs = this.ruleset;
    let v = rs.filterHook('output', LO, HI, pkt, slot, ctinfo, false, -1, this.iif);
    if (v === RULE_VERDICT_ACCEPT) v = rs.filterHook('postrouting', LO, HI, pkt, slot, ctinfo, false, -1, this.iif);
    // an answer cannot be answered: a reject here only drops it
    return v === RULE_VERDICT_ACCEPT ? NF_ACCEPT : NF_DROP;
  }

  private stage(stage: number, pkt: Pkt, slot: number, ctinfo: number, untracked: boolean): number {
    const rs = this.ruleset;
    const r = this.routes;
    switch (stage) {
      case RULE_STAGE_RAW: {
        this.iif = r !== undefined && (pkt.l3 === 4 || this.v6) ? r.ifaceOf(pkt.l3, pkt.src) : -1;
        this.oif = -1;
        this.local = false;
        if (!this.any) { this.untracked = false; this.zone = -1; return NF_ACCEPT; }
        const v = rs.filterHook('prerouting', LO, NF_IP_PRI_CONNTRACK, pkt, -1, -1, false, this.iif, -1);
        this.untracked = rs.lastUntracked;
        this.zone = rs.lastZone;
        return toNf(v);
      }
      case RULE_STAGE_CT:
        if (!this.any) return NF_ACCEPT;
        return toNf(rs.filterHook('prerouting', NF_IP_PRI_CONNTRACK, NF_IP_PRI_NAT_DST, pkt, slot, ctinfo, untracked, this.iif, -1));
      case RULE_STAGE_ROUTED: {
        let v = this.any ? rs.filterHook('prerouting', NF_IP_PRI_NAT_DST, HI, pkt, slot, ctinfo, untracked, this.iif, -1) : RULE_VERDICT_ACCEPT;
        this.local = this.isLocal(pkt);
        if (this.local) {
          if (v === RULE_VERDICT_ACCEPT && this.any) v = rs.filterHook('input', LO, HI, pkt, slot, ctinfo, untracked, this.iif, -1);
          return toNf(v);
        }
        this.oif = r !== undefined && (pkt.l3 === 4 || this.v6) ? r.ifaceOf(pkt.l3, pkt.dst) : -1;
        if (v === RULE_VERDICT_ACCEPT && this.any) v = rs.filterHook('forward', LO, HI, pkt, slot, ctinfo, untracked, this.iif, this.oif);
        if (v === RULE_VERDICT_ACCEPT && this.any) v = rs.filterHook('postrouting', LO, NF_IP_PRI_NAT_SRC, pkt, slot, ctinfo, untracked, this.iif, this.oif);
        return toNf(v);
      }
      case RULE_STAGE_SNAT:
        if (this.local || !this.any) return NF_ACCEPT;
        return toNf(rs.filterHook('postrouting', NF_IP_PRI_NAT_SRC, HI, pkt, slot, ctinfo, untracked, this.iif, this.oif));
    }
    throw new Error(`rule path: unknown stage ${stage}`);
  }
}

/**
 * Installs the rule path on `ct` when the ruleset has `type filter` chains (else leaves the plain
 * path: a NAT-only ruleset runs exactly as before). Returns the path, or undefined.
 */
export function setupRules(ct: Conntrack, ruleset: Ruleset | undefined, routes: Routes | undefined, interner?: AddrInterner): RulesetPath | undefined {
  if (ruleset === undefined) return undefined;
  const any = (['prerouting', 'input', 'forward', 'output', 'postrouting'] as const).some((h) => ruleset.hasFilter(h));
  if (!any) { ruleset.bindConntrack(ct); return undefined; }
  const p = new RulesetPath(ruleset, routes);
  if (interner !== undefined) p.bindInterner(interner);
  p.install(ct);
  return p;
}
