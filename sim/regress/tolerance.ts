/**
 * Per-metric tolerances of `ctsim regress`. A tolerance is one of
 *
 * - `exact`: the value must be identical (the default: the simulator is deterministic);
 * - `{ abs: a }`: |current − baseline| ≤ a;
 * - `{ rel: r }`: |current − baseline| ≤ r × |baseline|;
 * - `{ abs: a, rel: r }`: within either bound (≤ max(a, r × |baseline|));
 * - `ignore`: not compared (a change is still listed, as "ignored").
 *
 * Tolerances are keyed by metric-name patterns where `*` matches any run of characters
 * (dots included); the first matching pattern wins, a case's own patterns before the suite's,
 * each in file order. Non-numeric values (strings, null) are always compared exactly.
 */

export type Tolerance =
  | { kind: 'exact' }
  | { kind: 'ignore' }
  | { kind: 'bound'; abs: number; rel: number };

export interface TolerancePattern {
  pattern: string;
  re: RegExp;
  tol: Tolerance;
}

export const EXACT: Tolerance = { kind: 'exact' };

/** `*.success_rate` → a whole-name regular expression. */
export function patternRegExp(pattern: string): RegExp {
  return new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
}

/** Parses a tolerance value from the suite file, or returns why it is malformed. */
export function parseTolerance(v: unknown): Tolerance | string {
  if (v === 'exact' || v === 0) return EXACT;
  if (v === 'ignore') return { kind: 'ignore' };
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const extra = Object.keys(o).filter((k) => k !== 'abs' && k !== 'rel');
    if (extra.length > 0) return `unknown key "${extra[0]}" (a tolerance has abs and/or rel)`;
    if (o['abs'] === undefined && o['rel'] === undefined) return 'expected abs and/or rel';
    const num = (k: string): number | string => {
      const x = o[k];
      if (x === undefined) return 0;
      if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) return `${k}: expected a number ≥ 0, got ${JSON.stringify(x)}`;
      return x;
    };
    const abs = num('abs');
    const rel = num('rel');
    if (typeof abs === 'string') return abs;
    if (typeof rel === 'string') return rel;
    return { kind: 'bound', abs, rel };
  }
  return `expected exact, ignore, { abs: N }, { rel: N } or { abs: N, rel: N }; got ${JSON.stringify(v)}`;
}

const g = (x: number): string => String(Number(x.toPrecision(6)));

export function formatTolerance(t: Tolerance): string {
  switch (t.kind) {
    case 'exact': return 'exact';
    case 'ignore': return 'ignored';
    case 'bound': {
      const parts: string[] = [];
      if (t.abs > 0 || t.rel === 0) parts.push(`±${g(t.abs)}`);
      if (t.rel > 0) parts.push(`±${g(t.rel * 100)}%`);
      return parts.join(' or ');
    }
  }
}

/** The tolerance for a metric: the first matching pattern, else exact. */
export function toleranceFor(metric: string, ...lists: readonly (readonly TolerancePattern[])[]): Tolerance {
  for (const l of lists) for (const p of l) if (p.re.test(metric)) return p.tol;
  return EXACT;
}

export type MetricValue = number | string | boolean | null;

/** Whether `cur` is acceptable against `base` under `t` (ignore accepts everything). */
export function withinTolerance(base: MetricValue, cur: MetricValue, t: Tolerance): boolean {
  if (t.kind === 'ignore') return true;
  if (typeof base !== 'number' || typeof cur !== 'number' || t.kind === 'exact') return Object.is(base, cur) || (base === cur);
  if (Number.isNaN(base) || Number.isNaN(cur)) return Number.isNaN(base) && Number.isNaN(cur);
  return Math.abs(cur - base) <= Math.max(t.abs, t.rel * Math.abs(base));
}
