/**
 * The scenario schema: the one source of truth for what a scenario file may say, its defaults,
 * its validation and (through json-schema.ts) the editor schema. Generators and policies are an
 * open set, so their schemas come from a registry passed in by the caller.
 */
import { SYSCTLS, SYSCTL_NAMES, type SysctlName, canonicalSysctlName, checkSysctlValue, isSysctlName } from '../conntrack/sysctl.js';
import { MSG } from './messages.js';
import {
  type Infer, type ObjOut, type ObjSchema, type Schema,
  SAFE_NAME_EXPECTS, SAFE_NAME_PATTERN, arr, bool, bytes, duration, fail, hasOwn, isMapping, literal, make, nameOrObject, num, obj, opt, record, str, toInput, union,
  type Issue, type Path,
} from './schema-dsl.js';
import { closest } from './suggest.js';
import { rulesFields } from './rules-input.js';
import { actionsFields } from './actions-input.js';
import type { LoadedRuleset, RouteTable } from '../rules/index.js';

/** Which side of the experiment a generator's flows are on; outcomes are reported per class. */
export type TrafficClass = 'legit' | 'attack';
/** The allowed values of a generator's `class`. */
export const TRAFFIC_CLASSES: readonly TrafficClass[] = ['legit', 'attack'];

/** The `HZ` values a kernel may be built with (CONFIG_HZ_100/250/300/1000). */
export const HZ_VALUES = [100, 250, 300, 1000] as const;

/** What a generator contributes: its own parameters (without `kind`/`class`/`label`). */
export interface GeneratorEntry {
  readonly schema: ObjSchema;
  readonly defaultClass: TrafficClass;
  readonly summary: string;
  /** Parameters holding file paths: relative ones are resolved against the scenario file's folder. */
  readonly pathFields?: readonly string[];
  /**
   * A check across fields, run on the validated spec (e.g. all addresses of one family): adds
   * issues at paths under `path` and returns false when the spec is unusable.
   */
  readonly check?: (spec: Record<string, unknown>, path: Path, issues: Issue[]) => boolean;
}

/** What a policy contributes: its own parameters (without `name`). */
export interface PolicyEntry {
  readonly schema: ObjSchema;
  readonly summary: string;
}

/** The generators and policies a scenario may name, keyed by `kind` and `name`. */
export interface ScenarioRegistry {
  readonly generators: Readonly<Record<string, GeneratorEntry>>;
  readonly policies: Readonly<Record<string, PolicyEntry>>;
}

/**
 * Defaults of every optional scenario field, in the form a user would write them; the schema
 * runs them through the same validation as file input (so `'60s'` becomes 60 000 000 µs).
 */
export const scenarioDefaults = {
  /** Root seed of every named random substream. @defaultValue 1 */
  seed: 1,
  /** Independent runs (run index 0..runs-1 feeds the substreams). @defaultValue 1 */
  runs: 1,
  /** Simulated time to run. @defaultValue "60s" */
  duration: '60s',
  /** Interval between metric samples. @defaultValue "1s" */
  sample_interval: '1s',
  kernel: {
    /** Kernel version selecting version-dependent behaviour. @defaultValue "6.12" */
    version: '6.12',
    /** CONFIG_HZ: jiffy length for timeout rounding and gc pacing. @defaultValue 250 */
    hz: 250,
    /** Host RAM; sizes nf_conntrack_max and nf_conntrack_buckets by the kernel's rule. @defaultValue "24GiB" */
    memory: '24GiB',
    /** Buckets the gc worker scans per ms of CPU time. @defaultValue 8192 */
    gc_buckets_per_ms: 8192,
    /** CPUs processing packets in parallel (docs/nat.md §3.3); 1 = no race. @defaultValue 1 */
    cpus: 1,
    /** How long a first packet's entry stays unconfirmed (docs/nat.md §3.3). @defaultValue "0us" */
    confirm_delay: '0us',
  },
  /** Policies applied, in order. @defaultValue ["kernel"] */
  policies: ['kernel'],
} as const;

const D = scenarioDefaults;

/** The fields every generator has, whatever its kind. */
function commonGeneratorFields(kind: string, defaultClass: TrafficClass) {
  return {
    kind: literal(kind, { doc: 'generator kind' }),
    class: str({ enum: TRAFFIC_CLASSES, default: defaultClass, doc: 'traffic class its flows are counted under' }),
    label: opt(str({ doc: 'free text naming this generator in outputs' })),
  };
}

