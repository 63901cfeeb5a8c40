import { writeToString } from 'fast-csv';
import { COMPARE_METRICS, type Comparison } from './compare.js';

const fmt = (x: number | null, digits: number): string => (x === null ? '-' : x.toFixed(digits));

const DIGITS: Partial<Record<string, number>> = { legit_success_rate: 4, legit_success_rate_ended: 4, peak_fill: 3, time_to_first_drop_s: 2, recovery_s: 2 };
const digitsOf = (m: string): number => DIGITS[m] ?? (m.endsWith('_ms') ? 1 : 0);

function table(head: string[], rows: string[][]): string[] {
  const w = head.map((_, i) => Math.max(...[head, ...rows].map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((x, i) => (i === 0 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ');
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)];
}

/** `nat/postrouting:24 oifname "eth0" … masquerade` (a long rule text shortened to 72 characters). */
export function ruleLabel(r: { table: string; chain: string; line: number; text: string }): string {
  const text = r.text.length > 72 ? `${r.text.slice(0, 71)}…` : r.text;
  return `${r.table}/${r.chain}:${r.line} ${text}`;
}

/**
 * The comparison as terminal tables: metrics (mean ± 95% CI per arm), the paired differences
 * from the baseline arm (mean difference ± 95% CI; `*` where the interval excludes 0), every
 * policy counter, and per arm with a ruleset its rules' packets, bytes and drops by class.
 */
export function formatComparison(c: Comparison): string {
  const head = ['metric', ...c.arms.map((a) => a.label)];
  const rows = COMPARE_METRICS.map((m) => [m, ...c.arms.map((a) => {
    const st = a.stats[m];
    const d = digitsOf(m);
    return st.ci95 === null ? fmt(st.mean, d) : `${fmt(st.mean, d)} ± ${fmt(st.ci95, d)}`;
  })]);
  const variants = c.arms.filter((a) => a.variant !== undefined);
  const out = [`${c.scenario}: ${c.arms.length} ${variants.length > 0 ? 'arms' : 'policies'} × ${c.runs} run(s), seed ${c.seed} (identical traffic per run; ± is the 95% CI over runs, Student t)`,
    ...variants.map((a) => `arm ${a.label}: variant ${a.variant} (${[...(a.overrides ?? [])].join('; ') || 'no overrides'}), policies ${a.policies.map((p) => p.name).join('+') || 'none'}`),
    `legit_success_rate = succeeded / (${c.success_rate_denominator}) of legitimate flows; _ms: setup/resolution/completion time percentiles of legitimate flows`,
    ...table(head, rows)];
  const others = c.arms.filter((a) => a.paired !== null);
  if (others.length > 0) {
    const sign = (x: number | null, d: number) => (x === null ? '-' : `${x > 0 ? '+' : ''}${x.toFixed(d)}`);
    const prow = COMPARE_METRICS.map((m) => [m, ...others.map((a) => {
      const p = a.paired![m];
      const d = digitsOf(m);
      if (p.mean_diff === null) return '-';
      return (p.ci95 === null ? sign(p.mean_diff, d) : `${sign(p.mean_diff, d)} ± ${p.ci95.toFixed(d)}`) + (p.significant ? ' *' : '  ');
    })]);
    out.push('', `difference from ${c.baseline}, paired by run (mean ± 95% CI over ${c.runs} run(s); * = interval excludes 0${c.runs < 2 ? '; needs 2+ runs' : ''})`,
      ...table(['metric', ...others.map((a) => `${a.label} − ${c.baseline}`)], prow));
  }
  // rule counters get a table per arm below (with the rules' text)
  const keys = [...new Set(c.arms.flatMap((a) => Object.keys(a.counterStats)))].filter((k) => !(k.startsWith('rule.') && c.arms.some((a) => a.rules !== undefined))).sort();
  if (keys.length > 0) {
    const crow = keys.map((k) => [k, ...c.arms.map((a) => {
      const st = a.counterStats[k];
      if (!st || st.mean === null) return '-';
      return st.ci95 === null ? fmt(st.mean, 0) : `${fmt(st.mean, 0)} ± ${fmt(st.ci95, 0)}`;
    })]);
    out.push('', 'policy and rule counters (mean ± 95% CI over runs)', ...table(['counter', ...c.arms.map((a) => a.label)], crow));
  }
  for (const a of c.arms) {
    if (a.rules === undefined) continue;
    const cell = (st: { mean: number | null; ci95: number | null }) => (st.mean === null ? '-' : st.ci95 === null ? fmt(st.mean, 0) : `${fmt(st.mean, 0)} ± ${fmt(st.ci95, 0)}`);
    const rrow = a.rules.map((r) => [ruleLabel(r), cell(r.packets), cell(r.bytes), cell(r.dropped_legit), cell(r.dropped_attack)]);
    out.push('', `rules of ${a.label} (mean${c.runs > 1 ? ' ± 95% CI' : ''} over ${c.runs} run(s); dropped = dropped or rejected by the rule, by traffic class)`,
      ...table(['rule', 'packets', 'bytes', 'legit dropped', 'attack dropped'], rrow));
  }
  return out.join('\n') + '\n';
}

/**
 * comparison.csv: one row per (policy, metric) with mean, 95% CI half-width and n, then the
 * paired difference from the baseline (diff, its CI half-width, bounds, significance); policy
 * and rule counters follow as metrics named `policy.<name>.<counter>` (no paired columns).
 */
export async function comparisonCsv(c: Comparison, id?: string): Promise<string> {
  const rows: (string | number | boolean | null)[][] = [];
  // the identifying columns (comparison id, scenario, seed, runs) are appended after the others
  const idCols = id === undefined ? [] : [id, c.scenario, c.seed, c.runs];
  for (const a of c.arms) {
    for (const m of COMPARE_METRICS) {
      const p = a.paired?.[m];
      rows.push([a.label, m, a.stats[m].mean, a.stats[m].ci95, a.stats[m].n, c.baseline,
        p?.mean_diff ?? null, p?.ci95 ?? null, p?.lo ?? null, p?.hi ?? null, p ? p.significant : null, ...idCols]);
    }
    for (const [k, st] of Object.entries(a.counterStats).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
      rows.push([a.label, k, st.mean, st.ci95, st.n, c.baseline, null, null, null, null, null, ...idCols]);
    }
  }
  return writeToString(rows, { headers: ['policy', 'metric', 'mean', 'ci95', 'n', 'baseline', 'diff_mean', 'diff_ci95', 'diff_lo', 'diff_hi', 'diff_significant', ...(id === undefined ? [] : ['id', 'scenario', 'seed', 'runs'])], includeEndRowDelimiter: true });
}

