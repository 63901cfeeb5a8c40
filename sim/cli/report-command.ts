import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../io/errors.js';
import { resultsRoot, type SweepCaseLine } from '../store/results.js';
import { STORE_FILE, Store, lit } from '../store/store.js';
import { Command } from 'commander';
import { ctsimVersion } from '../io/scenario-files.js';
import { toJson } from '../io/format.js';
import { writeFileAtomic } from '../io/files.js';

export interface ReportOutputs {
  file: string;
  results: { kind: 'run' | 'compare'; name: string; charts: number }[];
}

/**
 * Writes the self-contained HTML report of a results folder (a run, a comparison, or a folder of
 * them) to `<dir>/report.html` or `output`. The report code is loaded only when used.
 */
export async function writeReport(dir: string, output?: string): Promise<ReportOutputs> {
  const [{ loadResults }, { reportHtml, vendorScripts }, { chartSpecs }] = await Promise.all([
    import('../report/load.js'), import('../report/html.js'), import('../charts/specs.js'),
  ]);
  const sections = loadResults(resolve(dir));
  const file = resolve(output ?? join(dir, 'report.html'));
  writeFileAtomic(file, reportHtml(sections, vendorScripts(), { source: dir, ctsimVersion: ctsimVersion() }));
  return {
    file,
    results: sections.map((s) => ({ kind: s.kind, name: s.name, charts: Object.keys(chartSpecs(s.data)).length })),
  };
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write a self-contained HTML report (scenario, metrics, interactive charts) of a results folder')
    .argument('[results-dir]', 'a run folder (s<seed>-r<run>-<hash>), a comparison folder (compare-s<seed>-<hash>), a folder of them, or a sweep folder (results/<sweep>/sweep)')
    .option('-o, --output <file>', 'where to write the report (default: <results-dir>/report.html)')
    .option('--sweep <name>', 'analyse a sweep stored in the results store (its cases as recorded), writing to results/<name>/sweep-report/')
    .option('--baseline <policy>', 'sweeps: the policy paired differences are taken against (default: the first)')
    .addHelpText('after', `
The page inlines vega, vega-lite and vega-embed: it works offline and can be attached to a ticket.

Examples:
  $ ctsim start && ctsim report results/mixed/compare-s1-*/
  $ ctsim run scenarios/mixed.yaml && ctsim report results/mixed/s1-r0-*/
  $ ctsim report results/mixed -o /tmp/mixed.html     # every run and comparison of a scenario
  $ ctsim report results/table-size/sweep --baseline kernel   # sweep analysis: analysis.csv, paired.csv, charts, report.html
  $ ctsim report --sweep table-size                    # the same from the results store`)
    .action(async (dir: string | undefined, o: { output?: string; sweep?: string; baseline?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<{ json?: boolean; quiet?: boolean; out?: string }>();
      if (o.sweep !== undefined || (dir !== undefined && existsSync(join(dir, 'sweep.json')))) {
        const { readSweepLines, writeSweepReport } = await import('../store/sweep-report.js');
        let name: string, lines, where: string;
        if (o.sweep !== undefined) {
          ({ name, lines, where } = await storedSweep(o.sweep, g.out));
        } else {
          ({ name, lines } = readSweepLines(dir!));
          where = dir!;
        }
        const r = await writeSweepReport(where, name, lines, { ...(o.baseline ? { baseline: o.baseline } : {}), ...(o.output ? { output: o.output } : {}) });
        if (g.json) process.stdout.write(toJson(r));
        else if (!g.quiet) process.stdout.write(`sweep ${name}: ${r.cases} cases, ${r.points} parameter point(s), ${r.charts} charts → ${r.file}\n`);
        return;
      }
      if (dir === undefined) throw new InputError('ctsim report: give a results folder or --sweep <name>');
      const r = await writeReport(dir, o.output);
      if (g.json) process.stdout.write(toJson(r));
      else if (!g.quiet) process.stdout.write(`report of ${r.results.map((x) => x.name).join(', ')} (${r.results.reduce((a, x) => a + x.charts, 0)} charts) → ${r.file}\n`);
    });
}

/** A sweep's cases as recorded in the store (its latest recording by name), as result lines. */
async function storedSweep(name: string, out: string | undefined): Promise<{ name: string; lines: SweepCaseLine[]; where: string }> {
  const root = resultsRoot(out);
  if (!existsSync(join(root, STORE_FILE))) throw new InputError(`${join(root, STORE_FILE)}: no results store here`);
  const store = await Store.open(root, { readOnly: true });
  try {
    const sw = await store.rows(`SELECT sweep_sha256 FROM sweeps WHERE name = ${lit(name)} ORDER BY recorded_at DESC LIMIT 1`);
    if (sw.length === 0) {
      const names = (await store.rows('SELECT DISTINCT name FROM sweeps ORDER BY 1')).map((r) => String(r[0]));
      throw new InputError(`--sweep: no sweep named "${name}" in ${store.path}${names.length ? ` (stored: ${names.join(', ')})` : ''}`);
    }
    const rows = await store.rows(`SELECT c.case_index, c.key, c.scenario, c.file, c.policy, c.params, c.seed, c.run, r.metrics_json, r.summary_json
      FROM sweep_cases c JOIN runs r ON r.id = c.run_id WHERE c.sweep_sha256 = ${lit(String(sw[0]![0]))} ORDER BY c.case_index`);
    const lines = rows.map((r) => ({
      case: Number(r[0]), key: String(r[1]), scenario: String(r[2]), file: String(r[3]), policy: String(r[4]),
      params: (typeof r[5] === 'string' ? JSON.parse(r[5]) : r[5]) as Record<string, unknown>, seed: Number(r[6]), run: Number(r[7]),
      metrics: JSON.parse(String(r[8])) as Record<string, number | null>, summary: JSON.parse(String(r[9])) as Record<string, unknown>,
    }));
    const where = join(root, name, 'sweep-report');
    mkdirSync(where, { recursive: true });
    return { name, lines, where };
  } finally {
    store.close();
  }
}
