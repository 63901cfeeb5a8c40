/**
 * What the store keeps of a run, a comparison and a sweep case, as rows (see store.ts for the
 * tables). Everything comes from the same objects the result files are written from, so the
 * store's rows match the files (tested): `samples` has one row per line of timeseries.csv,
 * `outcomes` one group per entry of summary.json's `generators`, and so on.
 */
import type { Environment, FileHash } from './ids.js';
import { insertSql, lit, type Store } from './store.js';

type Json = Record<string, unknown>;

/** One run to record. */
export interface RunRecord {
  id: string;
  /** Where it comes from: `run` (ctsim run), `compare` (an arm of a comparison), `sweep` (a case). */
  kind: 'run' | 'compare' | 'sweep';
  scenario: string;
  /** The policy stack, `kernel` or `soft-timeout+keepalive`. */
  policy: string;
  seed: number;
  run: number;
  /** Swept parameters, or the `--set` overrides as path → value. */
  params: Record<string, unknown>;
  sets: readonly string[];
  scenario_sha256: string | null;
  input_files: readonly FileHash[];
  env: Environment;
  dir: string;
  /** The table size (from the summary, else given: comparison arms). */
  nf_conntrack_max?: number;
  /** summary.json (null for comparison arms: a comparison keeps only its metrics per run). */
  summary: Json | null;
  /** The comparison metrics (`ctsim compare`'s). */
  metrics: Record<string, number | null> | null;
  samples?: { columns: readonly string[]; rows: readonly (readonly number[])[] };
  /** For comparison arms without a summary: run 0's breakdowns. */
  generators?: readonly Json[];
  evictions?: Record<string, Record<string, number>>;
  classes?: Record<string, Json>;
}

/** Numeric leaves of an object, as `a.b.c` → value (lists of named objects by name, else by index). */
export function flatten(o: unknown, prefix = '', out: [string, number][] = []): [string, number][] {
  if (typeof o === 'number') { out.push([prefix, o]); return out; }
  if (typeof o === 'boolean') { out.push([prefix, o ? 1 : 0]); return out; }
  if (o === null || typeof o !== 'object') return out;
  if (Array.isArray(o)) {
    o.forEach((x, i) => {
      const name = x !== null && typeof x === 'object' && typeof (x as Json)['name'] === 'string' ? (x as Json)['name'] as string : String(i);
      flatten(x, prefix === '' ? name : `${prefix}.${name}`, out);
    });
    return out;
  }
  for (const [k, v] of Object.entries(o)) flatten(v, prefix === '' ? k : `${prefix}.${k}`, out);
  return out;
}

/** Summary keys kept in their own tables rather than as metric rows. */
const OWN_TABLES = new Set(['generators', 'lifetimes', 'kernel', 'seed', 'run']);

/** Latency figures: numeric leaves under any key naming latency, as (scope, metric, value). */
export function latencyRows(summary: Json | null): [string, string, number][] {
  if (summary === null) return [];
  const out: [string, string, number][] = [];
  const visit = (v: unknown, path: string[], inLatency: boolean): void => {
    if (typeof v === 'number' && inLatency) { out.push([path.slice(0, -1).join('.'), path[path.length - 1]!, v]); return; }
    if (v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v as Json)) visit(x, [...path, k], inLatency || /latency/i.test(k));
  };
  visit(summary, [], false);
  return out;
}

const tableOf = (s: Json | null, k: string): number | null => {
  const t = s?.['table'] as Json | undefined;
  return typeof t?.[k] === 'number' ? (t[k] as number) : null;
};

