import test from 'ava';
import { makeSampler, makeMicrosSampler, mean, variance, validateDistribution, type Distribution } from './distributions.js';
import { Rng } from './rng.js';

const N = 200_000;
function stats(spec: Distribution, name: string): { m: number; v: number } {
  const f = makeSampler(spec);
  const rng = new Rng(`dist-test/${name}`);
  let s = 0, ss = 0;
  for (let i = 0; i < N; i++) { const x = f(rng); s += x; ss += x * x; }
  const m = s / N;
  return { m, v: ss / N - m * m };
}

const CASES: Array<[string, Distribution, number]> = [ // name, spec, relative tolerance on the variance
  ['constant', { dist: 'constant', value: 4 }, 0],
  ['uniform', { dist: 'uniform', min: 2, max: 10 }, 0.02],
  ['exponential', { dist: 'exponential', mean: 30 }, 0.03],
  ['normal', { dist: 'normal', mean: 5, sd: 2 }, 0.02],
  ['lognormal', { dist: 'lognormal', mu: 0.5, sigma: 0.5 }, 0.05],
  ['lognormal-median', { dist: 'lognormal', median: 10, p95: 40 }, 0.3],
  ['pareto', { dist: 'pareto', scale: 1, shape: 4.5 }, 0.15],
  ['empirical', { dist: 'empirical', values: [1, 2, 3, 10] }, 0.02],
  ['empirical-weighted', { dist: 'empirical', values: [1, 2, 3, 10], weights: [0, 5, 3, 2] }, 0.02],
];

for (const [name, spec, vtol] of CASES) {
  test(`${name}: sample mean and variance over 200k draws match (deterministic seed)`, (t) => {
    const { m, v } = stats(spec, name);
    const sd = Math.sqrt(variance(spec));
    t.true(Math.abs(m - mean(spec)) <= 4 * sd / Math.sqrt(N) + 1e-12, `mean ${m} vs ${mean(spec)}`);
    t.true(Math.abs(v - variance(spec)) <= vtol * variance(spec) + 1e-9, `variance ${v} vs ${variance(spec)}`);
  });
}

test('lognormal median/p95 form hits its quantiles', (t) => {
  const f = makeSampler({ dist: 'lognormal', median: 10, p95: 40 });
  const rng = new Rng('quantiles');
  const xs = Float64Array.from({ length: N }, () => f(rng)).sort();
  t.true(Math.abs(xs[N / 2]! / 10 - 1) < 0.02);
  t.true(Math.abs(xs[Math.floor(N * 0.95)]! / 40 - 1) < 0.03);
});

test('empirical weights: a zero weight is never drawn', (t) => {
  const f = makeSampler({ dist: 'empirical', values: [1, 2, 3], weights: [1, 0, 1] });
  const rng = new Rng('weights');
  for (let i = 0; i < 10_000; i++) if (f(rng) === 2) t.fail();
  t.pass();
});

test('pareto with shape <= 1 has an infinite mean', (t) => {
  t.is(mean({ dist: 'pareto', scale: 1, shape: 1 }), Infinity);
});

test('makeMicrosSampler: integer µs, clamped at 0, normal truncated', (t) => {
  const rng = new Rng('micros');
  const u = makeMicrosSampler({ dist: 'uniform', min: -1, max: 1 }, 1_000_000);
  let zeros = 0;
  for (let i = 0; i < 10_000; i++) {
    const x = u(rng);
    if (!Number.isSafeInteger(x) || x < 0) t.fail(`${x}`);
    if (x === 0) zeros++;
  }
  t.true(zeros > 4000); // the negative half clamps to 0
  t.is(makeMicrosSampler({ dist: 'constant', value: 1.5 }, 1_000)(rng), 1_500);
  t.is(makeMicrosSampler({ dist: 'constant', value: 0.0025 }, 1_000)(rng), 3); // 2.5 µs rounds up
  const n = makeMicrosSampler({ dist: 'normal', mean: 0, sd: 1 }, 1_000_000);
  let s = 0, z = 0;
  for (let i = 0; i < N; i++) { const x = n(rng); s += x; if (x === 0) z++; }
  t.true(z < 5); // truncated, not clamped: no point mass at 0
  t.true(Math.abs(s / N / 1e6 - Math.sqrt(2 / Math.PI)) < 0.01); // half-normal mean
  t.throws(() => makeMicrosSampler({ dist: 'normal', mean: -1, sd: 1 }, 1), { instanceOf: RangeError });
  t.throws(() => makeMicrosSampler({ dist: 'constant', value: 1 }, 0), { instanceOf: RangeError });
  t.is(makeMicrosSampler({ dist: 'constant', value: 1e300 }, 1)(rng), Number.MAX_SAFE_INTEGER);
});

