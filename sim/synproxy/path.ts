/**
 * The rule shape SYNPROXY needs (docs/synproxy.md §4), as the kernel selftest
 * `nft_synproxy.sh` writes it, applied in hook order to one packet:
 *
 *   raw prerouting (−300):  iif <client side> tcp flags syn notrack
 *   conntrack (−200):       lookup / create
 *   filter forward (0):     ct state new,established accept
 *                           iif <client side> tcp dport P ct state invalid,untracked synproxy …
 *                           ct state invalid drop
 *   POST_ROUTING (CONFIRM − 1): the synproxy hook; then confirm-time sequence adjustment.
 *
 * Used by the unit tests and by runs whose scenario enables `synproxy` without a ruleset of its
 * own (the standalone engine); a ruleset with a `synproxy` statement goes through sim/rules.
 */
import { IPPROTO_TCP, TH_SYN } from '../conntrack/constants.js';
import { IP_CT_ESTABLISHED_REPLY, IP_CT_NONE, NF_ACCEPT, NF_DROP, type Conntrack } from '../conntrack/conntrack.js';
import type { Pkt } from '../conntrack/packet.js';
import { NF_STOLEN, type Synproxy, type SynproxyInfo } from './synproxy.js';

/** How the last packet left the path (for tests and counters). */
export const PATH_UNTRACKED = 0, PATH_INVALID = 1, PATH_TRACKED = 2;

export class SynproxyPath {
  /** PATH_* of the last packet: its `ct state` class. */
  lastState = PATH_TRACKED;
  /** Packets the `ct state invalid drop` rule dropped. */
  invalidDropped = 0;

  /** `port`: the protected port (`tcp dport P` on the synproxy rule); -1: any. */
  constructor(readonly ct: Conntrack, readonly sp: Synproxy, readonly info: SynproxyInfo, readonly port: number) {}

  /**
   * One packet through the firewall. `fromClient`: it arrives on the protected (client) side.
   * Returns NF_ACCEPT (forwarded, possibly rewritten in place), NF_DROP or NF_STOLEN.
   */
  packet(pkt: Pkt, fromClient: boolean): number {
    const ct = this.ct, sp = this.sp;
    sp.emitted = 0;
    const tcp = pkt.proto === IPPROTO_TCP;
    if (fromClient && tcp && (pkt.tcpFlags & TH_SYN) !== 0) {
      // raw: notrack: no entry, `ct state untracked`
      this.lastState = PATH_UNTRACKED;
      ct.lastSlot = -1;
      ct.lastCtinfo = IP_CT_NONE;
    } else {
      if (ct.packetIn(pkt) === NF_DROP) return NF_DROP;
      this.lastState = ct.lastSlot >= 0 ? PATH_TRACKED : PATH_INVALID;
    }
    if (this.lastState === PATH_TRACKED) {
      // ct state new,established accept → POST_ROUTING: synproxy hook, then confirm (seqadj)
      const slot = ct.lastSlot;
      const dir = ct.lastCtinfo >= IP_CT_ESTABLISHED_REPLY ? 1 : 0;
      const h = sp.hook(pkt, slot, dir);
      if (h !== NF_ACCEPT) return h;
      sp.seqAdjust(pkt, slot, dir);
      return NF_ACCEPT;
    }
    if (fromClient && tcp && (this.port < 0 || pkt.dport === this.port)) {
      const v = sp.ruleEval(pkt, this.info);
      if (v !== NF_ACCEPT) return v === NF_STOLEN ? NF_STOLEN : NF_DROP;
    }
    if (this.lastState === PATH_INVALID) {
      this.invalidDropped++;
      return NF_DROP;
    }
    return NF_ACCEPT;
  }
}
