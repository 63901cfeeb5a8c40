/**
 * Result folders ↔ the store: where results go, and reading a run, comparison or sweep folder
 * back into store records (`ctsim` records every folder it writes this way, and
 * `ctsim runs --import DIR` re-records folders into a new store).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../io/errors.js';
import type { Environment, FileHash } from './ids.js';
import { comparisonSql, recordRuns, type RunRecord } from './record.js';
import { insertSql, lit, type Store } from './store.js';

/**
 * The results root: `--out DIR`, else `results/` in the current directory (both resolved
 * against the current directory, never against the ctsim install folder).
 */
export function resultsRoot(out: string | undefined): string {
  return resolve(out ?? 'results');
}

/** The identifying columns appended to every CSV ctsim writes. */
export const ID_COLUMNS = ['id', 'scenario', 'policy', 'seed', 'run'] as const;

/** What a run's manifest.json holds (the fields the store and re-runs read). */
export interface RunManifest {
  ctsim_version: string;
  id: string;
  kind: 'run';
  scenario: string;
  scenario_sha256: string;
  seed: number;
  run: number;
  policy: string;
  argv: string[];
  scenario_file: { path: string; sha256: string; text: string } | null;
  sets: string[];
  policy_modules: FileHash[];
  input_files: FileHash[];
  environment: Omit<Environment, 'ctsim_version'>;
  outputs: Record<string, string>;
  resolved: Record<string, unknown>;
  resolved_scenario: Record<string, unknown>;
}

function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new InputError(`${path}: cannot read: ${(e as Error).message}`);
  }
}

/** `--set a.b=3` list → { 'a.b': '3' } (values as written). */
export function setsAsParams(sets: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of sets) {
    const i = s.indexOf('=');
    if (i > 0) out[s.slice(0, i)] = s.slice(i + 1);
  }
  return out;
}

/** Numeric columns of timeseries.csv (those before the identifying columns). */
export function readSamples(path: string): { columns: string[]; rows: number[][] } {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/).filter((l) => l !== '');
  const all = (lines[0] ?? '').split(',');
  const n = all.indexOf('id') < 0 ? all.length : all.indexOf('id');
  return { columns: all.slice(0, n), rows: lines.slice(1).map((l) => l.split(',').slice(0, n).map(Number)) };
}

/** A run folder (manifest.json with an id, summary.json, metrics.json, timeseries.csv) as a record. */
export function runRecordFromDir(dir: string): RunRecord {
  const m = readJson<RunManifest>(join(dir, 'manifest.json'));
  if (typeof m.id !== 'string') throw new InputError(`${join(dir, 'manifest.json')}: no result id (written by an older ctsim); run it again to record it`);
  const summary = readJson<Record<string, unknown>>(join(dir, 'summary.json'));
  const metrics = existsSync(join(dir, 'metrics.json')) ? readJson<Record<string, number | null>>(join(dir, 'metrics.json')) : null;
  return {
    id: m.id, kind: 'run', scenario: m.scenario, policy: m.policy, seed: m.seed, run: m.run,
    params: setsAsParams(m.sets ?? []), sets: m.sets ?? [], scenario_sha256: m.scenario_sha256,
    input_files: [...(m.policy_modules ?? []), ...(m.input_files ?? [])],
    env: { ctsim_version: m.ctsim_version, ...m.environment }, dir: resolve(dir),
    summary, metrics, samples: readSamples(join(dir, 'timeseries.csv')),
  };
}

/** Records a run folder (replacing what the store had under its id). */
export async function recordRunDir(store: Store, dir: string): Promise<string> {
  const r = runRecordFromDir(dir);
  await recordRuns(store, [r], 'replace');
  return r.id;
}

interface CompareManifest {
  ctsim_version: string;
  id: string;
  scenario: string;
  scenario_sha256: string;
  seed: number;
  runs: number;
  policies: string[];
  sets?: string[];
  /** `variant`: the scenario variant the arm runs (`ctsim compare --arms`), absent for a policy arm. */
  arm_runs: { policy: string; variant?: string; run: number; id: string }[];
  policy_modules?: FileHash[];
  input_files?: FileHash[];
  environment: Omit<Environment, 'ctsim_version'>;
}

interface ComparisonFile {
  arms: { label: string; perRun: Record<string, number | null>[]; sample: { run: number; nf_conntrack_max: number; columns: string[]; rows: number[][]; generators: Record<string, unknown>[]; evictions: Record<string, Record<string, number>>; classes: Record<string, Record<string, unknown>> } }[];
}

