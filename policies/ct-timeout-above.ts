import { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE } from '../sim/conntrack/constants.js';
import { TIMEOUT_POLICY_FIELDS } from '../sim/conntrack/timeout-policy.js';
import { num, obj, opt, record, str } from '../sim/scenario/schema-dsl.js';
import type { PolicyKind } from './policy.js';

const PROTO_NUM: Record<string, number> = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP };

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
  schema: obj({
    above: num({ min: 0, max: 1, default: 0.75, doc: 'fill fraction above which new entries get the policy' }),
    proto: str({ enum: ['tcp', 'udp'], default: 'tcp' }),
    dport: opt(num({ int: true, min: 0, max: 65535, doc: 'only new flows to this destination port' })),
    timeouts: record(num({ min: 0, doc: 'seconds' }), { default: { established: 600 }, doc: 'the timeout policy, by nfct name (tcp: established, …; udp: unreplied, replied)' }),
  }),
  create: (p) => {
    const above = p['above'] as number;
    const proto = p['proto'] as string;
    const dport = (p['dport'] as number | undefined) ?? -1;
    const timeouts = p['timeouts'] as Record<string, number>;
    for (const k of Object.keys(timeouts)) {
      if (!TIMEOUT_POLICY_FIELDS[proto]!.includes(k)) throw new RangeError(`ct-timeout-above: ${proto} has no timeout "${k}" (known: ${TIMEOUT_POLICY_FIELDS[proto]!.join(', ')})`);
    }
    let attached = 0;
    return {
      name: 'ct-timeout-above',
      install: ({ ct, hooks }) => {
        const idx = ct.addTimeoutPolicy('ct-timeout-above', proto, timeouts);
        const limit = Math.floor(ct.max * above);
        const pnum = PROTO_NUM[proto]!;
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
