import { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE } from '../sim/conntrack/constants.js';
import { TIMEOUT_POLICY_FIELDS } from '../sim/conntrack/timeout-policy.js';
import { num, obj, opt, record, str } from '../sim/scenario/schema-dsl.js';
import type { PolicyKind } from './policy.js';

const PROTO_NUM: Record<string, number> = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP };

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
  schema: obj({
    above: num({ min: 0, max: 1, default: 0.75, doc: 'fill fraction above which the rule applies' }),
    proto: str({ enum: ['tcp', 'udp'], default: 'tcp' }),
    dport: opt(num({ int: true, min: 0, max: 65535, doc: 'only entries with this original destination port' })),
    timeouts: record(num({ min: 0, doc: 'seconds' }), { default: { established: 600 }, doc: 'the timeout set, by nfct name (tcp: established, …; udp: unreplied, replied)' }),
  }),
  create: (p) => {
    const above = p['above'] as number;
    const proto = p['proto'] as string;
    const dport = (p['dport'] as number | undefined) ?? -1;
    const timeouts = p['timeouts'] as Record<string, number>;
    for (const k of Object.keys(timeouts)) {
      if (!TIMEOUT_POLICY_FIELDS[proto]!.includes(k)) throw new RangeError(`threshold-timeout: ${proto} has no timeout "${k}" (known: ${TIMEOUT_POLICY_FIELDS[proto]!.join(', ')})`);
    }
    return {
      name: 'threshold-timeout',
      install: ({ ct, hooks }) => {
        const idx = ct.addTimeoutPolicy('threshold-timeout', proto, timeouts);
        const set = ct.timeoutSets[idx]!;
        const def = ct.timeoutSets[0]!;
        const limit = Math.floor(ct.max * above);
        const pnum = PROTO_NUM[proto]!;
        hooks.timeout = (slot, to) => {
          if (ct.count <= limit) return to;
          const l4 = ct.table.l3proto[slot]! & 0xff;
          if (l4 !== pnum && !(pnum === IPPROTO_UDP && l4 === IPPROTO_UDPLITE)) return to;
          if (dport >= 0 && (ct.table.ports[slot]! & 0xffff) !== dport) return to;
          if (pnum === IPPROTO_TCP) {
            const state = ct.tcp.state[slot]!;
            const v = set.tcp[state]!;
            return to === def.tcp[state] ? v : Math.min(to, v);
          }
          return to === def.udpReplied ? set.udpReplied : set.udpUnreplied;
        };
      },
    };
  },
};
