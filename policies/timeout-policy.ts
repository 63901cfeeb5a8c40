import { IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE } from '../sim/conntrack/constants.js';
import { TIMEOUT_POLICY_FIELDS } from '../sim/conntrack/timeout-policy.js';
import { arr, num, obj, opt, record, str } from '../sim/scenario/schema-dsl.js';
import type { PolicyKind } from './policy.js';

const PROTOS = Object.keys(TIMEOUT_POLICY_FIELDS);
const PROTO_NUM: Record<string, number> = {
  tcp: IPPROTO_TCP, udp: IPPROTO_UDP, udplite: IPPROTO_UDPLITE, icmp: IPPROTO_ICMP, icmpv6: IPPROTO_ICMPV6, gre: IPPROTO_GRE,
};
/** Protocols with their own tracker; `generic` policies match every other protocol. */
const TRACKED = new Set(Object.values(PROTO_NUM));

/**
 * `ct timeout`-style objects (§7): named timeout sets for one protocol, attached to new entries
 * whose first packet matches the protocol and (optionally) destination / source port — as an
 * nftables `ct timeout set` rule in a prerouting chain would. Unset fields take the netns
 * defaults. The entries carry the timeout extension (memory model).
 */
export const timeoutPolicyPolicy: PolicyKind = {
  summary: 'ct timeout objects: per-flow timeouts matched by protocol and port',
  schema: obj({
    rules: arr(obj({
      name: str({ doc: 'policy object name' }),
      proto: str({ enum: PROTOS, doc: 'protocol the timeouts are for' }),
      dport: opt(num({ int: true, min: 0, max: 65535, doc: 'match the first packet’s destination port' })),
      sport: opt(num({ int: true, min: 0, max: 65535, doc: 'match the first packet’s source port' })),
      timeouts: record(num({ min: 0, doc: 'seconds' }), { doc: 'timeouts by nfct name (tcp: established, syn_sent, …; udp: unreplied, replied)' }),
    }), { minItems: 1 }),
  }),
  create: (p) => {
    type Rule = { name: string; proto: string; dport?: number; sport?: number; timeouts: Record<string, number> };
    const rules = p['rules'] as Rule[];
    return {
      name: 'timeout-policy',
      install: ({ ct, hooks }) => {
        const compiled = rules.map((r) => ({
          idx: ct.addTimeoutPolicy(r.name, r.proto, r.timeouts),
          proto: PROTO_NUM[r.proto] ?? -1,
          dport: r.dport ?? -1,
          sport: r.sport ?? -1,
        }));
        hooks.timeoutPolicyFor = (pkt) => {
          for (const c of compiled) {
            if (c.proto >= 0 ? c.proto !== pkt.proto : TRACKED.has(pkt.proto)) continue;
            if (c.dport >= 0 && c.dport !== pkt.dport) continue;
            if (c.sport >= 0 && c.sport !== pkt.sport) continue;
            return c.idx;
          }
          return 0;
        };
      },
    };
  },
};
