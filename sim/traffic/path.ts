import { makeMicrosSampler } from '../core/distributions.js';
import type { Rng } from '../core/rng.js';
import type { DelaySpec } from './schema-types.js';

/**
 * The path model: round-trip delays between the firewall and each side. A fixed delay draws
 * nothing (so a generator's stream is unchanged by it); a distribution (in ms) is drawn once per
 * flow, as each client sits behind its own path.
 */
export type DelaySampler = (rng: Rng) => number;

/** A sampler of integer µs for a validated delay spec. */
export function makeDelay(spec: DelaySpec): DelaySampler {
  if ('us' in spec) {
    const v = spec.us;
    return () => v;
  }
  const f = makeMicrosSampler(spec.dist, 1000);
  return (rng) => f(rng);
}

/** Mean of a delay spec in µs (for documentation and tests). */
export function isFixed(spec: DelaySpec): boolean {
  return 'us' in spec;
}
