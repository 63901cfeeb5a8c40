/**
 * Rule-path cases (docs/rules.md §8): the firewall namespace loads a filter/raw ruleset besides
 * the lab's own, and the model replays the firewall's input capture with the same ruleset.
 * Compared: the table (count, conntrack -L states) and the conntrack -S columns — exactly where
 * the outcome does not depend on the hash key, as a range over model seeds where it does.
 */
import type { KernelCase, KernelObs } from './case-types.js';
import { exact, inDistribution, sameCounts } from './compare.js';
import { EXACT_STATS } from './cases-flows.js';
import { ADDR } from './lab.js';
import { burstStep, rawStep, sequence, SYN, TcpConv, type Step } from './plan.js';
import type { PacketSpec } from '../capture/encode.js';

const C = ADDR.client;
const S = ADDR.server;

const pick = (r: Readonly<Record<string, number>>, keys: readonly string[]): Record<string, number> =>
  Object.fromEntries(keys.map((k) => [k, r[k] ?? 0]));
const s = (r: Readonly<Record<string, number>>, key: string): number => r[key] ?? 0;
const finalCount = (k: KernelObs): number => k.timeline[k.timeline.length - 1]?.[1] ?? -1;

const udp = (src: string, dst: string, sport: number, dport: number): PacketSpec => ({ src, dst, sport, dport, udp: {}, payloadLen: 20 });

/**
 * notrack in raw prerouting (docs/rules.md §8.3): queries to port 53 are untracked, their
 * answers (sport 53, not notrack'd) create entries of their own in the reply's direction;
 * port 5353 is notrack'd both ways (no entry at all); a TCP handshake to port 80 is tracked.
 */
export const rulesNotrack: KernelCase = {
  name: 'rules-notrack',
  title: 'notrack in raw prerouting: no entry for notrack\'d packets; an answer that is not notrack\'d gets its own entry',
  reference: 'docs/rules.md §8.1, §8.3',
  rules: `table inet ctsim_raw {
  chain prerouting {
    type filter hook prerouting priority raw; policy accept;
    udp dport 53 notrack
    udp dport 5353 notrack
    udp sport 5353 notrack
  }
}
`,
  events: false, sinks: true, seeds: 1, expectSeconds: 4,
  plan: () => {
    const steps: Step[] = [];
    for (let i = 0; i < 4; i++) {
      steps.push(rawStep(0.1 + i * 0.05, udp(C, S, 41000 + i, 53)));
      steps.push(rawStep(0.12 + i * 0.05, udp(S, C, 53, 41000 + i)));
      steps.push(rawStep(0.13 + i * 0.05, udp(C, S, 42000 + i, 5353)));
      steps.push(rawStep(0.14 + i * 0.05, udp(S, C, 5353, 42000 + i)));
    }
    const t = new TcpConv(43000, 80, 1000, 500000);
    steps.push(...sequence(0.5, 0.01, [t.syn(), t.synAck(), t.ackC()]));
    return { duration: 1.2, sampleMs: 100, steps };
  },
  check: (k, m) => {
    const r = m.runs[0]!.result;
    return [
      sameCounts('conntrack -L states', k.states, r.states),
      exact('nf_conntrack_count at the end', finalCount(k), r.count),
      sameCounts('conntrack -S', pick(k.stats, EXACT_STATS), pick(r.stats, EXACT_STATS), EXACT_STATS),
    ];
  },
  summary: (k, m) => {
    const r = m.runs[0]!.result;
    const f = (n: number, st: Record<string, number>) => `${n} entries: ${Object.entries(st).map(([a, b]) => `${b} ${a}`).join(', ') || 'none'}`;
    return { kernel: f(finalCount(k), k.states), model: f(r.count, r.states) };
  },
};

/** Flood size, spacing and table size of the drop-before-confirm case (as the overflow cases). */
const FLOOD = 1200;
const FLOOD_GAP_US = 300;
const MAX = 99;

