import { validateDistribution, type Distribution } from '../core/distributions.js';
import {
  arr, bool, duration, fail, formatPath, isMapping, literal, make, num, obj, toInput, union,
  type Issue, type Path, type Schema,
} from '../scenario/schema-dsl.js';
import { formatDuration } from '../core/time.js';
import { familyOf, formatPrefix, parsePrefix, sourceFamily, type Prefix, type SourceSpec } from './addresses.js';
import { MAX_RATE, type RateSpec } from './rate.js';

const V4_PATTERN = '^\\d+\\.\\d+\\.\\d+\\.\\d+(/\\d+)?$';
const V6_PATTERN = '^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*(/\\d+)?$';
const PREFIX_EXPECTS = 'an IPv4 or IPv6 address or prefix like "10.1.0.0/16" or "2001:db8::/64"';

/** An IPv4 or IPv6 address or prefix ("10.1.0.0/16", "2001:db8::/64", "2001:db8::1") as a schema. */
export function prefix(opts: { default?: string; doc?: string } = {}) {
  return make<Prefix, string>(opts, PREFIX_EXPECTS,
    () => ({ type: 'string', anyOf: [{ pattern: V4_PATTERN }, { pattern: V6_PATTERN }] }),
    (v: unknown, path: Path, issues: Issue[]) => {
      if (typeof v !== 'string') return fail(issues, path, `expected ${PREFIX_EXPECTS}, got ${JSON.stringify(v)}`);
      const p = parsePrefix(v);
      if (typeof p === 'string') return fail(issues, path, p);
      // resolved scenarios (manifest.json, baselines) show an IPv6 prefix as text
      if (p.v6) Object.defineProperty(p, 'toJSON', { value: () => formatPrefix(p), enumerable: false });
      return p;
    }, formatPrefix);
}

/**
 * A distribution (`{ dist: exponential, mean: 2 }`, …) in the unit the field documents.
 * A bare number is shorthand for a constant. `max` bounds the mean (e.g. sizes, probabilities).
 */
export function distribution(opts: { default?: unknown; doc?: string; nonNegative?: boolean } = {}) {
  return make<Distribution, unknown>(opts, 'a distribution such as { dist: exponential, mean: 2 }',
    () => ({
      oneOf: [
        { type: 'number' },
        { type: 'object', required: ['dist'], properties: { dist: { enum: ['constant', 'uniform', 'exponential', 'normal', 'lognormal', 'pareto', 'empirical'] } } },
      ],
    }),
    (v: unknown, path: Path, issues: Issue[]) => {
      if (typeof v === 'number') v = { dist: 'constant', value: v };
      const r = validateDistribution(v, formatPath(path), { nonNegative: opts.nonNegative ?? true });
      if (r.ok) return r.value as Distribution;
      for (const i of r.issues) issues.push({ path: i.path, at: path, message: i.message });
      return undefined;
    }, (d) => (d.dist === 'constant' ? d.value : d));
}

const rateNum = (o: { min?: number; exclusiveMin?: number; default?: number; doc?: string }) =>
  num({ ...o, max: MAX_RATE, doc: o.doc ?? 'events per second' });

const SHAPES = {
  constant: obj({ shape: literal('constant'), rate: rateNum({ exclusiveMin: 0 }) }, { doc: 'fixed rate, exact spacing' }),
  poisson: obj({ shape: literal('poisson'), rate: rateNum({ exclusiveMin: 0 }) }, { doc: 'fixed rate, exponential gaps' }),
  ramp: obj({
    shape: literal('ramp'),
    from: rateNum({ min: 0, default: 0, doc: 'rate at start (events/s)' }),
    to: rateNum({ min: 0, doc: 'rate reached after `over` and kept (events/s)' }),
    over: duration({ exclusiveMin: 0, doc: 'length of the ramp' }),
  }, { doc: 'linear ramp, then constant' }),
  'on-off': obj({
    shape: literal('on-off'),
    rate: rateNum({ exclusiveMin: 0, doc: 'rate while on (events/s)' }),
    on: duration({ exclusiveMin: 0, doc: 'length of each burst' }),
    off: duration({ exclusiveMin: 0, doc: 'pause between bursts' }),
    off_rate: rateNum({ min: 0, default: 0, doc: 'rate while off (events/s)' }),
  }, { doc: 'bursts: on for `on`, off for `off`, repeating' }),
  piecewise: obj({
    shape: literal('piecewise'),
    steps: arr(obj({ at: duration({ doc: 'offset from the generator start' }), rate: rateNum({ min: 0 }) }), { minItems: 1 }),
    interpolate: bool({ default: false, doc: 'linear between steps instead of a step function' }),
  }, { doc: 'rate by time: each step holds until the next' }),
};
const SHAPE_UNION = union('shape', SHAPES, { what: 'rate shape' });

