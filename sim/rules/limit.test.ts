import test from 'ava';
import { LimitBuckets, parseLimitStmt, type LimitSpec, type TokCursor } from './limit.js';
import { lex, RuleSyntaxError } from './lexer.js';

const pk = (rate: number, unitS = 1, burst = 0, over = false): LimitSpec => ({ mode: 'packets', rate, unitS, burst, over });
const S = 1e9; // ns per second

/** Passes `n` packets at `t` ns; returns how many were within the limit. */
function burstAt(b: LimitBuckets, t: number, n: number, len = 100): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (b.within(0, t, len)) ok++;
  return ok;
}

test('rules.md §20.1: 10/second, no burst given → burst 5: the full bucket passes 5 packets at once, the 6th is over', (t) => {
  const b = new LimitBuckets(pk(10));
  b.reset(0, 0);
  t.is(b.cost, 100_000_000, 'cost = 1e9 ns / 10');
  t.is(b.tokensMax, 5 * 100_000_000, 'capacity = cost × 5 (NFT_LIMIT_PKT_BURST_DEFAULT)');
  t.is(burstAt(b, 0, 6), 5);
});

test('rules.md §20.1: burst 0 written explicitly is the default 5; burst 1 is one packet', (t) => {
  const b0 = new LimitBuckets(pk(10, 1, 0));
  b0.reset(0, 0);
  t.is(burstAt(b0, 0, 10), 5);
  const b1 = new LimitBuckets(pk(10, 1, 1));
  b1.reset(0, 0);
  t.is(burstAt(b1, 0, 10), 1);
});

test('rules.md §20.1: refill then compare — exactly one cost later a packet passes, one ns short it does not', (t) => {
  const b = new LimitBuckets(pk(10, 1, 1));
  b.reset(0, 0);
  t.true(b.within(0, 0, 100));
  t.false(b.within(0, 99_999_999, 100), 'one ns short of the 100 ms cost');
  // the failed evaluation kept the refilled 99_999_999 ns and moved last: 1 ns more is enough
  t.true(b.within(0, 100_000_000, 100), 'exactly at cost (tokens ≥ cost)');
  t.is(b.tokens[0], 0);
  t.false(b.within(0, 100_000_000, 100));
});

test('rules.md §20.1: the simulation clock is µs; 99 999 µs after an empty 10/second bucket is short, 100 000 µs is enough', (t) => {
  const b = new LimitBuckets(pk(10, 1, 1));
  b.reset(0, 0);
  t.true(b.within(0, 0, 1));
  t.false(b.within(0, 99_999 * 1000, 1));
  t.true(b.within(0, 100_000 * 1000, 1));
});

test('rules.md §20.1: a long idle period refills only up to the capacity', (t) => {
  const b = new LimitBuckets(pk(2, 60, 3)); // 2/minute burst 3
  b.reset(0, 0);
  t.is(burstAt(b, 0, 10), 3);
  t.is(burstAt(b, 3600 * S, 10), 3, 'after an hour idle still only the burst');
  t.is(b.tokens[0], 0);
});

test('rules.md §20.1: over inverts the match — limit rate over 10/second matches from the 6th packet', (t) => {
  const b = new LimitBuckets(pk(10, 1, 0, true));
  b.reset(0, 0);
  const m: boolean[] = [];
  for (let i = 0; i < 7; i++) m.push(b.matches(0, 0, 64));
  t.deepEqual(m, [false, false, false, false, false, true, true]);
});

test('rules.md §20.1: bytes mode — 10 mbytes/second burst 1 mbytes holds unit × (rate + burst) / rate ns; a 1500-byte packet costs floor(1e9 × 1500 / rate)', (t) => {
  const rate = 10 * 1024 * 1024, burst = 1024 * 1024;
  const b = new LimitBuckets({ mode: 'bytes', rate, unitS: 1, burst, over: false });
  b.reset(0, 0);
  const cap = (10n ** 9n * BigInt(rate + burst)) / BigInt(rate);
  t.is(BigInt(b.tokensMax), cap);
  t.is(b.tokensMax, 1_100_000_000);
  const cost = (10n ** 9n * 1500n) / BigInt(rate);
  t.is(BigInt(b.costOf(1500)), cost);
  t.is(b.costOf(1500), 143_051);
  const expected = Number(cap / cost); // 7689
  t.is(burstAt(b, 0, 10_000, 1500), expected);
  t.is(expected, 7689);
});

test('rules.md §20.1: bytes mode without burst holds one unit of time (rate bytes)', (t) => {
  const b = new LimitBuckets({ mode: 'bytes', rate: 10_000, unitS: 1, burst: 0, over: false });
  b.reset(0, 0);
  t.is(b.tokensMax, 1e9);
  t.is(b.costOf(1000), 1e8);
  t.is(burstAt(b, 0, 20, 1000), 10, 'exactly 10 000 bytes of 1000-byte packets');
});

test('per-element buckets are independent and grow on demand', (t) => {
  const b = new LimitBuckets(pk(1, 1, 1));
  b.reset(0, 0);
  b.reset(40, 0);
  t.true(b.within(0, 0, 1));
  t.false(b.within(0, 0, 1));
  t.true(b.within(40, 0, 1));
});

function cursor(text: string): TokCursor & { rest(): string } {
  const toks = lex(text).filter((x) => x.kind !== 'nl');
  let i = 0;
  return {
    peek: () => toks[i],
    take: () => (toks[i].kind === 'eof' ? toks[i] : toks[i++]),
    rest: () => toks.slice(i).filter((x) => x.kind !== 'eof').map((x) => x.text).join(' '),
  };
}
function parse(text: string): LimitSpec {
  const c = cursor(text);
  const kw = c.take();
  return parseLimitStmt(c, kw);
}

test('parse: packet and byte forms as nft writes them', (t) => {
  t.deepEqual(parse('limit rate 10/second'), pk(10));
  t.deepEqual(parse('limit rate over 100/minute burst 20 packets'), pk(100, 60, 20, true));
  t.deepEqual(parse('limit rate 10 mbytes/second burst 1 mbytes'), { mode: 'bytes', rate: 10485760, unitS: 1, burst: 1048576, over: false });
  t.deepEqual(parse('limit rate over 512 kbytes/day'), { mode: 'bytes', rate: 524288, unitS: 86400, burst: 0, over: true });
  const c = cursor('limit rate 5/hour drop');
  parseLimitStmt(c, c.take());
  t.is(c.rest(), 'drop', 'stops at the next statement');
});

test('parse: errors name line, column and the expected form', (t) => {
  const e1 = t.throws(() => parse('limit rate 10/fortnight'), { instanceOf: RuleSyntaxError });
  t.regex(e1!.message, /^1:12: unknown time unit "fortnight"; expected one of second, minute, hour, day, week/);
  const e2 = t.throws(() => parse('limit 10/second'), { instanceOf: RuleSyntaxError });
  t.regex(e2!.message, /^1:7: expected "rate" after limit/);
  const e3 = t.throws(() => parse('limit rate 0/second'), { instanceOf: RuleSyntaxError });
  t.regex(e3!.message, /rate of 0/);
  const e4 = t.throws(() => parse('limit rate 10/second burst 3 mbytes'), { instanceOf: RuleSyntaxError });
  t.regex(e4!.message, /burst N packets/);
});
