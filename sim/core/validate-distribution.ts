/**
 * Validation of distribution specs from scenario files (untrusted JSON/YAML). Never throws:
 * returns path-qualified issues such as `traffic[2].idle.mean: expected a positive number`.
 */
import type { Distribution } from './distribution-spec.js';

/** One problem found in the input, at a dotted/indexed path. */
export interface DistributionIssue {
  path: string;
  message: string;
}

/** Options for {@link validateDistribution}. */
export interface ValidateOptions {
  /**
   * The quantity cannot be negative (a time, a size): reject a negative constant, uniform min,
   * normal mean or empirical value.
   */
  nonNegative?: boolean;
}

const FIELDS: Readonly<Record<Distribution['dist'], readonly string[]>> = {
  constant: ['value'],
  uniform: ['min', 'max'],
  exponential: ['mean'],
  normal: ['mean', 'sd'],
  lognormal: ['mu', 'sigma', 'median', 'p95'],
  pareto: ['scale', 'shape'],
  empirical: ['values', 'weights'],
};

/** The names accepted in `dist`. */
export const DISTRIBUTION_KINDS = Object.keys(FIELDS) as readonly Distribution['dist'][];

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const FINITE = (x: unknown): boolean => isNum(x);
const POSITIVE = (x: unknown): boolean => isNum(x) && x > 0;
const NON_NEGATIVE = (x: unknown): boolean => isNum(x) && x >= 0;

/**
 * Check `raw` against {@link Distribution}. `path` names where it sits in the scenario
 * (e.g. `traffic[2].idle`). On success `value` is a fresh, normalized copy.
 */
export function validateDistribution(
  raw: unknown,
  path: string,
  opts: ValidateOptions = {},
): { ok: true; value: Distribution } | { ok: false; issues: DistributionIssue[] } {
  const issues: DistributionIssue[] = [];
  const issue = (at: string, message: string): void => { issues.push({ path: at, message }); };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    issue(path, "expected a distribution object such as { dist: 'exponential', mean: 1 }");
    return { ok: false, issues };
  }
  const o = raw as Record<string, unknown>;
  const kind = o.dist;
  if (typeof kind !== 'string' || !Object.hasOwn(FIELDS, kind)) {
    issue(`${path}.dist`, `expected one of ${DISTRIBUTION_KINDS.join(', ')}`);
    return { ok: false, issues };
  }
  const dist = kind as Distribution['dist'];
  for (const key of Object.keys(o)) {
    if (key !== 'dist' && !FIELDS[dist].includes(key)) {
      issue(`${path}.${key}`, `unknown field for dist '${dist}' (expected ${FIELDS[dist].join(', ')})`);
    }
  }
  const need = (key: string, ok: (x: unknown) => boolean, what: string): number => {
    if (!ok(o[key])) issue(`${path}.${key}`, o[key] === undefined ? `missing (expected ${what})` : `expected ${what}`);
    return o[key] as number;
  };
  const sign = opts.nonNegative ? NON_NEGATIVE : FINITE;
  const signWhat = opts.nonNegative ? 'a non-negative number' : 'a finite number';
  let value: Distribution | undefined;
  switch (dist) {
    case 'constant':
      value = { dist, value: need('value', sign, signWhat) };
      break;
    case 'uniform': {
      const min = need('min', sign, signWhat);
      const max = need('max', FINITE, 'a finite number');
      if (isNum(min) && isNum(max) && max < min) issue(`${path}.max`, `expected a number >= min (${min})`);
      value = { dist, min, max };
      break;
    }
    case 'exponential':
      value = { dist, mean: need('mean', POSITIVE, 'a positive number') };
      break;
    case 'normal':
      value = { dist, mean: need('mean', sign, signWhat), sd: need('sd', NON_NEGATIVE, 'a non-negative number') };
      break;
    case 'lognormal':
      if ('median' in o || 'p95' in o) {
        if ('mu' in o || 'sigma' in o) issue(path, 'give either mu and sigma, or median and p95, not both');
        const median = need('median', POSITIVE, 'a positive number');
        const p95 = need('p95', POSITIVE, 'a positive number');
        if (isNum(median) && isNum(p95) && p95 <= median) issue(`${path}.p95`, `expected a number > median (${median})`);
        value = { dist, median, p95 };
      } else {
        value = { dist, mu: need('mu', FINITE, 'a finite number'), sigma: need('sigma', NON_NEGATIVE, 'a non-negative number') };
      }
      break;
    case 'pareto':
      value = { dist, scale: need('scale', POSITIVE, 'a positive number'), shape: need('shape', POSITIVE, 'a positive number') };
      break;
    case 'empirical': {
      const values = o.values;
      if (!Array.isArray(values) || values.length === 0) {
        issue(`${path}.values`, 'expected a non-empty array of numbers');
        break;
      }
      values.forEach((v, i) => { if (!sign(v)) issue(`${path}.values[${i}]`, `expected ${signWhat}`); });
      let weights: number[] | undefined;
      if (o.weights !== undefined) {
        const w = o.weights;
        if (!Array.isArray(w) || w.length !== values.length) {
          issue(`${path}.weights`, `expected an array of ${values.length} non-negative numbers (one per value)`);
        } else {
          w.forEach((x, i) => { if (!NON_NEGATIVE(x)) issue(`${path}.weights[${i}]`, 'expected a non-negative number'); });
          if (w.every(NON_NEGATIVE) && !w.some((x: number) => x > 0)) issue(`${path}.weights`, 'expected at least one positive weight');
          weights = [...(w as number[])];
        }
      }
      value = weights === undefined ? { dist, values: [...(values as number[])] } : { dist, values: [...(values as number[])], weights };
      break;
    }
  }
  if (issues.length > 0 || value === undefined) return { ok: false, issues };
  return { ok: true, value };
}
