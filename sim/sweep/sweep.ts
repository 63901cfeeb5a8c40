/**
 * `ctsim sweep`: validates a sweep file and every case of its grid before running any (bad input
 * exits 2 and writes nothing), applies the memory guard for the number of concurrent workers,
 * then runs this shard's cases on the worker pool and writes results/<name>/sweep[-shard-i-of-N]/.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { builtinScenarios, ctsimVersion, loadScenarioFile, packageRoot, registriesFor } from '../io/scenario-files.js';
import { InputError } from '../io/errors.js';
import { readInputFile, resultsPath } from '../io/files.js';
import { LIMITS } from '../io/limits.js';
import { environment, inputFiles, policyModules, runId } from '../store/ids.js';
import { recordRuns, storedRun } from '../store/record.js';
import { sweepCaseRecord, sweepCaseSql, sweepSql, type SweepCaseLine } from '../store/results.js';
import { withStore } from '../store/store.js';
import { checkTableMemory } from '../bench/memory-guard.js';
import { caseKey, caseKeyPrefix, countCases, expandCases, formatPath, located, overrideText, parameterGrid, parseSweep, type SweepCase, type SweepFile } from './sweep-file.js';
import { parseArms } from '../run/arms.js';
import type { Registries } from '../run/simulation.js';
import type { Scenario } from '../scenario/scenario.js';
import { caseScenario } from './run-case.js';
import { runPool, type CaseJob, type PoolTiming } from './pool.js';
import { inShard, type Shard } from './shard.js';
import { sweepDirName, writeSweepDir, type SweepManifest } from './output.js';

export interface SweepOptions {
  /** Results root (default results/). */
  out: string;
  workers: number;
  shard: Shard | null;
  /** Global `--set` overrides (and --seed as seed=N), applied before the sweep's own. */
  sets: readonly string[];
  policyFiles: readonly string[];
  /** Bytes available for the memory guard (default: measured). */
  memoryAvailable?: number;
  /** Run every case even when the store already holds its run. */
  force?: boolean;
  /** Only plan (--dry-run): validate each combination once, compute no run ids. */
  planOnly?: boolean;
  /** false: do not use the results store (no recording, no resume). */
  store?: boolean;
  onProgress?: (done: number, total: number, key: string) => void;
  /** `--timings`: where the wall time goes (filled in as the sweep runs; outputs are unchanged). */
  timings?: SweepTimings;
}

/**
 * What `ctsim sweep --timings FILE` records, in milliseconds of the caller's clock from `t0`:
 * each case's dispatch and reply (on which worker), each results-store write by the main
 * thread, and the phases of the sweep (plan, resume check, pool, the store writes still queued
 * when the last case finished, writing the sweep directory).
 */
export interface SweepTimings {
  clock: () => number;
  t0: number;
  cases: { case: number; key: string; worker: number; start: number; end: number; cpuMs: number | null; startupCpuMs?: number | null }[];
  store: { case: number; cases: number; start: number; end: number }[];
  phases: Record<string, number>;
}

