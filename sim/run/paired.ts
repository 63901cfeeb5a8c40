import { t95 } from '../core/stats.js';

/**
 * Paired differences of one arm from the baseline arm: policies see identical traffic in each
 * run (same seed and run index), so the per-run difference removes the run-to-run variation of
 * the traffic. Reports the mean difference and its Student-t 95% interval (exact quantile with
 * n − 1 degrees of freedom) over the runs where both values exist.
 */
export interface PairedDiff {
  /** Runs where both the arm and the baseline have a value. */
  n: number;
  /** Mean of (arm − baseline) per run. */
  mean_diff: number | null;
  /** Half-width of the 95% interval (null for n < 2). */
  ci95: number | null;
  lo: number | null;
  hi: number | null;
  /** The interval excludes 0 (a zero-width interval counts when the difference is not 0); false for n < 2. */
  significant: boolean;
}

export function pairedDiff(arm: readonly (number | null)[], base: readonly (number | null)[]): PairedDiff {
  const d: number[] = [];
  for (let i = 0; i < Math.min(arm.length, base.length); i++) {
    const a = arm[i], b = base[i];
    if (a !== null && a !== undefined && b !== null && b !== undefined) d.push(a - b);
  }
  const n = d.length;
  if (n === 0) return { n, mean_diff: null, ci95: null, lo: null, hi: null, significant: false };
  const mean = d.reduce((x, y) => x + y, 0) / n;
  if (n < 2) return { n, mean_diff: mean, ci95: null, lo: null, hi: null, significant: false };
  const sd = Math.sqrt(d.reduce((x, y) => x + (y - mean) ** 2, 0) / (n - 1));
  const ci = (t95(n - 1) * sd) / Math.sqrt(n);
  const lo = mean - ci, hi = mean + ci;
  return { n, mean_diff: mean, ci95: ci, lo, hi, significant: lo > 0 || hi < 0 };
}

/** The counters of one rule in a comparison (`rule.<id>.<counter>`), in output order. */
export const RULE_COUNTERS = ['packets', 'bytes', 'dropped_legit', 'dropped_attack'] as const;

/**
 * The counters a run's policies (and rules, when a summary has them) report, flattened to
 * `policy.<name>.<counter>` / `rule.<id>.<counter>` → number. User policies' counters are
 * included: whatever numeric fields their `counters()` returns. A rule gives {@link RULE_COUNTERS}.
 */
export function runCounters(s: { policies: readonly Record<string, unknown>[]; rules?: unknown }): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (prefix: string, list: unknown) => {
    if (list !== null && typeof list === 'object' && !Array.isArray(list)) {
      // a map name → counters (or → number)
      for (const [name, v] of Object.entries(list as Record<string, unknown>)) {
        if (typeof v === 'number') out[`${prefix}.${name}`] = v;
        else if (v !== null && typeof v === 'object') for (const [key, x] of Object.entries(v)) if (typeof x === 'number') out[`${prefix}.${name}.${key}`] = x;
      }
      return;
    }
    if (!Array.isArray(list)) return;
    const seen = new Map<string, number>();
    for (const e of list as Record<string, unknown>[]) {
      if (e === null || typeof e !== 'object') continue;
      const base = typeof e['name'] === 'string' ? (e['name'] as string) : String(seen.size);
      const k = seen.get(base) ?? 0;
      seen.set(base, k + 1);
      const name = k === 0 ? base : `${base}#${k + 1}`; // the same policy twice in a stack
      for (const [key, v] of Object.entries(e)) if (key !== 'name' && typeof v === 'number') out[`${prefix}.${name}.${key}`] = v;
    }
  };
  add('policy', s.policies);
  if (Array.isArray(s.rules) && s.rules.every((r) => r !== null && typeof r === 'object' && typeof (r as { id?: unknown }).id === 'number' && typeof (r as { drops?: unknown }).drops === 'object')) {
    // the summary's rules block (summary.ts: rulesSummary)
    for (const r of s.rules as { id: number; packets: number; bytes: number; drops: { legit: number; attack: number } }[]) {
      out[`rule.${r.id}.packets`] = r.packets;
      out[`rule.${r.id}.bytes`] = r.bytes;
      out[`rule.${r.id}.dropped_legit`] = r.drops.legit;
      out[`rule.${r.id}.dropped_attack`] = r.drops.attack;
    }
  } else add('rule', s.rules);
  return out;
}
