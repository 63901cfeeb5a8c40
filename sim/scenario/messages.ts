/**
 * User-visible messages of scenario validation, kept in one catalogue (style guide G14).
 * Each says what was expected and what was found.
 */

/** A short description of a found value: `"x"`, `-5`, `true`, `null`, `an array`, `a mapping`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

const quoteList = (xs: readonly (string | number)[]): string => xs.map((x) => JSON.stringify(x)).join(', ');
const hint = (suggestion: string | undefined): string => (suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`);

/** Catalogue of validation messages. */
export const MSG = {
  yamlTooLarge: (why: string): string =>
    `the YAML expands too far (${why}); aliases (*name) may be used at most 100 times: write the values out or use fewer aliases`,
  tooLong: (len: number, max: number, raisable: boolean): string =>
    `text of ${len} characters; the limit is ${max}${raisable ? ' (raise it with --max-text <chars>)' : ''}`,
  expected: (what: string, found: unknown): string => `expected ${what}, got ${describe(found)}`,
  expectedString: (what: string, found: unknown): string =>
    typeof found === 'number' ? `expected ${what}, got the number ${found} (quote it if it is meant as text)` : MSG.expected(what, found),
  oneOf: (values: readonly (string | number)[], found: unknown, suggestion?: string): string =>
    `expected one of ${quoteList(values)}, got ${describe(found)}${hint(suggestion)}`,
  missing: (what: string): string => `missing required field (expected ${what})`,
  unknownKey: (key: string, suggestion: string | undefined, allowed: readonly string[]): string =>
    `unknown key "${key}"${suggestion === undefined ? `; allowed: ${allowed.join(', ')}` : hint(suggestion)}`,
  unknownName: (what: string, name: string, suggestion: string | undefined, known: readonly string[]): string =>
    `unknown ${what} "${name}"${hint(suggestion)}; known: ${known.length <= 12 ? known.join(', ') : `${known.length} names (see scenario.schema.json)`}`,
  missingDiscriminant: (key: string, what: string, known: readonly string[]): string =>
    `missing "${key}" (expected the ${what} name, one of ${known.join(', ')})`,
  tooFewItems: (min: number, found: number): string => `expected at least ${min} item${min === 1 ? '' : 's'}, got ${found}`,
  duplicateKey: (key: string, other: string): string => `"${key}" and "${other}" name the same setting; give it once`,
  badDuration: (found: unknown): string =>
    `expected a duration such as "250ms", "1.5s", "5m" or a number of seconds, got ${describe(found)}`,
  badBytes: (found: unknown): string =>
    `expected a size such as "24GiB", "512MiB", "64KB" or a number of bytes, got ${describe(found)}`,
  emptyFile: (): string => 'the file is empty; expected a mapping with at least a "traffic" list',
  notMapping: (found: unknown): string => `expected a mapping of scenario settings at the top level, got ${describe(found)}`,
  yamlSyntax: (message: string): string => `syntax error: ${message}`,
  badOverride: (text: string, why: string): string =>
    `malformed override ${JSON.stringify(text)}: ${why} (expected path=value, e.g. sysctl.nf_conntrack_max=65536 or traffic[0].rate=5000)`,
  fromOverride: (message: string, override: string): string => `${message} (from --set ${override})`,
} as const;
