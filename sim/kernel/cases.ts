/**
 * Every kernel-diff case, in the order they run (quick ones first), and the case filter.
 */
import type { KernelCase } from './case-types.js';
import { icmpRelated, tcpCrafted, tcpReal, udpStream } from './cases-flows.js';
import { gc95, gcLag, overflowDefault, overflowFew } from './cases-table.js';
import { NAT_CASES } from './cases-nat.js';
import { RULES_CASES } from './cases-rules.js';
import { STATEFUL_CASES } from './cases-stateful.js';
import { synproxyFlood } from './cases-synproxy.js';

/** All cases. */
export const ALL_CASES: readonly KernelCase[] = [
  tcpReal, tcpCrafted, udpStream, icmpRelated, ...NAT_CASES, ...RULES_CASES, ...STATEFUL_CASES, synproxyFlood, overflowDefault, overflowFew, gc95, gcLag,
];

/**
 * The cases a filter selects: each filter word is a case name or a prefix of names
 * (e.g. "overflow", "tcp"). No words select everything. Returns the unknown words too.
 */
export function selectCases(words: readonly string[], all: readonly KernelCase[] = ALL_CASES): {
  cases: KernelCase[]; unknown: string[];
} {
  if (words.length === 0) return { cases: [...all], unknown: [] };
  const unknown = words.filter((w) => !all.some((c) => c.name === w || c.name.startsWith(w)));
  const cases = all.filter((c) => words.some((w) => c.name === w || c.name.startsWith(w)));
  return { cases, unknown };
}
