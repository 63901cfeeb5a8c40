/**
 * Latency recording for the delays users feel (connection setup, DNS resolution, request
 * completion). Every sample is kept exactly (µs, in a growable Float64Array: 8 bytes per
 * recorded flow, grown by doubling, so no allocation per sample) and also counted in a fixed
 * log-scale histogram. Percentiles come from the exact samples (nearest rank), the histogram is
 * for charts.
 */

/** Histogram bucket upper bounds, ms: 5 per decade (10^(k/5)) from 0.1 ms to 1000 s; one more open bucket. */
export const LATENCY_BOUNDS_MS: readonly number[] = Array.from({ length: 36 }, (_, k) => Number((0.1 * 10 ** (k / 5)).toPrecision(3)));

/** Bucket of a value in µs: the first bound ≥ the value (the last bucket is open). */
export function latencyBucket(us: number): number {
  const ms = us / 1000;
  // log-scale index, then corrected against the rounded bounds (at most one step either way)
  let b = ms <= 0.1 ? 0 : Math.ceil(5 * Math.log10(ms / 0.1) - 1e-9);
  if (b < 0) b = 0;
  const n = LATENCY_BOUNDS_MS.length;
  if (b > n) b = n;
  while (b > 0 && ms <= LATENCY_BOUNDS_MS[b - 1]!) b--;
  while (b < n && ms > LATENCY_BOUNDS_MS[b]!) b++;
  return b;
}

export class LatencyRecorder {
  /** Samples recorded (µs), in order. */
  private xs = new Float64Array(64);
  n = 0;
  readonly hist = new Uint32Array(LATENCY_BOUNDS_MS.length + 1);

  record(us: number): void {
    if (this.n === this.xs.length) { const y = new Float64Array(this.xs.length * 2); y.set(this.xs); this.xs = y; }
    this.xs[this.n++] = us;
    this.hist[latencyBucket(us)]!++;
  }

  /** The samples, sorted ascending (a copy). */
  sorted(): Float64Array {
    return this.xs.slice(0, this.n).sort();
  }
}

/**
 * The nearest-rank percentile of sorted values: the smallest value with at least p% of the
 * values ≤ it (p in (0, 100]); null when there are none.
 */
export function nearestRank(sorted: ArrayLike<number>, p: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const k = Math.max(1, Math.ceil((p / 100) * n));
  return sorted[Math.min(n, k) - 1]!;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** summary.json form: count, p50/p90/p99/max in ms (exact, nearest rank), mean, and the histogram. */
export function latencySummary(r: LatencyRecorder) {
  const s = r.sorted();
  const ms = (x: number | null) => (x === null ? null : r3(x / 1000));
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i]!;
  return {
    n: r.n,
    p50_ms: ms(nearestRank(s, 50)),
    p90_ms: ms(nearestRank(s, 90)),
    p99_ms: ms(nearestRank(s, 99)),
    max_ms: ms(s.length > 0 ? s[s.length - 1]! : null),
    mean_ms: ms(s.length > 0 ? sum / s.length : null),
    histogram: { bounds_ms: LATENCY_BOUNDS_MS, counts: Array.from(r.hist) },
  };
}
export type LatencySummary = ReturnType<typeof latencySummary>;
