import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolvedInput } from '../scenario/resolved.js';
import { comparisonId, environment, inputFiles, policyModules, runId } from '../store/ids.js';
import { recordComparisonDir, resultsRoot } from '../store/results.js';
import { withStore } from '../store/store.js';
import { Command } from 'commander';
import { armRunSlices, compareSteps, type Comparison } from '../run/compare.js';
import { noteWritten, setActivity, yieldToSignals } from '../io/interrupt.js';
import { sandboxArm, usesUserPolicy } from './sandbox.js';
import { parseCompareArms } from '../run/arms.js';
import { armScenario } from '../run/variants.js';
import { comparisonCsv, formatComparison } from '../run/compare-format.js';
import { ctsimVersion, loadScenarioFile, packageRoot, registriesFor, resolveScenarioArg } from '../io/scenario-files.js';
import { sha256, toJson } from '../io/format.js';
import { InputError } from '../io/errors.js';
import { AtomicDir, resultsPath } from '../io/files.js';
import { assertTableFits } from '../bench/memory-guard.js';
import { overridesFrom, type SimOptions } from './run-command.js';
import { closest } from '../scenario/suggest.js';
import { makeCaseProgress, progressMode } from './progress.js';

export async function runCompare(scenarioArg: string, o: SimOptions & { policies?: string; arms?: string; runs?: string; baseline?: string }): Promise<{ comparison: Comparison; dir: string; id: string; reused: boolean }> {
  const path = resolveScenarioArg(scenarioArg);
  const reg = await registriesFor(o.policy ?? [], [path]);
  const sc = loadScenarioFile(path, overridesFrom(o), reg);
  const arms = parseCompareArms(o, sc, reg.policies);
  // every arm's table must fit (a variant may make it bigger)
  assertTableFits(sc, path);
  for (const a of arms) if (a.variant !== undefined) assertTableFits(armScenario(sc, a), path);
  const runs = o.runs === undefined ? sc.runs : Number(o.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new InputError(`--runs: expected an integer 1..1000, got "${o.runs}"`);
  if (o.baseline !== undefined && !arms.some((a) => a.label === o.baseline)) {
    const hint = closest(o.baseline, arms.map((a) => a.label));
    throw new InputError(`--baseline: "${o.baseline}" is not one of ${o.arms === undefined ? '--policies' : 'the arms (--policies, --arms)'}${hint ? ` (did you mean "${hint}"?)` : ''}; expected one of: ${arms.map((a) => a.label).join(', ')}`);
  }
  const version = ctsimVersion();
  const env = environment(packageRoot(), version);
  const files = inputFiles(sc);
  const modules = policyModules(arms.flatMap((a) => a.policies.map((p) => p.name)), o.policy ?? [], path);
  const id = comparisonId(sc, arms, runs, version, [...modules, ...files], o.baseline ?? arms[0]!.label);
  const root = resultsRoot(o.out);
  const dir = resultsPath(root, sc.name, id.slice(sc.name.length + 1));
  const armRuns = arms.flatMap((a) => {
    const scArm = armScenario(sc, a);
    const mods = policyModules(a.policies.map((p) => p.name), o.policy ?? [], path);
    const armFiles = a.variant === undefined ? files : inputFiles(scArm);
    return Array.from({ length: runs }, (_, r) => ({ policy: a.label, ...(a.variant !== undefined ? { variant: a.variant } : {}), run: r, id: runId(scArm, r, version, [...mods, ...armFiles]) }));
  });
  const useStore = o.store !== false;
  {
    if (!o.force && existsSync(join(dir, 'manifest.json')) && (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { id?: string }).id === id) {
      if (useStore) await withStore(root, (store) => recordComparisonDir(store, dir));
      return { comparison: JSON.parse(readFileSync(join(dir, 'comparison.json'), 'utf8')) as Comparison, dir, id, reused: true };
    }
    setActivity(`the comparison of ${sc.name} (→ ${dir})`);
    const bar = makeCaseProgress(`compare ${sc.name}`, arms.length * runs, progressMode(o));
    let c: Comparison;
    try {
      const steps = compareSteps(sc, arms, runs, reg, o.baseline, undefined, {
        onRunDone: (arm, r) => bar.done(`${arm} run ${r + 1}/${runs}`, sc.duration),
      });
      // a user policy module: each run goes to a worker thread under the hook watchdog
      const sandboxed = arms.some((a) => usesUserPolicy(a.policies.map((p) => p.name)));
      let given: Awaited<ReturnType<typeof sandboxArm>> | undefined;
      let finished = 0;
      for (;;) {
        await yieldToSignals();
        const st = steps.next(given);
        if (st.done) { c = st.value; break; }
        setActivity(`the comparison of ${sc.name} (→ ${dir}; ${finished} of ${arms.length * runs} runs done, ` +
          `${st.value.arm} run ${st.value.run + 1}/${runs} in progress)`);
        if (sandboxed) given = await sandboxArm(sc, st.value.spec, st.value.run, o.policy ?? [], [path]);
        else {
          // in this thread, in slices, yielding to the event loop in between so that a signal
          // stops the run at once rather than when it ends (the result is the same)
          const it = armRunSlices(sc, st.value.spec, st.value.run, reg);
          for (;;) {
            const r = it.next();
            if (r.done) { given = r.value; break; }
            bar.tick(r.value, sc.duration);
            await yieldToSignals();
          }
        }
        finished++;
      }
    } finally {
      bar.stop();
    }
    const w = new AtomicDir(dir, String(process.pid));
    try {
      w.write('comparison.json', toJson(c));
      w.write('comparison.csv', await comparisonCsv(c, id));
      w.write('comparison.txt', formatComparison(c));
      const resolved = toJson(sc);
      const { ctsim_version: _v, ...environmentRest } = env;
      w.write('manifest.json', toJson({
        ctsim_version: version,
        id,
        kind: 'compare',
        scenario: sc.name,
        scenario_sha256: sha256(resolved),
        seed: sc.seed,
        runs,
        policies: arms.map((a) => a.label),
        // the scenario variant each arm runs (variant arms only; `variants:` in the scenario)
        ...(arms.some((a) => a.variant !== undefined) ? { arm_variants: Object.fromEntries(arms.filter((a) => a.variant !== undefined).map((a) => [a.label, a.variant!])) } : {}),
        argv: process.argv.slice(2),
        scenario_file: { path, sha256: sha256(readFileSync(path, 'utf8')), text: readFileSync(path, 'utf8') },
        sets: overridesFrom(o),
        arm_runs: armRuns,
        policy_modules: modules,
        input_files: files,
        environment: environmentRest,
        resolved: resolvedInput(sc, reg),
        resolved_scenario: sc,
      }));
      if (o.charts !== false) {
        // loaded only now: vega, vega-lite and resvg stay out of the CLI's start-up
        const { writeCompareCharts } = await import('../charts/write.js');
        await writeCompareCharts((name, content) => w.write(name, content), c, sc, { pdf: o.pdf === true });
      }
      w.commit();
      noteWritten(dir);
      setActivity('');
    } finally {
      w.abort();
    }
    if (useStore) await withStore(root, (store) => recordComparisonDir(store, dir));
    return { comparison: c, dir, id, reused: false };
  }
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('run identical traffic through several policies or scenario variants (paired by seed and run) and compare outcomes')
    .argument('<scenario>', 'scenario file or built-in scenario name')
    .option('--policies <list>', 'comma-separated policies; join with + to stack, e.g. kernel,l4-aware,soft-timeout+keepalive')
    .option('--arms <list>', 'comma-separated arms after --policies: a variant of the scenario (its variants: list), a policy stack, or VARIANT:POLICIES, e.g. bigger-table,bigger-table:soft-timeout')
    .option('--runs <n>', 'runs per policy (default: the scenario\'s runs)')
    .option('--baseline <arm>', 'the arm paired differences are taken from (default: the first arm)')
    .option('--no-charts', 'do not write charts/ (Vega-Lite specs, SVG and PNG)')
    .option('--force', 'run again and replace a comparison whose folder already holds the same inputs\' result')
    .option('--no-store', 'do not record the comparison in the results store')
    .option('--pdf', 'also write every chart as a vector PDF (charts/<name>.pdf, for papers)')
    .addHelpText('after', `
Every arm sees identical traffic in each run, so besides each arm's mean ± 95% CI the output
gives each arm's difference from the baseline arm, paired by run, with a Student-t 95% interval
(significant when it excludes 0), every policy's counters, and per arm with a ruleset each rule's
packets, bytes and drops by class (legit / attack: a mitigation's collateral damage).
An arm is a policy stack (--policies) or a variant of the scenario (--arms): a variants: entry
overriding its ruleset, sysctl, kernel options or policies, run on the same traffic; --arms
VARIANT:POLICIES runs a variant with another policy stack. Labels name the arms everywhere.
Writes <out>/<scenario>/compare-s<seed>-<hash>/comparison.{json,csv,txt}, manifest.json and charts/
(Vega-Lite specs rendered to SVG and PNG; charts/overview.png is the one-picture summary). Parameters of a policy come
from the scenario's policy_params (or its policies list), else from the policy's defaults.
<hash> covers the scenario, the policies and --runs: another set of policies gets its own folder;
the same inputs again reuse the folder (--force runs them again). Recorded in <out>/ctsim.duckdb.

Examples:
  $ ctsim compare scenarios/mixed.yaml --policies kernel,l4-aware,soft-timeout,adaptive-timeout,keepalive
  $ ctsim compare mixed --policies kernel,soft-timeout+keepalive --runs 5 --json
  $ ctsim compare syn-flood-vs-web --policies none,kernel,lru --baseline kernel --runs 5
  $ ctsim compare syn-flood-vs-web --policies kernel,l4-aware --pdf     # charts also as PDF
  $ ctsim compare mixed --policies kernel,soft-timeout --arms bigger-table,bigger-table:soft-timeout   # policies and variants side by side`)
    .action(async (scenario: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<SimOptions & { policies?: string; arms?: string; runs?: string; baseline?: string }>();
      const { comparison, dir, id, reused } = await runCompare(scenario, o);
      if (o.json) process.stdout.write(toJson(comparison));
      else if (!o.quiet) process.stdout.write((reused ? `reused ${id}: this folder already holds the comparison of the same inputs (--force runs it again)\n` : '') + formatComparison(comparison) + `→ ${dir}\n`);
    });
}