test('validateDistribution accepts valid specs and returns a copy', (t) => {
  for (const [, spec] of CASES) {
    const r = validateDistribution(JSON.parse(JSON.stringify(spec)), 'x');
    t.true(r.ok);
    if (r.ok) t.deepEqual(r.value, spec);
  }
  const values = [1, 2];
  const r = validateDistribution({ dist: 'empirical', values }, 'x');
  t.true(r.ok && r.value.dist === 'empirical' && r.value.values !== values);
});

test('validateDistribution reports path-qualified issues', (t) => {
  const msgs = (raw: unknown, opts?: { nonNegative?: boolean }): string[] => {
    const r = validateDistribution(raw, 'traffic[2].idle', opts);
    return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
  };
  t.deepEqual(msgs({ dist: 'exponential', mean: -1 }), ['traffic[2].idle.mean: expected a positive number']);
  t.deepEqual(msgs({ dist: 'exponential' }), ['traffic[2].idle.mean: missing (expected a positive number)']);
  t.deepEqual(msgs(5), ["traffic[2].idle: expected a distribution object such as { dist: 'exponential', mean: 1 }"]);
  t.deepEqual(msgs({ dist: 'gamma' }), ['traffic[2].idle.dist: expected one of constant, uniform, exponential, normal, lognormal, pareto, empirical']);
  t.deepEqual(msgs({ dist: 'exponential', mean: 1, mena: 2 }), ["traffic[2].idle.mena: unknown field for dist 'exponential' (expected mean)"]);
  t.deepEqual(msgs({ dist: 'uniform', min: 5, max: 1 }), ['traffic[2].idle.max: expected a number >= min (5)']);
  t.deepEqual(msgs({ dist: 'normal', mean: -1, sd: 1 }, { nonNegative: true }), ['traffic[2].idle.mean: expected a non-negative number']);
  t.deepEqual(msgs({ dist: 'normal', mean: -1, sd: 1 }), []);
  t.deepEqual(msgs({ dist: 'lognormal', median: 10, p95: 5 }), ['traffic[2].idle.p95: expected a number > median (10)']);
  t.deepEqual(msgs({ dist: 'lognormal', mu: 1, sigma: 1, median: 2, p95: 3 }), ['traffic[2].idle: give either mu and sigma, or median and p95, not both']);
  t.deepEqual(msgs({ dist: 'pareto', scale: 0, shape: 'x' }), ['traffic[2].idle.scale: expected a positive number', 'traffic[2].idle.shape: expected a positive number']);
  t.deepEqual(msgs({ dist: 'empirical', values: [] }), ['traffic[2].idle.values: expected a non-empty array of numbers']);
  t.deepEqual(msgs({ dist: 'empirical', values: [1, NaN, -2] }, { nonNegative: true }), [
    'traffic[2].idle.values[1]: expected a non-negative number', 'traffic[2].idle.values[2]: expected a non-negative number']);
  t.deepEqual(msgs({ dist: 'empirical', values: [1, 2], weights: [1] }), ['traffic[2].idle.weights: expected an array of 2 non-negative numbers (one per value)']);
  t.deepEqual(msgs({ dist: 'empirical', values: [1, 2], weights: [0, 0] }), ['traffic[2].idle.weights: expected at least one positive weight']);
  t.deepEqual(msgs({ dist: 'constant', value: Infinity }), ['traffic[2].idle.value: expected a finite number']);
});
