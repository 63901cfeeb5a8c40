import { IPPROTO_TCP, IPPROTO_UDP } from '../sim/conntrack/constants.js';
import { TIMEOUT_POLICY_FIELDS } from '../sim/conntrack/timeout-policy.js';
import { num, obj, opt, record, str } from '../sim/scenario/schema-dsl.js';

/**
 * What `ct-timeout-above` and `threshold-timeout` share: an occupancy threshold, the flows a rule
 * matches (protocol, optional destination port) and the named timeout set it applies.
 */
export function thresholdRuleSchema(docs: { above: string; dport: string; timeouts: string }) {
  return obj({
    above: num({ min: 0, max: 1, default: 0.75, doc: docs.above }),
    proto: str({ enum: ['tcp', 'udp'], default: 'tcp' }),
    dport: opt(num({ int: true, min: 0, max: 65535, doc: docs.dport })),
    timeouts: record(num({ min: 0, doc: 'seconds' }), { default: { established: 600 }, doc: docs.timeouts }),
  });
}

export interface ThresholdRule {
  above: number;
  proto: string;
  /** IPPROTO_* of `proto`. */
  pnum: number;
  /** Destination port the rule matches, -1 for any. */
  dport: number;
  timeouts: Record<string, number>;
}

const PROTO_NUM: Record<string, number> = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP };

/** Reads validated parameters; a timeout name the protocol does not have is an error naming the policy. */
export function thresholdRule(policy: string, p: Record<string, unknown>): ThresholdRule {
  const proto = p['proto'] as string;
  const timeouts = p['timeouts'] as Record<string, number>;
  for (const k of Object.keys(timeouts)) {
    if (!TIMEOUT_POLICY_FIELDS[proto]!.includes(k)) throw new RangeError(`${policy}: ${proto} has no timeout "${k}" (known: ${TIMEOUT_POLICY_FIELDS[proto]!.join(', ')})`);
  }
  return { above: p['above'] as number, proto, pnum: PROTO_NUM[proto]!, dport: (p['dport'] as number | undefined) ?? -1, timeouts };
}