/** The SQL statements recording one run (after deleting what was stored under its id). */
async function runStatements(store: Store, r: RunRecord): Promise<string[]> {
  const sql: string[] = [];
  const s = r.summary;
  const rulesets = r.input_files.filter((f) => /ruleset|\.nft$|rules/i.test(f.role + ' ' + f.path));
  sql.push(...insertSql('runs', [
    'id', 'kind', 'scenario', 'policy', 'seed', 'run', 'nf_conntrack_max', 'nf_conntrack_buckets', 'duration_s',
    'params', 'sets', 'scenario_sha256', 'ruleset_sha256', 'input_files', 'ctsim_version', 'node_version', 'platform', 'lock_sha256',
    'dir', 'recorded_at', 'summary_json', 'metrics_json',
  ], [[
    r.id, r.kind, r.scenario, r.policy, r.seed, r.run, tableOf(s, 'nf_conntrack_max') ?? r.nf_conntrack_max ?? null, tableOf(s, 'nf_conntrack_buckets'),
    typeof s?.['duration_s'] === 'number' ? s['duration_s'] : null,
    JSON.stringify(r.params), JSON.stringify(r.sets), r.scenario_sha256,
    rulesets.length === 0 ? null : rulesets.map((f) => f.sha256).join(','), JSON.stringify(r.input_files),
    r.env.ctsim_version, r.env.node_version, r.env.platform, r.env.lock_sha256,
    r.dir, new Date().toISOString().replace('T', ' ').replace('Z', ''), s === null ? null : JSON.stringify(s), r.metrics === null ? null : JSON.stringify(r.metrics),
  ]]));
  const metricRows: [string, string, number | null][] = [];
  if (s !== null) for (const [k, v] of flatten(Object.fromEntries(Object.entries(s).filter(([k]) => !OWN_TABLES.has(k))))) metricRows.push([r.id, k, v]);
  if (s === null && r.classes) for (const [k, v] of flatten({ classes: r.classes })) metricRows.push([r.id, k, v]);
  if (r.metrics !== null) for (const [k, v] of Object.entries(r.metrics)) metricRows.push([r.id, k, v]);
  sql.push(...insertSql('metrics', ['run_id', 'metric', 'value'], metricRows));
  if (r.samples && r.samples.rows.length > 0) {
    await store.ensureColumns('samples', r.samples.columns);
    sql.push(...insertSql('samples', ['run_id', 'sample', ...r.samples.columns], r.samples.rows.map((row, i) => [r.id, i, ...row])));
  }
  const gens = (s?.['generators'] as Json[] | undefined) ?? r.generators ?? [];
  const outRows: unknown[][] = [];
  gens.forEach((g, i) => {
    const idx = typeof g['index'] === 'number' ? g['index'] : i;
    const rest = Object.fromEntries(Object.entries(g).filter(([k]) => !['index', 'kind', 'label', 'class'].includes(k)));
    for (const [k, v] of flatten(rest)) outRows.push([r.id, idx, g['kind'] ?? null, g['label'] ?? null, g['class'] ?? null, k, v]);
  });
  sql.push(...insertSql('outcomes', ['run_id', 'generator', 'kind', 'label', 'class', 'metric', 'value'], outRows));
  const ev = (s?.['evictions'] as Record<string, Record<string, number>> | undefined) ?? r.evictions ?? {};
  const evRows: unknown[][] = [];
  for (const [reason, perClass] of Object.entries(ev)) for (const [cls, n] of Object.entries(perClass)) if (cls !== 'total') evRows.push([r.id, reason, cls, n]);
  sql.push(...insertSql('evictions', ['run_id', 'reason', 'class', 'count'], evRows));
  sql.push(...insertSql('latency', ['run_id', 'scope', 'metric', 'value'], latencyRows(s).map(([a, b, c]) => [r.id, a, b, c])));
  return sql;
}

const RUN_TABLES = ['runs', 'metrics', 'samples', 'outcomes', 'evictions', 'latency'];

/** Deletes everything stored under a run id. */
function deleteRunSql(id: string): string[] {
  return RUN_TABLES.map((t) => `DELETE FROM ${t} WHERE ${t === 'runs' ? 'id' : 'run_id'} = ${lit(id)}`);
}

/** Whether the store has a run (and whether it has its full summary). */
export async function storedRun(store: Store, id: string): Promise<{ summary_json: string | null; metrics_json: string | null } | null> {
  const r = await store.rows(`SELECT summary_json, metrics_json FROM runs WHERE id = ${lit(id)}`);
  return r.length === 0 ? null : { summary_json: r[0]![0] as string | null, metrics_json: r[0]![1] as string | null };
}

/**
 * Records runs, each in one transaction. `replace`: what was stored under the id is replaced
 * (a re-run with --force, or a full run replacing a comparison arm's partial record);
 * `if-absent`: a run already stored (same id, so same inputs and result) is kept as it is;
 * `upgrade`: kept unless it lacks a summary (a comparison arm's record).
 */
export async function recordRuns(store: Store, runs: readonly RunRecord[], mode: 'replace' | 'if-absent' | 'upgrade', extra: string[] = []): Promise<void> {
  await store.transaction(async () => {
    for (const r of runs) {
      const have = await storedRun(store, r.id);
      // a full record (with a summary) is never replaced by a comparison arm's partial one
      if (have !== null && (mode === 'if-absent' || (r.summary === null && have.summary_json !== null) || (mode === 'upgrade' && have.summary_json !== null))) continue;
      for (const q of deleteRunSql(r.id)) await store.exec(q);
      for (const q of await runStatements(store, r)) await store.exec(q);
    }
    for (const q of extra) await store.exec(q);
    await store.setWrittenBy(runs[0]?.env.ctsim_version ?? '?');
  });
}

/** A comparison's own rows (its arm runs are recorded with recordRuns in the same transaction). */
export function comparisonSql(c: { id: string; scenario: string; seed: number; runs: number; policies: readonly string[]; scenario_sha256: string; ctsim_version: string; dir: string },
  arms: readonly { policy: string; run: number; run_id: string }[]): string[] {
  return [
    `DELETE FROM comparisons WHERE id = ${lit(c.id)}`,
    `DELETE FROM comparison_runs WHERE comparison_id = ${lit(c.id)}`,
    ...insertSql('comparisons', ['id', 'scenario', 'seed', 'runs', 'policies', 'scenario_sha256', 'ctsim_version', 'dir', 'recorded_at'],
      [[c.id, c.scenario, c.seed, c.runs, c.policies.join(','), c.scenario_sha256, c.ctsim_version, c.dir, new Date().toISOString().replace('T', ' ').replace('Z', '')]]),
    ...insertSql('comparison_runs', ['comparison_id', 'policy', 'run', 'run_id'], arms.map((a) => [c.id, a.policy, a.run, a.run_id])),
  ];
}
