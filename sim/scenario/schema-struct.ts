/**
 * Container schemas of the scenario schema builder: lists, objects with known fields, records
 * with checked keys, unions discriminated by a key, and the "name or object" shorthand.
 */
import { MSG } from './messages.js';
import {
  type AnySchema, type Base, type Infer, type Issue, type JsonSchema, type Schema,
  fail, formatPath, hasOwn, isMapping, make, toInput,
} from './schema-core.js';
import { closest } from './suggest.js';

type Mapping = Readonly<Record<string, unknown>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** A list of `item`s, with at least `minItems` of them. */
export function arr<O, I>(
  item: Schema<O, I, boolean>,
  opts: Base<readonly unknown[]> & { readonly minItems?: number } = {},
): Schema<O[], readonly unknown[]> {
  const { minItems } = opts;
  const expects = `a list${minItems ? ` of at least ${minItems} item${minItems === 1 ? '' : 's'}` : ''}`;
  const json = (): JsonSchema => ({ type: 'array', items: item.toJsonSchema(), ...(minItems ? { minItems } : {}) });
  return make(opts, expects, json, (v, path, issues) => {
    if (!Array.isArray(v)) return fail(issues, path, MSG.expected(expects, v));
    const out: O[] = [];
    let ok = true;
    v.forEach((x: unknown, i) => {
      const r = item.validate(x, [...path, i], issues);
      if (r === undefined) ok = false;
      else out.push(r);
    });
    if (minItems !== undefined && v.length < minItems) return fail(issues, path, MSG.tooFewItems(minItems, v.length));
    return ok ? out : undefined;
  }, (xs) => xs.map((x) => toInput(item, x)));
}

/** The fields of an object schema, by key. */
export type Fields = { readonly [key: string]: AnySchema };
type OptKeys<F> = { [K in keyof F]: F[K] extends { readonly optional: true } ? K : never }[keyof F];
/** The output of an object schema: fields with defaults are present, `opt` fields may be absent. */
export type ObjOut<F extends Fields> = Simplify<
  { -readonly [K in Exclude<keyof F, OptKeys<F>>]: Infer<F[K]> } & { -readonly [K in OptKeys<F>]?: Infer<F[K]> }
>;

/** An object schema; `fields` is exposed so schemas can be merged (`obj({ ...a.fields, ...b })`). */
export interface ObjSchema<F extends Fields = Fields> extends Schema<ObjOut<F>, Mapping> {
  readonly fields: F;
}

/**
 * A mapping with exactly the given fields. Unknown keys are issues with a "did you mean" hint;
 * absent fields take their default, and absent required fields are issues. `ignoreKeys` are
 * accepted and dropped (the `$schema` key editors use).
 */
export function obj<F extends Fields>(fields: F, opts: Base<Mapping> & { readonly ignoreKeys?: readonly string[] } = {}): ObjSchema<F> {
  const names = Object.keys(fields);
  const ignore = opts.ignoreKeys ?? [];
  const json = (): JsonSchema => ({
    type: 'object',
    properties: Object.fromEntries(names.map((k) => [k, fields[k]!.toJsonSchema()])),
    required: names.filter((k) => !fields[k]!.optional && fields[k]!.defaultInput === undefined),
    additionalProperties: false,
  });
  const base = make<ObjOut<F>, Mapping>(opts, 'a mapping', json, (v, path, issues) => {
    if (!isMapping(v)) return fail(issues, path, MSG.expected('a mapping', v));
    const before = issues.length;
    for (const key of Object.keys(v)) {
      if (!hasOwn(fields, key) && !ignore.includes(key)) fail(issues, [...path, key], MSG.unknownKey(key, closest(key, names), names));
    }
    const out: Record<string, unknown> = {};
    for (const key of names) {
      const s = fields[key]!;
      const given = hasOwn(v, key) ? v[key] : undefined;
      const input = given ?? (s.defaultInput === undefined ? undefined : structuredClone(s.defaultInput));
      if (input === undefined || input === null) {
        if (!s.optional) fail(issues, [...path, key], MSG.missing(s.expects));
        continue;
      }
      const r = s.validate(input, [...path, key], issues);
      if (r !== undefined) out[key] = r;
    }
    return issues.length === before ? (out as ObjOut<F>) : undefined;
  }, (o) => {
    const r: Record<string, unknown> = {};
    const m = o as Record<string, unknown>;
    for (const key of names) if (hasOwn(m, key) && m[key] !== undefined) r[key] = toInput(fields[key]!, m[key]);
    return r;
  });
  return { ...base, fields };
}

/** The answer of a record's key check: the canonical key, or why the key is not allowed. */
export type KeyCheck<K extends string> = (key: string) => { ok: true; key: K } | { ok: false; message: string };

/** Options of {@link record}. */
export interface RecordOpts<K extends string, V> extends Base<Mapping> {
  readonly keyCheck?: KeyCheck<K>;
  /** Per-key value schema (e.g. each sysctl's range); falls back to the record's value schema. */
  readonly valueFor?: (key: K) => Schema<V, unknown, boolean>;
  /** Keys listed as `properties` in the JSON Schema (then other keys must match `jsonKeyPattern`). */
  readonly jsonKeys?: readonly K[];
  readonly jsonKeyPattern?: string;
}

/**
 * A mapping from checked keys to values. Keys are canonicalised by `keyCheck`; two spellings of
 * one canonical key are an issue. Output keys are the canonical ones.
 */
