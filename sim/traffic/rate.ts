import type { Rng } from '../core/rng.js';

/**
 * Arrival processes. A rate in events per second; `constant` spaces events exactly, `poisson`
 * draws exponential gaps. Gaps are rounded once to integer µs (at least 1 µs).
 */
export type ArrivalKind = 'constant' | 'poisson';

/** Highest rate a generator may ask for (events/s): one event per µs. */
export const MAX_RATE = 1_000_000;

export function nextGapUs(kind: ArrivalKind, ratePerS: number, rng: Rng): number {
  const meanUs = 1_000_000 / ratePerS;
  const g = kind === 'constant' ? meanUs : rng.exponential(meanUs);
  const r = Math.round(g);
  return r < 1 ? 1 : r;
}

/**
 * Constant-rate spacing without drift: the k-th event after `start` is at start + round(k / rate).
 */
export function constantAt(startUs: number, k: number, ratePerS: number): number {
  return startUs + Math.round((k * 1_000_000) / ratePerS);
}

/**
 * A validated `rate` (see rate-schema.ts): a number (events/s, spaced by the generator's
 * `arrival`) or a shape. Shape times are µs relative to the generator's `start`.
 * - `constant` / `poisson`: a fixed rate with exact or exponential spacing (overrides `arrival`);
 * - `ramp`: linear from `from` to `to` over `over`, then `to`;
 * - `on-off`: `rate` for `on`, then `off_rate` (default 0) for `off`, repeating;
 * - `piecewise`: `rate` from each step's `at` to the next (linear between steps with
 *   `interpolate`), 0 before the first step, the last step's rate after it.
 */
export type RateSpec =
  | { shape: 'number'; rate: number }
  | { shape: 'constant' | 'poisson'; rate: number }
  | { shape: 'ramp'; from: number; to: number; over: number }
  | { shape: 'on-off'; rate: number; on: number; off: number; off_rate: number }
  | { shape: 'piecewise'; steps: { at: number; rate: number }[]; interpolate: boolean };

/** Largest rate a spec reaches (events/s). */
export function peakRate(r: RateSpec): number {
  switch (r.shape) {
    case 'ramp': return Math.max(r.from, r.to);
    case 'on-off': return Math.max(r.rate, r.off_rate);
    case 'piecewise': return Math.max(...r.steps.map((s) => s.rate));
    default: return r.rate;
  }
}

/**
 * The event times of one arrival process, from `start` (inclusive) to `stop` (exclusive).
 *
 * A fixed rate keeps the historical spacing: the first event at `start`, then exactly
 * start + round(k / rate) (`constant`) or exponential gaps rounded to µs (`poisson`).
 * A shaped rate λ(t) is inverted through its integral Λ: the next event after t is where Λ has
 * grown by one (exact spacing, `arrival: constant`) or by an Exp(1) draw (a non-homogeneous
 * Poisson process by time rescaling; one draw per event). Times are kept unrounded internally
 * and rounded once when scheduled, so there is no drift.
 */
export class Arrivals {
  private k = 0;
  private t = 0; // µs since start, unrounded (shaped rates)
  private readonly homogeneous: boolean;
  private readonly exact: boolean;
  private readonly rate: number;
  // current segment of a shaped rate: [segA, segB), rate r0 (per µs) at segA, slope per µs²
  private segA = 0;
  private segB = 0;
  private r0 = 0;
  private slope = 0;

  constructor(private readonly spec: RateSpec, arrival: ArrivalKind, private readonly startUs: number,
    private readonly stopUs: number, private readonly rng: Rng) {
    this.homogeneous = spec.shape === 'number' || spec.shape === 'constant' || spec.shape === 'poisson';
    this.exact = spec.shape === 'constant' || (spec.shape !== 'poisson' && arrival === 'constant');
    this.rate = this.homogeneous ? (spec as { rate: number }).rate : 0;
  }

  /** Time of the first event (µs, absolute), or -1 when there is none before `stop`. */
  first(): number {
    if (this.startUs >= this.stopUs) return -1;
    if (this.homogeneous) return this.startUs;
    return this.advance(this.startUs);
  }

