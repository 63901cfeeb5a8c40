import test from 'ava';
import { type Infer, type Issue, arr, bool, bytes, duration, formatPath, literal, nameOrObject, num, obj, opt, parseBytes, record, str, union } from './schema-dsl.js';
import { closest, editDistance } from './suggest.js';

function run<S extends { validate(v: unknown, p: readonly (string | number)[], i: Issue[]): unknown }>(s: S, v: unknown) {
  const issues: Issue[] = [];
  const out = s.validate(v, ['x'], issues);
  return { out, issues: issues.map((i) => `${i.path}: ${i.message}`) };
}

test('edit distance and suggestions', (t) => {
  t.is(editDistance('kitten', 'sitting'), 3);
  t.is(editDistance('ab', 'ba'), 1);
  t.is(closest('synflood', ['web-clients', 'syn-flood']), 'syn-flood');
  t.is(closest('Duraton', ['duration', 'runs']), 'duration');
  t.is(closest('zzz', ['duration', 'runs']), undefined);
});

test('paths', (t) => {
  t.is(formatPath(['traffic', 2, 'rate']), 'traffic[2].rate');
  t.is(formatPath(['sysctl', 'net.netfilter.x']), 'sysctl["net.netfilter.x"]');
  t.is(formatPath([]), '');
});

test('scalars', (t) => {
  t.deepEqual(run(num({ int: true, min: 1, max: 3 }), 4).issues, ['x: expected an integer in 1..3, got 4']);
  t.deepEqual(run(num({ int: true }), 1.5).issues, ['x: expected an integer, got 1.5']);
  t.deepEqual(run(str({ enum: ['a', 'b'] }), 'c').issues, ['x: expected one of "a", "b", got "c"']);
  t.deepEqual(run(str({ pattern: '^a+$' }), 'b').issues, ['x: expected a string matching /^a+$/, got "b"']);
  t.deepEqual(run(bool(), 'yes').issues, ['x: expected true or false, got "yes"']);
  t.deepEqual(run(literal('k'), 'j').issues, ['x: expected "k", got "j"']);
  t.is(run(duration(), '1m30s').out, 90_000_000);
  t.is(run(duration(), 2).out, 2_000_000);
  t.deepEqual(run(duration({ min: 1000 }), '500us').issues, ['x: expected a duration ≥ 1ms, got "500us"']);
  t.deepEqual(run(duration(), true).issues, ['x: expected a duration such as "250ms", "1.5s", "5m" or a number of seconds, got true']);
  t.is(run(bytes(), '24GiB').out, 24 * 2 ** 30);
});

test('byte sizes', (t) => {
  t.is(parseBytes('1KiB'), 1024);
  t.is(parseBytes('1.5 MiB'), 1.5 * 2 ** 20);
  t.is(parseBytes('2GB'), 2e9);
  t.is(parseBytes('4g'), 4 * 2 ** 30);
  t.is(parseBytes(4096), 4096);
  t.is(parseBytes('12 bananas'), undefined);
  t.is(parseBytes(-1), undefined);
});

test('objects fill defaults, keep opt fields absent, report every issue', (t) => {
  const s = obj({ a: num({ default: 1 }), b: opt(str()), c: arr(num(), { minItems: 1 }), d: duration({ default: '2s' }) });
  const typed: Infer<typeof s> = { a: 1, c: [], d: 0 };
  t.truthy(typed);
  t.deepEqual(run(s, { c: [1] }).out, { a: 1, c: [1], d: 2_000_000 });
  t.deepEqual(run(s, { a: 'z', cc: 1 }).issues, [
    'x.cc: unknown key "cc" (did you mean "c"?)',
    'x.a: expected a number, got "z"',
    'x.c: missing required field (expected a list of at least 1 item)',
  ]);
  t.deepEqual(run(s, { c: [] }).issues, ['x.c: expected at least 1 item, got 0']);
  t.deepEqual(run(s, [1]).issues, ['x: expected a mapping, got a list of 1 item']);
});

test('records check and canonicalise keys', (t) => {
  const r = record<'one' | 'two', number>(num(), {
    keyCheck: (k) => {
      const c = k.replace(/^my\./, '');
      return c === 'one' || c === 'two' ? { ok: true, key: c } : { ok: false, message: `bad key ${k}` };
    },
  });
  t.deepEqual(run(r, { 'my.one': 1, two: 2 }).out, { one: 1, two: 2 });
  t.deepEqual(run(r, { three: 3, one: 'x' }).issues, ['x.three: bad key three', 'x.one: expected a number, got "x"']);
});

test('unions and the name-or-object shorthand', (t) => {
  const u = union('name', { a: obj({ name: literal('a'), p: num({ default: 2 }) }), b: obj({ name: literal('b') }) }, { what: 'thing' });
  const s = arr(nameOrObject(u));
  t.deepEqual(run(s, ['a', { name: 'b' }, { name: 'a', p: 5 }]).out, [{ name: 'a', p: 2 }, { name: 'b' }, { name: 'a', p: 5 }]);
  t.deepEqual(run(s, ['c', { p: 1 }, 7]).issues, [
    'x[0]: unknown thing "c"; known: a, b',
    'x[1].name: missing "name" (expected the thing name, one of a, b)',
    'x[2]: expected a thing name or a mapping with "name", got 7',
  ]);
});
