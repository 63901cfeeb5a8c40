/**
 * `ctsim regress [--suite FILE] [--update] [--explain]`: regression-check policy and model
 * changes against committed baselines (sim/regress). Exit codes: 0 every case passed (or the
 * baselines were rewritten), 1 a metric regressed, a trajectory fingerprint changed or a
 * baseline is missing, 2 bad input (suite file, scenario, unreadable baseline).
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, Option } from 'commander';
import { DEFAULT_SUITE, loadSuite, runRegress, scenarioPath, type RegressOptions as RunOptions } from '../regress/regress.js';
import { sandboxRegress, usesUserPolicy } from './sandbox.js';
import { finalLine, formatMarkdown, formatText } from '../regress/report.js';
import { collect } from './common.js';
import { packageRoot, registriesFor } from '../io/scenario-files.js';
import { toJson } from '../io/format.js';
import { EXIT_RUN_FAILED, ExitWith } from '../io/errors.js';
import { writeFileAtomic } from '../io/files.js';
import { makeCaseProgress, progressMode, type CaseProgress } from './progress.js';

interface RegressOptions {
  suite?: string;
  update?: boolean;
  explain?: boolean;
  case?: string[];
  markdown?: string;
  policy?: string[];
  json?: boolean;
  quiet?: boolean;
}

export function registerRegress(program: Command): void {
  program
    .command('regress')
    .description('run the regression suite and compare every metric and trajectory fingerprint with the committed baselines')
    .option('--suite <file>', `suite file; baselines are <case>.json next to it (default: ${DEFAULT_SUITE} in the ctsim folder)`)
    .option('--update', 'rewrite the baselines from this code and print what changed')
    .option('--explain', 'for each changed fingerprint, locate the first diverging event window and show the current run\'s events there')
    .addOption(new Option('--case <pattern>', 'only cases whose name matches (* wildcards; repeatable)').argParser(collect))
    .option('--markdown <file>', 'also write the report as Markdown (a pull-request comment) to <file>; "-" prints it instead of the table')
    .addHelpText('after', `
A suite lists (scenario, policies, seed, run) cases and per-metric tolerances (default exact: the
simulator is deterministic). Each case's summary.json is flattened into metrics
(classes.legit.success_rate, conntrack_S.drop, generators.web.failed, …) and compared with
<case>.json; the trajectory fingerprint (a hash over every packet verdict and entry removal)
is compared apart. The last line is "regress: N passed, M failed".

Examples:
  $ ctsim regress                                   # results/baselines/suite.yaml
  $ ctsim regress --explain --markdown report.md    # CI: locate trajectory changes, write a PR comment
  $ ctsim regress --case 'mixed-*' --update         # rewrite some baselines after an intended change

Exit codes: 0 passed (or baselines rewritten), 1 a regression, 2 bad input.`)
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<RegressOptions>();
      const suite = loadSuite(o.suite ?? join(packageRoot(), DEFAULT_SUITE));
      const reg = await registriesFor(o.policy ?? [], suite.cases.map((c) => scenarioPath(suite, c)));
      const mode = progressMode(o);
      let bar: CaseProgress | undefined;
      let report: ReturnType<typeof runRegress>;
      try {
        const ro: RunOptions = {
          update: o.update === true, explain: o.explain === true, only: o.case ?? [], clock: () => performance.now(),
          onCase: (_name, _i, n) => { bar ??= makeCaseProgress('regress', n, mode); },
          onTick: (t, end) => bar?.tick(t, end),
          onCaseDone: (name, _i, _n, simUs) => bar?.done(name, simUs),
        };
        // a user policy module: the suite runs in a worker thread under the hook watchdog (--hook-timeout)
        report = usesUserPolicy(Object.keys(reg.policies))
          ? await sandboxRegress(suite.file, ro, o.policy ?? [], suite.cases.map((c) => scenarioPath(suite, c)))
          : runRegress(suite, reg, ro);
      } finally {
        bar?.stop();
      }
      const mdText = formatMarkdown(report);
      if (o.markdown !== undefined && o.markdown !== '-') writeFileAtomic(o.markdown, mdText);
      if (o.json) process.stdout.write(toJson(report));
      else if (o.markdown === '-') process.stdout.write(`${mdText}\n${finalLine(report)}\n`);
      else process.stdout.write(formatText(report));
      if (report.failed > 0) throw new ExitWith(EXIT_RUN_FAILED);
    });
}
