/**
 * Sweep analysis (`ctsim report` on a sweep): per parameter point and policy, the mean and 95%
 * confidence interval of each comparison metric over seeds and runs; paired differences against a
 * baseline policy (same parameter point, seed and run, so identical traffic); and one chart per
 * swept parameter and metric (mean against the parameter, one line per policy, the 95% interval
 * as a band; other swept parameters are pooled at each value).
 */
import { COMPARE_METRICS, meanCi } from '../run/compare.js';
import type { SweepCaseLine } from './results.js';

export interface PointStat { point: Record<string, unknown>; policy: string; metric: string; mean: number | null; ci95: number | null; n: number }
export interface PairedStat extends PointStat { baseline: string }

const pointKey = (p: Record<string, unknown>): string => JSON.stringify(p);

export interface SweepAnalysis {
  parameters: string[];
  policies: string[];
  baseline: string;
  stats: PointStat[];
  paired: PairedStat[];
  cases: number;
}

export function analyseSweep(lines: readonly SweepCaseLine[], baseline?: string): SweepAnalysis {
  const parameters = lines.length > 0 ? Object.keys(lines[0]!.params) : [];
  const policies = [...new Set(lines.map((l) => l.policy))];
  const base = baseline ?? policies[0] ?? '';
  const groups = new Map<string, SweepCaseLine[]>();
  for (const l of lines) {
    const k = pointKey(l.params) + '\u0000' + l.policy;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(l);
  }
  const stats: PointStat[] = [];
  for (const ls of groups.values()) {
    for (const m of COMPARE_METRICS) stats.push({ point: ls[0]!.params, policy: ls[0]!.policy, metric: m, ...meanCi(ls.map((l) => l.metrics[m] ?? null)) });
  }
  const baseBy = new Map(lines.filter((l) => l.policy === base).map((l) => [`${pointKey(l.params)}\u0000${l.seed}\u0000${l.run}`, l]));
  const paired: PairedStat[] = [];
  for (const ls of groups.values()) {
    if (ls[0]!.policy === base) continue;
    for (const m of COMPARE_METRICS) {
      const diffs = ls.map((l) => {
        const b = baseBy.get(`${pointKey(l.params)}\u0000${l.seed}\u0000${l.run}`);
        const x = l.metrics[m], y = b?.metrics[m];
        return x === null || x === undefined || y === null || y === undefined ? null : x - y;
      });
      paired.push({ point: ls[0]!.params, policy: ls[0]!.policy, baseline: base, metric: m, ...meanCi(diffs) });
    }
  }
  return { parameters, policies, baseline: base, stats, paired, cases: lines.length };
}

/** Mean and interval of a metric at each value of one parameter (other parameters pooled). */
export function byParameter(lines: readonly SweepCaseLine[], param: string, metric: string) {
  const groups = new Map<string, { value: unknown; policy: string; xs: (number | null)[] }>();
  for (const l of lines) {
    const k = JSON.stringify(l.params[param]) + '\u0000' + l.policy;
    if (!groups.has(k)) groups.set(k, { value: l.params[param], policy: l.policy, xs: [] });
    groups.get(k)!.xs.push(l.metrics[metric] ?? null);
  }
  return [...groups.values()].map((g) => {
    const s = meanCi(g.xs);
    return { value: g.value, policy: g.policy, mean: s.mean, lo: s.mean === null ? null : s.mean - (s.ci95 ?? 0), hi: s.mean === null ? null : s.mean + (s.ci95 ?? 0), n: s.n };
  });
}

/** The Vega-Lite spec of one metric against one parameter (line per policy, 95% band). */
export function sweepChartSpec(lines: readonly SweepCaseLine[], param: string, metric: string, policies: readonly string[]): Record<string, unknown> {
  const values = byParameter(lines, param, metric).filter((v) => v.mean !== null);
  const numeric = values.every((v) => typeof v.value === 'number');
  const x = { field: 'value', type: numeric ? 'quantitative' : 'ordinal', title: param, ...(numeric && values.some((v) => (v.value as number) > 0) && new Set(values.map((v) => v.value)).size > 2 ? { scale: { type: 'log' } } : {}) };
  const color = { field: 'policy', type: 'nominal', sort: [...policies], title: 'policy' };
  return {
    title: { text: `${metric} against ${param}`, subtitle: 'mean over seeds and runs (other swept parameters pooled); band: 95% confidence interval' },
    width: 520, height: 260, data: { values },
    layer: [
      { mark: { type: 'errorband', opacity: 0.2 }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: metric }, y2: { field: 'hi' }, color } },
      { mark: { type: 'line', point: true, strokeWidth: 2 }, encoding: { x, y: { field: 'mean', type: 'quantitative', title: metric, scale: { zero: false } }, color } },
    ],
  };
}

/** The metrics charted by default (the rest are in the CSV files). */
export const SWEEP_CHART_METRICS = ['legit_success_rate', 'legit_dropped_packets', 'legit_broken', 'peak_fill', 'attack_entries_admitted'] as const;
