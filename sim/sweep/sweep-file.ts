/**
 * Sweep files: a grid of scenarios × policies × parameters × seeds (× runs), validated with the
 * scenario schema DSL, every issue located at its file line. Expansion into cases is pure and
 * deterministic: the case order (and so every case's index, which sharding uses) depends only on
 * the sweep file and the scenario files it names.
 *
 * ```yaml
 * name: table-size
 * scenarios: [../syn-flood-vs-web.yaml]      # paths relative to this file, or built-in names
 * policies: [kernel, l4-aware, soft-timeout+keepalive]   # as `ctsim compare --policies`
 * parameters:                                 # every combination; keys are --set paths
 *   sysctl.nf_conntrack_max: [16384, 65536]
 *   traffic[1].rate: [2000, 8000]
 * seeds: { from: 1, count: 3 }                # or a list [1, 2, 3]
 * runs: 1                                     # run indices 0..runs-1 per seed
 * set: { duration: 30s }                      # overrides applied to every case
 * ```
 */
import { createHash } from 'node:crypto';
import { type Document, LineCounter, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { parseOverridePath } from '../scenario/load.js';
import { MSG } from '../scenario/messages.js';
import {
  type Issue, type Path, type Schema, SAFE_NAME_EXPECTS, SAFE_NAME_PATTERN, arr, fail, formatPath, isMapping, make, num, obj, opt, record, str,
} from '../scenario/schema-dsl.js';

/** A parameter's values: a list of YAML scalars or small structures (each becomes `--set path=value`). */
function valueList(): Schema<unknown[], unknown> {
  return make<unknown[], unknown>({ doc: 'values this parameter takes (each combined with every value of the others)' }, 'a non-empty list of values', () => ({ type: 'array', minItems: 1 }), (v, path, issues) => {
    if (!Array.isArray(v) || v.length === 0) return fail(issues, path, MSG.expected('a non-empty list of values', v));
    const seen = new Set<string>();
    for (const [i, x] of v.entries()) {
      if (x === null || x === undefined) return fail(issues, [...path, i], MSG.expected('a value', x));
      const k = JSON.stringify(x);
      if (seen.has(k)) return fail(issues, [...path, i], `value ${k} appears twice`);
      seen.add(k);
    }
    return v as unknown[];
  });
}

/** `[1, 2, 3]` or `{ from: 1, count: 3 }`. */
function seedsSchema(): Schema<number[], unknown> {
  const list = arr(num({ int: true, min: 0, max: Number.MAX_SAFE_INTEGER }), { minItems: 1 });
  const range = obj({ from: num({ int: true, min: 0, max: Number.MAX_SAFE_INTEGER - 1_000_000 }), count: num({ int: true, min: 1, max: 1_000_000 }) });
  return make<number[], unknown>({ doc: 'seeds: a list, or { from, count }' }, 'a list of seeds or { from, count }', () => ({ anyOf: [list.toJsonSchema(), range.toJsonSchema()] }), (v, path, issues) => {
    if (Array.isArray(v)) {
      const r = list.validate(v, path, issues);
      if (r && new Set(r).size !== r.length) return fail(issues, path, 'a seed appears twice');
      return r;
    }
    if (isMapping(v)) {
      const r = range.validate(v, path, issues);
      return r && Array.from({ length: r.count }, (_, i) => r.from + i);
    }
    return fail(issues, path, MSG.expected('a list of seeds such as [1, 2, 3] or { from: 1, count: 3 }', v));
  });
}

/** The `parameters` keys: `--set` paths, checked for syntax here (their meaning per scenario later). */
function paramPaths(): Schema<Partial<Record<string, unknown[]>>, unknown> {
  return record<string, unknown[]>(valueList(), {
    doc: 'scenario fields to vary, by --set path (sysctl.nf_conntrack_max, traffic[1].rate, kernel.memory …)',
    keyCheck: (key) => {
      const p = parseOverridePath(key);
      return typeof p === 'string' ? { ok: false, message: `"${key}" is not a scenario path: ${p} (write it as for --set, e.g. traffic[1].rate)` } : { ok: true, key };
    },
  }) as Schema<Partial<Record<string, unknown[]>>, unknown>;
}

export const sweepSchema = obj({
  name: opt(str({ doc: 'sweep name (results/<name>/sweep/); default: the file base name', pattern: SAFE_NAME_PATTERN, expects: SAFE_NAME_EXPECTS })),
  description: opt(str({ doc: 'free text' })),
  scenarios: arr(str({ doc: 'scenario file (relative to the sweep file) or built-in scenario name' }), { minItems: 1, doc: 'scenarios to run' }),
  policies: opt(arr(str({ doc: 'a policy, or several joined with + (as ctsim compare --policies)' }), { minItems: 1, doc: 'policy arms; default: each scenario\'s own policies' })),
  parameters: opt(paramPaths()),
  seeds: opt(seedsSchema()),
  runs: opt(num({ int: true, min: 1, max: 100_000, doc: 'run indices 0..runs-1 per seed; default: the scenario\'s runs' })),
  set: opt(record<string, unknown>(make<unknown, unknown>({}, 'a value', () => ({}), (v) => v), { doc: 'overrides (path: value) applied to every case, before the parameters' })),
}, { ignoreKeys: ['$schema'] });

export type SweepSpec = NonNullable<ReturnType<typeof sweepSchema.validate>>;

/** A validated sweep file with what is needed to place later issues at their lines. */
export interface SweepFile {
  file: string;
  name: string;
  text: string;
  /** SHA-256 of the file text (shards of one sweep must agree on it). */
  sha256: string;
  spec: SweepSpec;
  /** File line of a path in the sweep file (the deepest node found), for messages. */
  lineOf(path: Path): number | undefined;
}

/** A located problem: `file:line: path: message`. */
export function located(file: string, line: number | undefined, path: string, message: string): string {
  const where = line === undefined ? file : `${file}:${line}`;
  return path === '' ? `${where}: ${message}` : `${where}: ${path}: ${message}`;
}

function locate(doc: Document, at: Path): Node | undefined {
  let cur: unknown = doc.contents;
  let node = cur as Node | undefined;
  for (const seg of at) {
    if (isMap(cur)) {
      const pair = cur.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) break;
      node = (isScalar(pair.key) ? pair.key : (pair.value as Node | undefined)) ?? node;
      cur = pair.value;
    } else if (isSeq(cur) && typeof seg === 'number' && seg < cur.items.length) {
      cur = cur.items[seg];
      node = (cur as Node | undefined) ?? node;
    } else break;
  }
  return node;
}

