/**
 * Distributions as scenario files write them (`{ dist: 'exponential', mean: 30 }`), turned into
 * samplers over an {@link Rng}. Validation of untrusted input lives in validate-distribution.ts.
 */
import type { Rng } from './rng.js';
import type { Micros } from './time.js';
import type { Distribution } from './distribution-spec.js';

export { validateDistribution, DISTRIBUTION_KINDS } from './validate-distribution.js';
export type { DistributionIssue, ValidateOptions } from './validate-distribution.js';

export type { Distribution } from './distribution-spec.js';

/** A sampler: one value per call, drawing only from the given stream. */
export type Sampler = (rng: Rng) => number;

/** Standard normal 95th percentile, Φ⁻¹(0.95). */
const Z95 = 1.6448536269514722;

/** (mu, sigma) of a lognormal spec in either form; median/p95 gives mu = ln median, sigma = ln(p95/median)/Φ⁻¹(0.95). */
export function lognormalParams(spec: Extract<Distribution, { dist: 'lognormal' }>): { mu: number; sigma: number } {
  if ('mu' in spec) return { mu: spec.mu, sigma: spec.sigma };
  return { mu: Math.log(spec.median), sigma: Math.log(spec.p95 / spec.median) / Z95 };
}

/**
 * A sampler for a (validated) spec. Draws per value: constant 0, uniform/exponential/pareto 1,
 * normal/lognormal 2, empirical 1 (unweighted: more only on rare rejection in `below`).
 * The normal is not truncated here; see {@link makeMicrosSampler} for times.
 */
export function makeSampler(spec: Distribution): Sampler {
  switch (spec.dist) {
    case 'constant': {
      const v = spec.value;
      return () => v;
    }
    case 'uniform': {
      const { min } = spec;
      const width = spec.max - spec.min;
      return (rng) => min + width * rng.uniform();
    }
    case 'exponential': {
      const m = spec.mean;
      return (rng) => rng.exponential(m);
    }
    case 'normal': {
      const { mean: m, sd } = spec;
      return (rng) => rng.normal(m, sd);
    }
    case 'lognormal': {
      const { mu, sigma } = lognormalParams(spec);
      return (rng) => rng.lognormal(mu, sigma);
    }
    case 'pareto': {
      const { scale, shape } = spec;
      return (rng) => rng.pareto(scale, shape);
    }
    case 'empirical':
      return empiricalSampler(spec.values, spec.weights);
  }
}

function empiricalSampler(values: readonly number[], weights: readonly number[] | undefined): Sampler {
  const vals = Float64Array.from(values);
  const n = vals.length;
  if (weights === undefined) return (rng) => vals[rng.below(n)]!;
  const cum = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) cum[i] = total += weights[i]!;
  return (rng) => {
    const x = rng.uniform() * total;
    let lo = 0, hi = n - 1; // first i with cum[i] > x (zero-weight values are never picked)
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! > x) hi = mid; else lo = mid + 1;
    }
    return vals[lo]!;
  };
}

/**
 * A sampler of times in integer µs: a draw `x` (in units of `unitMicros` µs, e.g. 1e6 when the
 * spec is in seconds) becomes `Math.round(max(0, x · unitMicros))` — clamped at 0, rounded once
 * half away from zero, capped at Number.MAX_SAFE_INTEGER. A normal is truncated at 0 instead of
 * clamped (negative draws are redrawn), so it needs mean ≥ 0 (RangeError otherwise).
 */
export function makeMicrosSampler(spec: Distribution, unitMicros: number): (rng: Rng) => Micros {
  if (!(unitMicros > 0) || !Number.isFinite(unitMicros)) throw new RangeError(`unitMicros must be a positive number, got ${unitMicros}`);
  if (spec.dist === 'normal') {
    if (!(spec.mean >= 0)) throw new RangeError(`a normal time distribution needs mean >= 0, got ${spec.mean}`);
    const { mean: m, sd } = spec;
    return (rng) => {
      let x = rng.normal(m, sd);
      while (x < 0) x = rng.normal(m, sd);
      return toMicros(x * unitMicros);
    };
  }
  const f = makeSampler(spec);
  return (rng) => toMicros(f(rng) * unitMicros);
}

function toMicros(x: number): Micros {
  if (!(x > 0)) return 0; // also maps NaN to 0
  return x >= Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : Math.round(x);
}

/** Analytic mean of {@link makeSampler}'s output (Infinity for a pareto with shape ≤ 1). */
export function mean(spec: Distribution): number {
  switch (spec.dist) {
    case 'constant': return spec.value;
    case 'uniform': return (spec.min + spec.max) / 2;
    case 'exponential': return spec.mean;
    case 'normal': return spec.mean;
    case 'lognormal': {
      const { mu, sigma } = lognormalParams(spec);
      return Math.exp(mu + (sigma * sigma) / 2);
    }
    case 'pareto': return spec.shape > 1 ? (spec.shape * spec.scale) / (spec.shape - 1) : Infinity;
    case 'empirical': return moments(spec.values, spec.weights).mean;
  }
}

/** Analytic variance of {@link makeSampler}'s output (Infinity for a pareto with shape ≤ 2). */
export function variance(spec: Distribution): number {
  switch (spec.dist) {
    case 'constant': return 0;
    case 'uniform': return (spec.max - spec.min) ** 2 / 12;
    case 'exponential': return spec.mean ** 2;
    case 'normal': return spec.sd ** 2;
    case 'lognormal': {
      const { mu, sigma } = lognormalParams(spec);
      const s2 = sigma * sigma;
      return (Math.exp(s2) - 1) * Math.exp(2 * mu + s2);
    }
    case 'pareto': {
      const { scale: x, shape: a } = spec;
      return a > 2 ? (x * x * a) / ((a - 1) ** 2 * (a - 2)) : Infinity;
    }
    case 'empirical': return moments(spec.values, spec.weights).variance;
  }
}

function moments(values: readonly number[], weights?: readonly number[]): { mean: number; variance: number } {
  let w = 0, s = 0;
  values.forEach((v, i) => { const wi = weights?.[i] ?? 1; w += wi; s += wi * v; });
  const m = s / w;
  let ss = 0;
  values.forEach((v, i) => { ss += (weights?.[i] ?? 1) * (v - m) ** 2; });
  return { mean: m, variance: ss / w };
}