export function record<K extends string, V>(
  value: Schema<V, unknown, boolean>,
  opts: RecordOpts<K, V> = {},
): Schema<Partial<Record<K, V>>, Mapping> {
  const { keyCheck, valueFor, jsonKeys, jsonKeyPattern } = opts;
  const json = (): JsonSchema => {
    if (jsonKeys === undefined && jsonKeyPattern === undefined) return { type: 'object', additionalProperties: value.toJsonSchema() };
    return {
      type: 'object',
      ...(jsonKeys ? { properties: Object.fromEntries(jsonKeys.map((k) => [k, (valueFor?.(k) ?? value).toJsonSchema()])) } : {}),
      ...(jsonKeyPattern ? { patternProperties: { [jsonKeyPattern]: value.toJsonSchema() } } : {}),
      additionalProperties: false,
    };
  };
  return make(opts, 'a mapping', json, (v, path, issues) => {
    if (!isMapping(v)) return fail(issues, path, MSG.expected('a mapping', v));
    const before = issues.length;
    const out: Partial<Record<K, V>> = {};
    const seen = new Map<string, string>();
    for (const key of Object.keys(v)) {
      const kc = keyCheck ? keyCheck(key) : { ok: true as const, key: key as K };
      if (!kc.ok) {
        fail(issues, [...path, key], kc.message);
        continue;
      }
      const other = seen.get(kc.key);
      if (other !== undefined) {
        fail(issues, [...path, key], MSG.duplicateKey(key, other));
        continue;
      }
      seen.set(kc.key, key);
      const r = (valueFor?.(kc.key) ?? value).validate(v[key], [...path, key], issues);
      if (r !== undefined) out[kc.key] = r;
    }
    return issues.length === before ? out : undefined;
  }, (o) => Object.fromEntries(Object.entries(o as Record<string, V>).map(([k, x]) => [k, toInput(valueFor?.(k as K) ?? value, x)])));
}

/** A union of object schemas told apart by the string at `key` (`kind`, `name`). */
export interface UnionSchema<V extends Record<string, ObjSchema>> extends Schema<Infer<V[keyof V]>, Mapping> {
  readonly key: string;
  readonly variants: V;
  /** What the discriminant names, for messages: `generator`, `policy`. */
  readonly what: string;
}

/**
 * Picks the variant named by `value[key]`; an unknown name is reported at `path.key` as
 * `unknown generator "synflood" (did you mean "syn-flood"?); known: …`.
 */
export function union<V extends Record<string, ObjSchema>>(
  key: string,
  variants: V,
  opts: Base<Mapping> & { readonly what: string },
): UnionSchema<V> {
  const names = Object.keys(variants);
  const { what } = opts;
  const expects = `a mapping with "${key}" naming a ${what}`;
  const json = (): JsonSchema => ({ oneOf: names.map((n) => variants[n]!.toJsonSchema()) });
  const base = make<Infer<V[keyof V]>, Mapping>(opts, expects, json, (v, path, issues) => {
    if (!isMapping(v)) return fail(issues, path, MSG.expected(expects, v));
    const d = v[key];
    if (d === undefined || d === null) return fail(issues, [...path, key], MSG.missingDiscriminant(key, what, names));
    if (typeof d !== 'string') return fail(issues, [...path, key], MSG.expectedString(`a ${what} name`, d));
    if (!hasOwn(variants, d)) return fail(issues, [...path, key], MSG.unknownName(what, d, closest(d, names), names));
    return variants[d]!.validate(v, path, issues) as Infer<V[keyof V]> | undefined;
  }, (o) => {
    const d = (o as Record<string, unknown>)[key];
    const s = typeof d === 'string' && hasOwn(variants, d) ? variants[d]! : undefined;
    return s === undefined ? o : toInput(s, o);
  });
  return { ...base, key, variants, what };
}

/**
 * A union member written either in full (`{ name: adaptive-timeout, start: 0.6 }`) or as its
 * bare name (`kernel`, read as `{ name: kernel }`). Issues about a bare name are reported at the
 * item's own path.
 */
export function nameOrObject<V extends Record<string, ObjSchema>>(u: UnionSchema<V>, opts: Base<unknown> = {}): Schema<Infer<V[keyof V]>, unknown> {
  const names = Object.keys(u.variants);
  const expects = `a ${u.what} name or a mapping with "${u.key}"`;
  const json = (): JsonSchema => ({ anyOf: [{ type: 'string', enum: names }, u.toJsonSchema()] });
  return make(opts, expects, json, (v, path, issues) => {
    if (typeof v !== 'string') return isMapping(v) ? u.validate(v, path, issues) : fail(issues, path, MSG.expected(expects, v));
    const sub: Issue[] = [];
    const r = u.validate({ [u.key]: v }, path, sub);
    for (const i of sub) {
      const atName = i.at.length === path.length + 1 && i.at[path.length] === u.key;
      issues.push(atName ? { ...i, path: formatPath(path), at: path } : i);
    }
    return r;
  }, (o) => {
    // a member with nothing but its name is written as the bare name
    const full = toInput(u, o) as Record<string, unknown>;
    const d = (o as Record<string, unknown>)[u.key];
    const v = typeof d === 'string' && hasOwn(u.variants, d) ? u.variants[d]! : undefined;
    return v && Object.keys(full).length === 1 ? d : full;
  });
}


