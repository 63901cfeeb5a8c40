/**
 * Seeded randomness: named substreams of seedrandom's alea, one per consumer
 * ("traffic/syn-flood", "policy/early-drop", …).
 *
 * A substream's generator is seeded from the key `ctsim/<seed>/<run>/<name>` (alea hashes it with
 * its Mash function), so streams do not depend on creation order: adding or removing a stream never
 * changes another stream's draws. All streams use the same algorithm (alea), so hot call sites
 * stay monomorphic.
 */
import seedrandom from 'seedrandom';

/** Saved generator state, from {@link Rng.state}. */
export type RngState = seedrandom.State.Alea;

/** 2π. */
const TWO_PI = 2 * Math.PI;
/** 2^32. */
const TWO_32 = 4_294_967_296;

/**
 * One random stream. Uniforms have 32 bits of resolution (alea), so `uniform()` is a multiple
 * of 2^-32 in [0, 1) and tails are bounded: an exponential never exceeds ≈ 22.2 × its mean.
 */
export class Rng {
  private g: seedrandom.StatefulPRNG<RngState>;

  /** @param key the seed string fed to alea. Prefer {@link RngStreams.get}. */
  constructor(readonly key: string) {
    this.g = seedrandom.alea(key, { state: true });
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.g();
  }

  /** Uniform signed 32-bit integer. */
  int32(): number {
    return this.g.int32();
  }

  /** The `n` of the last {@link below} call and its rejection limit 2^32 − (2^32 mod n). */
  private belowN = 0;
  private belowLimit = 0;

  /**
   * Uniform integer in [0, n) for an integer 1 ≤ n ≤ 2^32; exact (rejection, no modulo bias):
   * x = 2^32·u (an integer: alea's uniforms are multiples of 2^-32), redrawn while
   * x ≥ 2^32 − (2^32 mod n), then x mod n. Both remainders are taken on unsigned 32-bit integers
   * (2^32 mod n = (2^32 − n) mod n), which the compiler turns into one integer division instead
   * of a call to the floating-point remainder; the limit is kept for the next call with the
   * same n (a generator asks for the same ranges over and over).
   */
  below(n: number): number {
    if (!(n >= 1 && n <= TWO_32) || n !== Math.floor(n)) throw new RangeError(`below(n): n must be an integer in [1, 2^32], got ${n}`);
    if (n === TWO_32) return this.g() * TWO_32; // limit 2^32: never redrawn, x mod 2^32 = x
    const m = n >>> 0;
    if (m !== this.belowN) {
      this.belowN = m;
      this.belowLimit = TWO_32 - (((TWO_32 - m) >>> 0) % m);
    }
    const limit = this.belowLimit;
    let x = this.g() * TWO_32;
    while (x >= limit) x = this.g() * TWO_32;
    return (x >>> 0) % m;
  }

  /** Exponential with the given mean (inverse CDF, one draw). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.g());
  }

  /** Normal(mean, sd) by Box–Muller: two draws per call, the second variate is discarded. */
  normal(mean: number, sd: number): number {
    const u1 = 1 - this.g(); // (0, 1]
    const u2 = this.g();
    return mean + sd * Math.sqrt(-2 * Math.log(u1)) * Math.cos(TWO_PI * u2);
  }

  /** exp(Normal(mu, sigma)): median e^mu. */
  lognormal(mu: number, sigma: number): number {
    return Math.exp(this.normal(mu, sigma));
  }

  /** Pareto (type I): scale · U^(−1/shape), values ≥ scale; one draw. */
  pareto(scale: number, shape: number): number {
    return scale * Math.pow(1 - this.g(), -1 / shape);
  }

  /** A copy of the generator state. */
  state(): RngState {
    return this.g.state();
  }

  /** Continue from a state returned by {@link state} (of this or any stream). */
  restore(state: RngState): void {
    this.g = seedrandom.alea('', { state: { ...state } });
  }
}

/** The named substreams of one run: `new RngStreams(seed, run).get('traffic/web')`. */
export class RngStreams {
  private readonly streams = new Map<string, Rng>();

  /** @param seed scenario seed and @param run replication index, both safe integers. */
  constructor(readonly seed: number, readonly run: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    if (!Number.isSafeInteger(run)) throw new RangeError(`run must be a safe integer, got ${run}`);
  }

  /** The stream named `name` (created on first use; the same object on later calls). */
  get(name: string): Rng {
    let r = this.streams.get(name);
    if (r === undefined) {
      if (typeof name !== 'string' || name === '') throw new RangeError('stream name must be a non-empty string');
      r = new Rng(`ctsim/${this.seed}/${this.run}/${name}`);
      this.streams.set(name, r);
    }
    return r;
  }

  /** Names of the streams created so far, in creation order. */
  names(): string[] {
    return [...this.streams.keys()];
  }
}