/**
 * A `rate`: events per second as a number (spaced by the generator's `arrival`), or a shape
 * `{ shape: constant|poisson|ramp|on-off|piecewise, … }` whose times count from the generator's
 * `start`.
 */
export function rate(opts: { default?: number; doc?: string } = {}): Schema<RateSpec, unknown> {
  const n = rateNum({ exclusiveMin: 0 });
  const expects = `a rate (events/s, ${n.expects}) or a mapping with "shape"`;
  return make<RateSpec, unknown>(opts, expects,
    () => ({ anyOf: [n.toJsonSchema(), SHAPE_UNION.toJsonSchema()] }),
    (v, path, issues) => {
      if (typeof v === 'number') {
        const r = n.validate(v, path, issues);
        return r === undefined ? undefined : { shape: 'number', rate: r };
      }
      if (!isMapping(v)) return fail(issues, path, `expected ${expects}, got ${JSON.stringify(v)}`);
      const r = SHAPE_UNION.validate(v, path, issues) as RateSpec | undefined;
      if (r === undefined) return undefined;
      if (r.shape === 'ramp' && r.from === 0 && r.to === 0) return fail(issues, [...path, 'to'], 'a ramp from 0 to 0 sends nothing');
      if (r.shape === 'piecewise') {
        for (let i = 1; i < r.steps.length; i++) {
          if (r.steps[i]!.at <= r.steps[i - 1]!.at) return fail(issues, [...path, 'steps', i, 'at'], 'steps must be in increasing order of `at`');
        }
        if (r.steps.every((s) => s.rate === 0)) return fail(issues, [...path, 'steps'], 'every step has rate 0: nothing would be sent');
      }
      return r;
    }, (r) => (r.shape === 'number' ? r.rate : toInput(SHAPE_UNION, r as never)));
}

/** A delay: a duration (`"20ms"`, or seconds as a number), or a distribution in milliseconds. */
export type DelaySpec = { us: number } | { dist: Distribution };

export function delay(opts: { default?: string; doc?: string } = {}): Schema<DelaySpec, unknown> {
  const d = duration();
  const dist = distribution();
  const expects = 'a duration like "20ms" or a distribution in ms such as { dist: lognormal, median: 20, p95: 80 }';
  return make<DelaySpec, unknown>(opts, expects,
    () => ({ anyOf: [d.toJsonSchema(), dist.toJsonSchema()] }),
    (v, path, issues) => {
      if (typeof v === 'string' || typeof v === 'number') {
        const us = d.validate(v, path, issues);
        return us === undefined ? undefined : { us };
      }
      if (!isMapping(v)) return fail(issues, path, `expected ${expects}, got ${JSON.stringify(v)}`);
      const r = dist.validate(v, path, issues);
      return r === undefined ? undefined : { dist: r };
    }, (x) => ('us' in x ? formatDuration(x.us) : toInput(dist, x.dist)));
}

/** Ports: one port, a list, or a range "1-1024"; as a sorted-as-written Int32Array of ports. */
export function ports(opts: { default?: number | string; doc?: string } = {}): Schema<Int32Array, unknown> {
  const expects = 'a port (1..65535), a list of ports, or a range like "1-1024"';
  const one = (x: unknown, p: Path, issues: Issue[], out: number[]): void => {
    if (typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= 65535) { out.push(x); return; }
    const m = typeof x === 'string' ? /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(x) : null;
    if (m) {
      const lo = Number(m[1]), hi = Number(m[2]);
      if (lo >= 1 && hi <= 65535 && lo <= hi) { for (let q = lo; q <= hi; q++) out.push(q); return; }
    }
    fail(issues, p, `expected ${expects}, got ${JSON.stringify(x)}`);
  };
  return make<Int32Array, unknown>(opts, expects,
    () => ({ anyOf: [{ type: 'integer', minimum: 1, maximum: 65535 }, { type: 'string', pattern: '^\\s*\\d+\\s*-\\s*\\d+\\s*$' }, { type: 'array', minItems: 1 }] }),
    (v, path, issues) => {
      const before = issues.length;
      const out: number[] = [];
      if (Array.isArray(v)) {
        if (v.length === 0) return fail(issues, path, `expected ${expects}, got an empty list`);
        v.forEach((x, i) => one(x, [...path, i], issues, out));
      } else one(v, path, issues, out);
      if (issues.length !== before) return undefined;
      // resolved scenarios (manifest.json, baselines) show the ports as written, not 65535 numbers
      const list = Int32Array.from(out);
      Object.defineProperty(list, 'toJSON', { value: () => v, enumerable: false });
      return list;
    }, (list) => (list as unknown as { toJSON?: () => unknown }).toJSON?.() ?? [...list]);
}

