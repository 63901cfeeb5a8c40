/**
 * `ctsim regress`: runs every case of a suite, compares each metric with the committed baseline
 * under per-metric tolerances, compares trajectory fingerprints, and (with `update`) rewrites
 * the baselines. Returns a report; printing and the exit code are the CLI's.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadScenario, formatIssue } from '../scenario/load.js';
import type { Scenario } from '../scenario/scenario.js';
import { Simulation, type Registries } from '../run/simulation.js';
import { runSummary } from '../run/summary.js';
import { builtinScenarios, loadScenarioFile } from '../io/scenario-files.js';
import { InputError } from '../io/errors.js';
import { readInputFile, writeFileAtomic } from '../io/files.js';
import {
  type Baseline, BASELINE_FORMAT, baselineCheckpoints, baselineJson, flatten, readBaseline, summaryMetrics,
} from './baseline.js';
import { explain } from './explain.js';
import { FP_VERSION } from '../run/fingerprint.js';
import { parseSuite, type Suite, type SuiteCase } from './suite.js';
import { formatTolerance, type MetricValue, patternRegExp, toleranceFor, withinTolerance } from './tolerance.js';

/** The default suite, relative to the package root. */
export const DEFAULT_SUITE = join('results', 'baselines', 'suite.yaml');

export type RowStatus = 'regression' | 'missing' | 'within' | 'ignored' | 'new' | 'changed';

export interface DiffRow {
  metric: string;
  baseline: MetricValue | undefined;
  current: MetricValue | undefined;
  tolerance: string;
  status: RowStatus;
}

export interface FingerprintResult {
  baseline: string | null;
  current: string;
  baselineEvents: number | null;
  currentEvents: number;
  changed: boolean;
  /** Whether the change fails the case (suite/case `fingerprint: fail`). */
  fails: boolean;
  /** `--explain` output lines, or why it could not explain. */
  explain?: string[];
}

export interface CaseResult {
  name: string;
  /** pass / fail (check mode); updated / unchanged / created (update mode). */
  result: 'pass' | 'fail' | 'updated' | 'unchanged' | 'created';
  /** Why the case failed (besides rows), e.g. a missing baseline. */
  problems: string[];
  /** Metric rows that differ from the baseline (unchanged metrics are only counted). */
  rows: DiffRow[];
  metrics: number;
  unchanged: number;
  fingerprint: FingerprintResult;
  /** Differences of the resolved scenario from the baseline's (context: what was changed). */
  inputChanges: { path: string; baseline: MetricValue | undefined; current: MetricValue | undefined }[];
  baselineFile: string;
  /** Wall time of the run (ms), when a clock was given. */
  wallMs?: number;
}

export interface RegressReport {
  suite: string;
  mode: 'check' | 'update';
  cases: CaseResult[];
  /** Baseline files in the suite's folder that no case names. */
  orphans: string[];
  passed: number;
  failed: number;
}

export interface RegressOptions {
  update?: boolean;
  explain?: boolean;
  /** Only the cases whose name matches one of these patterns (`*` wildcards). */
  only?: readonly string[];
  /** Milliseconds, for the timing column (the CLI passes performance.now). */
  clock?: () => number;
  /** Called before each case runs. */
  onCase?: (name: string, index: number, total: number) => void;
  /** Called while a case runs with the simulated time reached (progress; cannot change the run). */
  onTick?: (simUs: number, endUs: number) => void;
  /** Called after each case ran, with its simulated duration (µs). */
  onCaseDone?: (name: string, index: number, total: number, simUs: number) => void;
}

/** Reads and checks a suite file (bad input → InputError naming file, line and path). */
export function loadSuite(path: string): Suite {
  const text = readInputFile(path, 'regression suite').toString('utf8');
  const r = parseSuite(text, path);
  if (!r.ok) throw new InputError(r.issues);
  return r.suite;
}

/** The scenario file of a case: relative to the suite file, else a built-in scenario name. */
export function scenarioPath(suite: Suite, c: SuiteCase): string {
  const p = resolve(dirname(suite.file), c.scenario);
  if (existsSync(p)) return p;
  const b = builtinScenarios().find((s) => s.name === c.scenario);
  return b ? b.path : p;
}

export function baselinePath(suite: Suite, c: SuiteCase): string {
  return join(dirname(suite.file), `${c.name}.json`);
}

