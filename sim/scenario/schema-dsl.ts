/**
 * A small schema builder: one definition yields the TypeScript type (`Infer<S>`), validation that
 * collects every issue with its path, default filling, and a JSON Schema (draft 2020-12).
 *
 * Defaults are written in the input form a user would type (`'60s'`, `'24GiB'`, `['kernel']`) and
 * are run through the same validator as user input, so they are normalised exactly alike and the
 * JSON Schema can show them verbatim. An absent field and an empty YAML value (`null`) both mean
 * "not given".
 */
import { formatDuration, parseDuration } from '../core/time.js';
import { MSG } from './messages.js';
import { type Base, type JsonSchema, type Schema, fail, make } from './schema-core.js';
import { closest } from './suggest.js';

/** Options of {@link num}: bounds are inclusive except `exclusiveMin`. */
export interface NumOpts extends Base<number> {
  readonly min?: number;
  readonly max?: number;
  readonly exclusiveMin?: number;
  readonly int?: boolean;
  readonly enum?: readonly number[];
}

/** A number, optionally an integer, within a range or from a set. */
export function num(opts: NumOpts = {}): Schema<number, number> {
  const { min, max, exclusiveMin, int = false } = opts;
  const kind = int ? 'an integer' : 'a number';
  const range =
    min !== undefined && max !== undefined ? ` in ${min}..${max}`
      : `${min !== undefined ? ` ≥ ${min}` : ''}${exclusiveMin !== undefined ? ` > ${exclusiveMin}` : ''}${max !== undefined ? ` ≤ ${max}` : ''}`;
  const expects = opts.enum ? `one of ${opts.enum.join(', ')}` : `${kind}${range}`;
  const json = (): JsonSchema => ({
    type: int ? 'integer' : 'number',
    ...(min === undefined ? {} : { minimum: min }),
    ...(exclusiveMin === undefined ? {} : { exclusiveMinimum: exclusiveMin }),
    ...(max === undefined ? {} : { maximum: max }),
    ...(opts.enum ? { enum: opts.enum } : {}),
  });
  return make(opts, expects, json, (v, path, issues) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || (int && !Number.isInteger(v))) return fail(issues, path, MSG.expected(expects, v));
    if (opts.enum && !opts.enum.includes(v)) return fail(issues, path, MSG.oneOf(opts.enum, v));
    if ((min !== undefined && v < min) || (max !== undefined && v > max) || (exclusiveMin !== undefined && v <= exclusiveMin)) {
      return fail(issues, path, MSG.expected(expects, v));
    }
    return v;
  });
}

/** Options of {@link str}. */
export interface StrOpts extends Base<string> {
  readonly pattern?: string;
  /** Longest accepted value in characters (default {@link textLimit}: every text field is bounded). */
  readonly maxLength?: number;
  /** Replaces the generic "a string" in messages, e.g. `a "major.minor" version such as "6.12"`. */
  readonly expects?: string;
}

/**
 * The longest text field a scenario, sweep or suite file may hold (characters), unless a field
 * sets its own `maxLength`. Raised with the CLI's `--max-text <chars>`.
 */
export const TEXT_LIMIT = { chars: 10_000 };

/**
 * Names that become folder names (scenario, sweep): letters, digits, ".", "_" and "-", at most
 * 100 characters, and neither "." nor "..": such a name can never leave the results folder.
 */
export const SAFE_NAME_PATTERN = '^(?!\\.\\.?$)[A-Za-z0-9._-]{1,100}$';
export const SAFE_NAME_EXPECTS = 'a name of 1–100 letters, digits, ".", "_" and "-" (not "." or "..": it names a results folder)';
export const isSafeName = (s: string): boolean => new RegExp(SAFE_NAME_PATTERN).test(s);

/** A string, optionally from a fixed set (`enum`, typed as its literal union) or matching `pattern`. */
export function str<const E extends string>(opts: Omit<StrOpts, 'default'> & { enum: readonly E[]; default?: NoInfer<E> }): Schema<E, E>;
export function str(opts?: StrOpts): Schema<string, string>;
export function str(opts: StrOpts & { enum?: readonly string[] } = {}): Schema<string, string> {
  const values = opts.enum;
  const re = opts.pattern === undefined ? undefined : new RegExp(opts.pattern);
  const expects = opts.expects ?? (values ? `one of ${values.join(', ')}` : re ? `a string matching /${opts.pattern}/` : 'a string');
  const json = (): JsonSchema => ({ type: 'string', ...(values ? { enum: values } : {}), ...(re ? { pattern: opts.pattern } : {}) });
  return make(opts, expects, json, (v, path, issues) => {
    if (typeof v !== 'string') return fail(issues, path, MSG.expectedString(expects, v));
    const max = opts.maxLength ?? TEXT_LIMIT.chars;
    if (v.length > max) return fail(issues, path, MSG.tooLong(v.length, max, opts.maxLength === undefined));
    if (values && !values.includes(v)) return fail(issues, path, MSG.oneOf(values, v, closest(v, values)));
    if (re && !re.test(v)) return fail(issues, path, MSG.expected(expects, v));
    return v;
  });
}