/** The `--timings` file: the raw records plus what they add up to (milliseconds, rounded to 0.1). */
export function timingReport(t: SweepTimings, workers: number): Record<string, unknown> {
  const r1 = (x: number): number => Math.round(x * 10) / 10;
  const cases = [...t.cases].sort((a, b) => a.start - b.start);
  const sum = cases.reduce((a, c) => a + (c.end - c.start), 0);
  const first = cases.length > 0 ? Math.min(...cases.map((c) => c.start)) : 0;
  const last = cases.length > 0 ? Math.max(...cases.map((c) => c.end)) : 0;
  const used = new Set(cases.map((c) => c.worker)).size || 1;
  const busy: Record<string, number> = {};
  const lastEnd: Record<string, number> = {};
  for (const c of cases) {
    busy[c.worker] = (busy[c.worker] ?? 0) + c.end - c.start;
    lastEnd[c.worker] = Math.max(lastEnd[c.worker] ?? 0, c.end);
  }
  const storeSum = t.store.reduce((a, s) => a + s.end - s.start, 0);
  const cpu = cases.every((c) => c.cpuMs !== null) ? cases.reduce((a, c) => a + c.cpuMs!, 0) : null;
  const startup = cases.filter((c) => c.startupCpuMs !== undefined && c.startupCpuMs !== null).map((c) => c.startupCpuMs!);
  return {
    workers, workers_used: used, cases: cases.length,
    wall_ms: r1(t.phases['sweep_recorded'] ?? t.phases['written'] ?? last),
    phases_ms: Object.fromEntries(Object.entries(t.phases).map(([k, v]) => [k, r1(v)])),
    makespan_ms: r1(last - first),
    case_sum_ms: r1(sum),
    case_sum_per_worker_ms: r1(sum / used),
    longest_case_ms: r1(Math.max(0, ...cases.map((c) => c.end - c.start))),
    // thread CPU time (10 ms ticks): load-independent, unlike the wall times
    case_cpu_sum_ms: cpu, worker_startup_cpu_ms: startup,
    worker_busy_ms: Object.fromEntries(Object.entries(busy).map(([k, v]) => [k, r1(v)])),
    worker_last_end_ms: Object.fromEntries(Object.entries(lastEnd).map(([k, v]) => [k, r1(v)])),
    store_writes: t.store.length, store_cases: t.store.reduce((a, s) => a + s.cases, 0), store_sum_ms: r1(storeSum),
    cases_ms: cases.map((c) => ({ case: c.case, key: c.key, worker: c.worker, start: r1(c.start), end: r1(c.end), ms: r1(c.end - c.start), cpu_ms: c.cpuMs })),
    store_ms: t.store.map((s) => ({ case: s.case, cases: s.cases, start: r1(s.start), end: r1(s.end) })),
  };
}

export interface SweepPlan {
  sweep: SweepFile;
  cases: SweepCase[];
  /** This shard's jobs, in case order. */
  jobs: CaseJob[];
  scenarioPaths: string[];
}

/** Reads and validates a sweep file (InputError with located lines on bad input). */
export function loadSweepFile(path: string): SweepFile {
  const text = readInputFile(path, 'sweep file').toString('utf8');
  const r = parseSweep(text, path);
  if (!r.ok) throw new InputError(r.issues);
  return r.sweep;
}

/** Resolves `scenarios[i]`: a path relative to the sweep file, an absolute path, or a built-in name. */
function resolveScenarios(sw: SweepFile): string[] {
  const base = dirname(resolve(sw.file));
  const issues: string[] = [];
  const out = sw.spec.scenarios.map((s, i) => {
    const p = isAbsolute(s) ? s : join(base, s);
    if (existsSync(p)) return p;
    const b = builtinScenarios().find((x) => x.name === s);
    if (b) return b.path;
    issues.push(located(sw.file, sw.lineOf(['scenarios', i]), `scenarios[${i}]`, `scenario file "${s}" not found (looked for ${p}) and no built-in scenario has that name`));
    return '';
  });
  if (issues.length > 0) throw new InputError(issues);
  return out;
}

/** The file a case's results name (relative to the sweep file, as written there). */
const fileOf = (sw: SweepFile, c: SweepCase): string => sw.spec.scenarios[c.scenarioIndex]!;

/** A scenario issue seen through a sweep override: drop the "command line" framing. */
const unframe = (l: string): string => l.replace(/^command line: (--set: )?/, '').replace(/ \(from --set [^)]*\)$/, '');

/**
 * Checks each parameter value and each policy arm on its own against every scenario, so a bad
 * value is reported once, at its own line of the sweep file.
 */
