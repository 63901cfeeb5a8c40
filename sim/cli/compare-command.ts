import { join } from 'node:path';
import { writeToString } from 'fast-csv';
import { Command } from 'commander';
import { POLICIES, type PolicyKind } from '../../policies/index.js';
import { compare, COMPARE_METRICS, type Comparison, type PolicyArm } from '../run/compare.js';
import type { PolicySpec, Scenario } from '../scenario/scenario.js';
import type { Issue } from '../scenario/schema-dsl.js';
import { closest } from '../scenario/suggest.js';
import { ctsimVersion, loadScenarioFile, defaultResultsRoot, registriesFor, resolveScenarioArg, sha256, toJson } from './common.js';
import { InputError } from './errors.js';
import { AtomicDir } from './io.js';
import { assertTableFits } from '../bench/memory-guard.js';
import { overridesFrom, type SimOptions } from './run-command.js';
import { makeCaseProgress, progressMode } from './progress.js';

/**
 * Parses `--policies kernel,l4-aware,soft-timeout+keepalive` into arms. A policy's parameters
 * come from the scenario's `policy_params` entry for it, else its `policies` entry of the same
 * name, else the policy's defaults.
 */
export function parseArms(text: string, sc: Scenario, kinds: Readonly<Record<string, PolicyKind>> = POLICIES): PolicyArm[] {
  const arms: PolicyArm[] = [];
  for (const label of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const policies: PolicySpec[] = [];
    for (const name of label.split('+')) {
      const kind = kinds[name];
      if (!kind) {
        const hint = closest(name, Object.keys(kinds));
        throw new InputError(`--policies: unknown policy "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; known: ${Object.keys(kinds).join(', ')}`);
      }
      const fromScenario = (sc.policy_params as Record<string, PolicySpec | undefined>)[name] ?? sc.policies.find((p) => p.name === name);
      if (fromScenario) { policies.push(fromScenario); continue; }
      const issues: Issue[] = [];
      const v = kind.schema.validate({}, ['policies', name], issues);
      if (issues.length > 0 || v === undefined) {
        throw new InputError(issues.map((i) => `--policies: policy "${name}" needs parameters in the scenario's policies list: ${i.path}: ${i.message}`));
      }
      policies.push({ name, ...(v as object) });
    }
    arms.push({ label, policies });
  }
  if (arms.length === 0) throw new InputError('--policies: expected a comma-separated list of policies, e.g. kernel,l4-aware');
  return arms;
}

const fmt = (x: number | null, digits: number): string => (x === null ? '-' : x.toFixed(digits));

/** The comparison as a terminal table: one row per metric, one column per arm (mean ± 95% CI). */
export function formatComparison(c: Comparison): string {
  const digits: Partial<Record<string, number>> = { legit_success_rate: 4, peak_fill: 3, time_to_first_drop_s: 2, recovery_s: 2 };
  const head = ['metric', ...c.arms.map((a) => a.label)];
  const rows = COMPARE_METRICS.map((m) => [m, ...c.arms.map((a) => {
    const st = a.stats[m];
    const d = digits[m] ?? 0;
    return st.ci95 === null ? fmt(st.mean, d) : `${fmt(st.mean, d)} ± ${fmt(st.ci95, d)}`;
  })]);
  const w = head.map((_, i) => Math.max(...[head, ...rows].map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((x, i) => (i === 0 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ');
  return [`${c.scenario}: ${c.arms.length} policies × ${c.runs} run(s), seed ${c.seed} (identical traffic per run; ± is the 95% CI over runs)`,
    line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n') + '\n';
}

/** comparison.csv: one row per (policy, metric) with mean, 95% CI half-width and n. */
export async function comparisonCsv(c: Comparison): Promise<string> {
  const rows: (string | number | null)[][] = [];
  for (const a of c.arms) for (const m of COMPARE_METRICS) rows.push([a.label, m, a.stats[m].mean, a.stats[m].ci95, a.stats[m].n]);
  return writeToString(rows, { headers: ['policy', 'metric', 'mean', 'ci95', 'n'], includeEndRowDelimiter: true });
}

export async function runCompare(scenarioArg: string, o: SimOptions & { policies: string; runs?: string }): Promise<{ comparison: Comparison; dir: string }> {
  const path = resolveScenarioArg(scenarioArg);
  const reg = await registriesFor(o.policy ?? [], [path]);
  const sc = loadScenarioFile(path, overridesFrom(o), reg);
  assertTableFits(sc, path);
  const arms = parseArms(o.policies, sc, reg.policies);
  const runs = o.runs === undefined ? sc.runs : Number(o.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new InputError(`--runs: expected an integer 1..1000, got "${o.runs}"`);
  const bar = makeCaseProgress(`compare ${sc.name}`, arms.length * runs, progressMode(o));
  let c: Comparison;
  try {
    c = compare(sc, arms, runs, reg, undefined, {
      onTick: (t, end) => bar.tick(t, end),
      onRunDone: (arm, r) => bar.done(`${arm} run ${r + 1}/${runs}`, sc.duration),
    });
  } finally {
    bar.stop();
  }
  const dir = join(o.out ?? defaultResultsRoot(), sc.name, `compare-s${sc.seed}`);
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
      await writeCompareCharts((name, content) => w.write(name, content), c, sc, { pdf: o.pdf === true });
    }
    w.commit();
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
    .option('--pdf', 'also write every chart as a vector PDF (charts/<name>.pdf, for papers)')
    .addHelpText('after', `
Writes results/<scenario>/compare-s<seed>/comparison.{json,csv,txt}, manifest.json and charts/
(Vega-Lite specs rendered to SVG and PNG; charts/overview.png is the one-picture summary). Parameters of a policy come
from the scenario's policy_params (or its policies list), else from the policy's defaults.

Examples:
  $ ctsim compare scenarios/mixed.yaml --policies kernel,l4-aware,soft-timeout,adaptive-timeout,keepalive
  $ ctsim compare mixed --policies kernel,soft-timeout+keepalive --runs 5 --json
  $ ctsim compare syn-flood-vs-web --policies kernel,l4-aware --pdf     # charts also as PDF`)
    .action(async (scenario: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<SimOptions & { policies: string; runs?: string }>();
      const { comparison, dir } = await runCompare(scenario, o);
      if (o.json) process.stdout.write(toJson(comparison));
      else if (!o.quiet) process.stdout.write(formatComparison(comparison) + `→ ${dir}\n`);
    });
}
