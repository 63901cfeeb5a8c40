/**
 * Simulated time: an integer count of microseconds in a plain `number` (2^53 µs ≈ 285 years).
 * Floats never appear in event keys; convert to seconds only in writers ({@link toSeconds}).
 * Kernel time is jiffies (1/HZ s); {@link jiffiesAt} and {@link jiffyStartMicros} convert exactly.
 */

/** Integer microseconds (non-negative safe integer). */
export type Micros = number;

/** Microseconds per second. */
export const US_PER_SEC = 1_000_000;

/**
 * Convert `n` units of `unitMicros` µs to integer µs. Rounds once, half away from zero
 * (`Math.round` of the non-negative product), so `secs(0.5)` is 500000 and `us(1.5)` is 2.
 * Throws RangeError for non-finite or negative input or a result beyond 2^53 − 1.
 */
function toMicros(n: number, unitMicros: number, unit: string): Micros {
  if (!Number.isFinite(n) || n < 0) {
    throw new RangeError(`time must be a finite non-negative number of ${unit}, got ${n}`);
  }
  const t = Math.round(n * unitMicros) + 0; // + 0 turns -0 into 0
  if (!Number.isSafeInteger(t)) throw new RangeError(`time ${n} ${unit} exceeds 2^53 µs`);
  return t;
}

/** `n` microseconds (rounded to an integer). */
export const us = (n: number): Micros => toMicros(n, 1, 'us');
/** `n` milliseconds in µs. */
export const ms = (n: number): Micros => toMicros(n, 1_000, 'ms');
/** `n` seconds in µs. */
export const secs = (n: number): Micros => toMicros(n, US_PER_SEC, 's');
/** `n` minutes in µs. */
export const mins = (n: number): Micros => toMicros(n, 60 * US_PER_SEC, 'min');
/** `n` hours in µs. */
export const hours = (n: number): Micros => toMicros(n, 3_600 * US_PER_SEC, 'h');
/** `n` days in µs. */
export const days = (n: number): Micros => toMicros(n, 86_400 * US_PER_SEC, 'd');

/** Seconds as a float, for writers and reports only. */
export const toSeconds = (t: Micros): number => t / US_PER_SEC;

const UNIT_US: Readonly<Record<string, number>> = {
  us: 1, 'µs': 1, ms: 1_000, s: US_PER_SEC, m: 60 * US_PER_SEC, h: 3_600 * US_PER_SEC, d: 86_400 * US_PER_SEC,
};

/**
 * Parse a duration as scenario files write it. A number is seconds; a string is a number with a
 * unit (`us`/`µs`, `ms`, `s`, `m`, `h`, `d`), or several such terms (`"1h30m"`), or a bare number
 * of seconds (`"90"`). Decimal fractions are exact: each term is rounded to µs once, half away
 * from zero. Returns the integer µs, or an error message (a string) for bad input; never throws.
 */
export function parseDuration(text: string | number): Micros | string {
  if (typeof text === 'number') {
    try {
      return secs(text);
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (typeof text !== 'string') return `expected a duration, got ${typeof text}`;
  const s = text.trim();
  const bad = `invalid duration "${text}": expected e.g. "500us", "250ms", "1.5s", "5m", "2h", "1d" or seconds`;
  if (/^\d+(\.\d*)?$/.test(s)) return parseDuration(`${s}s`);
  if (s.startsWith('-')) return `invalid duration "${text}": must not be negative`;
  const term = /(\d+)(?:\.(\d*))?(us|µs|ms|s|m|h|d)/y; // per call: a sticky regex carries state
  let total = 0n;
  let pos = 0;
  while (pos < s.length) {
    term.lastIndex = pos;
    const m = term.exec(s);
    if (m === null) return bad;
    const unit = BigInt(UNIT_US[m[3]!]!);
    const frac = m[2] ?? '';
    const scale = 10n ** BigInt(frac.length);
    // round(F·unit / 10^k) half away from zero, exactly
    const fracUs = frac === '' ? 0n : (2n * BigInt(frac) * unit + scale) / (2n * scale);
    total += BigInt(m[1]!) * unit + fracUs;
    pos = term.lastIndex;
  }
  if (pos === 0) return bad;
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) return `invalid duration "${text}": exceeds 2^53 µs`;
  return Number(total);
}

const FORMAT_UNITS: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400 * US_PER_SEC], ['h', 3_600 * US_PER_SEC], ['m', 60 * US_PER_SEC],
  ['s', US_PER_SEC], ['ms', 1_000], ['us', 1],
];

/**
 * Format integer µs as compound units, largest first: 90 s → `"1m30s"`, 1500 ms → `"1s500ms"`,
 * 0 → `"0s"`. The output parses back to the same value with {@link parseDuration}.
 */
export function formatDuration(t: Micros): string {
  if (!Number.isSafeInteger(t) || t < 0) return String(t);
  if (t === 0) return '0s';
  let rest = t;
  let out = '';
  for (const [name, size] of FORMAT_UNITS) {
    const q = Math.floor(rest / size);
    if (q > 0) {
      out += `${q}${name}`;
      rest -= q * size;
    }
  }
  return out;
}

function checkHz(hz: number): void {
  if (!Number.isInteger(hz) || hz < 1 || hz > US_PER_SEC) {
    throw new RangeError(`HZ must be an integer in [1, 1000000], got ${hz}`);
  }
}

/**
 * The kernel's `jiffies` at time `t` (µs since boot): floor(t·hz / 10^6), computed exactly for any
 * safe-integer `t` by splitting into whole seconds and a remainder.
 */
export function jiffiesAt(t: Micros, hz: number): number {
  checkHz(hz);
  if (!Number.isSafeInteger(t) || t < 0) throw new RangeError(`time must be a non-negative safe integer, got ${t}`);
  const s = Math.floor(t / US_PER_SEC);
  const r = t - s * US_PER_SEC;
  return s * hz + Math.floor((r * hz) / US_PER_SEC);
}

/**
 * The first µs at which {@link jiffiesAt} reaches `j`: ceil(j·10^6 / hz), computed exactly.
 * Throws RangeError if `j` is not a non-negative safe integer or the result is not a safe integer.
 */
export function jiffyStartMicros(j: number, hz: number): Micros {
  checkHz(hz);
  if (!Number.isSafeInteger(j) || j < 0) throw new RangeError(`jiffies must be a non-negative safe integer, got ${j}`);
  const q = Math.floor(j / hz);
  const r = j - q * hz;
  const t = q * US_PER_SEC + Math.floor((r * US_PER_SEC + hz - 1) / hz);
  if (!Number.isSafeInteger(t)) throw new RangeError(`jiffy ${j} at HZ=${hz} is beyond 2^53 µs`);
  return t;
}