/** Fractions of flows by name (`{ vanish: 0.05, ignore_fin: 0.01 }`), each 0..1, summing to ≤ 1. */
export function fractions<const K extends string>(names: readonly K[], docs: Record<K, string>, opts: { doc?: string } = {}) {
  const fields = Object.fromEntries(names.map((k) => [k, num({ min: 0, max: 1, default: 0, doc: docs[k] })])) as Record<K, Schema<number, number>>;
  const o = obj(fields, { default: {}, ...(opts.doc === undefined ? {} : { doc: opts.doc }) });
  return make<Record<K, number>, unknown>({ default: {}, ...(opts.doc === undefined ? {} : { doc: opts.doc }) }, 'a mapping of fractions (each 0..1, total ≤ 1)',
    () => o.toJsonSchema(),
    (v, path, issues) => {
      const r = o.validate(v, path, issues) as Record<K, number> | undefined;
      if (r === undefined) return undefined;
      const sum = names.reduce((s, k) => s + r[k], 0);
      if (sum > 1 + 1e-9) return fail(issues, path, `fractions add up to ${Number(sum.toFixed(6))}, more than 1`);
      return r;
    });
}

/**
 * One of `names`, or weights per name (`{ client-fin: 0.8, rst: 0.2 }`, normalised). Output: the
 * cumulative weights in the order of `names` (a single name gives a step at that name).
 */
export function choice<const K extends string>(names: readonly K[], opts: { default: K; doc?: string }): Schema<Float64Array, unknown> {
  const expects = `one of ${names.join(', ')}, or a mapping of weights by name`;
  return make<Float64Array, unknown>(opts, expects,
    () => ({ anyOf: [{ enum: names }, { type: 'object', properties: Object.fromEntries(names.map((k) => [k, { type: 'number', minimum: 0 }])), additionalProperties: false }] }),
    (v, path, issues) => {
      const w = new Float64Array(names.length);
      if (typeof v === 'string') {
        const i = names.indexOf(v as K);
        if (i < 0) return fail(issues, path, `expected ${expects}, got ${JSON.stringify(v)}`);
        w[i] = 1;
      } else if (isMapping(v)) {
        const before = issues.length;
        for (const [k, x] of Object.entries(v)) {
          const i = names.indexOf(k as K);
          if (i < 0) { fail(issues, [...path, k], `unknown name "${k}"; known: ${names.join(', ')}`); continue; }
          if (typeof x !== 'number' || !(x >= 0) || !Number.isFinite(x)) { fail(issues, [...path, k], `expected a weight ≥ 0, got ${JSON.stringify(x)}`); continue; }
          w[i] = x;
        }
        if (issues.length > before) return undefined;
      } else return fail(issues, path, `expected ${expects}, got ${JSON.stringify(v)}`);
      let s = 0;
      for (let i = 0; i < w.length; i++) s += w[i]!;
      if (!(s > 0)) return fail(issues, path, 'the weights add up to 0');
      let c = 0;
      for (let i = 0; i < w.length; i++) { c += w[i]! / s; w[i] = c; }
      w[w.length - 1] = 1;
      return w;
    }, (cum) => {
      // back to weights by name (a single name when it has all the weight)
      const out: Record<string, number> = {};
      let prev = 0;
      cum.forEach((c, i) => { if (c - prev > 0) out[names[i]!] = Number((c - prev).toPrecision(12)); prev = c; });
      const keys = Object.keys(out);
      return keys.length === 1 ? keys[0] : out;
    });
}

/** Index drawn from cumulative weights (no draw when one choice has all the weight). */
export function pick(cum: Float64Array, rng: { uniform(): number }): number {
  for (let i = 0; i < cum.length; i++) if (cum[i] === 1 && (i === 0 || cum[i - 1] === 0)) return i;
  const u = rng.uniform();
  let i = 0;
  while (i < cum.length - 1 && u >= cum[i]!) i++;
  return i;
}

/**
 * Source or client addresses: a prefix ("198.18.0.0/15", "2001:db8::/64"), a list of addresses
 * or prefixes (of one family), a number of distinct hosts drawn once from the field's default
 * prefix (`clients: 500`) or from `within` (`{ count: 500, within: 10.0.0.0/16 }`), and, where
 * `botnet` is allowed, `{ botnet: 500, within: "198.18.0.0/15" }` (hosts drawn with repeats, as
 * before counts existed). `plainPrefix`: a single prefix shows in resolved scenarios as the
 * prefix itself (the form of fields that held only a prefix before).
 */
