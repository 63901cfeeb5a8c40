import { writeToString } from 'fast-csv';
import { COMPARE_METRICS, type Comparison } from './compare.js';

const fmt = (x: number | null, digits: number): string => (x === null ? '-' : x.toFixed(digits));

/** The comparison as a terminal table: one row per metric, one column per arm (mean ± 95% CI). */
export function formatComparison(c: Comparison): string {
  const digits: Partial<Record<string, number>> = { legit_success_rate: 4, peak_fill: 3, time_to_first_drop_s: 2, recovery_s: 2 };
  const head = ['metric', ...c.arms.map((a) => a.label)];
  const rows = COMPARE_METRICS.map((m) => [m, ...c.arms.map((a) => {
    const st = a.stats[m];
    const d = digits[m] ?? 0;
    return st.ci95 === null ? fmt(st.mean, d) : `${fmt(st.mean, d)} ± ${fmt(st.ci95, d)}`;
  })]);
  const w = head.map((_, i) => Math.max(...[head, ...rows].map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((x, i) => (i === 0 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ');
  return [`${c.scenario}: ${c.arms.length} policies × ${c.runs} run(s), seed ${c.seed} (identical traffic per run; ± is the 95% CI over runs)`,
    line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n') + '\n';
}

/** comparison.csv: one row per (policy, metric) with mean, 95% CI half-width and n. */
export async function comparisonCsv(c: Comparison, id?: string): Promise<string> {
  const rows: (string | number | null)[][] = [];
  // the identifying columns (comparison id, scenario, seed, runs) are appended after the original ones
  for (const a of c.arms) for (const m of COMPARE_METRICS) rows.push([a.label, m, a.stats[m].mean, a.stats[m].ci95, a.stats[m].n, ...(id === undefined ? [] : [id, c.scenario, c.seed, c.runs])]);
  return writeToString(rows, { headers: ['policy', 'metric', 'mean', 'ci95', 'n', ...(id === undefined ? [] : ['id', 'scenario', 'seed', 'runs'])], includeEndRowDelimiter: true });
}
