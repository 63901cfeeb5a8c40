import { join } from 'node:path';
import { writeToString } from 'fast-csv';
import { Command } from 'commander';
import type { Scenario } from '../scenario/scenario.js';
import { Metrics } from '../run/metrics.js';
import { Simulation } from '../run/simulation.js';
import { runSummary, type RunSummary } from '../run/summary.js';
import { ctsimVersion, loadScenarioFile, packageRoot, REGISTRIES, registriesFor, resolveScenarioArg } from '../io/scenario-files.js';
import { sha256, toJson } from '../io/format.js';
import type { Registries } from '../run/simulation.js';
import { AtomicDir, resultsPath } from '../io/files.js';
import { assertTableFits } from '../bench/memory-guard.js';
import { makeProgress } from './progress.js';
import { sandboxRun, usesUserPolicy } from './sandbox.js';
import { noteWritten, setActivity, yieldToSignals } from '../io/interrupt.js';

export interface RunOutputs {
  dir: string;
  summary: RunSummary;
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
}

/** Applies --seed to a loaded scenario (kept as an override so the manifest shows it). */
export function overridesFrom(o: SimOptions): string[] {
  const sets = [...(o.set ?? [])];
  if (o.seed !== undefined) sets.push(`seed=${o.seed}`);
  return sets;
}

/** timeseries.csv of one run (fast-csv; stable column order; final newline). */
export async function timeseriesCsv(rows: number[][]): Promise<string> {
  return writeToString(rows, { headers: [...Metrics.COLUMNS], includeEndRowDelimiter: true });
}

/**
 * Runs every run of a scenario and writes results/<scenario>/s<seed>-r<run>/ atomically.
 * Returns the outputs (for printing and for tests).
 */
export async function runScenario(sc: Scenario, argv: readonly string[], opts: SimOptions, reg: Registries = REGISTRIES,
  scenarioPath?: string): Promise<RunOutputs[]> {
  const sandboxed = usesUserPolicy(sc.policies.map((p) => p.name));
  const outRoot = opts.out ?? join(packageRoot(), 'results');
  const resolved = toJson(sc);
  const outs: RunOutputs[] = [];
  for (let run = 0; run < sc.runs; run++) {
    const dir = resultsPath(outRoot, sc.name, `s${sc.seed}-r${run}`);
    setActivity(`run ${run} of ${sc.name} (→ ${dir})`);
    let summary: RunSummary;
    let rows: number[][];
    if (sandboxed) {
      // a user policy module: the run goes to a worker thread under the hook watchdog
      ({ summary, rows } = await sandboxRun(sc, run, opts.policy ?? [], scenarioPath === undefined ? [] : [scenarioPath]));
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
    }
    const w = new AtomicDir(dir, String(process.pid));
    try {
      w.write('manifest.json', toJson({
        ctsim_version: ctsimVersion(),
        scenario: sc.name,
        scenario_sha256: sha256(resolved),
        seed: sc.seed,
        run,
        argv: [...argv],
        resolved_scenario: sc,
      }));
      w.write('summary.json', toJson(summary));
      w.write('timeseries.csv', await timeseriesCsv(rows));
      if (opts.charts !== false) {
        // loaded only now: vega, vega-lite and resvg stay out of the CLI's start-up
        const { writeRunCharts } = await import('../charts/write.js');
        await writeRunCharts((name, content) => w.write(name, content), summary, rows, Metrics.COLUMNS);
      }
      w.commit();
      noteWritten(dir);
    } finally {
      w.abort();
    }
    setActivity('');
    outs.push({ dir, summary });
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
    `  conntrack -S: ` + Object.entries(s.conntrack_S).filter(([, v]) => v !== 0).map(([k, v]) => `${k}=${v}`).join(' ') || '  conntrack -S: all 0',
  ];
  for (const [cls, o] of Object.entries(s.classes)) {
    lines.push(`  ${cls.padEnd(6)} flows ${o.started} ok ${o.succeeded} failed ${o.failed} (success ${pct(o.success_rate)}), packets dropped ${o.dropped}/${o.packets}, broken ${o.broken}`);
  }
  return lines.join('\n') + '\n';
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run scenario files and write results/<scenario>/s<seed>-r<run>/')
    .argument('<scenario...>', 'scenario files (YAML or JSON), or names of built-in scenarios')
    .option('--no-charts', 'do not write charts/ (Vega-Lite specs, SVG and PNG)')
    .addHelpText('after', `
Writes manifest.json, summary.json, timeseries.csv and charts/ (Vega-Lite specs rendered to SVG
and PNG) per run, atomically. \`ctsim report <dir>\` turns a results folder into an HTML report.

Examples:
  $ ctsim run scenarios/syn-flood-vs-web.yaml
  $ ctsim run mixed --seed 7 --set sysctl.nf_conntrack_max=65536 --out /tmp/res
  $ ctsim run scenarios/dns-under-load.yaml --json | jq .table`)
    .action(async (files: string[], _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<SimOptions>();
      const paths = files.map(resolveScenarioArg);
      const reg = await registriesFor(o.policy ?? [], paths);
      // validate every file before running any, so bad input writes nothing
      const scs = paths.map((f) => loadScenarioFile(f, overridesFrom(o), reg));
      scs.forEach((sc, i) => assertTableFits(sc, paths[i]!));
      const all: RunSummary[] = [];
      for (const sc of scs) {
        for (const r of await runScenario(sc, process.argv.slice(2), o, reg, paths[scs.indexOf(sc)])) {
          all.push(r.summary);
          if (!o.json && !o.quiet) process.stdout.write(formatRunSummary(r.summary, r.dir));
        }
      }
      if (o.json) process.stdout.write(toJson(all.length === 1 ? all[0] : all));
    });
}