const where = (suite: Suite, c: SuiteCase): string => `${suite.file}:${c.line}: ${c.path} (${c.name})`;

/**
 * The scenario a case runs: its file with the case's `set` overrides, seed and policies. Policies
 * named without parameters take the scenario's `policy_params` for them (as `ctsim compare`).
 */
export function caseScenario(suite: Suite, c: SuiteCase, reg: Registries): Scenario {
  const path = scenarioPath(suite, c);
  const wrap = (e: unknown): never => {
    if (e instanceof InputError) {
      // overrides come from the case, not from a command line
      const fromCase = (l: string) => l.replace(/^command line: /, '').replace(/ \(from --set policies=.*\)$/, " (from the case's policies)").replace(/ \(from --set (.*)\)$/, " (from the case's set: $1)");
      throw new InputError(e.lines.map((l) => `${where(suite, c)}: ${fromCase(l)}`));
    }
    throw e;
  };
  const overrides = [...c.set, ...(c.seed !== undefined ? [`seed=${c.seed}`] : [])];
  try {
    if (!existsSync(path)) throw new InputError(`scenario: ${c.scenario}: no such file (relative to ${dirname(suite.file)}) and no built-in scenario of that name`);
    if (c.policies !== undefined) {
      const text = readInputFile(path, 'scenario file').toString('utf8');
      const r = loadScenario(text, path, reg, overrides);
      if (!r.ok) throw new InputError(r.issues.map(formatIssue));
      const params = ((r.raw as Record<string, unknown>)['policy_params'] ?? {}) as Record<string, unknown>;
      const specs = c.policies.map((p) => {
        if (typeof p !== 'string') return p;
        const q = params[p];
        return q !== null && typeof q === 'object' ? { name: p, ...(q as object) } : p;
      });
      overrides.push(`policies=${JSON.stringify(specs)}`);
    }
    return loadScenarioFile(path, overrides, reg);
  } catch (e) {
    return wrap(e);
  }
}

function diffMetrics(suite: Suite, c: SuiteCase, base: Record<string, MetricValue>, cur: Record<string, MetricValue>, update: boolean): { rows: DiffRow[]; unchanged: number } {
  const rows: DiffRow[] = [];
  let unchanged = 0;
  for (const [metric, b] of Object.entries(base)) {
    const tol = toleranceFor(metric, c.tolerances, suite.tolerances);
    if (!(metric in cur)) {
      rows.push({ metric, baseline: b, current: undefined, tolerance: formatTolerance(tol), status: update ? 'changed' : 'missing' });
      continue;
    }
    const v = cur[metric]!;
    if (Object.is(b, v) || b === v) { unchanged++; continue; }
    const status: RowStatus = update ? 'changed' : tol.kind === 'ignore' ? 'ignored' : withinTolerance(b, v, tol) ? 'within' : 'regression';
    rows.push({ metric, baseline: b, current: v, tolerance: formatTolerance(tol), status });
  }
  for (const [metric, v] of Object.entries(cur)) {
    if (!(metric in base)) rows.push({ metric, baseline: undefined, current: v, tolerance: formatTolerance(toleranceFor(metric, c.tolerances, suite.tolerances)), status: update ? 'changed' : 'new' });
  }
  return { rows, unchanged };
}

function diffInputs(base: Record<string, MetricValue>, cur: Record<string, MetricValue>): CaseResult['inputChanges'] {
  const out: CaseResult['inputChanges'] = [];
  for (const [path, b] of Object.entries(base)) if (!(path in cur) || cur[path] !== b) out.push({ path, baseline: b, current: cur[path] });
  for (const [path, v] of Object.entries(cur)) if (!(path in base)) out.push({ path, baseline: undefined, current: v });
  return out;
}

