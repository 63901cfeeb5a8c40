/**
 * The `nat` block of summary.json (docs/nat.md §6): the kernel counters NAT moves, the model's
 * NAT counters, per-rule mappings and failures, and the busiest (NAT address, destination,
 * protocol) keys by ports in use.
 */
import { formatIPv4 } from '../conntrack/addr.js';
import type { CtStats } from '../conntrack/stats.js';
import type { Nat } from './nat.js';
import type { RuleInfo } from '../rules/types.js';

const PROTO: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 136: 'udplite' };

export function natSummary(nat: Nat, stats: CtStats, rules: readonly RuleInfo[] | undefined, extra: Record<string, number> = {}) {
  const u = nat.usage;
  const keys: number[] = [];
  for (let k = 0; k < u.n; k++) keys.push(k);
  keys.sort((a, b) => u.peak[b]! - u.peak[a]! || a - b);
  let peakUtil = 0;
  for (let k = 0; k < u.n; k++) peakUtil = Math.max(peakUtil, u.peak[k]! / u.size[k]!);
  const r6 = (x: number) => Math.round(x * 1e6) / 1e6;
  return {
    /** /proc/net/stat/nf_conntrack columns NAT moves (also in conntrack_S). */
    found: stats.found,
    insert_failed: stats.insert_failed,
    clash_resolve: stats.clash_resolve,
    drop: stats.drop,
    ...nat.counters,
    ...extra,
    rules: nat.rules.map((c, id) => ({ id, ...(rules?.[id] ? { text: rules[id]!.text, line: rules[id]!.line } : {}), ...c }))
      .filter((r) => r.mappings > 0 || r.insert_failed > 0),
    /** Highest ports-in-use / range size over keys during the run. */
    peak_port_util: r6(peakUtil),
    port_keys: keys.slice(0, 10).map((k) => {
      const tail = u.keyTail[k]!;
      const l3 = (tail & 0xffff) >> 8;
      return {
        nat_addr: l3 === 4 ? formatIPv4(u.keyNat[k]!) : `ipv6#${u.keyNat[k]}`,
        dst: l3 === 4 ? formatIPv4(u.keyDst[k]!) : `ipv6#${u.keyDst[k]}`,
        dport: tail >>> 16,
        proto: PROTO[tail & 0xff] ?? String(tail & 0xff),
        in_use: u.inUse[k]!,
        peak: u.peak[k]!,
        range: u.size[k]!,
      };
    }),
  };
}
