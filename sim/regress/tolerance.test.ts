import test from 'ava';
import { formatTolerance, parseTolerance, patternRegExp, toleranceFor, withinTolerance, type Tolerance } from './tolerance.js';

const tol = (v: unknown): Tolerance => {
  const t = parseTolerance(v);
  if (typeof t === 'string') throw new Error(t);
  return t;
};

test('tolerances: exact, abs, rel, both, ignore', (t) => {
  t.true(withinTolerance(10, 10, tol('exact')));
  t.false(withinTolerance(10, 11, tol('exact')));
  t.true(withinTolerance(null, null, tol('exact')));
  t.false(withinTolerance(null, 0, tol({ abs: 1 })), 'null against a number is a change whatever the bound');
  t.true(withinTolerance(10, 10.5, tol({ abs: 0.5 })));
  t.false(withinTolerance(10, 10.6, tol({ abs: 0.5 })));
  t.true(withinTolerance(200, 204, tol({ rel: 0.02 })));
  t.false(withinTolerance(200, 205, tol({ rel: 0.02 })));
  t.true(withinTolerance(1, 1.5, tol({ abs: 0.5, rel: 0.01 })), 'within either bound');
  t.true(withinTolerance('a', 'b', tol('ignore')));
  t.false(withinTolerance('6.12', '6.1', tol({ abs: 1 })), 'strings compare exactly');
  t.is(formatTolerance(tol({ abs: 1e-6 })), '±0.000001');
  t.is(formatTolerance(tol({ rel: 0.02 })), '±2%');
  t.is(formatTolerance(tol({ abs: 3, rel: 0.1 })), '±3 or ±10%');
  t.is(formatTolerance(tol('exact')), 'exact');
  t.regex(parseTolerance({ abs: -1 }) as string, /abs: expected a number ≥ 0/);
  t.regex(parseTolerance({ absolute: 1 }) as string, /unknown key "absolute"/);
  t.regex(parseTolerance('loose') as string, /expected exact, ignore/);
});

test('patterns: * matches any run of characters; the first matching pattern wins, case before suite', (t) => {
  t.true(patternRegExp('*success_rate').test('classes.legit.success_rate'));
  t.true(patternRegExp('generators.*.failed').test('generators.web.failed'));
  t.false(patternRegExp('table.peak_count').test('table.peak_countx'));
  t.false(patternRegExp('a.b').test('aXb'), 'dots are literal');
  const suite = [{ pattern: '*', re: patternRegExp('*'), tol: tol({ rel: 0.5 }) }];
  const kase = [{ pattern: 'table.*', re: patternRegExp('table.*'), tol: tol('exact') }];
  t.is(toleranceFor('table.peak_count', kase, suite).kind, 'exact');
  t.is(toleranceFor('conntrack_S.drop', kase, suite).kind, 'bound');
  t.is(toleranceFor('x', []).kind, 'exact');
});
