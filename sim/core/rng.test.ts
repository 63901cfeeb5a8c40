import test from 'ava';
import { Rng, RngStreams } from './rng.js';

const draws = (r: Rng, n: number): number[] => Array.from({ length: n }, () => r.uniform());

test('same seed and run give identical streams', (t) => {
  t.deepEqual(draws(new RngStreams(7, 0).get('traffic/web'), 100), draws(new RngStreams(7, 0).get('traffic/web'), 100));
});

test('substream independence: "a" is unchanged by creating and using "b"', (t) => {
  const alone = new RngStreams(7, 0);
  const a1 = draws(alone.get('a'), 1000);
  const mixed = new RngStreams(7, 0);
  const b = mixed.get('b');
  draws(b, 500);
  const a = mixed.get('a');
  const a2: number[] = [];
  for (let i = 0; i < 1000; i++) { a2.push(a.uniform()); b.exponential(1); b.normal(0, 1); }
  t.deepEqual(a2, a1);
  t.deepEqual(mixed.names(), ['b', 'a']);
});

test('get returns the same object for the same name', (t) => {
  const s = new RngStreams(1, 2);
  t.is(s.get('x'), s.get('x'));
  t.not(s.get('x'), s.get('y'));
  t.throws(() => s.get(''), { instanceOf: RangeError });
});

test('different run, seed or name give different draws', (t) => {
  const base = draws(new RngStreams(7, 0).get('a'), 20);
  t.notDeepEqual(draws(new RngStreams(7, 1).get('a'), 20), base);
  t.notDeepEqual(draws(new RngStreams(8, 0).get('a'), 20), base);
  t.notDeepEqual(draws(new RngStreams(7, 0).get('a2'), 20), base);
  // the key separates seed and run: (1, 23) and (12, 3) differ
  t.notDeepEqual(draws(new RngStreams(1, 23).get('a'), 20), draws(new RngStreams(12, 3).get('a'), 20));
  t.throws(() => new RngStreams(1.5, 0), { instanceOf: RangeError });
});

test('ranges: uniform, int32, below', (t) => {
  const r = new Rng('ranges');
  const counts = new Array<number>(7).fill(0);
  for (let i = 0; i < 70_000; i++) {
    const u = r.uniform();
    if (!(u >= 0 && u < 1)) t.fail(`uniform ${u}`);
    const x = r.int32();
    if (x !== (x | 0)) t.fail(`int32 ${x}`);
    const b = r.below(7);
    if (!Number.isInteger(b) || b < 0 || b >= 7) t.fail(`below ${b}`);
    counts[b]!++;
  }
  for (const c of counts) t.true(Math.abs(c - 10_000) < 500, `below(7) bucket ${c}`);
  t.is(r.below(1), 0);
  const big = r.below(2 ** 32);
  t.true(big >= 0 && big < 2 ** 32 && Number.isInteger(big));
  for (const bad of [0, -1, 1.5, 2 ** 32 + 1, NaN]) t.throws(() => r.below(bad), { instanceOf: RangeError });
});

test('state and restore replay the stream', (t) => {
  const r = new Rng('state');
  draws(r, 10);
  const st = r.state();
  const next = draws(r, 50);
  r.restore(st);
  t.deepEqual(draws(r, 50), next);
  const other = new Rng('other');
  other.restore(st);
  t.deepEqual(draws(other, 50), next);
});

test('variates are deterministic and in range', (t) => {
  const r = new Rng('variates');
  for (let i = 0; i < 10_000; i++) {
    if (!(r.exponential(2) >= 0)) t.fail('exponential');
    if (!(r.pareto(3, 1.5) >= 3)) t.fail('pareto');
    if (!(r.lognormal(0, 1) > 0)) t.fail('lognormal');
    if (!Number.isFinite(r.normal(0, 1))) t.fail('normal');
  }
  const a = new Rng('k'), b = new Rng('k');
  t.deepEqual([a.normal(1, 2), a.exponential(3), a.int32()], [b.normal(1, 2), b.exponential(3), b.int32()]);
});

test('below(n) equals its definition on 2^32·uniform (rejection at 2^32 − 2^32 mod n, then mod n), draw for draw, for every n and alternating n', (t) => {
  const ns = [1, 2, 3, 7, 1000, 64512, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 3_000_000_000, 2 ** 32 - 1, 2 ** 32];
  const a = new Rng('below-definition'), b = new Rng('below-definition');
  // the reference: floating-point remainders exactly as the definition reads
  const ref = (n: number): number => {
    const limit = 2 ** 32 - (2 ** 32 % n);
    let x = b.uniform() * 2 ** 32;
    while (x >= limit) x = b.uniform() * 2 ** 32;
    return x % n;
  };
  let rejections = 0;
  for (let i = 0; i < 30_000; i++) {
    // the same n several times in a row, then another (the cached limit must follow n)
    const n = ns[Math.floor(i / 3) % ns.length]!;
    const before = b.state();
    const want = ref(n);
    const got = a.below(n);
    if (got !== want) { t.fail(`draw ${i}, n ${n}: got ${got}, want ${want}`); return; }
    const u = new Rng('x'); u.restore(before);
    if (u.uniform() * 2 ** 32 >= 2 ** 32 - (2 ** 32 % n)) rejections++;
  }
  t.deepEqual(a.state(), b.state(), 'both consumed the same draws');
  t.true(rejections > 0, 'some draws were redrawn (n = 3,000,000,000 rejects about 30 %)');
});