function precheck(sw: SweepFile, scenarioPaths: readonly string[], setPrefix: readonly string[], bases: readonly Scenario[], reg: Registries): void {
  const issues: string[] = [];
  const seen = new Set<string>();
  const push = (line: string): void => { if (!seen.has(line)) { seen.add(line); issues.push(line); } };
  scenarioPaths.forEach((p, si) => {
    const on = scenarioPaths.length > 1 ? ` (on ${sw.spec.scenarios[si]})` : '';
    for (const [key, values] of Object.entries(sw.spec.parameters ?? {})) {
      values!.forEach((v, vi) => {
        try {
          loadScenarioFile(p, [...setPrefix, overrideText(key, v)], reg);
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          for (const l of e.lines) push(located(sw.file, sw.lineOf(['parameters', key, vi]), formatPath(['parameters', key, vi]), `${JSON.stringify(v)}${on}: ${unframe(l)}`));
        }
      });
    }
    (sw.spec.policies ?? []).forEach((arm, ai) => {
      try {
        parseArms(arm, bases[si]!, reg.policies);
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        for (const l of e.lines) push(located(sw.file, sw.lineOf(['policies', ai]), `policies[${ai}]`, l.replace(/^--policies: /, '') + on));
      }
    });
  });
  if (issues.length > 0) throw new InputError(issues);
}

