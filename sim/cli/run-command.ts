import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeToString } from 'fast-csv';
import { armMetrics } from '../run/compare.js';
import { resolvedInput } from '../scenario/resolved.js';
import { environment, inputFiles, policyModules, runId, sha256 as sha256Bytes } from '../store/ids.js';
import { storedRun } from '../store/record.js';
import { ID_COLUMNS, recordRunDir, resultsRoot } from '../store/results.js';
import { withStore } from '../store/store.js';
import { Command } from 'commander';
import type { Scenario } from '../scenario/scenario.js';
import { Metrics } from '../run/metrics.js';
import { Simulation } from '../run/simulation.js';
import { runSummary, type RunSummary } from '../run/summary.js';
import { ctsimVersion, loadScenarioFile, packageRoot, REGISTRIES, registriesFor, resolveScenarioArg } from '../io/scenario-files.js';
import { sha256, toJson } from '../io/format.js';
import { formatConntrackSLine } from '../conntrack/stats.js';
import type { Registries } from '../run/simulation.js';
import { AtomicDir, resultsPath } from '../io/files.js';
import { InputError } from '../io/errors.js';
import { assertTableFits } from '../bench/memory-guard.js';
import { makeProgress } from './progress.js';
import { sandboxRun, usesUserPolicy } from './sandbox.js';
import { noteWritten, setActivity, yieldToSignals } from '../io/interrupt.js';

export interface RunOutputs {
  dir: string;
  summary: RunSummary;
  /** The result id (`<scenario>-s<seed>-r<run>-<hash>`). */
  id: string;
  /** true when the folder already held this result (same inputs) and nothing ran. */
  reused: boolean;
}

/** The options every simulating command shares. */
export interface SimOptions {
  seed?: string;
  policy?: string[];
  out?: string;
  set?: string[];
  json?: boolean;
  quiet?: boolean;
  /** false with --no-charts: skip the Vega-Lite/SVG/PNG charts. */
  charts?: boolean;
  /** Run again (and replace) a result whose folder already holds the same inputs' result. */
  force?: boolean;
  /** false with --no-store: do not record in the results store. */
  store?: boolean;
  /** --pdf: also write each chart as PDF. */
  pdf?: boolean;
}

/** Applies --seed to a loaded scenario (kept as an override so the manifest shows it). */
export function overridesFrom(o: SimOptions): string[] {
  const sets = [...(o.set ?? [])];
  if (o.seed !== undefined) sets.push(`seed=${o.seed}`);
  return sets;
}

/**
 * timeseries.csv of one run (fast-csv; stable column order; final newline). With `ids`, the
 * identifying columns (id, scenario, policy, seed, run) are appended to every row.
 */
export async function timeseriesCsv(rows: number[][], ids?: readonly (string | number)[]): Promise<string> {
  if (ids === undefined) return writeToString(rows, { headers: [...Metrics.COLUMNS], includeEndRowDelimiter: true });
  return writeToString(rows.map((r) => [...r, ...ids]), { headers: [...Metrics.COLUMNS, ...ID_COLUMNS], includeEndRowDelimiter: true });
}

/** Where a scenario came from (kept in the manifest so the run can be repeated). */
export interface ScenarioSource {
  path: string;
  text: string;
  /** The `--set` overrides (and --seed as seed=N) as given. */
  sets: readonly string[];
  /** `--policy` module files. */
  policyFiles: readonly string[];
}

/** The policy stack of a scenario as a label (`soft-timeout+keepalive`). */
export const policyLabel = (sc: Scenario): string => sc.policies.map((p) => p.name).join('+');

/** A result folder that is already there: reuse it (saying so) unless --force. */
function existingResult(dir: string, id: string): boolean {
  const mf = join(dir, 'manifest.json');
  if (!existsSync(mf)) return false;
  try {
    return (JSON.parse(readFileSync(mf, 'utf8')) as { id?: string }).id === id;
  } catch {
    return false;
  }
}

/**
 * Runs every run of a scenario and writes <out>/<scenario>/s<seed>-r<run>-<hash>/ atomically, and
 * records it in the results store. A run whose folder already holds the same inputs' result is
 * reused (not run again) unless `opts.force`. Returns the outputs (for printing and for tests).
 */
