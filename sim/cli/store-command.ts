import { Command } from 'commander';
import { writeToString } from 'fast-csv';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../io/errors.js';
import { ctsimVersion, packageRoot } from '../io/scenario-files.js';
import { toJson } from '../io/format.js';
import { recordComparisonDir, recordRunDir, recordSweepDir, resultDirs, resultsRoot } from '../store/results.js';
import { environment } from '../store/ids.js';
import { Store, STORE_FILE, type QueryResult } from '../store/store.js';

/** A query result as an aligned text table. */
export function formatTable(r: QueryResult): string {
  const cell = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)))) : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const rows = r.rows.map((row) => row.map(cell));
  const w = r.columns.map((c, i) => Math.max(c.length, ...rows.map((x) => x[i]!.length)));
  const num = r.columns.map((_, i) => r.rows.length > 0 && r.rows.every((row) => row[i] === null || typeof row[i] === 'number'));
  const line = (x: string[]) => x.map((v, i) => (num[i] ? v.padStart(w[i]!) : v.padEnd(w[i]!))).join('  ').trimEnd();
  return [line(r.columns), line(w.map((n) => '-'.repeat(n))), ...rows.map(line), `(${r.rows.length} row${r.rows.length === 1 ? '' : 's'})`].join('\n') + '\n';
}

async function printResult(r: QueryResult, o: { json?: boolean; csv?: boolean }): Promise<void> {
  if (o.json) process.stdout.write(toJson(r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]])))));
  else if (o.csv) process.stdout.write(await writeToString(r.rows.map((row) => row.map((v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v))), { headers: r.columns, includeEndRowDelimiter: true }));
  else process.stdout.write(formatTable(r));
}

async function openExisting(out: string | undefined): Promise<Store> {
  const root = resultsRoot(out);
  if (!existsSync(join(root, STORE_FILE))) throw new InputError(`${join(root, STORE_FILE)}: no results store here (run ctsim run/compare/sweep first, or give --out)`);
  return Store.open(root, { readOnly: true });
}

export const EXAMPLE_QUERY = `SELECT r.policy, r.nf_conntrack_max, count(*) AS runs, avg(m.value) AS success_rate
FROM runs r JOIN metrics m ON m.run_id = r.id AND m.metric = 'legit_success_rate'
GROUP BY ALL ORDER BY ALL`;

export function registerStore(program: Command): void {
  program
    .command('query')
    .description('run one SQL statement on the results store (results/ctsim.duckdb) and print the answer')
    .argument('<sql>', 'a SQL statement (DuckDB dialect)')
    .option('--csv', 'print CSV')
    .addHelpText('after', `
Tables: runs (one row per distinct run: id, kind, scenario, policy, seed, run, nf_conntrack_max,
params, versions, dir, …), metrics (run_id, metric, value: every number of summary.json as
a.b.c, and the comparison metrics such as legit_success_rate), samples (run_id, sample, the
timeseries.csv columns), outcomes (run_id, generator, kind, label, class, metric, value),
evictions (run_id, reason, class, count), latency (run_id, scope, metric, value), comparisons,
comparison_runs, sweeps, sweep_cases. --json prints a list of row objects.

Examples:
  $ ctsim query "${EXAMPLE_QUERY.replace(/\n/g, ' ')}"
  $ ctsim query "SELECT scenario, count(*) FROM runs GROUP BY 1" --csv
  $ ctsim query "SELECT * FROM samples WHERE run_id LIKE 'mixed-s1-r0-%'" --json --out /tmp/res`)
    .action(async (sql: string, o: { csv?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<{ out?: string; json?: boolean }>();
      const store = await openExisting(g.out);
      try {
        await printResult(await store.query(sql), { ...o, ...(g.json ? { json: true } : {}) });
      } finally {
        store.close();
      }
    });

  program
    .command('runs')
    .description('list what the results store holds (runs, comparisons, sweeps); --import records result folders into it')
    .option('--csv', 'print CSV')
    .option('--import <dir>', 'record every run and comparison folder under <dir> into the store (e.g. after moving an old store away)')
    .addHelpText('after', `
Examples:
  $ ctsim runs
  $ ctsim runs --json --out /tmp/res
  $ ctsim runs --import results`)
    .action(async (o: { csv?: boolean; import?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<{ out?: string; json?: boolean; quiet?: boolean }>();
      if (o.import !== undefined) {
        const store = await Store.open(resultsRoot(g.out));
        try {
          if (!existsSync(o.import)) throw new InputError(`${o.import}: results folder not found`);
          const { runs, comparisons, sweeps } = resultDirs(o.import);
          const env = environment(packageRoot(), ctsimVersion());
          for (const d of runs) await recordRunDir(store, d);
          for (const d of comparisons) await recordComparisonDir(store, d);
          for (const d of sweeps) await recordSweepDir(store, d, env);
          if (!g.quiet) process.stdout.write(`recorded ${runs.length} run folder(s), ${comparisons.length} comparison folder(s) and ${sweeps.length} sweep folder(s) from ${o.import} in ${store.path}\n`);
        } finally {
          store.close();
        }
        return;
      }
      const store = await openExisting(g.out);
      try {
        await printResult(await store.query(`SELECT 'run' AS what, id, kind, scenario, policy, seed, run, nf_conntrack_max, dir FROM runs
          UNION ALL SELECT 'comparison', id, NULL, scenario, policies, seed, runs, NULL, dir FROM comparisons
          UNION ALL SELECT 'sweep', id, shard, name, NULL, NULL, cases_total, NULL, dir FROM sweeps
          ORDER BY what, scenario, id`), { ...o, ...(g.json ? { json: true } : {}) });
      } finally {
        store.close();
      }
    });
}
