import { join } from 'node:path';
import { Command } from 'commander';
import { compareSteps, type Comparison } from '../run/compare.js';
import { noteWritten, setActivity, yieldToSignals } from '../io/interrupt.js';
import { sandboxArm, usesUserPolicy } from './sandbox.js';
import { parseArms } from '../run/arms.js';
import { comparisonCsv, formatComparison } from '../run/compare-format.js';
import { ctsimVersion, loadScenarioFile, packageRoot, registriesFor, resolveScenarioArg } from '../io/scenario-files.js';
import { sha256, toJson } from '../io/format.js';
import { InputError } from '../io/errors.js';
import { AtomicDir, resultsPath } from '../io/files.js';
import { assertTableFits } from '../bench/memory-guard.js';
import { overridesFrom, type SimOptions } from './run-command.js';

export async function runCompare(scenarioArg: string, o: SimOptions & { policies: string; runs?: string }): Promise<{ comparison: Comparison; dir: string }> {
  const path = resolveScenarioArg(scenarioArg);
  const reg = await registriesFor(o.policy ?? [], [path]);
  const sc = loadScenarioFile(path, overridesFrom(o), reg);
  assertTableFits(sc, path);
  const arms = parseArms(o.policies, sc, reg.policies);
  const runs = o.runs === undefined ? sc.runs : Number(o.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new InputError(`--runs: expected an integer 1..1000, got "${o.runs}"`);
  const dir = resultsPath(o.out ?? join(packageRoot(), 'results'), sc.name, `compare-s${sc.seed}`);
  setActivity(`the comparison of ${sc.name} (→ ${dir})`);
  const steps = compareSteps(sc, arms, runs, reg);
  let c: Comparison;
  const sandboxed = arms.some((a) => usesUserPolicy(a.policies.map((p) => p.name)));
  let given: Awaited<ReturnType<typeof sandboxArm>> | undefined;
  for (;;) {
    await yieldToSignals();
    const st = steps.next(given);
    if (st.done) { c = st.value; break; }
    given = sandboxed ? await sandboxArm(sc, st.value.spec, st.value.run, o.policy ?? [], [path]) : undefined;
    if (!o.quiet && !o.json && process.stderr.isTTY) process.stderr.write(`\r${sc.name}: ${st.value.arm} run ${st.value.run + 1}/${runs}   `);
  }
  if (!o.quiet && !o.json && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  const w = new AtomicDir(dir, String(process.pid));
  try {
    w.write('comparison.json', toJson(c));
    w.write('comparison.csv', await comparisonCsv(c));
    w.write('comparison.txt', formatComparison(c));
    const resolved = toJson(sc);
    w.write('manifest.json', toJson({
      ctsim_version: ctsimVersion(),
      scenario: sc.name,
      scenario_sha256: sha256(resolved),
      seed: sc.seed,
      runs,
      policies: arms.map((a) => a.label),
      argv: process.argv.slice(2),
      resolved_scenario: sc,
    }));
    if (o.charts !== false) {
      // loaded only now: vega, vega-lite and resvg stay out of the CLI's start-up
      const { writeCompareCharts } = await import('../charts/write.js');
      await writeCompareCharts((name, content) => w.write(name, content), c);
    }
    w.commit();
    noteWritten(dir);
    setActivity('');
  } finally {
    w.abort();
  }
  return { comparison: c, dir };
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('run identical traffic through several policies (paired by seed and run) and compare outcomes')
    .argument('<scenario>', 'scenario file or built-in scenario name')
    .requiredOption('--policies <list>', 'comma-separated policies; join with + to stack, e.g. kernel,l4-aware,soft-timeout+keepalive')
    .option('--runs <n>', 'runs per policy (default: the scenario\'s runs)')
    .option('--no-charts', 'do not write charts/ (Vega-Lite specs, SVG and PNG)')
    .addHelpText('after', `
Writes results/<scenario>/compare-s<seed>/comparison.{json,csv,txt}, manifest.json and charts/
(Vega-Lite specs rendered to SVG and PNG; charts/overview.png is the one-picture summary). Parameters of a policy come
from the scenario's policy_params (or its policies list), else from the policy's defaults.

Examples:
  $ ctsim compare scenarios/mixed.yaml --policies kernel,l4-aware,soft-timeout,adaptive-timeout,keepalive
  $ ctsim compare mixed --policies kernel,soft-timeout+keepalive --runs 5 --json`)
    .action(async (scenario: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<SimOptions & { policies: string; runs?: string }>();
      const { comparison, dir } = await runCompare(scenario, o);
      if (o.json) process.stdout.write(toJson(comparison));
      else if (!o.quiet) process.stdout.write(formatComparison(comparison) + `→ ${dir}\n`);
    });
}
