import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, IPS_SEEN_REPLY } from '../sim/conntrack/constants.js';
import type { Conntrack } from '../sim/conntrack/conntrack.js';
import { TCP_STATE_NAMES } from '../sim/conntrack/proto-tcp.js';

/**
 * Per-state keys for policies that set a value per connection state: `tcp_established`,
 * `tcp_syn_sent`, …, `udp_unreplied`, `udp_replied`, `icmp`, `generic`.
 */
export const STATE_KEYS: readonly string[] = [
  ...TCP_STATE_NAMES.slice(1).map((n) => `tcp_${n.toLowerCase()}`),
  'udp_unreplied', 'udp_replied', 'icmp', 'generic',
];

const TCP_BASE = 0; // tcp_<state> keys are TCP state − 1
const UDP_UNREPLIED = TCP_STATE_NAMES.length - 1;

/** Index into STATE_KEYS of an entry's current state. */
export function stateKeyIndex(ct: Conntrack, slot: number): number {
  const proto = ct.table.l3protoOf(slot) & 0xff;
  if (proto === IPPROTO_TCP) return TCP_BASE + Math.max(0, ct.tcp.stateOf(slot) - 1);
  if (proto === IPPROTO_UDP || proto === IPPROTO_UDPLITE) return UDP_UNREPLIED + ((ct.table.statusOf(slot) & IPS_SEEN_REPLY) !== 0 ? 1 : 0);
  if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) return UDP_UNREPLIED + 2;
  return UDP_UNREPLIED + 3;
}

/** Turns `{ tcp_established: 300, default: 30 }` (seconds) into a jiffies array over STATE_KEYS. */
export function perStateJiffies(values: Record<string, number>, fallbackSeconds: number, hz: number): Int32Array {
  const out = new Int32Array(STATE_KEYS.length);
  STATE_KEYS.forEach((k, i) => { out[i] = Math.round((values[k] ?? values['default'] ?? fallbackSeconds) * hz); });
  return out;
}

/** Scenario key check for per-state maps (a state key or `default`). */
export function stateKeyCheck(key: string): { ok: true; key: string } | { ok: false; message: string } {
  if (key === 'default' || STATE_KEYS.includes(key)) return { ok: true, key };
  return { ok: false, message: `unknown state key "${key}"; expected one of ${STATE_KEYS.join(', ')}, default` };
}
