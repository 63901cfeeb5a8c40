/**
 * The NAT core's view of a ruleset (sim/rules/): the first NAT rule of the `type nat` chains at
 * a hook becomes an `nf_nat_range2` (docs/nat.md §1.8, §4). Interfaces come from the route table:
 * a packet enters on the interface that routes its source and leaves on the one that routes its
 * (translated) destination.
 * @see nft_nat.c: nft_nat_eval(), nft_masq.c, nf_nat_masquerade.c: nf_nat_masquerade_ipv4(), nf_nat_redirect.c
 */
import type { Pkt } from '../conntrack/packet.js';
import type { AddrInterner } from '../conntrack/addr.js';
import type { Routes, Ruleset } from '../rules/types.js';
import { NAT_LOOKUP_DROP } from '../rules/ruleset.js';
import { NF_INET_LOCAL_IN, NF_INET_PRE_ROUTING, NF_NAT_RANGE_MAP_IPS, type NatRange } from './constants.js';
import { NAT_NO_RULE, NAT_RULE_DROP, type NatDecider } from './nat.js';

export class RulesetDecider implements NatDecider {
  /** Masquerade/redirect found no address on the interface (packets dropped). */
  noAddressDrops = 0;

  /**
   * `draw32` gives uniform uint32 draws for `numgen random` maps (nft_numgen.c:
   * `get_random_u32()`, one per packet that reaches the rule).
   */
  constructor(readonly ruleset: Ruleset, readonly routes: Routes | undefined, private readonly draw32: () => number = () => 0) {}

  /** Whether an AddrInterner is bound (IPv6 packets can be routed and IPv6 NAT addresses mapped). */
  private v6Routes = false;

  /** Binds the interner of the packets' IPv6 ids to the ruleset and the routes. */
  bindInterner(interner: AddrInterner): void {
    this.ruleset.bindInterner(interner);
    this.routes?.bindInterner(interner);
    this.v6Routes = true;
  }

  private addr6Id(id: number, numgen: boolean): number {
    const f = (this.ruleset as { natAddr6Id?: (id: number, k?: number) => number }).natAddr6Id;
    if (f === undefined) return -1;
    if (!numgen) return f.call(this.ruleset, id);
    const pick = (this.ruleset as { numgenIndex?: (id: number, draw32: number) => number }).numgenIndex;
    return f.call(this.ruleset, id, pick === undefined ? 0 : pick.call(this.ruleset, id, this.draw32()));
  }

  /**
   * Whether a NAT rule would set up a mapping for (or drop) this packet at prerouting or
   * postrouting: such a packet cannot pass untracked under the untracked_when_full proposal.
   */
  needsEntry(pkt: Pkt): boolean {
    const rs = this.ruleset as { natProbe?: (h: 'prerouting' | 'postrouting', p: Pkt, i: number, o: number) => number };
    if (rs.natProbe === undefined) return true;
    const r = this.routes;
    let iif = -1, oif = -1;
    if (r !== undefined && (pkt.l3 === 4 || this.v6Routes)) { iif = r.ifaceOf(pkt.l3, pkt.src); oif = r.ifaceOf(pkt.l3, pkt.dst); }
    return rs.natProbe.call(this.ruleset, 'prerouting', pkt, iif, -1) !== -1 || rs.natProbe.call(this.ruleset, 'postrouting', pkt, iif, oif) !== -1;
  }

  decide(hook: number, pkt: Pkt, range: NatRange, out: { masq: boolean }, slot = -1): number {
    const r = this.routes;
    const pre = hook === NF_INET_PRE_ROUTING;
    const local = hook === NF_INET_LOCAL_IN;
    let iif = -1, oif = -1;
    if (r !== undefined) {
      if (pkt.l3 === 4 || this.v6Routes) {
        iif = r.ifaceOf(pkt.l3, pkt.src);
        if (!pre && !local) oif = r.ifaceOf(pkt.l3, pkt.dst);
      }
    }
    // a new entry's first packet: ctinfo IP_CT_NEW (2) for `ct` matches in nat chains
    const id = this.ruleset.natLookup(pre ? 'prerouting' : local ? 'input' : 'postrouting', pkt, iif, oif, slot, slot >= 0 ? 2 : -1);
    if (id === NAT_LOOKUP_DROP) return NAT_RULE_DROP;
    if (id < 0) return NAT_NO_RULE;
    const st = this.ruleset.rules[id]!.nat;
    if (st === undefined) return NAT_NO_RULE;
    range.flags = st.flags;
    range.minAddr = st.minAddr;
    range.maxAddr = st.maxAddr;
    range.minProto = st.minPort;
    range.maxProto = st.maxPort;
    range.baseProto = 0;
    if (st.kind === 'masquerade' || st.kind === 'redirect') {
      // masquerade: the outgoing interface's address; redirect: the incoming one's
      const a = r === undefined ? undefined : r.addr(st.kind === 'masquerade' ? oif : iif);
      if (a === undefined || pkt.l3 !== 4) {
        this.noAddressDrops++;
        return NAT_RULE_DROP;
      }
      range.flags |= NF_NAT_RANGE_MAP_IPS;
      range.minAddr = a;
      range.maxAddr = a;
      out.masq = st.kind === 'masquerade';
    } else if (st.numgen !== undefined && pkt.l3 === 4) {
      // dnat to numgen … map { k : ADDR }: one address per packet (kube-proxy's endpoint choice)
      const pick = (this.ruleset as { numgenIndex?: (id: number, draw32: number) => number }).numgenIndex;
      const k = pick === undefined ? 0 : pick.call(this.ruleset, id, this.draw32());
      const a = st.numgen.addrs[k]!;
      range.flags |= NF_NAT_RANGE_MAP_IPS;
      range.minAddr = a;
      range.maxAddr = a;
    } else if (st.l3 === 6) {
      // IPv6 addresses are interned ids: a single address (or numgen entry) maps to its id when an
      // interner is bound; an address range has no id form, so it keeps the address (ports only)
      const id6 = this.v6Routes ? this.addr6Id(id, st.numgen !== undefined) : -1;
      if (id6 >= 0) {
        range.flags |= NF_NAT_RANGE_MAP_IPS;
        range.minAddr = id6;
        range.maxAddr = id6;
      } else {
        range.flags &= ~NF_NAT_RANGE_MAP_IPS;
      }
    }
    return id;
  }
}

export { NAT_RULE_DROP };