export async function runScenario(sc: Scenario, argv: readonly string[], opts: SimOptions, reg: Registries = REGISTRIES, src?: ScenarioSource, only?: { run: number; store: false }): Promise<RunOutputs[]> {
  const outRoot = resultsRoot(opts.out);
  const sandboxed = usesUserPolicy(sc.policies.map((p) => p.name));
  const resolved = toJson(sc);
  const version = ctsimVersion();
  const env = environment(packageRoot(), version);
  const modules = policyModules(sc.policies.map((p) => p.name), src?.policyFiles ?? opts.policy ?? [], src?.path);
  const files = inputFiles(sc);
  const outs: RunOutputs[] = [];
  const useStore = only?.store !== false && opts.store !== false;
  {
    for (let run = 0; run < sc.runs; run++) {
      if (only !== undefined && run !== only.run) continue;
      const id = runId(sc, run, version, [...modules, ...files]);
      const dir = resultsPath(outRoot, sc.name, id.slice(sc.name.length + 1));
      if (!opts.force && existingResult(dir, id)) {
        const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
        if (useStore) await withStore(outRoot, async (store) => { if ((await storedRun(store, id)) === null) await recordRunDir(store, dir); });
        outs.push({ dir, summary, id, reused: true });
        continue;
      }
      setActivity(`run ${run} of ${sc.name} (→ ${dir})`);
      let summary: RunSummary;
      let rows: number[][];
      let metrics: unknown;
      if (sandboxed) {
        // a user policy module: the run goes to a worker thread under the hook watchdog
        ({ summary, rows, metrics } = await sandboxRun(sc, run, src?.policyFiles ?? opts.policy ?? [], src === undefined ? [] : [src.path]));
      } else {
        const sim = new Simulation(sc, run, reg);
        const bar = makeProgress(`${sc.name} run ${run}`, sim.endUs, opts.quiet === true || opts.json === true);
        for (const t of sim.slices(200)) {
          bar(t, sim.sched.eventsDispatched);
          await yieldToSignals();
        }
        bar.stop();
        summary = runSummary(sim);
        rows = sim.metrics.rows;
        metrics = armMetrics(sim, summary);
      }
      const w = new AtomicDir(dir, String(process.pid));
      try {
        const outputs: Record<string, string> = {};
        const put = (name: string, content: string | Uint8Array): void => { outputs[name] = sha256Bytes(content); w.write(name, content); };
        put('summary.json', toJson(summary));
        put('metrics.json', toJson(metrics));
        put('timeseries.csv', await timeseriesCsv(rows, [id, sc.name, policyLabel(sc), sc.seed, run]));
        if (opts.charts !== false) {
          // loaded only now: vega, vega-lite and resvg stay out of the CLI's start-up
          const { writeRunCharts } = await import('../charts/write.js');
          await writeRunCharts(put, summary, rows, Metrics.COLUMNS, sc, { pdf: opts.pdf === true });
        }
        const { ctsim_version: _v, ...environmentRest } = env;
        w.write('manifest.json', toJson({
          ctsim_version: version,
          id,
          kind: 'run',
          scenario: sc.name,
          scenario_sha256: sha256(resolved),
          seed: sc.seed,
          run,
          policy: policyLabel(sc),
          argv: [...argv],
          scenario_file: src ? { path: src.path, sha256: sha256(src.text), text: src.text } : null,
          sets: [...(src?.sets ?? overridesFrom(opts))],
          policy_modules: modules,
          input_files: files,
          environment: environmentRest,
          charts: opts.charts !== false,
          outputs: Object.fromEntries(Object.entries(outputs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
          resolved: resolvedInput(sc, reg),
          resolved_scenario: sc,
        }));
        w.commit();
        noteWritten(dir);
      } finally {
        w.abort();
      }
      setActivity('');
      if (useStore) await withStore(outRoot, (store) => recordRunDir(store, dir));
      outs.push({ dir, summary, id, reused: false });
    }
  }
  return outs;
}

const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(1)}%`);

/** A short human summary of one run. */
export function formatRunSummary(s: RunSummary, dir: string): string {
  const t = s.table;
  const lines = [
    `${s.scenario} (seed ${s.seed}, run ${s.run}, ${s.duration_s} s simulated) → ${dir}`,
    `  table: max ${t.nf_conntrack_max}, buckets ${t.nf_conntrack_buckets}, peak ${t.peak_count} (${pct(t.peak_fill)}), final ${t.final_count}` +
      (t.first_full_s !== null ? `, full from ${t.first_full_s} s` : ', never full') +
      (t.first_table_full_s !== null ? `, first table-full drop at ${t.first_table_full_s} s` : ''),
    `  conntrack -S (the model's totals, printed as conntrack-tools does, on one CPU):`,
    formatConntrackSLine(s.conntrack_S, 0, s.kernel.version),
  ];
  for (const [cls, o] of Object.entries(s.classes)) {
    lines.push(`  ${cls.padEnd(6)} flows ${o.started} ok ${o.succeeded} failed ${o.failed} unfinished ${o.unfinished.total} (${o.unfinished.admitting} still being admitted) (success ${pct(o.success_rate)}), packets dropped ${o.dropped}/${o.packets}, broken ${o.broken}`);
  }
  // the delays legitimate users feel, per generator that measures them
  const ms = (x: number | null) => (x === null ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
  for (const g of s.generators) {
    if (g.class !== 'legit') continue;
    for (const [what, d] of [['setup', g.setup_time], ['resolution', g.resolution_time], ['completion', g.completion_time]] as const) {
      if (d && d.n > 0) lines.push(`  ${g.label} ${what} time (ms): p50 ${ms(d.p50_ms)} p90 ${ms(d.p90_ms)} p99 ${ms(d.p99_ms)} max ${ms(d.max_ms)} (${d.n} flows)`);
    }
  }
  return lines.join('\n') + '\n';
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run scenario files and write results/<scenario>/s<seed>-r<run>-<hash>/; or re-run a manifest.json')
    .argument('<scenario...>', 'scenario files (YAML or JSON), names of built-in scenarios, or a run\'s manifest.json')
    .option('--no-charts', 'do not write charts/ (Vega-Lite specs, SVG and PNG)')
    .option('--force', 'run again and replace a result whose folder already holds the same inputs\' result')
    .option('--no-store', 'do not record the runs in the results store (results/ctsim.duckdb)')
    .option('--pdf', 'also write every chart as a vector PDF (charts/<name>.pdf, for papers)')
    .addHelpText('after', `
Writes manifest.json, summary.json, metrics.json, timeseries.csv and charts/ (Vega-Lite specs
rendered to SVG and PNG) per run, atomically, into <out>/<scenario>/s<seed>-r<run>-<hash>/, where
<out> is --out or results/ in the current directory and <hash> is a short hash of everything that
determines the result. The same inputs again reuse that folder (and say so) unless --force. Every
run is also recorded in <out>/ctsim.duckdb (see \`ctsim query\`, \`ctsim runs\`).

Given a manifest.json, re-runs that run from the scenario text, overrides and inputs it records,
checks that every output is byte-identical to the recorded hashes, and exits 2 naming what
changed (a policy module, a capture, the ctsim version, the lock file) or which file differs.
Nothing is written unless --out is given.

Examples:
  $ ctsim run scenarios/syn-flood-vs-web.yaml
  $ ctsim run mixed --seed 7 --set sysctl.nf_conntrack_max=65536 --out /tmp/res
  $ ctsim run scenarios/dns-under-load.yaml --json | jq .table
  $ ctsim run results/mixed/s1-r0-0123456789/manifest.json     # reproduce a run byte for byte`)
    .action(async (files: string[], _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<SimOptions>();
      if (files.some(isManifestArg)) {
        if (files.length !== 1) throw new InputError('ctsim run: give one manifest.json at a time (not mixed with scenario files)');
        const { rerunManifest } = await import('./rerun.js');
        await rerunManifest(files[0]!, o);
        return;
      }
      const paths = files.map(resolveScenarioArg);
      const reg = await registriesFor(o.policy ?? [], paths);
      // validate every file before running any, so bad input writes nothing
      const scs = paths.map((f) => loadScenarioFile(f, overridesFrom(o), reg));
      scs.forEach((sc, i) => assertTableFits(sc, paths[i]!));
      const all: RunSummary[] = [];
      for (const [i, sc] of scs.entries()) {
        const src: ScenarioSource = { path: paths[i]!, text: readFileSync(paths[i]!, 'utf8'), sets: overridesFrom(o), policyFiles: o.policy ?? [] };
        for (const r of await runScenario(sc, process.argv.slice(2), o, reg, src)) {
          all.push(r.summary);
          if (!o.json && !o.quiet) process.stdout.write((r.reused ? `reused ${r.id}: this folder already holds the result of the same inputs (--force runs it again)\n` : '') + formatRunSummary(r.summary, r.dir));
        }
      }
      if (o.json) process.stdout.write(toJson(all.length === 1 ? all[0] : all));
    });
}

/** Whether a `ctsim run` argument is a run manifest rather than a scenario. */
export function isManifestArg(a: string): boolean {
  return /(^|[\\/])manifest\.json$/.test(a);
}
