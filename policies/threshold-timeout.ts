import { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE } from '../sim/conntrack/constants.js';
import type { PolicyKind } from './policy.js';
import { thresholdRule, thresholdRuleSchema } from './threshold-rule.js';

/**
 * Occupancy-dependent timeouts re-evaluated at every refresh: while the count is above `above`
 * × nf_conntrack_max, every refresh of a matching entry (new or old) uses a named timeout set
 * instead of its own, and switches back once the table is below again. This is not what the
 * paper's `-m conntrack --table-above 75 -j CT --timeout` would do (that attaches a timeout
 * policy to new entries at creation, for their whole life: see `ct-timeout-above`); it is a
 * what-if of a timeout that follows the occupancy, like pf's adaptive timeouts with a step. For
 * TCP the set's value for the new state replaces the state timeout; where the kernel's ladder
 * chose a cap (RETRANS, UNACK, CLOSE after RST), the shorter of the two applies. For UDP the
 * unreplied/replied value that corresponds to the kernel's choice is used. No timeout extension
 * is attached (no memory cost modelled).
 */
export const thresholdTimeoutPolicy: PolicyKind = {
  summary: 'while above N% occupancy, every refresh of a matching flow (old ones too) uses a named timeout set',
  schema: thresholdRuleSchema({
    above: 'fill fraction above which the rule applies',
    dport: 'only entries with this original destination port',
    timeouts: 'the timeout set, by nfct name (tcp: established, …; udp: unreplied, replied)',
  }),
  create: (p) => {
    const { above, proto, pnum, dport, timeouts } = thresholdRule('threshold-timeout', p);
    return {
      name: 'threshold-timeout',
      install: ({ ct, hooks }) => {
        const idx = ct.addTimeoutPolicy('threshold-timeout', proto, timeouts);
        const set = ct.timeoutSets[idx]!;
        const def = ct.timeoutSets[0]!;
        const limit = Math.floor(ct.max * above);
        hooks.timeout = (slot, to) => {
          if (ct.count <= limit) return to;
          const l4 = ct.table.l3protoOf(slot) & 0xff;
          if (l4 !== pnum && !(pnum === IPPROTO_UDP && l4 === IPPROTO_UDPLITE)) return to;
          if (dport >= 0 && (ct.table.portsOf(slot) & 0xffff) !== dport) return to;
          if (pnum === IPPROTO_TCP) {
            const state = ct.tcp.stateOf(slot);
            const v = set.tcp[state]!;
            return to === def.tcp[state] ? v : Math.min(to, v);
          }
          return to === def.udpReplied ? set.udpReplied : set.udpUnreplied;
        };
      },
    };
  },
};