export function sources(opts: { default?: string; doc?: string; botnet?: boolean; plainPrefix?: boolean } = {}): Schema<SourceSpec, unknown> {
  const p = prefix();
  const within = prefix({ ...(opts.default === undefined ? {} : { default: opts.default }), doc: 'prefix the hosts are drawn from' });
  const botnet = obj({
    botnet: num({ int: true, min: 1, max: 16_777_216, doc: 'number of bot hosts' }),
    within: prefix({ default: '198.18.0.0/15', doc: 'prefix the bots are drawn from' }),
  });
  const count = num({ int: true, min: 1, max: 16_777_216, doc: 'number of distinct hosts' });
  const hosts = obj({ count, within });
  const allowBotnet = opts.botnet === true;
  const expects = `${PREFIX_EXPECTS}, a list of addresses or prefixes, a number of hosts, or { count: N, within: prefix }${allowBotnet ? ', or { botnet: N, within: prefix }' : ''}`;
  const fits = (n: number, w: Prefix, path: Path, issues: Issue[]): boolean => {
    if (n <= w.size) return true;
    fail(issues, path, `${n} distinct hosts do not fit in ${formatPrefix(w)} (${w.size} addresses): give a shorter prefix in \`within\``);
    return false;
  };
  return make<SourceSpec, unknown>(opts, expects,
    () => ({ anyOf: [p.toJsonSchema(), { type: 'array', items: p.toJsonSchema(), minItems: 1 }, count.toJsonSchema(), hosts.toJsonSchema(), ...(allowBotnet ? [botnet.toJsonSchema()] : [])] }),
    (v, path, issues) => {
      if (typeof v === 'string') {
        const r = p.validate(v, path, issues);
        if (r === undefined) return undefined;
        const spec: SourceSpec = { kind: 'prefix', prefix: r };
        // an address field that used to hold a prefix keeps its resolved form (baselines' inputs)
        if (opts.plainPrefix === true) Object.defineProperty(spec, 'toJSON', { value: () => r, enumerable: false });
        return spec;
      }
      if (typeof v === 'number') {
        const n = count.validate(v, path, issues);
        const w = within.validate(opts.default ?? '10.0.0.0/8', path, issues);
        if (n === undefined || w === undefined) return undefined;
        return fits(n, w, path, issues) ? { kind: 'hosts', count: n, within: w } : undefined;
      }
      if (Array.isArray(v)) {
        if (v.length === 0) return fail(issues, path, 'expected at least one address or prefix, got an empty list');
        const before = issues.length;
        const list = v.map((x, i) => p.validate(x, [...path, i], issues));
        if (issues.length !== before) return undefined;
        const fam = familyOf(list[0]!);
        const other = list.findIndex((x) => familyOf(x!) !== fam);
        if (other >= 0) return fail(issues, [...path, other], `IPv${familyOf(list[other]!)} entry in a list of IPv${fam} addresses: one list holds one address family`);
        return { kind: 'list', list: list as Prefix[] };
      }
      if (isMapping(v)) {
        if ('botnet' in v && allowBotnet) {
          const r = botnet.validate(v, path, issues);
          return r === undefined ? undefined : { kind: 'botnet', botnet: r.botnet, within: r.within };
        }
        const r = hosts.validate(v, path, issues);
        if (r === undefined) return undefined;
        return fits(r.count, r.within, [...path, 'count'], issues) ? { kind: 'hosts', count: r.count, within: r.within } : undefined;
      }
      return fail(issues, path, `expected ${expects}, got ${JSON.stringify(v)}`);
    }, (x) => (x.kind === 'prefix' ? formatPrefix(x.prefix) : x.kind === 'list' ? x.list.map(formatPrefix) : x.kind === 'hosts' ? { count: x.count, within: formatPrefix(x.within) } : { botnet: x.botnet, within: formatPrefix(x.within) }));
}

/**
 * A generator's cross-field check (`GeneratorEntry.check`): its address fields (prefixes or
 * source specs) must all be of one family, since IPv4 and IPv6 cannot meet in one flow. The
 * issue names the first field that differs.
 */
export function oneFamily(fields: readonly string[]) {
  return (r: Record<string, unknown>, path: Path, issues: Issue[]): boolean => {
    let first: { name: string; fam: 4 | 6 } | undefined;
    for (const name of fields) {
      const x = r[name] as Prefix | SourceSpec | undefined;
      if (x === undefined) continue;
      const fam = 'kind' in x ? sourceFamily(x) : familyOf(x);
      if (!first) { first = { name, fam }; continue; }
      if (fam !== first.fam) {
        fail(issues, [...path, name], `IPv${fam} address, but ${first.name} is IPv${first.fam}: a generator's addresses must be of one family (give both fields, and a count's \`within\`, addresses of one family)`);
        return false;
      }
    }
    return true;
  };
}