/** Parses and validates a sweep file's text; returns the file or every issue as located lines. */
export function parseSweep(text: string, file: string): { ok: true; sweep: SweepFile } | { ok: false; issues: string[] } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const lineAt = (o: number): number => lc.linePos(o).line;
  if (doc.errors.length > 0) return { ok: false, issues: doc.errors.map((e) => located(file, lineAt(e.pos[0]), '', MSG.yamlSyntax(e.message))) };
  let raw: unknown;
  try { raw = doc.toJS({ maxAliasCount: 100 }); } catch (e) { return { ok: false, issues: [located(file, undefined, '', MSG.yamlTooLarge((e as Error).message))] }; }
  if (!isMapping(raw)) return { ok: false, issues: [located(file, undefined, '', `expected a mapping with at least a "scenarios" list, got ${raw === null ? 'an empty file' : typeof raw}`)] };
  const issues: Issue[] = [];
  const spec = sweepSchema.validate(raw, [], issues);
  const lineOf = (p: Path): number | undefined => {
    const n = locate(doc, p);
    return n?.range ? lineAt(n.range[0]) : undefined;
  };
  if (issues.length > 0 || spec === undefined) return { ok: false, issues: issues.map((i) => located(file, lineOf(i.at), i.path, i.message)) };
  const base = file.slice(Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')) + 1).replace(/\.(ya?ml|json)$/, '');
  return {
    ok: true,
    sweep: { file, name: spec.name ?? base, text, sha256: createHash('sha256').update(text).digest('hex'), spec, lineOf },
  };
}

