import test from 'ava';
import { Rng } from '../core/rng.js';
import { Arrivals, type RateSpec } from './rate.js';

/** All event times (µs) of a process from 0 to stopUs. */
function times(spec: RateSpec, stopUs: number, arrival: 'constant' | 'poisson' = 'poisson', seed = 'r'): number[] {
  const a = new Arrivals(spec, arrival, 0, stopUs, new Rng(seed));
  const out: number[] = [];
  for (let t = a.first(); t >= 0; t = a.next(t)) out.push(t);
  return out;
}
const countIn = (ts: number[], a: number, b: number) => ts.filter((t) => t >= a * 1e6 && t < b * 1e6).length;

test('a numeric rate: exact spacing without drift, or Poisson', (t) => {
  const c = times({ shape: 'number', rate: 3 }, 10e6, 'constant');
  t.is(c.length, 30);
  t.is(c[3], 1_000_000);
  t.is(c[29], Math.round(29e6 / 3));
  const p = times({ shape: 'poisson', rate: 1000 }, 200e6);
  // count within 4 standard deviations of 200 000
  t.true(Math.abs(p.length - 200_000) < 4 * Math.sqrt(200_000), String(p.length));
  // exponential gaps: coefficient of variation ≈ 1
  const gaps = p.slice(1).map((x, i) => x - p[i]!);
  const m = gaps.reduce((s, g) => s + g, 0) / gaps.length;
  const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - m) ** 2, 0) / gaps.length);
  t.true(Math.abs(sd / m - 1) < 0.02, String(sd / m));
  // Poisson counts per second: variance ≈ mean (index of dispersion ≈ 1)
  const per = Array.from({ length: 200 }, (_, i) => countIn(p, i, i + 1));
  const pm = per.reduce((s, x) => s + x, 0) / per.length;
  const pv = per.reduce((s, x) => s + (x - pm) ** 2, 0) / per.length;
  t.true(Math.abs(pv / pm - 1) < 0.3, String(pv / pm));
});

test('ramp: counts follow the integral of the rate, then hold', (t) => {
  const spec: RateSpec = { shape: 'ramp', from: 0, to: 2000, over: 100e6 };
  const p = times(spec, 200e6);
  // ∫0..50 = 25 000; ∫50..100 = 75 000; 100..200 at 2000/s = 200 000
  for (const [a, b, want] of [[0, 50, 25_000], [50, 100, 75_000], [100, 200, 200_000]] as const) {
    const n = countIn(p, a, b);
    t.true(Math.abs(n - want) < 4 * Math.sqrt(want), `${a}-${b}: ${n} vs ${want}`);
  }
  const exact = times(spec, 100e6, 'constant');
  t.is(exact.length, 99_999); // Λ(100 s) = 100 000; the event at exactly 100 s is past stop
  t.is(exact[0], Math.round(Math.sqrt(2 / (2000 / 100e6 / 1e6)))); // Λ(t) = 1 at t = √(2/slope)
});

test('on-off: nothing while off, the rate while on', (t) => {
  const p = times({ shape: 'on-off', rate: 1000, on: 2e6, off: 3e6, off_rate: 0 }, 100e6);
  for (let c = 0; c < 20; c++) {
    t.is(countIn(p, c * 5 + 2.000001, c * 5 + 5), 0); // (an event just before 2 s may round to 2 s)
  }
  const on = countIn(p, 0, 100);
  t.true(Math.abs(on - 40_000) < 4 * Math.sqrt(40_000), String(on));
});

test('piecewise: steps, and linear interpolation', (t) => {
  const steps = [{ at: 10e6, rate: 100 }, { at: 20e6, rate: 1000 }, { at: 30e6, rate: 0 }];
  const p = times({ shape: 'piecewise', steps, interpolate: false }, 60e6);
  t.is(countIn(p, 0, 10), 0);
  t.true(Math.abs(countIn(p, 10, 20) - 1000) < 4 * Math.sqrt(1000));
  t.true(Math.abs(countIn(p, 20, 30) - 10_000) < 4 * Math.sqrt(10_000));
  t.is(countIn(p, 30, 60), 0);
  const q = times({ shape: 'piecewise', steps, interpolate: true }, 60e6, 'constant');
  t.true(Math.abs(q.length - ((100 + 1000) / 2 * 10 + (1000 + 0) / 2 * 10)) <= 1, String(q.length)); // Λ = 10 500
});

test('the same seed gives the same times; expectedCount matches the shape', (t) => {
  const s: RateSpec = { shape: 'on-off', rate: 500, on: 1e6, off: 1e6, off_rate: 100 };
  t.deepEqual(times(s, 10e6, 'poisson', 'x'), times(s, 10e6, 'poisson', 'x'));
  const a = new Arrivals(s, 'poisson', 0, 10e6, new Rng('x'));
  t.is(Math.round(a.expectedCount(10e6)), 3000);
});