/** A validated generator spec: common fields plus the generator's own, already defaulted. */
export type TrafficSpec = ObjOut<ReturnType<typeof commonGeneratorFields>> & { [param: string]: unknown };
/** A validated policy spec: its name plus its own parameters, already defaulted. */
export type PolicySpec = { name: string; [param: string]: unknown };

const without = (fields: ObjSchema['fields'], keys: readonly string[]): ObjSchema['fields'] =>
  Object.fromEntries(Object.entries(fields).filter(([k]) => !keys.includes(k)));

const SIZED_BY_MEMORY: readonly SysctlName[] = ['nf_conntrack_max', 'nf_conntrack_buckets'];

/** One sysctl's value, checked by the sysctl table's own range check. */
function sysctlValue(name: SysctlName): Schema<number, number> {
  const d = SYSCTLS[name];
  const sized = SIZED_BY_MEMORY.includes(name);
  const doc = `${d.doc} (${d.unit}; default ${sized ? 'from kernel.memory' : d.def})`;
  const json = () => ({ type: 'integer', minimum: d.min, maximum: d.max });
  return make<number, number>({ doc, ...(sized ? {} : { default: d.def }) }, `an integer in ${d.min}..${d.max}`, json, (v, path, issues) => {
    const msg = checkSysctlValue(name, v);
    return msg === undefined ? (v as number) : fail(issues, path, msg);
  });
}

function sysctlSchema() {
  const names = SYSCTL_NAMES.join('|'); // [a-z0-9_] only: nothing to escape
  return record<SysctlName, number>(num({ int: true }), {
    doc: 'net.netfilter sysctls by kernel name (the net.netfilter. prefix is accepted); unset ones keep kernel defaults',
    default: {},
    keyCheck: (key) => {
      const c = canonicalSysctlName(key);
      if (isSysctlName(c)) return { ok: true, key: c };
      return { ok: false, message: MSG.unknownName('sysctl', key, closest(c, SYSCTL_NAMES), SYSCTL_NAMES) };
    },
    valueFor: sysctlValue,
    jsonKeys: SYSCTL_NAMES,
    jsonKeyPattern: `^net\\.netfilter\\.(${names})$|^net\\.nf_conntrack_max$`,
  });
}

/** An object schema with a generator's cross-field check after its own validation. */
function checked<S extends ObjSchema>(s: S, check: GeneratorEntry['check']): S {
  if (!check) return s;
  return { ...s, validate: (v, path, issues) => { const r = s.validate(v, path, issues); return r !== undefined && check(r as Record<string, unknown>, path, issues) ? r : undefined; } };
}

/** The fields of `kernel:`. */
function kernelFields() {
  return {
    version: str({
      pattern: '^[0-9]+\\.[0-9]+$',
      expects: 'a "major.minor" kernel version string such as "6.12"',
      default: D.kernel.version,
      doc: 'kernel version selecting version-dependent behaviour (quote it: 6.10 unquoted is the number 6.1)',
    }),
    hz: num({ int: true, enum: HZ_VALUES, default: D.kernel.hz, doc: 'CONFIG_HZ: jiffy length for timeout rounding and gc pacing' }),
    memory: bytes({ min: 1, default: D.kernel.memory, doc: 'host RAM (e.g. "24GiB"); sizes the table defaults by the kernel rule' }),
    hashsize: opt(num({ int: true, min: 1, doc: 'the nf_conntrack module parameter hashsize= (overrides the memory-derived bucket count)' })),
    gc_buckets_per_ms: num({ int: true, min: 1, default: D.kernel.gc_buckets_per_ms, doc: 'buckets the gc worker scans per ms of CPU time' }),
    cpus: num({ int: true, min: 1, max: 255, default: D.kernel.cpus, doc: 'CPUs processing packets in parallel: with more than one, a new entry stays invisible to packets on other CPUs for confirm_delay, so first packets can race (docs/nat.md §3.3)' }),
    confirm_delay: duration({ min: 0, default: D.kernel.confirm_delay, doc: 'how long a first packet stays unconfirmed (between the conntrack hook and confirm) when cpus > 1, e.g. "20us"' }),
    untracked_when_full: opt(bool({ doc: 'the seed paper\'s error-handling proposal (not in any kernel): when no entry can be allocated, pass the packet untracked (ct state untracked) instead of dropping it, unless a NAT rule of the ruleset would need an entry for it (docs/rules.md §9); absent or false: the kernel drops it' })),
  };
}

