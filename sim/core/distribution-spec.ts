/**
 * The shape of a distribution spec as scenario files write it. Its own module so that the
 * samplers (distributions.ts) and the validation (validate-distribution.ts) both depend on it
 * without depending on each other.
 */
/** A distribution spec. Parameters are in the caller's unit (e.g. seconds for times). */
export type Distribution =
  | { dist: 'constant'; value: number }
  | { dist: 'uniform'; min: number; max: number } // [min, max)
  | { dist: 'exponential'; mean: number }
  | { dist: 'normal'; mean: number; sd: number }
  | { dist: 'lognormal'; mu: number; sigma: number } // of the underlying normal
  | { dist: 'lognormal'; median: number; p95: number }
  | { dist: 'pareto'; scale: number; shape: number } // type I: x ≥ scale
  | { dist: 'empirical'; values: number[]; weights?: number[] };