  /** Time of the event after the one at `nowUs` (≥ nowUs), or -1 when it would be at or after `stop`. */
  next(nowUs: number): number {
    this.k++;
    let at: number;
    if (!this.homogeneous) return this.advance(nowUs);
    if (this.exact) at = constantAt(this.startUs, this.k, this.rate);
    else at = nowUs + nextGapUs('poisson', this.rate, this.rng);
    if (at >= this.stopUs) return -1;
    return at < nowUs ? nowUs : at;
  }

  private advance(nowUs: number): number {
    const m = this.exact ? 1 : this.rng.exponential(1);
    this.t = this.invert(this.t, m, this.stopUs - this.startUs);
    if (!Number.isFinite(this.t)) return -1;
    const at = this.startUs + Math.round(this.t);
    if (at >= this.stopUs) return -1;
    return at < nowUs ? nowUs : at;
  }

  /** The time after `t` where the integrated rate has grown by `m`; Infinity past `limit`. */
  private invert(t: number, m: number, limit: number): number {
    for (;;) {
      if (t >= limit) return Infinity;
      this.segmentAt(t);
      const r = this.r0 + this.slope * (t - this.segA);
      const len = this.segB - t;
      const mass = len === Infinity ? (r > 0 || this.slope > 0 ? Infinity : 0) : r * len + (this.slope * len * len) / 2;
      if (mass >= m && mass > 0) {
        const x = (2 * m) / (r + Math.sqrt(Math.max(0, r * r + 2 * this.slope * m)));
        return t + x;
      }
      if (len === Infinity) return Infinity;
      m -= mass;
      t = this.segB;
    }
  }

  /** Sets the segment containing relative time `t` (rates converted to events per µs). */
  private segmentAt(t: number): void {
    const s = this.spec;
    const U = 1e-6;
    switch (s.shape) {
      case 'ramp':
        if (t < s.over) { this.segA = 0; this.segB = s.over; this.r0 = s.from * U; this.slope = ((s.to - s.from) * U) / s.over; }
        else { this.segA = s.over; this.segB = Infinity; this.r0 = s.to * U; this.slope = 0; }
        return;
      case 'on-off': {
        const p = s.on + s.off;
        const base = Math.floor(t / p) * p;
        this.slope = 0;
        if (t - base < s.on) { this.segA = base; this.segB = base + s.on; this.r0 = s.rate * U; }
        else { this.segA = base + s.on; this.segB = base + p; this.r0 = s.off_rate * U; }
        if (this.segB <= t) { this.segA = t; this.segB = t + p; } // float guard
        return;
      }
      case 'piecewise': {
        const st = s.steps;
        this.slope = 0;
        if (t < st[0]!.at) { this.segA = 0; this.segB = st[0]!.at; this.r0 = 0; return; }
        let i = 0;
        while (i + 1 < st.length && st[i + 1]!.at <= t) i++;
        this.segA = st[i]!.at;
        this.r0 = st[i]!.rate * U;
        if (i + 1 === st.length) { this.segB = Infinity; return; }
        this.segB = st[i + 1]!.at;
        if (s.interpolate) this.slope = ((st[i + 1]!.rate - st[i]!.rate) * U) / (this.segB - this.segA);
        return;
      }
      default:
        this.segA = 0; this.segB = Infinity; this.r0 = (s as { rate: number }).rate * U; this.slope = 0;
    }
  }

  /** Expected number of events between `start` and `start + relUs` (the integral Λ). */
  expectedCount(relUs: number): number {
    if (this.homogeneous) return (this.rate * relUs) / 1e6;
    let t = 0, total = 0;
    while (t < relUs) {
      this.segmentAt(t);
      const b = Math.min(this.segB, relUs);
      const r = this.r0 + this.slope * (t - this.segA);
      const len = b - t;
      total += r * len + (this.slope * len * len) / 2;
      t = b;
    }
    return total;
  }
}
