/**
 * Runs one sweep case: the scenario file loaded with the case's overrides, the case's policy arm,
 * one Simulation for its run index, exactly what `ctsim run` (or one arm of `ctsim compare`) does
 * for it. Nothing is shared between cases, so a case gives the same bytes alone, serially or on
 * any worker of the pool.
 */
import { CLASS_LEGIT } from '../conntrack/stats.js';
import { parseArms } from '../cli/compare-command.js';
import { loadScenarioFile, registriesFor } from '../cli/common.js';
import { COMPARE_METRICS, type CompareMetric } from '../run/compare.js';
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
  metrics: Record<CompareMetric, number | null>;
  summary: RunSummary;
}

/** The comparison metrics of a finished run (the same definitions as `ctsim compare`). */
export function caseMetrics(sim: Simulation, s: RunSummary): Record<CompareMetric, number | null> {
  const legit = s.classes['legit'];
  let firstLegitDrop = -1;
  for (const g of sim.gens) if (g.cls === CLASS_LEGIT && g.outcomes.firstDropUs >= 0 && (firstLegitDrop < 0 || g.outcomes.firstDropUs < firstLegitDrop)) firstLegitDrop = g.outcomes.firstDropUs;
  let recovery: number | null = null;
  if (sim.lastAttackUs >= 0 && sim.ct.peakCount >= sim.ct.max) {
    const lim = 0.95 * sim.ct.max;
    const row = sim.metrics.rows.find((r) => r[0]! * 1e6 >= sim.lastAttackUs && r[1]! < lim);
    if (row) recovery = Math.round((row[0]! - sim.lastAttackUs / 1e6) * 1e6) / 1e6;
  }
  const ev = s.evictions;
  const probes = s.policies.reduce((a, p) => a + (((p as Record<string, unknown>)['probes_sent'] as number | undefined) ?? 0) + (((p as Record<string, unknown>)['probe_answers'] as number | undefined) ?? 0), 0);
  const m: Record<CompareMetric, number | null> = {
    legit_success_rate: legit?.success_rate ?? null,
    legit_failed: legit?.failed ?? 0,
    legit_broken: legit?.broken ?? 0,
    legit_dropped_packets: legit?.dropped ?? 0,
    attack_entries_admitted: s.entries_admitted['attack'] ?? 0,
    legit_assured_evicted: s.assured_evicted['legit'] ?? 0,
    time_to_first_drop_s: firstLegitDrop < 0 ? null : firstLegitDrop / 1e6,
    recovery_s: recovery,
    peak_count: s.table.peak_count,
    peak_fill: s.table.peak_fill,
    evicted_early_drop: ev['early_drop']?.total ?? 0,
    evicted_gc_95: ev['gc_95']?.total ?? 0,
    evicted_policy: ev['policy']?.total ?? 0,
    evicted_probe: ev['probe']?.total ?? 0,
    evicted_timeout: ev['timeout']?.total ?? 0,
    probe_packets: probes,
    kernel_bytes_peak: s.table.kernel_bytes_peak,
  };
  // keep COMPARE_METRICS' order even if it changes upstream
  return Object.fromEntries(COMPARE_METRICS.map((k) => [k, m[k] ?? null])) as Record<CompareMetric, number | null>;
}

/** The scenario of a case with its policy arm applied (throws InputError on bad input). */
export function caseScenario(c: SweepCase, reg: Registries): { sc: Scenario; policy: string } {
  const sc = loadScenarioFile(c.scenarioPath, c.overrides, reg);
  if (c.policy === null) return { sc, policy: sc.policies.map((p) => p.name).join('+') };
  const [arm] = parseArms(c.policy, sc, reg.policies);
  return { sc: { ...sc, policies: arm!.policies }, policy: c.policy };
}

/** Runs one case and returns its result line (JSON, no newline). */
export function runCase(c: SweepCase, key: string, file: string, reg: Registries): string {
  const { sc, policy } = caseScenario(c, reg);
  const sim = new Simulation(sc, c.run, reg);
  sim.runToEnd();
  const summary = runSummary(sim);
  const r: CaseResult = {
    case: c.index, key, scenario: sc.name, file, policy, params: c.params, seed: sc.seed, run: c.run,
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
