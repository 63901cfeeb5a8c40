import { IPPROTO_UDP, IPPROTO_UDPLITE } from '../sim/conntrack/constants.js';
import type { PolicyKind } from './policy.js';
import { thresholdRule, thresholdRuleSchema } from './threshold-rule.js';

/**
 * The paper's proposal, `-m conntrack --table-above 75 -j CT --timeout <policy>`: a new entry
 * whose first packet matches (protocol, optional destination port) gets a named timeout policy
 * attached at creation when the table holds more than `above` × nf_conntrack_max entries (the
 * new one not counted: the rule runs before conntrack allocates it). The entry keeps the policy
 * for its whole life, whatever the occupancy later, and carries the timeout extension (memory
 * model, §10.2); entries created below the threshold keep the netns defaults for life. Unset
 * fields of the set take the netns defaults.
 */
export const ctTimeoutAbovePolicy: PolicyKind = {
  summary: 'above N% occupancy, new matching flows get a named timeout policy attached at creation, for life',
  schema: thresholdRuleSchema({
    above: 'fill fraction above which new entries get the policy',
    dport: 'only new flows to this destination port',
    timeouts: 'the timeout policy, by nfct name (tcp: established, …; udp: unreplied, replied)',
  }),
  create: (p) => {
    const { above, proto, pnum, dport, timeouts } = thresholdRule('ct-timeout-above', p);
    let attached = 0;
    return {
      name: 'ct-timeout-above',
      install: ({ ct, hooks }) => {
        const idx = ct.addTimeoutPolicy('ct-timeout-above', proto, timeouts);
        const limit = Math.floor(ct.max * above);
        hooks.timeoutPolicyFor = (pkt) => {
          // ct.count already includes the entry being created
          if (ct.count - 1 <= limit) return 0;
          if (pkt.proto !== pnum && !(pnum === IPPROTO_UDP && pkt.proto === IPPROTO_UDPLITE)) return 0;
          if (dport >= 0 && pkt.dport !== dport) return 0;
          attached++;
          return idx;
        };
      },
      counters: () => ({ policies_attached: attached }),
    };
  },
};
