import test from 'ava';
import { logGamma, regIncBeta, t95, tQuantileTwoSided, tTwoSided } from './stats.js';

// qt(0.975, df) to 12+ significant digits (published tables / R's qt; df 1 and 2 also in closed form below)
const KNOWN: [number, number][] = [
  [1, 12.706204736174698], [2, 4.302652729749464], [5, 2.570581835636314], [29, 2.045229642132703],
  [30, 2.042272456301238], [31, 2.039513446396408], [100, 1.983971518523551], [Infinity, 1.959963984540054],
];

for (const [df, q] of KNOWN) {
  test(`t quantile 97.5% (two-sided 95%), df ${df} = ${q}`, (t) => {
    const v = tQuantileTwoSided(0.95, df);
    t.true(Math.abs(v - q) < 1e-9 * q, `got ${v}`);
    t.is(t95(df), v);
  });
}

test('closed forms: df 1 is Cauchy (tan), df 2 is (2p − 1) / √(2p(1 − p))', (t) => {
  t.true(Math.abs(tQuantileTwoSided(0.95, 1) - Math.tan(0.475 * Math.PI)) < 1e-10);
  const p = 0.975;
  t.true(Math.abs(tQuantileTwoSided(0.95, 2) - (2 * p - 1) / Math.sqrt(2 * p * (1 - p))) < 1e-11);
  // other levels too: df 1, 90% two-sided = tan(0.45π)
  t.true(Math.abs(tQuantileTwoSided(0.9, 1) - Math.tan(0.45 * Math.PI)) < 1e-10);
});

test('no jump at 30 degrees of freedom: quantiles decrease strictly towards 1.96', (t) => {
  let prev = Infinity;
  for (let df = 1; df <= 200; df++) {
    const v = t95(df);
    t.true(v < prev && v > 1.959963984540054, `df ${df}: ${v}`);
    prev = v;
  }
  t.true(t95(30) - t95(31) > 0.002);
});

test('incomplete beta and log-gamma against known values', (t) => {
  t.true(Math.abs(logGamma(0.5) - Math.log(Math.sqrt(Math.PI))) < 1e-14);
  t.true(Math.abs(logGamma(10) - Math.log(362880)) < 1e-12);
  // I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 − (1 − x)^b
  t.true(Math.abs(regIncBeta(0.3, 1, 1) - 0.3) < 1e-14);
  t.true(Math.abs(regIncBeta(0.3, 2.5, 1) - 0.3 ** 2.5) < 1e-14);
  t.true(Math.abs(regIncBeta(0.3, 1, 4) - (1 - 0.7 ** 4)) < 1e-14);
  t.true(Math.abs(tTwoSided(0, 5) - 1) < 1e-15);
});