/** The fields a variant may override; every other top-level field is the same in every arm (identical traffic). */
export const VARIANT_FIELDS = ['ruleset', 'sysctl', 'kernel', 'policies'] as const;
/** Top-level fields a variant cannot override, with why (the message of `variants[i].<field>`). */
const FIXED_FIELDS = ['seed', 'runs', 'duration', 'sample_interval', 'traffic', 'routes', 'policy_params', 'variants', '$schema'];

/** A field of a variant: optional, no default (absent: the scenario's own value), none in the editor schema either. */
function overrideOf<O>(s: Schema<O, unknown, boolean>): Schema<O, unknown, true> {
  return { ...opt(s), toJsonSchema: () => { const j = { ...s.toJsonSchema() }; delete j['default']; return j; } };
}

/**
 * `variants:`: named arms of `ctsim compare --arms`, each the scenario with some of
 * {@link VARIANT_FIELDS} overridden (ruleset replaced, sysctl and kernel merged key by key,
 * policies replaced). Names are unique and are not policy names (an arm label is either).
 */
function variantsSchema(policyItem: Schema<PolicySpec, unknown>, registry: ScenarioRegistry) {
  const kf = kernelFields();
  const kernel = Object.fromEntries(Object.entries(kf).map(([k, s]) => [k, overrideOf(s as Schema<unknown, unknown, boolean>)])) as
    { [K in keyof typeof kf]: Schema<Infer<(typeof kf)[K]>, unknown, true> };
  const item = obj({
    name: str({ pattern: SAFE_NAME_PATTERN, expects: SAFE_NAME_EXPECTS, doc: 'the arm label: `ctsim compare --arms NAME` runs this variant' }),
    description: opt(str({ doc: 'free text' })),
    ruleset: opt(str({ doc: 'replaces the scenario\'s ruleset: inline nft text, or the path of a .nft file relative to this file' })),
    sysctl: overrideOf(sysctlSchema()),
    kernel: opt(obj(kernel, { doc: 'kernel options merged over the scenario\'s (only those given change)' })),
    policies: opt(arr(policyItem, { doc: 'replaces the scenario\'s policies in this arm' })),
  }, { doc: 'one variant: a name and overrides of ruleset, sysctl, kernel, policies' });
  const checkedItem: typeof item = {
    ...item,
    validate: (v, path, issues) => {
      if (!isMapping(v)) return item.validate(v, path, issues);
      const fixed = Object.keys(v).filter((k) => FIXED_FIELDS.includes(k));
      for (const k of fixed) {
        fail(issues, [...path, k], `cannot vary between arms: every arm runs the scenario's ${k} so that the traffic is identical; a variant may override ${VARIANT_FIELDS.join(', ')}`);
      }
      const r = item.validate(fixed.length === 0 ? v : Object.fromEntries(Object.entries(v).filter(([k]) => !fixed.includes(k))), path, issues);
      return fixed.length === 0 ? r : undefined;
    },
  };
  const list = arr(checkedItem, { doc: 'named arms for `ctsim compare --arms`: the same traffic with another ruleset, sysctls, kernel options or policies' });
  return {
    ...list,
    validate: (v: unknown, path: Path, issues: Issue[]) => {
      const out = list.validate(v, path, issues);
      // names are checked on the input, so that they are reported with every other problem
      const seen = new Map<string, number>();
      let ok = true;
      (Array.isArray(v) ? v : []).forEach((x: unknown, i) => {
        const name = isMapping(x) ? x['name'] : undefined;
        if (typeof name !== 'string') return;
        const j = seen.get(name);
        if (j !== undefined) { ok = false; fail(issues, [...path, i, 'name'], `"${name}" is already the name of variants[${j}]; variant names label arms and must be unique`); }
        else if (hasOwn(registry.policies, name)) { ok = false; fail(issues, [...path, i, 'name'], `"${name}" is a policy name; an arm label names either a policy or a variant, so give the variant another name`); }
        else seen.set(name, i);
      });
      if (out === undefined) return undefined;
      return ok ? out : undefined;
    },
  };
}

/**
 * The top-level scenario schema for the given generators and policies. Each generator's schema
 * gets the common fields `kind`, `class` (defaulting to the generator's `defaultClass`) and
 * `label`; each policy's gets `name`. `name` is optional here: the loader defaults it to the
 * file's base name.
 */
