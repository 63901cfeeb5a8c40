import { join, resolve } from 'node:path';
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
    .argument('<results-dir>', 'a run folder (s<seed>-r<run>), a comparison folder (compare-s<seed>), or a folder of them')
    .option('-o, --output <file>', 'where to write the report (default: <results-dir>/report.html)')
    .addHelpText('after', `
The page inlines vega, vega-lite and vega-embed: it works offline and can be attached to a ticket.

Examples:
  $ ctsim start && ctsim report results/mixed/compare-s1
  $ ctsim run scenarios/mixed.yaml && ctsim report results/mixed/s1-r0
  $ ctsim report results/mixed -o /tmp/mixed.html     # every run and comparison of a scenario`)
    .action(async (dir: string, o: { output?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<{ json?: boolean; quiet?: boolean }>();
      const r = await writeReport(dir, o.output);
      if (g.json) process.stdout.write(toJson(r));
      else if (!g.quiet) process.stdout.write(`report of ${r.results.map((x) => x.name).join(', ')} (${r.results.reduce((a, x) => a + x.charts, 0)} charts) → ${r.file}\n`);
    });
}
