import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { Command } from 'commander';
import { mergeShards, shardDirs, sweepDirName, writeSweepDir } from '../sweep/output.js';
import { parseShard } from '../sweep/shard.js';
import { planDryRun, runSweep, timingReport, type SweepTimings } from '../sweep/sweep.js';
import { writeFileAtomic } from '../io/files.js';
import { threadCpuMs } from '../io/thread-cpu.js';
import { ctsimVersion, packageRoot } from '../io/scenario-files.js';
import { toJson } from '../io/format.js';
import { InputError } from '../io/errors.js';
import { recordSweepDir, resultsRoot } from '../store/results.js';
import { withStore } from '../store/store.js';
import { environment } from '../store/ids.js';
import { overridesFrom, type SimOptions } from './run-command.js';
import { makeCaseProgress, progressMode, type CaseProgress } from './progress.js';

export { estimateTableBytes, checkTableMemory, assertTableFits } from '../bench/memory-guard.js';

function workersOf(v: string | undefined): number {
  if (v === undefined) return Math.max(1, availableParallelism());
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new InputError(`--workers: expected an integer 1..1024, got "${v}"`);
  return n;
}

export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .description('run a grid of scenarios × policies × parameters × seeds on a worker-thread pool, or one shard of it')
    .argument('<sweep.yaml>', 'sweep file')
    .option('--workers <n>', 'worker threads (default: the number of cores; 1 runs in this thread)')
    .option('--max-cases <n>', 'most cases a sweep may expand to (default 100000)')
    .option('--dry-run', 'validate the sweep and every case (and the memory guard), print the plan, run nothing')
    .option('--force', 'run every case even when the results store already holds its run')
    .option('--no-store', 'do not record cases in the results store (and do not resume from it)')
    .option('--shard <i/N>', 'run only shard i of N (cases k with k mod N = i); with just N the index comes from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX')
    .option('--timings <file>', 'write where the wall time went (JSON: each case\'s start and end on its worker, the results-store writes, the phases, the makespan against the sum of case times); the sweep\'s outputs are unchanged')
    .addHelpText('after', `
Writes results/<sweep>/sweep/ (or sweep-shard-<i>-of-<N>/): cases.jsonl (one line per case:
policy, parameters, seed, run, comparison metrics, run summary), cases.csv and sweep.json. The
output is byte-identical whatever the number of workers, and \`ctsim merge\` of all shards is
byte-identical to the whole sweep. Every case is validated (and the memory guard applied for
the number of workers) before any runs. Each finished case is recorded in <out>/ctsim.duckdb by
the main thread; a sweep run again skips the cases whose run the store holds (resume after an
interruption; same bytes), unless --force. \`ctsim report <sweep dir>\` analyses it.

Sweep file:
  name: table-size
  scenarios: [../syn-flood-vs-web.yaml]        # relative to the sweep file, or built-in names
  policies: [kernel, l4-aware, soft-timeout+keepalive]
  parameters:                                   # every combination; keys are --set paths
    sysctl.nf_conntrack_max: [16384, 65536]
    traffic[1].rate: [2000, 8000]
  seeds: { from: 1, count: 3 }                  # or [1, 2, 3]
  runs: 1
  set: { duration: 30s }                        # applied to every case

Examples:
  $ ctsim sweep scenarios/sweeps/table-size.yaml --workers 2
  $ ctsim sweep scenarios/sweeps/table-size.yaml --shard 3/8
  $ SLURM_ARRAY_TASK_ID=3 ctsim sweep scenarios/sweeps/table-size.yaml --shard 8
  $ ctsim merge results/table-size
  $ ctsim sweep scenarios/sweeps/table-size.yaml --workers 2 --timings /tmp/timings.json`)
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<SimOptions & { workers?: string; shard?: string; dryRun?: boolean; timings?: string }>();
      const timings: SweepTimings | undefined = o.timings === undefined ? undefined
        : { clock: () => performance.now(), t0: performance.now(), cases: [], store: [], phases: {} };
      const cpu0 = timings ? { proc: process.cpuUsage(), main: threadCpuMs() } : undefined;
      const storeOpts = { ...(o.force ? { force: true } : {}), ...(o.store === false ? { store: false } : {}) };
      const workers = workersOf(o.workers);
      const shard = o.shard === undefined ? null : parseShard(o.shard);
      const out = resultsRoot(o.out);
      if (o.dryRun) {
        // counted, not expanded: each (scenario, policy, parameters) combination is validated once
        const plan = await planDryRun(file, { out, workers, shard, sets: overridesFrom(o), policyFiles: o.policy ?? [], planOnly: true });
        const head = {
          name: plan.sweep.name, cases_total: plan.casesTotal, cases: plan.cases,
          shard: shard ? { index: shard.index, count: shard.count } : null,
          dir: join(out, plan.sweep.name, sweepDirName(shard)),
        };
        if (o.json) process.stdout.write(toJson({ ...head, keys: Array.from(plan.keys(), ([, k]) => k) }));
        else if (!o.quiet) {
          const shown = 50;
          const lines: string[] = [];
          for (const [i, k] of plan.keys()) { if (lines.length === shown) break; lines.push(`  ${i}: ${k}\n`); }
          process.stdout.write(`sweep ${head.name}: ${head.cases} of ${head.cases_total} cases would run → ${head.dir}\n` + lines.join('') +
            (head.cases > shown ? `  … ${head.cases - shown} more (--json lists every case)\n` : ''));
        }
        return;
      }
      const mode = progressMode(o);
      let bar: CaseProgress | undefined;
      let r: Awaited<ReturnType<typeof runSweep>>;
      try {
        r = await runSweep(file, {
          out, workers, shard, sets: overridesFrom(o), policyFiles: o.policy ?? [], ...storeOpts, ...(timings ? { timings } : {}),
          onProgress: (d, n, key) => { (bar ??= makeCaseProgress('sweep', n, mode)).done(key); },
        });
      } finally {
        bar?.stop();
      }
      if (timings && cpu0 && o.timings !== undefined) {
        // CPU time of the whole process (main thread, workers, the store's threads) and of the main thread alone
        const p = process.cpuUsage(cpu0.proc);
        const main = threadCpuMs();
        const cpu = { process_cpu_ms: Math.round((p.user + p.system) / 1000), main_thread_cpu_ms: main === null || cpu0.main === null ? null : main - cpu0.main };
        writeFileAtomic(o.timings, toJson({ ...timingReport(timings, workers), ...cpu }));
      }
      const info = { dir: r.dir, name: r.manifest.name, cases: r.manifest.cases, resumed: r.resumed, cases_total: r.manifest.cases_total, shard: r.manifest.shard, workers, shard_index_from: shard?.source ?? null };
      if (o.json) process.stdout.write(toJson(info));
      else if (!o.quiet) {
        const sh = shard ? ` (shard ${shard.index}/${shard.count}, index from ${shard.source})` : '';
        process.stdout.write(`sweep ${r.manifest.name}: ${r.manifest.cases} of ${r.manifest.cases_total} cases${sh}${r.resumed > 0 ? ` (${r.resumed} already in the store, not run again)` : ''} on ${Math.min(workers, Math.max(1, r.manifest.cases))} worker(s) → ${r.dir}\n`);
      }
    });
}

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('join the outputs of sweep shards into the whole sweep (results/<sweep>/sweep/)')
    .argument('<dirs...>', 'shard directories, or results/<sweep>/ directories holding sweep-shard-*-of-* directories')
    .addHelpText('after', `
Checks that every shard comes from the same sweep file and that every case is present exactly
once; the merged cases.jsonl, cases.csv and sweep.json are byte-identical to running the whole
sweep at once.

Examples:
  $ ctsim merge results/table-size
  $ ctsim merge /scratch/ctsim/table-size/sweep-shard-*-of-8 --out /scratch/ctsim`)
    .action(async (dirs: string[], _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<SimOptions>();
      const { manifest, lines } = mergeShards(shardDirs(dirs));
      const dir = join(resultsRoot(o.out), manifest.name, sweepDirName(null));
      await writeSweepDir(dir, manifest, lines);
      if (o.store !== false) await withStore(resultsRoot(o.out), (st) => recordSweepDir(st, dir, environment(packageRoot(), ctsimVersion())));
      if (o.json) process.stdout.write(toJson({ dir, name: manifest.name, cases: manifest.cases }));
      else if (!o.quiet) process.stdout.write(`merge ${manifest.name}: ${manifest.cases} cases → ${dir}\n`);
    });
}