/** Runs the suite (or the cases selected by `only`). Every case's scenario is checked before any runs. */
export function runRegress(suite: Suite, reg: Registries, o: RegressOptions = {}): RegressReport {
  const only = (o.only ?? []).map(patternRegExp);
  const cases = suite.cases.filter((c) => only.length === 0 || only.some((re) => re.test(c.name)));
  if (cases.length === 0) throw new InputError(`--case: no case of ${suite.file} matches ${(o.only ?? []).join(', ')}; cases: ${suite.cases.map((c) => c.name).join(', ')}`);
  const scenarios = new Map<SuiteCase, Scenario>();
  const problems: string[] = [];
  for (const c of cases) {
    try {
      scenarios.set(c, caseScenario(suite, c, reg));
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      problems.push(...e.lines);
    }
  }
  const baselines = new Map<SuiteCase, Baseline | undefined>();
  for (const c of cases) {
    const b = readBaseline(baselinePath(suite, c));
    if (typeof b === 'string') {
      if (!o.update) problems.push(b);
      baselines.set(c, undefined);
    } else {
      baselines.set(c, b);
    }
  }
  if (problems.length > 0) throw new InputError(problems);

  const results: CaseResult[] = [];
  const writes: { path: string; text: string }[] = [];
  cases.forEach((c, i) => {
    o.onCase?.(c.name, i, cases.length);
    const sc = scenarios.get(c)!;
    const t0 = o.clock?.();
    const sim = new Simulation(sc, c.run, reg);
    const tick = o.onTick;
    sim.runToEnd(tick ? (t) => tick(t, sim.endUs) : undefined);
    const wallMs = t0 === undefined ? undefined : o.clock!() - t0;
    o.onCaseDone?.(c.name, i, cases.length, sim.endUs);
    const summary = runSummary(sim);
    const metrics = summaryMetrics(summary);
    const inputs = flatten(sc);
    const base = baselines.get(c);
    const bpath = baselinePath(suite, c);
    const fpCur = sim.fingerprint;
    const fpChanged = base !== undefined && base.fingerprint !== fpCur;
    const fingerprint: FingerprintResult = {
      baseline: base?.fingerprint ?? null, current: fpCur, baselineEvents: base?.events ?? null, currentEvents: sim.fp.count,
      changed: fpChanged, fails: fpChanged && c.fingerprint === 'fail' && !o.update,
    };
    const { rows, unchanged } = base ? diffMetrics(suite, c, base.metrics, metrics, o.update === true) : { rows: [], unchanged: 0 };
    const inputChanges = base ? diffInputs(base.inputs ?? {}, inputs) : [];
    const caseProblems: string[] = [];
    let result: CaseResult['result'];
    if (o.update) {
      const nb: Baseline = {
        format: BASELINE_FORMAT, case: c.name, scenario: c.scenario,
        ...(c.policies !== undefined ? { policies: c.policies } : {}),
        seed: sc.seed, run: c.run, set: c.set,
        fingerprint_version: FP_VERSION, fingerprint: fpCur, events: sim.fp.count, checkpoints: baselineCheckpoints(sim.fp), inputs, metrics,
      };
      const text = baselineJson(nb);
      const same = base !== undefined && baselineJson(base) === text;
      result = base === undefined ? 'created' : same ? 'unchanged' : 'updated';
      if (!same) writes.push({ path: bpath, text });
    } else {
      if (base === undefined) caseProblems.push(`no baseline ${bpath}: create it with ctsim regress --update`);
      if (fpChanged && base!.fingerprint_version !== FP_VERSION) {
        fingerprint.explain = [`the fingerprint's definition changed (version ${base!.fingerprint_version ?? '?'} in the baseline, ${FP_VERSION} now): the trajectories cannot be compared; rewrite the baselines with ctsim regress --update`];
      } else if (fpChanged && o.explain) {
        const ex = explain(sc, c.run, reg, base!, sim.fp);
        fingerprint.explain = typeof ex === 'string' ? [ex] : ex.lines;
      }
      const failed = caseProblems.length > 0 || fingerprint.fails || rows.some((r) => r.status === 'regression' || r.status === 'missing');
      result = failed ? 'fail' : 'pass';
    }
    results.push({
      name: c.name, result, problems: caseProblems, rows, metrics: Object.keys(metrics).length, unchanged, fingerprint, inputChanges,
      baselineFile: bpath, ...(wallMs !== undefined ? { wallMs } : {}),
    });
  });
  // write only when every case ran: a crash leaves the old baselines in place
  for (const w of writes) writeFileAtomic(w.path, w.text);

  const named = new Set(suite.cases.map((c) => `${c.name}.json`));
  let orphans: string[] = [];
  try {
    orphans = readdirSync(dirname(suite.file)).filter((f) => f.endsWith('.json') && !named.has(f)).sort().map((f) => join(dirname(suite.file), f));
  } catch {
    orphans = [];
  }
  const failed = results.filter((r) => r.result === 'fail').length;
  return {
    suite: suite.file, mode: o.update ? 'update' : 'check', cases: results, orphans,
    passed: results.length - failed, failed,
  };
}