/** Loads a sweep file, its scenarios and registries; checks parameters, arms and the case limit. */
async function prepareSweep(path: string, o: SweepOptions): Promise<{ sw: SweepFile; scenarioPaths: string[]; reg: Registries; bases: Scenario[]; total: number }> {
  const sw = loadSweepFile(path);
  const scenarioPaths = resolveScenarios(sw);
  const reg = await registriesFor(o.policyFiles, scenarioPaths);
  const setPrefix = [...o.sets, ...Object.entries(sw.spec.set ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`)];
  // each scenario with the global and sweep-wide overrides: its own runs, and errors located in it
  const bases = scenarioPaths.map((p) => loadScenarioFile(p, setPrefix, reg));
  precheck(sw, scenarioPaths, setPrefix, bases, reg);
  const total = countCases(sw, scenarioPaths.length, (i) => bases[i]!.runs);
  if (total > LIMITS.sweepCases) {
    throw new InputError(`${sw.file}: the sweep expands to ${total.toLocaleString('en-US')} cases; the limit is ${LIMITS.sweepCases.toLocaleString('en-US')} ` +
      `(fewer parameter values, seeds or runs; or raise it with --max-cases ${total}; --shard splits a large sweep over machines)`);
  }
  return { sw, scenarioPaths, reg, bases, total };
}

/** What `ctsim sweep --dry-run` reports: counts, and this shard's case keys produced on demand. */
export interface DryRunPlan {
  sweep: SweepFile;
  casesTotal: number;
  /** Cases in this shard. */
  cases: number;
  /** This shard's [case index, key], in case order (nothing is kept: each call walks the grid again). */
  keys(): Generator<[number, string]>;
}

/** Cases k in [from, to) with k in the shard (k mod N = i). */
function inShardCount(from: number, to: number, sh: Shard | null): number {
  if (sh === null) return to - from;
  const below = (x: number): number => (x <= sh.index ? 0 : Math.floor((x - 1 - sh.index) / sh.count) + 1); // k < x
  return below(to) - below(from);
}

/**
 * `--dry-run`: the same checks as {@link planSweep} (the grid's parameters and arms, each
 * (scenario, policy, parameters) combination validated once through its first case, the memory
 * guard), but the cases are counted, not expanded: the cases of a combination differ only in
 * seed (checked by the sweep schema) and run index, which validate alike. Memory stays small
 * whatever the number of cases. Non-dry runs still go through planSweep.
 */
export async function planDryRun(path: string, o: SweepOptions): Promise<DryRunPlan> {
  const { sw, scenarioPaths, reg, bases, total } = await prepareSweep(path, o);
  const s = sw.spec;
  const grid = parameterGrid(s.parameters);
  const sets = Object.entries(s.set ?? {}).map(([k, v]) => overrideText(k, v));
  const policies: (string | null)[] = s.policies ?? [null];
  const seeds: (number | null)[] = s.seeds ?? [null];
  const selected = inShardCount(0, total, o.shard);
  const copies = Math.max(1, Math.min(o.workers, selected));
  const issues: string[] = [];
  const seen = new Set<string>();
  const memSeen = new Set<string>();
  /** Per combination, in case order: its first case index, prefix of its keys, runs. */
  const blocks: { start: number; prefix: string; runs: number }[] = [];
  let index = 0;
  combos: for (let scenarioIndex = 0; scenarioIndex < scenarioPaths.length; scenarioIndex++) {
    const scenarioPath = scenarioPaths[scenarioIndex]!;
    const runs = s.runs ?? bases[scenarioIndex]!.runs;
    for (const policy of policies) {
      for (const params of grid) {
        const size = seeds.length * runs;
        const seed = seeds[0]!;
        // the combination's first case, as expandCases builds it
        const c: SweepCase = {
          index, scenarioIndex, scenarioPath, policy, params, seed, run: 0,
          overrides: [...o.sets, ...sets, ...Object.entries(params).map(([k, v]) => overrideText(k, v)), ...(seed === null ? [] : [`seed=${seed}`])],
        };
        try {
          const { sc } = caseScenario(c, reg);
          blocks.push({ start: index, prefix: caseKeyPrefix(c, sc.name), runs });
          const mk = JSON.stringify([sc.kernel, sc.sysctl['nf_conntrack_max'], sc.sysctl['nf_conntrack_buckets']]);
          if (inShardCount(index, index + size, o.shard) > 0 && !memSeen.has(mk)) {
            memSeen.add(mk);
            const m = checkTableMemory(sc, { where: `${sw.file}: case ${c.index} (${caseKey(c, sc.name)})`, copies, ...(o.memoryAvailable !== undefined ? { available: o.memoryAvailable } : {}) });
            if (!m.ok) issues.push(m.message);
          }
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          for (const l of e.lines) {
            if (seen.has(l)) continue;
            seen.add(l);
            issues.push(`${caseWhere(sw, c)}: ${l}`);
          }
        }
        index += size;
        if (issues.length >= 20) { issues.push('… (stopped after 20 problems)'); break combos; }
      }
    }
  }
  if (issues.length > 0) throw new InputError(issues);
  return {
    sweep: sw, casesTotal: total, cases: selected,
    *keys() {
      for (const b of blocks) {
        let k = b.start;
        for (const seed of seeds) {
          for (let run = 0; run < b.runs; run++, k++) if (inShard(k, o.shard)) yield [k, `${b.prefix}|s${seed ?? '-'}|r${run}`];
        }
      }
    },
  };
}

/** Where a bad case is reported: the parameters, the policy or the scenario line of the sweep file. */
function caseWhere(sw: SweepFile, c: SweepCase): string {
  return Object.keys(c.params).length > 0
    ? located(sw.file, sw.lineOf(['parameters']), 'parameters', `case ${c.index} (${Object.entries(c.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')} on ${basename(c.scenarioPath)}${c.policy ? `, policy ${c.policy}` : ''})`)
    : located(sw.file, sw.lineOf(c.policy ? ['policies'] : ['scenarios', c.scenarioIndex]), c.policy ? 'policies' : `scenarios[${c.scenarioIndex}]`, `case ${c.index}`);
}

/**
 * Expands the grid and checks every case (scenario overrides, policy names, memory) without
 * running anything.
 */
export async function planSweep(path: string, o: SweepOptions): Promise<SweepPlan> {
  const { sw, scenarioPaths, reg, bases } = await prepareSweep(path, o);
  const cases = expandCases(sw, scenarioPaths, o.sets, (i) => bases[i]!.runs);

  // cases that differ only in their seed (checked by the sweep schema) or run index validate
  // alike: check each combination once
  const checked = new Map<string, string>();
  const selected = cases.filter((c) => inShard(c.index, o.shard));
  const copies = Math.max(1, Math.min(o.workers, selected.length));
  const issues: string[] = [];
  const seen = new Set<string>();
  const memSeen = new Set<string>();
  const jobs: CaseJob[] = [];
  const version = ctsimVersion();
  for (const c of cases) {
    let key = `case ${c.index}`;
    try {
      const inThis = inShard(c.index, o.shard);
      const ck = JSON.stringify([c.scenarioIndex, c.policy, c.params]);
      let name = checked.get(ck);
      let sc: Scenario | undefined;
      let policy: string | undefined;
      // a case in this shard needs its own scenario (its seed feeds the run id) unless only planning;
      // cases that differ only in seed or run validate alike, so the rest is checked once per combination
      if (name === undefined || (inThis && o.planOnly !== true)) {
        ({ sc, policy } = caseScenario(c, reg));
        name = sc.name;
        checked.set(ck, name);
      }
      key = caseKey(c, name);
      if (inThis) {
        const mk = sc === undefined ? undefined : JSON.stringify([sc.kernel, sc.sysctl['nf_conntrack_max'], sc.sysctl['nf_conntrack_buckets']]);
        if (sc !== undefined && mk !== undefined && !memSeen.has(mk)) {
          memSeen.add(mk);
          const m = checkTableMemory(sc, { where: `${sw.file}: case ${c.index} (${key})`, copies, ...(o.memoryAvailable !== undefined ? { available: o.memoryAvailable } : {}) });
          if (!m.ok) issues.push(m.message);
        }
        if (sc !== undefined && o.planOnly !== true) {
          const files = [...policyModules(sc.policies.map((p) => p.name), o.policyFiles, c.scenarioPath), ...inputFiles(sc)];
          jobs.push({ c, key, file: fileOf(sw, c), id: runId(sc, c.run, version, files), scenario: sc.name, seed: sc.seed, policyLabel: policy });
        } else {
          jobs.push({ c, key, file: fileOf(sw, c) });
        }
      }
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      const where = caseWhere(sw, c);
      for (const l of e.lines) {
        if (seen.has(l)) continue;
        seen.add(l);
        issues.push(`${where}: ${l}`);
      }
    }
    if (issues.length >= 20) { issues.push('… (stopped after 20 problems)'); break; }
  }
  if (issues.length > 0) throw new InputError(issues);
  return { sweep: sw, cases, jobs, scenarioPaths };
}

/** Runs a sweep (or one shard of it); returns where it wrote and how many cases ran. */
export async function runSweep(path: string, o: SweepOptions): Promise<{ dir: string; manifest: SweepManifest; plan: SweepPlan; resumed: number }> {
  const tm = o.timings;
  const at = (): number => (tm ? tm.clock() - tm.t0 : 0);
  const plan = await planSweep(path, o);
  if (tm) tm.phases['planned'] = at();
  const dir = resultsPath(o.out, plan.sweep.name, sweepDirName(o.shard));
  const useStore = o.store !== false;
  const env = environment(packageRoot(), ctsimVersion());
  {
    // resume: cases whose run is already in the store (same id, so same inputs) are not run again
    const known = new Map<number, string>();
    if (useStore && !o.force) {
      await withStore(o.out, async (store) => {
        for (const j of plan.jobs) {
          const have = j.id === undefined ? null : await storedRun(store, j.id);
          if (have?.summary_json && have.metrics_json) {
            known.set(j.c.index, `{"case":${j.c.index},"key":${JSON.stringify(j.key)},"scenario":${JSON.stringify(j.scenario)},"file":${JSON.stringify(j.file)},"policy":${JSON.stringify(caseScenarioPolicy(j))},"params":${JSON.stringify(j.c.params)},"seed":${j.seed},"run":${j.c.run},"id":${JSON.stringify(j.id)},"metrics":${have.metrics_json},"summary":${have.summary_json}}`);
          }
        }
      });
    }
    if (tm) tm.phases['resume_checked'] = at();
    const todo = plan.jobs.filter((j) => !known.has(j.c.index));
    // With one worker the cases run in this thread, which yields only between cases (for
    // signals): a store write begun there would keep the DuckDB file open, and locked against
    // other processes (the other tasks of a Slurm array writing the same store), through the
    // next case. So with one worker the writes wait for the last case, as they always did.
    let poolEnded: () => void = () => undefined;
    let chain: Promise<void> = o.workers <= 1 ? new Promise<void>((r) => { poolEnded = r; }) : Promise.resolve();
    // one writer: the main thread. Cases that finish while a write is under way wait and go
    // together in the next transaction (one store open per batch, not per case: each open and
    // close of the DuckDB file costs the main thread tens of milliseconds, taken from the workers'
    // cores). Each case is still recorded as soon as the writer is free.
    let pending: { rec: ReturnType<typeof sweepCaseRecord>; sql: string[]; index: number }[] = [];
    const flush = async (): Promise<void> => {
      const batch = pending;
      pending = [];
      if (batch.length === 0) return;
      const t = at();
      await withStore(o.out, (store) => recordRuns(store, batch.map((b) => b.rec), 'upgrade', batch.flatMap((b) => b.sql)));
      tm?.store.push({ case: batch[0]!.index, cases: batch.length, start: t, end: at() });
    };
    const record = (j: CaseJob, line: string): void => {
      if (!useStore || j.id === undefined) return;
      const l = JSON.parse(line) as SweepCaseLine;
      pending.push({ rec: sweepCaseRecord(l, j.id, env, dir, null, []), sql: sweepCaseSql(plan.sweep.sha256, l, j.id), index: j.c.index });
      if (pending.length === 1) chain = chain.then(flush);
    };
    const poolTiming: PoolTiming | undefined = tm && {
      clock: tm.clock,
      onCase: (j, worker, start, end, cpuMs, startupCpuMs) => {
        tm.cases.push({ case: j.c.index, key: j.key, worker, start: start - tm.t0, end: end - tm.t0, cpuMs, ...(startupCpuMs === undefined ? {} : { startupCpuMs }) });
      },
    };
    let fresh: string[];
    try {
      fresh = await runPool(todo, o.workers, { policyFiles: o.policyFiles, scenarioPaths: plan.scenarioPaths }, o.onProgress, record, poolTiming);
    } catch (e) {
      poolEnded();
      await chain.catch(() => undefined); // the cases that finished stay recorded (a re-run resumes)
      throw e;
    }
    poolEnded();
    if (tm) tm.phases['pool_done'] = at();
    await chain;
    if (tm) tm.phases['store_done'] = at();
    const byIndex = new Map(todo.map((j, i) => [j.c.index, fresh[i]!]));
    const lines = plan.jobs.map((j) => known.get(j.c.index) ?? byIndex.get(j.c.index)!);
    const manifest: SweepManifest = {
      name: plan.sweep.name, sweep_sha256: plan.sweep.sha256, cases_total: plan.cases.length,
      shard: o.shard === null ? null : { index: o.shard.index, count: o.shard.count }, cases: lines.length,
    };
    await writeSweepDir(dir, manifest, lines);
    if (tm) tm.phases['written'] = at();
    if (useStore) {
      const extra = [...sweepSql({ id: `${plan.sweep.name}-${plan.sweep.sha256.slice(0, 10)}`, name: plan.sweep.name, sweep_sha256: plan.sweep.sha256, cases_total: plan.cases.length, shard: o.shard === null ? null : `${o.shard.index}/${o.shard.count}`, dir, ctsim_version: env.ctsim_version })];
      for (const j of plan.jobs) if (known.has(j.c.index)) extra.push(...sweepCaseSql(plan.sweep.sha256, JSON.parse(known.get(j.c.index)!) as SweepCaseLine, j.id!));
      await withStore(o.out, (store) => recordRuns(store, [], 'upgrade', extra));
      if (tm) tm.phases['sweep_recorded'] = at();
    }
    return { dir, manifest, plan, resumed: known.size };
  }
}

/** The policy label a case's result line shows (its arm, or the scenario's own stack). */
function caseScenarioPolicy(j: CaseJob): string {
  return j.policyLabel ?? j.c.policy ?? '';
}