/** Records a comparison folder: the comparison, and each arm's runs (kept when already stored). */
export async function recordComparisonDir(store: Store, dir: string): Promise<string> {
  const m = readJson<CompareManifest>(join(dir, 'manifest.json'));
  if (typeof m.id !== 'string' || !Array.isArray(m.arm_runs)) throw new InputError(`${join(dir, 'manifest.json')}: no result id (written by an older ctsim); run the comparison again to record it`);
  const c = readJson<ComparisonFile>(join(dir, 'comparison.json'));
  const env = { ctsim_version: m.ctsim_version, ...m.environment };
  const recs: RunRecord[] = [];
  for (const ar of m.arm_runs) {
    const arm = c.arms.find((a) => a.label === ar.policy);
    if (!arm) continue;
    const first = ar.run === arm.sample.run;
    recs.push({
      id: ar.id, kind: 'compare', scenario: m.scenario, policy: ar.policy, seed: m.seed, run: ar.run,
      // a variant arm's runs carry the variant's name as a parameter (queries: params->>'variant')
      params: { ...setsAsParams(m.sets ?? []), ...(ar.variant !== undefined ? { variant: ar.variant } : {}) }, sets: m.sets ?? [], scenario_sha256: m.scenario_sha256,
      input_files: [...(m.policy_modules ?? []), ...(m.input_files ?? [])], env, dir: resolve(dir),
      nf_conntrack_max: arm.sample.nf_conntrack_max, summary: null, metrics: arm.perRun[ar.run] ?? null,
      ...(first ? { samples: { columns: arm.sample.columns, rows: arm.sample.rows }, generators: arm.sample.generators, evictions: arm.sample.evictions, classes: arm.sample.classes } : {}),
    });
  }
  const extra = comparisonSql({ id: m.id, scenario: m.scenario, seed: m.seed, runs: m.runs, policies: m.policies, scenario_sha256: m.scenario_sha256, ctsim_version: m.ctsim_version, dir: resolve(dir) },
    m.arm_runs.map((a) => ({ policy: a.policy, run: a.run, run_id: a.id })));
  await recordRuns(store, recs, 'if-absent', extra);
  return m.id;
}

/** One sweep case line (cases.jsonl) with the run id and environment it was recorded under. */
export interface SweepCaseLine {
  case: number; key: string; scenario: string; file: string; policy: string; params: Record<string, unknown>;
  seed: number; run: number; id?: string; metrics: Record<string, number | null>; summary: Record<string, unknown>;
}

/** A sweep case as a run record. */
export function sweepCaseRecord(l: SweepCaseLine, id: string, env: Environment, dir: string, scenario_sha256: string | null, files: readonly FileHash[]): RunRecord {
  return {
    id, kind: 'sweep', scenario: l.scenario, policy: l.policy, seed: l.seed, run: l.run, params: l.params, sets: [],
    scenario_sha256, input_files: files, env, dir, summary: l.summary, metrics: l.metrics,
  };
}

/** The store rows of a sweep and its cases (the case runs are recorded separately). */
export function sweepSql(sw: { id: string; name: string; sweep_sha256: string; cases_total: number; shard: string | null; dir: string; ctsim_version: string }): string[] {
  return [
    `DELETE FROM sweeps WHERE id = ${lit(sw.id)}`,
    ...insertSql('sweeps', ['id', 'name', 'sweep_sha256', 'cases_total', 'shard', 'dir', 'ctsim_version', 'recorded_at'],
      [[sw.id, sw.name, sw.sweep_sha256, sw.cases_total, sw.shard, sw.dir, sw.ctsim_version, new Date().toISOString().replace('T', ' ').replace('Z', '')]]),
  ];
}

export function sweepCaseSql(sweepSha: string, l: SweepCaseLine, runId: string): string[] {
  return [
    `DELETE FROM sweep_cases WHERE sweep_sha256 = ${lit(sweepSha)} AND case_index = ${l.case}`,
    ...insertSql('sweep_cases', ['sweep_sha256', 'case_index', 'key', 'scenario', 'file', 'policy', 'params', 'seed', 'run', 'run_id'],
      [[sweepSha, l.case, l.key, l.scenario, l.file, l.policy, JSON.stringify(l.params), l.seed, l.run, runId]]),
  ];
}

/**
 * Records a sweep folder (whole or shard): its cases (by the run id each line carries) and the
 * sweep. Runs already stored with their summary are kept.
 */
export async function recordSweepDir(store: Store, dir: string, env: Environment): Promise<number> {
  const m = readJson<{ name: string; sweep_sha256: string; cases_total: number; shard: { index: number; count: number } | null }>(join(dir, 'sweep.json'));
  const lines = readFileSync(join(dir, 'cases.jsonl'), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as SweepCaseLine);
  const withId = lines.filter((l) => typeof l.id === 'string');
  const extra = [...sweepSql({ id: `${m.name}-${m.sweep_sha256.slice(0, 10)}`, name: m.name, sweep_sha256: m.sweep_sha256, cases_total: m.cases_total, shard: m.shard === null ? null : `${m.shard.index}/${m.shard.count}`, dir: resolve(dir), ctsim_version: env.ctsim_version })];
  for (const l of withId) extra.push(...sweepCaseSql(m.sweep_sha256, l, l.id!));
  await recordRuns(store, withId.map((l) => sweepCaseRecord(l, l.id!, env, resolve(dir), null, [])), 'upgrade', extra);
  return withId.length;
}

/** Run, comparison and sweep folders under `dir` (itself or up to three levels down). */
export function resultDirs(dir: string): { runs: string[]; comparisons: string[]; sweeps: string[] } {
  const runs: string[] = [], comparisons: string[] = [], sweeps: string[] = [];
  const visit = (d: string, depth: number): void => {
    if (existsSync(join(d, 'sweep.json')) && existsSync(join(d, 'cases.jsonl'))) { sweeps.push(d); return; }
    if (existsSync(join(d, 'manifest.json'))) {
      if (existsSync(join(d, 'comparison.json'))) comparisons.push(d);
      else if (existsSync(join(d, 'summary.json')) && existsSync(join(d, 'timeseries.csv'))) runs.push(d);
      return;
    }
    if (depth >= 3) return;
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'baselines') visit(join(d, e.name), depth + 1);
    }
  };
  if (existsSync(dir)) visit(dir, 0);
  return { runs, comparisons, sweeps };
}
