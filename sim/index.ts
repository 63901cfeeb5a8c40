/**
 * The library API in one import, for notebooks and scripts:
 *
 *   import { scenarioFromYaml, runScenarioInMemory, compare, arms, chartSpecs } from '../sim/index.ts';
 *
 * Everything here is pure (no files written) except `loadScenarioFile`, which reads one.
 * Rendering charts to SVG/PNG lives in `sim/charts/render.ts` (it loads vega; import it separately).
 */
import { POLICIES } from '../policies/index.js';
import { parseArms } from './run/arms.js';
import { REGISTRIES } from './io/scenario-files.js';
import { InputError } from './io/errors.js';
import { Metrics } from './run/metrics.js';
import { Simulation, type Registries } from './run/simulation.js';
import { runSummary, type RunSummary } from './run/summary.js';
import { formatIssue, loadScenario } from './scenario/load.js';
import type { Scenario } from './scenario/scenario.js';

export { REGISTRIES, SCENARIO_REGISTRY, loadScenarioFile } from './io/scenario-files.js';
export { loadScenario } from './scenario/load.js';
export { Simulation, type Registries } from './run/simulation.js';
export { runSummary, type RunSummary } from './run/summary.js';
export { Metrics, LIFETIME_BOUNDS_S } from './run/metrics.js';
export { compare, meanCi, COMPARE_METRICS, type Comparison, type PolicyArm, type CompareMetric } from './run/compare.js';
export { formatComparison } from './run/compare-format.js';
export { parseArms } from './run/arms.js';
export { pairedDiff, type PairedDiff } from './run/paired.js';
export { tQuantileTwoSided } from './core/stats.js';
export type { Scenario } from './scenario/scenario.js';
export { chartSpecs, policyColors, CHART_NAMES, type VlSpec, type ChartName } from './charts/specs.js';
export { compareChartData, runChartData, parseTimeseriesCsv, type ChartData } from './charts/data.js';
export { POLICIES } from '../policies/index.js';
export { GENERATORS } from './traffic/registry.js';

/**
 * A scenario from YAML (or JSON) text, with `--set`-style overrides (`sysctl.nf_conntrack_max=4096`).
 * Invalid input throws an Error listing every issue.
 */
export function scenarioFromYaml(text: string, overrides: readonly string[] = [], name = 'notebook.yaml', reg: Registries = REGISTRIES): Scenario {
  const r = loadScenario(text, name, reg, overrides);
  if (!r.ok) throw new Error(r.issues.map(formatIssue).join('\n'));
  return r.scenario;
}

/** One run of a scenario in memory: its summary and its sample rows (columns `Metrics.COLUMNS`). */
export function runScenarioInMemory(sc: Scenario, run = 0, reg: Registries = REGISTRIES): { summary: RunSummary; columns: readonly string[]; rows: number[][] } {
  const sim = new Simulation(sc, run, reg);
  sim.runToEnd();
  return { summary: runSummary(sim), columns: Metrics.COLUMNS, rows: sim.metrics.rows };
}

/** Policy arms from `kernel,l4-aware,soft-timeout+keepalive` (as `ctsim compare --policies`). */
export function arms(list: string, sc: Scenario) {
  try {
    return parseArms(list, sc, POLICIES);
  } catch (e) {
    if (e instanceof InputError) throw new Error(e.lines.join('\n'));
    throw e;
  }
}