/** One point of the grid. */
export interface SweepCase {
  /** Position in the whole sweep (0-based): the shard of case k is k mod N. */
  index: number;
  /** Index into `scenarios` and the path it resolved to. */
  scenarioIndex: number;
  scenarioPath: string;
  /** Policy arm label (`kernel`, `soft-timeout+keepalive`), or null for the scenario's own policies. */
  policy: string | null;
  /** Parameter path → value, in the sweep file's key order. */
  params: Record<string, unknown>;
  /** null: the scenario's own seed. */
  seed: number | null;
  run: number;
  /** Every override for this case, in order: CLI --set, the sweep's `set`, the parameters, the seed. */
  overrides: string[];
}

/** `path=value` with the value written as YAML flow (JSON is valid YAML). */
export function overrideText(path: string, value: unknown): string {
  return `${path}=${JSON.stringify(value)}`;
}

/** The cartesian product of the parameters, last key varying fastest. */
export function parameterGrid(parameters: Partial<Record<string, unknown[]>> | undefined): Record<string, unknown>[] {
  let grid: Record<string, unknown>[] = [{}];
  for (const [k, values] of Object.entries(parameters ?? {})) {
    const next: Record<string, unknown>[] = [];
    for (const g of grid) for (const v of values!) next.push({ ...g, [k]: v });
    grid = next;
  }
  return grid;
}

/** How many cases {@link expandCases} would produce, computed without expanding (for the limit). */
export function countCases(sw: SweepFile, scenarioCount: number, runsOf: (scenarioIndex: number) => number): number {
  const s = sw.spec;
  let grid = 1;
  for (const values of Object.values(s.parameters ?? {})) grid *= values!.length;
  const per = (s.policies?.length ?? 1) * grid * (s.seeds?.length ?? 1);
  let n = 0;
  for (let i = 0; i < scenarioCount; i++) n += per * (s.runs ?? runsOf(i));
  return n;
}

/**
 * Expands the grid in a fixed order: scenarios (outermost) × policies × parameter combinations
 * × seeds × runs (innermost). `runsOf` gives a scenario's own `runs` when the sweep sets none.
 */
export function expandCases(sw: SweepFile, scenarioPaths: readonly string[], globalSets: readonly string[], runsOf: (scenarioIndex: number) => number): SweepCase[] {
  const s = sw.spec;
  const out: SweepCase[] = [];
  const grid = parameterGrid(s.parameters);
  const sets = Object.entries(s.set ?? {}).map(([k, v]) => overrideText(k, v));
  const policies: (string | null)[] = s.policies ?? [null];
  const seeds: (number | null)[] = s.seeds ?? [null];
  scenarioPaths.forEach((scenarioPath, scenarioIndex) => {
    const runs = s.runs ?? runsOf(scenarioIndex);
    for (const policy of policies) {
      for (const params of grid) {
        for (const seed of seeds) {
          for (let run = 0; run < runs; run++) {
            out.push({
              index: out.length, scenarioIndex, scenarioPath, policy, params, seed, run,
              overrides: [...globalSets, ...sets, ...Object.entries(params).map(([k, v]) => overrideText(k, v)), ...(seed === null ? [] : [`seed=${seed}`])],
            });
          }
        }
      }
    }
  });
  return out;
}

/** `scenario|policy|k=v,…|s<seed>|r<run>`: a readable, unique key of a case. */
export function caseKey(c: SweepCase, scenarioName: string): string {
  return `${caseKeyPrefix(c, scenarioName)}|s${c.seed ?? '-'}|r${c.run}`;
}

/** The part of {@link caseKey} shared by the cases of one (scenario, policy, parameters) combination. */
export function caseKeyPrefix(c: Pick<SweepCase, 'params' | 'policy'>, scenarioName: string): string {
  const p = Object.entries(c.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',');
  return `${scenarioName}|${c.policy ?? '(scenario)'}|${p}`;
}

export { formatPath };