/** true or false. */
export function bool(opts: Base<boolean> = {}): Schema<boolean, boolean> {
  return make(opts, 'true or false', () => ({ type: 'boolean' }), (v, path, issues) =>
    typeof v === 'boolean' ? v : fail(issues, path, MSG.expected('true or false', v)));
}

/** Exactly `value` (a discriminant such as a generator's `kind`). */
export function literal<const L extends string | number | boolean>(value: L, opts: Base<L> = {}): Schema<L, L> {
  return make(opts, JSON.stringify(value), () => ({ const: value }), (v, path, issues) =>
    v === value ? value : fail(issues, path, MSG.expected(JSON.stringify(value), v)));
}

/** Options of {@link duration}; bounds are in µs. */
export interface DurationOpts extends Base<string | number> {
  /** Inclusive lower bound in µs. */
  readonly min?: number;
  /** Exclusive lower bound in µs (`0` for "must be positive"). */
  readonly exclusiveMin?: number;
}

/** A duration (`"250ms"`, `"1.5s"`, `"5m"`, or a number of seconds), resolved to integer µs. */
export function duration(opts: DurationOpts = {}): Schema<number, string | number> {
  const { min, exclusiveMin } = opts;
  const bound = min !== undefined ? ` ≥ ${formatDuration(min)}` : exclusiveMin !== undefined ? ` > ${formatDuration(exclusiveMin)}` : '';
  const expects = `a duration${bound}`;
  const json = (): JsonSchema => ({
    anyOf: [
      { type: 'string', pattern: '^\\s*(([0-9]+(\\.[0-9]*)?(us|µs|ms|s|m|h|d))+|[0-9]+(\\.[0-9]*)?)\\s*$' },
      { type: 'number', minimum: 0, description: 'seconds' },
    ],
  });
  return make(opts, expects, json, (v, path, issues) => {
    if (typeof v !== 'string' && typeof v !== 'number') return fail(issues, path, MSG.badDuration(v));
    const us = parseDuration(v);
    if (typeof us === 'string') return fail(issues, path, us);
    if ((min !== undefined && us < min) || (exclusiveMin !== undefined && us <= exclusiveMin)) return fail(issues, path, MSG.expected(expects, v));
    return us;
  }, (us) => formatDuration(us));
}

/** Binary multiples (KiB…, and the kernel's memparse K/M/G/T) and decimal ones (KB…, IEC 80000-13). */
const BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1, b: 1,
  k: 2 ** 10, kib: 2 ** 10, m: 2 ** 20, mib: 2 ** 20, g: 2 ** 30, gib: 2 ** 30, t: 2 ** 40, tib: 2 ** 40,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
};

/** `"24GiB"` → 25769803776; a number is a count of bytes; undefined when malformed. */
export function parseBytes(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$/.exec(v);
  const mult = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || mult === undefined) return undefined;
  const n = Math.round(Number(m[1]) * mult);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A byte count with the largest binary unit that divides it exactly (`25769803776` → `"24GiB"`). */
export function formatBytes(n: number): string | number {
  for (const [u, m] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (n >= m && n % m === 0) return `${n / m}${u}`;
  }
  return n;
}

/** A size in bytes, written with units (`"24GiB"`), resolved to a number of bytes. */
export function bytes(opts: Base<string | number> & { readonly min?: number } = {}): Schema<number, string | number> {
  const json = (): JsonSchema => ({
    anyOf: [{ type: 'string', pattern: '^\\s*[0-9]+(\\.[0-9]+)?\\s*([KMGTkmgt]i?[Bb]?|[Bb])?\\s*$' }, { type: 'integer', minimum: 0 }],
  });
  return make(opts, 'a size in bytes', json, (v, path, issues) => {
    const n = parseBytes(v);
    if (n === undefined) return fail(issues, path, MSG.badBytes(v));
    if (opts.min !== undefined && n < opts.min) return fail(issues, path, MSG.expected(`a size ≥ ${opts.min} bytes`, v));
    return n;
  }, formatBytes);
}

export * from './schema-core.js';
export * from './schema-struct.js';