export function buildScenarioSchema(registry: ScenarioRegistry) {
  const generators = Object.fromEntries(
    Object.entries(registry.generators).map(([kind, g]) => [
      kind,
      checked(obj({ ...commonGeneratorFields(kind, g.defaultClass), ...without(g.schema.fields, ['kind', 'class', 'label']) }, { doc: g.summary }), g.check),
    ]),
  );
  const policies = Object.fromEntries(
    Object.entries(registry.policies).map(([name, p]) => [
      name,
      obj({ name: literal(name, { doc: 'policy name' }), ...without(p.schema.fields, ['name']) }, { doc: p.summary }),
    ]),
  );
  // The registry is open, so variant types are erased to what every member shares.
  const trafficItem = union('kind', generators, { what: 'generator' }) as unknown as Schema<TrafficSpec, unknown>;
  const policyItem = nameOrObject(union('name', policies, { what: 'policy' })) as unknown as Schema<PolicySpec, unknown>;

  return obj(
    {
      name: opt(str({ doc: 'scenario name used for the results folder (default: the file base name)', pattern: SAFE_NAME_PATTERN, expects: SAFE_NAME_EXPECTS })),
      description: opt(str({ doc: 'free text' })),
      seed: num({ int: true, min: 0, max: Number.MAX_SAFE_INTEGER, default: D.seed, doc: 'root seed of every random substream' }),
      runs: num({ int: true, min: 1, default: D.runs, doc: 'independent runs with run index 0..runs-1' }),
      duration: duration({ exclusiveMin: 0, default: D.duration, doc: 'simulated time to run' }),
      sample_interval: duration({ exclusiveMin: 0, default: D.sample_interval, doc: 'interval between metric samples' }),
      kernel: obj(kernelFields(), { default: {}, doc: 'the simulated kernel build and host' }),
      sysctl: sysctlSchema(),
      traffic: arr(trafficItem, { minItems: 1, doc: 'traffic generators, each selected by its kind' }),
      ...rulesFields(),
      ...actionsFields(),
      policies: arr(policyItem, { default: D.policies, doc: 'table-pressure policies: a name, or a mapping with name and parameters' }),
      variants: opt(variantsSchema(policyItem, registry)),
      policy_params: record<string, PolicySpec>(policyItem, {
        default: {},
        doc: 'parameters `ctsim compare` uses for a policy it is asked to run (keyed by policy name); not installed by `ctsim run`',
        jsonKeys: Object.keys(registry.policies),
        keyCheck: (key) => (hasOwn(registry.policies, key)
          ? { ok: true, key }
          : { ok: false, message: MSG.unknownName('policy', key, closest(key, Object.keys(registry.policies)), Object.keys(registry.policies)) }),
        valueFor: (key) => {
          const p = policies[key]!;
          const json = () => {
            // the policy's own schema without `name` (the key gives it)
            const j = structuredClone(p.toJsonSchema()) as { properties?: Record<string, unknown>; required?: string[] };
            delete j.properties?.['name'];
            if (j.required) j.required = j.required.filter((r) => r !== 'name');
            return j as ReturnType<typeof p.toJsonSchema>;
          };
          return make<PolicySpec, unknown>({}, p.expects, json, (v, path, issues) => {
            const m = v !== null && typeof v === 'object' && !Array.isArray(v) ? { name: key, ...(v as object) } : v;
            return p.validate(m, path, issues) as PolicySpec | undefined;
          }, (spec) => {
            const { name: _name, ...rest } = toInput(p, spec) as Record<string, unknown>;
            return rest;
          });
        },
      }),
    },
    { ignoreKeys: ['$schema'], doc: 'a ctsim scenario' },
  );
}

/** The top-level scenario schema type. */
export type ScenarioSchema = ReturnType<typeof buildScenarioSchema>;

/**
 * A validated, fully defaulted scenario: durations in integer µs, `kernel.memory` in bytes,
 * sysctls by canonical kernel name (only those the file sets), traffic and policies with their
 * parameters defaulted.
 */
/** A validated variant (`variants:` entry), its ruleset loaded. */
export type Variant = Omit<NonNullable<Infer<ScenarioSchema>['variants']>[number], 'ruleset'> & { ruleset?: LoadedRuleset };

export type Scenario = Omit<Infer<ScenarioSchema>, 'name' | 'routes' | 'ruleset' | 'variants'> & {
  name: string;
  /** The route table of `routes:` (interfaces, longest prefix), absent when the scenario has none. */
  routes?: RouteTable;
  /** The loaded `ruleset:` (inline or from its file); shared by the runs: use `ruleset.clone()` per run for counters. */
  ruleset?: LoadedRuleset;
  /** Named arms for `ctsim compare --arms` (absent when the scenario has no `variants:`). */
  variants?: Variant[];
};
