import { join } from 'node:path';
import { writeToString } from 'fast-csv';
import { Command } from 'commander';
import { POLICIES, type PolicyKind } from '../../policies/index.js';
import { compare, COMPARE_METRICS, type Comparison, type PolicyArm } from '../run/compare.js';
import type { PolicySpec, Scenario } from '../scenario/scenario.js';
import type { Issue } from '../scenario/schema-dsl.js';
import { closest } from '../scenario/suggest.js';
import { ctsimVersion, loadScenarioFile, packageRoot, registriesFor, resolveScenarioArg, sha256, toJson } from './common.js';
import { InputError } from './errors.js';
import { AtomicDir } from './io.js';
import { assertTableFits } from '../bench/memory-guard.js';
import { overridesFrom, type SimOptions } from './run-command.js';

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

const DIGITS: Partial<Record<string, number>> = { legit_success_rate: 4, legit_success_rate_ended: 4, peak_fill: 3, time_to_first_drop_s: 2, recovery_s: 2 };
const digitsOf = (m: string): number => DIGITS[m] ?? (m.endsWith('_ms') ? 1 : 0);

function table(head: string[], rows: string[][]): string[] {
  const w = head.map((_, i) => Math.max(...[head, ...rows].map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((x, i) => (i === 0 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ');
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)];
}

/**
 * The comparison as terminal tables: metrics (mean ± 95% CI per arm), the paired differences
 * from the baseline arm (mean difference ± 95% CI; `*` where the interval excludes 0), and every
 * policy and rule counter.
 */
export function formatComparison(c: Comparison): string {
  const head = ['metric', ...c.arms.map((a) => a.label)];
  const rows = COMPARE_METRICS.map((m) => [m, ...c.arms.map((a) => {
    const st = a.stats[m];
    const d = digitsOf(m);
    return st.ci95 === null ? fmt(st.mean, d) : `${fmt(st.mean, d)} ± ${fmt(st.ci95, d)}`;
  })]);
  const out = [`${c.scenario}: ${c.arms.length} policies × ${c.runs} run(s), seed ${c.seed} (identical traffic per run; ± is the 95% CI over runs, Student t)`,
    `legit_success_rate = succeeded / (${c.success_rate_denominator}) of legitimate flows; _ms: setup/resolution/completion time percentiles of legitimate flows`,
    ...table(head, rows)];
  const others = c.arms.filter((a) => a.paired !== null);
  if (others.length > 0) {
    const sign = (x: number | null, d: number) => (x === null ? '-' : `${x > 0 ? '+' : ''}${x.toFixed(d)}`);
    const prow = COMPARE_METRICS.map((m) => [m, ...others.map((a) => {
      const p = a.paired![m];
      const d = digitsOf(m);
      if (p.mean_diff === null) return '-';
      return (p.ci95 === null ? sign(p.mean_diff, d) : `${sign(p.mean_diff, d)} ± ${p.ci95.toFixed(d)}`) + (p.significant ? ' *' : '  ');
    })]);
    out.push('', `difference from ${c.baseline}, paired by run (mean ± 95% CI over ${c.runs} run(s); * = interval excludes 0${c.runs < 2 ? '; needs 2+ runs' : ''})`,
      ...table(['metric', ...others.map((a) => `${a.label} − ${c.baseline}`)], prow));
  }
  const keys = [...new Set(c.arms.flatMap((a) => Object.keys(a.counterStats)))].sort();
  if (keys.length > 0) {
    const crow = keys.map((k) => [k, ...c.arms.map((a) => {
      const st = a.counterStats[k];
      if (!st || st.mean === null) return '-';
      return st.ci95 === null ? fmt(st.mean, 0) : `${fmt(st.mean, 0)} ± ${fmt(st.ci95, 0)}`;
    })]);
    out.push('', 'policy and rule counters (mean ± 95% CI over runs)', ...table(['counter', ...c.arms.map((a) => a.label)], crow));
  }
  return out.join('\n') + '\n';
}

/**
 * comparison.csv: one row per (policy, metric) with mean, 95% CI half-width and n, then the
 * paired difference from the baseline (diff, its CI half-width, bounds, significance); policy
 * and rule counters follow as metrics named `policy.<name>.<counter>` (no paired columns).
 */
export async function comparisonCsv(c: Comparison): Promise<string> {
  const rows: (string | number | boolean | null)[][] = [];
  for (const a of c.arms) {
    for (const m of COMPARE_METRICS) {
      const p = a.paired?.[m];
      rows.push([a.label, m, a.stats[m].mean, a.stats[m].ci95, a.stats[m].n, c.baseline,
        p?.mean_diff ?? null, p?.ci95 ?? null, p?.lo ?? null, p?.hi ?? null, p ? p.significant : null]);
    }
    for (const [k, st] of Object.entries(a.counterStats).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
      rows.push([a.label, k, st.mean, st.ci95, st.n, c.baseline, null, null, null, null, null]);
    }
  }
  return writeToString(rows, { headers: ['policy', 'metric', 'mean', 'ci95', 'n', 'baseline', 'diff_mean', 'diff_ci95', 'diff_lo', 'diff_hi', 'diff_significant'], includeEndRowDelimiter: true });
}

export async function runCompare(scenarioArg: string, o: SimOptions & { policies: string; runs?: string; baseline?: string }): Promise<{ comparison: Comparison; dir: string }> {
  const path = resolveScenarioArg(scenarioArg);
  const reg = await registriesFor(o.policy ?? [], [path]);
  const sc = loadScenarioFile(path, overridesFrom(o), reg);
  assertTableFits(sc, path);
  const arms = parseArms(o.policies, sc, reg.policies);
  const runs = o.runs === undefined ? sc.runs : Number(o.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new InputError(`--runs: expected an integer 1..1000, got "${o.runs}"`);
  if (o.baseline !== undefined && !arms.some((a) => a.label === o.baseline)) {
    const hint = closest(o.baseline, arms.map((a) => a.label));
    throw new InputError(`--baseline: "${o.baseline}" is not one of --policies${hint ? ` (did you mean "${hint}"?)` : ''}; expected one of: ${arms.map((a) => a.label).join(', ')}`);
  }
  const c = compare(sc, arms, runs, reg, (arm, r) => {
    if (!o.quiet && !o.json && process.stderr.isTTY) process.stderr.write(`\r${sc.name}: ${arm} run ${r + 1}/${runs}   `);
  }, o.baseline);
  if (!o.quiet && !o.json && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  const dir = join(o.out ?? join(packageRoot(), 'results'), sc.name, `compare-s${sc.seed}`);
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
    .option('--baseline <policy>', 'the arm paired differences are taken from (default: the first in --policies)')
    .option('--no-charts', 'do not write charts/ (Vega-Lite specs, SVG and PNG)')
    .addHelpText('after', `
Every arm sees identical traffic in each run, so besides each arm's mean ± 95% CI the output
gives each arm's difference from the baseline arm, paired by run, with a Student-t 95% interval
(significant when it excludes 0), and every policy's (and rule's) counters.
Writes results/<scenario>/compare-s<seed>/comparison.{json,csv,txt}, manifest.json and charts/
(Vega-Lite specs rendered to SVG and PNG; charts/overview.png is the one-picture summary). Parameters of a policy come
from the scenario's policy_params (or its policies list), else from the policy's defaults.

Examples:
  $ ctsim compare scenarios/mixed.yaml --policies kernel,l4-aware,soft-timeout,adaptive-timeout,keepalive
  $ ctsim compare mixed --policies kernel,soft-timeout+keepalive --runs 5 --json
  $ ctsim compare syn-flood-vs-web --policies none,kernel,lru --baseline kernel --runs 5`)
    .action(async (scenario: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<SimOptions & { policies: string; runs?: string; baseline?: string }>();
      const { comparison, dir } = await runCompare(scenario, o);
      if (o.json) process.stdout.write(toJson(comparison));
      else if (!o.quiet) process.stdout.write(formatComparison(comparison) + `→ ${dir}\n`);
    });
}
