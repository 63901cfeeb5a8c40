/**
 * Runs one sweep case: the scenario file loaded with the case's overrides, the case's policy arm,
 * one Simulation for its run index, exactly what `ctsim run` (or one arm of `ctsim compare`) does
 * for it. Nothing is shared between cases, so a case gives the same bytes alone, serially or on
 * any worker of the pool.
 */
import { parseArms } from '../run/arms.js';
import { loadScenarioFile, registriesFor } from '../io/scenario-files.js';
import { armMetrics, type CompareMetric } from '../run/compare.js';
import { Simulation, type Registries } from '../run/simulation.js';
import { runSummary, type RunSummary } from '../run/summary.js';
import type { Scenario } from '../scenario/scenario.js';
import type { SweepCase } from './sweep-file.js';

/** What a case needs besides its grid point: how to build registries in this thread. */
export interface CaseEnv {
  /** `--policy FILE` modules (loaded in each worker). */
  policyFiles: readonly string[];
  /** The sweep's scenario files (user policies they name by path are loaded too). */
  scenarioPaths: readonly string[];
}

/** One case's result, written as one JSON line of cases.jsonl. */
export interface CaseResult {
  case: number;
  key: string;
  scenario: string;
  file: string;
  policy: string;
  params: Record<string, unknown>;
  seed: number;
  run: number;
  /** The run id (as in the results store; see sim/store/ids.ts). */
  id?: string;
  metrics: Record<CompareMetric, number | null>;
  summary: RunSummary;
}

/** The comparison metrics of a finished run: exactly `ctsim compare`'s. */
export const caseMetrics = armMetrics;

/** The scenario of a case with its policy arm applied (throws InputError on bad input). */
export function caseScenario(c: SweepCase, reg: Registries): { sc: Scenario; policy: string } {
  const sc = loadScenarioFile(c.scenarioPath, c.overrides, reg);
  if (c.policy === null) return { sc, policy: sc.policies.map((p) => p.name).join('+') };
  const [arm] = parseArms(c.policy, sc, reg.policies);
  return { sc: { ...sc, policies: arm!.policies }, policy: c.policy };
}

/** Runs one case and returns its result line (JSON, no newline). */
export function runCase(c: SweepCase, key: string, file: string, reg: Registries, id?: string): string {
  const { sc, policy } = caseScenario(c, reg);
  const sim = new Simulation(sc, c.run, reg);
  sim.runToEnd();
  const summary = runSummary(sim);
  const r: CaseResult = {
    case: c.index, key, scenario: sc.name, file, policy, params: c.params, seed: sc.seed, run: c.run, ...(id === undefined ? {} : { id }),
    metrics: caseMetrics(sim, summary), summary,
  };
  return JSON.stringify(r);
}

let regCache: { files: string; reg: Promise<Registries> } | undefined;

/** Registries for this thread (built once per set of policy files). */
export function caseRegistries(env: CaseEnv): Promise<Registries> {
  const files = JSON.stringify([env.policyFiles, env.scenarioPaths]);
  if (regCache?.files !== files) regCache = { files, reg: registriesFor(env.policyFiles, env.scenarioPaths) };
  return regCache.reg;
}