/**
 * A SYN flood into a full table (nf_conntrack_max 99, below 100 so the gc's 95% mode stays out)
 * where a forward rule drops every SYN to port 81 (every other SYN of the flood): those entries
 * are allocated by nf_conntrack_in (and may early-drop another entry to make room), then freed
 * unconfirmed when the rule drops their packet (docs/rules.md §8.1). The table count and the
 * conntrack -S columns must match the kernel's (hash-dependent ones as a range over seeds).
 */
export const rulesOverflowDrop: KernelCase = {
  name: 'rules-overflow-drop',
  title: `SYN flood (${FLOOD}, half to a port a forward rule drops) into nf_conntrack_max=${MAX}: rule drops free unconfirmed entries`,
  reference: 'docs/rules.md §8.1; §2.1, §2.3',
  global: { max: MAX },
  rules: `table inet ctsim_filter {
  chain forward {
    type filter hook forward priority filter; policy accept;
    tcp dport 81 counter drop
  }
}
`,
  events: false, sinks: true, seeds: 200, expectSeconds: 5,
  plan: () => {
    const steps: Step[] = [];
    for (let i = 0; i < 5; i++) {
      const t = new TcpConv(43000 + i, 443, 1000 + 7919 * i, 900000 + 7919 * i);
      steps.push(...sequence(0.1 + i * 0.05, 0.005, [t.syn(), t.synAck(), t.ackC()]));
    }
    const flood: PacketSpec[] = [];
    for (let i = 0; i < FLOOD; i++) {
      flood.push({ src: C, dst: S, sport: 20000 + i, dport: i % 2 === 0 ? 80 : 81, tcp: { flags: SYN, seq: (1000 + i * 104729) >>> 0, win: 64240 } });
    }
    steps.push(burstStep(0.6, flood, FLOOD_GAP_US));
    return { steps, duration: 1.6, sampleMs: 20 };
  },
  check: (k, m) => {
    const rs = m.runs.map((r) => r.result);
    return [
      exact('tcp ESTABLISHED ASSURED (never early-dropped)', s(k.states, 'tcp ESTABLISHED ASSURED'), s(rs[0]!.states, 'tcp ESTABLISHED ASSURED')),
      inDistribution('drop', s(k.stats, 'drop'), rs.map((r) => s(r.stats, 'drop'))),
      inDistribution('early_drop', s(k.stats, 'early_drop'), rs.map((r) => s(r.stats, 'early_drop'))),
      inDistribution('final nf_conntrack_count', finalCount(k), rs.map((r) => r.count)),
      inDistribution('tcp SYN_SENT UNREPLIED', s(k.states, 'tcp SYN_SENT UNREPLIED'), rs.map((r) => s(r.states, 'tcp SYN_SENT UNREPLIED'))),
      sameCounts('invalid, insert_failed', pick(k.stats, ['invalid', 'insert_failed']), pick(rs[0]!.stats, ['invalid', 'insert_failed'])),
      exact('no entry for port 81 survives (all freed unconfirmed)', k.entries.filter((e) => /dport=81(\s|$)/.test(e.orig)).length, 0),
    ];
  },
  summary: (k, m) => {
    const rs = m.runs.map((r) => r.result);
    const range = (xs: number[]): string => (Math.min(...xs) === Math.max(...xs) ? `${xs[0]}` : `${Math.min(...xs)}–${Math.max(...xs)}`);
    return {
      kernel: `drop=${s(k.stats, 'drop')} early_drop=${s(k.stats, 'early_drop')} count=${finalCount(k)}`,
      model: `drop=${range(rs.map((r) => s(r.stats, 'drop')))} early_drop=${range(rs.map((r) => s(r.stats, 'early_drop')))} ` +
        `count=${range(rs.map((r) => r.count))} (${rs.length} seeds)`,
    };
  },
};

export const RULES_CASES: readonly KernelCase[] = [rulesNotrack, rulesOverflowDrop];
