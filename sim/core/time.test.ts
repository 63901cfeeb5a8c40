import test from 'ava';
import { us, ms, secs, mins, hours, days, toSeconds, parseDuration, formatDuration, jiffiesAt, jiffyStartMicros, US_PER_SEC } from './time.js';
import { Rng } from './rng.js';

test('unit helpers return integer µs', (t) => {
  t.is(us(7), 7);
  t.is(ms(250), 250_000);
  t.is(secs(1), US_PER_SEC);
  t.is(mins(5), 300_000_000);
  t.is(hours(2), 7_200_000_000);
  t.is(days(5), 432_000_000_000); // nf_conntrack_tcp_timeout_established
  t.is(secs(0.5), 500_000);
  t.is(secs(0.1), 100_000); // 0.1 * 1e6 is 100000.00000000001 as a double
  t.is(ms(1.0005), 1_001); // rounded once, half away from zero
  t.is(us(2.5), 3);
  t.is(Object.is(secs(-0), 0), true);
  t.is(toSeconds(1_500_000), 1.5);
});

test('unit helpers reject bad input', (t) => {
  for (const bad of [-1, -1e-9, NaN, Infinity, -Infinity]) t.throws(() => secs(bad), { instanceOf: RangeError });
  t.throws(() => days(1e9), { instanceOf: RangeError }); // beyond 2^53 µs
});

test('parseDuration accepts numbers and unit strings', (t) => {
  const cases: Array<[string | number, number]> = [
    [30, 30_000_000], [1.5, 1_500_000], ['500us', 500], ['500µs', 500], ['250ms', 250_000], ['1.5s', 1_500_000],
    ['90s', 90_000_000], ['5m', 300_000_000], ['2h', 7_200_000_000], ['1d', 86_400_000_000], ['  120 ', 120_000_000],
    ['1h30m', 5_400_000_000], ['0s', 0], ['0.0000005s', 1], ['0.0000004s', 0], ['1.0000005s', 1_000_001],
    ['1.', 1_000_000], ['0.1s', 100_000],
  ];
  for (const [input, want] of cases) t.is(parseDuration(input), want, `parseDuration(${JSON.stringify(input)})`);
});

test('parseDuration returns an error string for bad input', (t) => {
  for (const bad of ['', 'abc', '5x', '-5s', '5 s', '1e3s', 's', '.5s', '5s3', -1, NaN, Infinity, '99999999999d']) {
    const r = parseDuration(bad);
    t.is(typeof r, 'string', `parseDuration(${JSON.stringify(bad)}) = ${String(r)}`);
  }
  t.is(typeof parseDuration(undefined as unknown as string), 'string');
});

test('formatDuration round-trips through parseDuration', (t) => {
  t.is(formatDuration(0), '0s');
  t.is(formatDuration(90_000_000), '1m30s');
  t.is(formatDuration(1_500_000), '1s500ms');
  t.is(formatDuration(432_000_000_000), '5d');
  const rng = new Rng('time-test');
  for (let i = 0; i < 2000; i++) {
    const v = Math.floor(rng.uniform() * 2 ** 21) * (1 + rng.below(2 ** 31));
    t.is(parseDuration(formatDuration(v)), v);
  }
});

const HZS = [100, 250, 300, 1000];
const bigJiffies = (t: number, hz: number): number => Number((BigInt(t) * BigInt(hz)) / 1_000_000n);
const bigJiffyStart = (j: number, hz: number): number => Number((BigInt(j) * 1_000_000n + BigInt(hz) - 1n) / BigInt(hz));

function sampleTimes(): number[] {
  const rng = new Rng('jiffies-test');
  const out = [0, 1, 3_999, 4_000, 4_001, 999_999, 1_000_000, 3_333, 3_334, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1];
  for (let i = 0; i < 5000; i++) {
    const hi = rng.below(2 ** 21); // t up to 2^53 - 1
    out.push(hi * 2 ** 32 + (rng.int32() >>> 0));
  }
  return out;
}

test('jiffiesAt matches BigInt floor(t*hz/1e6) for HZ 100/250/300/1000', (t) => {
  const times = sampleTimes();
  for (const hz of HZS) for (const x of times) if (jiffiesAt(x, hz) !== bigJiffies(x, hz)) t.fail(`jiffiesAt(${x}, ${hz})`);
  t.is(jiffiesAt(secs(1), 250), 250);
  t.is(jiffiesAt(3_999, 250), 0);
  t.is(jiffiesAt(4_000, 250), 1);
  t.pass();
});

test('jiffyStartMicros is the first µs with jiffiesAt >= j (BigInt ceil)', (t) => {
  for (const hz of HZS) {
    const maxJ = jiffiesAt(Number.MAX_SAFE_INTEGER, hz);
    const js = [0, 1, 2, hz - 1, hz, hz + 1, maxJ, maxJ - 1, ...sampleTimes().map((x) => jiffiesAt(x, hz))];
    for (const j of js) {
      const s = jiffyStartMicros(j, hz);
      if (s !== bigJiffyStart(j, hz)) t.fail(`jiffyStartMicros(${j}, ${hz})`);
      if (jiffiesAt(s, hz) < j || (s > 0 && jiffiesAt(s - 1, hz) >= j)) t.fail(`not the first µs: j ${j} hz ${hz}`);
    }
  }
  t.is(jiffyStartMicros(1, 300), 3_334);
  t.throws(() => jiffyStartMicros(Number.MAX_SAFE_INTEGER, 1000), { instanceOf: RangeError });
  t.throws(() => jiffiesAt(1, 0), { instanceOf: RangeError });
  t.throws(() => jiffiesAt(-1, 250), { instanceOf: RangeError });
});
