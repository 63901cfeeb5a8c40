/**
 * Core types of the scenario schema builder (see schema-dsl.ts): schemas, issues, paths.
 */

/** One step of a path: a mapping key or a list index. */
export type PathSeg = string | number;
/** Where a value sits in the scenario: `['traffic', 2, 'rate']`. */
export type Path = readonly PathSeg[];

/** One validation problem. `path` is for people (`traffic[2].rate`); `at` is for tools. */
export interface Issue {
  readonly path: string;
  readonly at: Path;
  readonly message: string;
}

/** A JSON Schema (draft 2020-12) fragment. */
export type JsonSchema = { [key: string]: unknown };

/**
 * A schema producing values of type `Out` from input written as `In`. `Opt` is true for fields
 * that may be absent without a default (see {@link opt}).
 */
export interface Schema<Out, In = unknown, Opt extends boolean = false> {
  readonly optional: Opt;
  /** Input-form default used when the field is absent; undefined when there is none. */
  readonly defaultInput: In | undefined;
  readonly doc: string | undefined;
  /** What a valid value looks like, for messages: `an integer ≥ 1`. */
  readonly expects: string;
  /** Validates and normalises `value`; pushes every problem to `issues`; undefined when invalid. */
  validate(value: unknown, path: Path, issues: Issue[]): Out | undefined;
  toJsonSchema(): JsonSchema;
  /**
   * The validated value back in the form a user writes it (`60000000` → `"1m"`), such that
   * validating the result gives the same value again. Absent means the output is already the
   * input form (see {@link toInput}).
   */
  toInput?(value: Out): unknown;
}

/** A validated value in the form a user writes it (identity for schemas without `toInput`). */
export function toInput<O>(s: Schema<O, unknown, boolean>, value: O): unknown {
  return s.toInput ? s.toInput(value) : value;
}

/** Any schema; input types are erased (`any`) so schemas of every input type fit in a field map. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySchema = Schema<unknown, any, boolean>;
/** The output type of a schema. */
export type Infer<S> = S extends Schema<infer O, infer _I, infer _P> ? O : never;

/** Shared options: `doc` becomes the JSON Schema `description`, `default` is in input form. */
export interface Base<I> {
  readonly doc?: string;
  readonly default?: I;
}

/** `traffic[2].rate`, `sysctl["net.netfilter.nf_conntrack_max"]`; '' for the top level. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Records an issue; returns undefined so validators can `return fail(...)`. */
export function fail(issues: Issue[], path: Path, message: string): undefined {
  issues.push({ path: formatPath(path), at: path, message });
  return undefined;
}

/** Own-property test (keys from YAML may be `__proto__` and the like). */
export const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
/** A plain mapping (not null, not a list). */
export const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Builds a leaf schema from its message text, JSON Schema body and validator. */
export function make<O, I>(
  opts: Base<I>,
  expects: string,
  json: () => JsonSchema,
  validate: (v: unknown, path: Path, issues: Issue[]) => O | undefined,
  back?: (v: O) => unknown,
): Schema<O, I> {
  return {
    ...(back === undefined ? {} : { toInput: back }),
    optional: false,
    defaultInput: opts.default,
    doc: opts.doc,
    expects,
    validate,
    toJsonSchema: () => ({
      ...(opts.doc === undefined ? {} : { description: opts.doc }),
      ...json(),
      ...(opts.default === undefined ? {} : { default: opts.default }),
    }),
  };
}

/** Marks a field as optional with no default: absent in input means absent in output. */
export function opt<O, I>(s: Schema<O, I, boolean>): Schema<O, I, true> {
  return { ...s, optional: true, defaultInput: undefined };
}
