import type { PolicySpec, Scenario } from '../scenario/scenario.js';
import { CLASS_LEGIT } from '../conntrack/stats.js';
import { Metrics } from './metrics.js';
import { Simulation, type Registries } from './simulation.js';
import { runSummary, SUCCESS_RATE_DENOMINATOR, type RunSummary } from './summary.js';
import { t95 } from '../core/stats.js';
import { nearestRank, type LatencyRecorder } from '../core/latency.js';
import type { Generator as TrafficGenerator } from '../traffic/generator.js';
import { pairedDiff, runCounters, type PairedDiff } from './paired.js';
import { armScenario, describeVariant, findVariant } from './variants.js';

/**
 * One arm of a comparison: a label, the policies it installs and, for a variant arm, the name of
 * the scenario's variant it runs (sim/run/variants.ts).
 */
export interface PolicyArm {
  label: string;
  policies: PolicySpec[];
  variant?: string;
}

/** The per-run metrics a comparison reports, in column order. */
export const COMPARE_METRICS = [
  'legit_success_rate', 'legit_failed', 'legit_broken', 'legit_dropped_packets', 'attack_entries_admitted',
  'legit_assured_evicted', 'time_to_first_drop_s', 'recovery_s', 'peak_count', 'peak_fill',
  'evicted_early_drop', 'evicted_gc_95', 'evicted_policy', 'evicted_probe', 'evicted_timeout',
  'probe_packets', 'kernel_bytes_peak',
  'legit_never_admitted', 'legit_unfinished_admitting', 'legit_success_rate_ended',
  'legit_setup_p50_ms', 'legit_setup_p90_ms', 'legit_setup_p99_ms', 'legit_setup_max_ms',
  'legit_resolution_p50_ms', 'legit_resolution_p99_ms', 'legit_completion_p50_ms', 'legit_completion_p99_ms',
] as const;
export type CompareMetric = (typeof COMPARE_METRICS)[number];

/**
 * Runs one arm for one run and extracts the comparison metrics. Recovery is the time from the
 * last attack packet until a sample shows the table below 95% of nf_conntrack_max (null when
 * there was no attack, the table never filled, or it did not recover before the end).
 */
export function armRun(sc: Scenario, arm: PolicyArm, run: number, reg: Registries): Record<CompareMetric, number | null> {
  return armRunDetailed(sc, arm, run, reg).metrics;
}

/**
 * What a comparison keeps of one run of an arm beyond its scalar metrics (for charts and the
 * report): the sample rows (columns `Metrics.COLUMNS`) and the summary's evictions, lifetimes,
 * class and generator outcomes. Only run 0 of each arm is kept, so comparison.json stays small.
 */
export interface ArmSample {
  run: number;
  nf_conntrack_max: number;
  sample_interval_s: number;
  columns: string[];
  rows: number[][];
  evictions: RunSummary['evictions'];
  lifetimes: RunSummary['lifetimes'];
  classes: RunSummary['classes'];
  generators: RunSummary['generators'];
  /** Policy (and rule) counters of this run, flattened (see runCounters). */
  counters: Record<string, number>;
}

/** armRun, plus the run's sample (see ArmSample). */
export function armRunDetailed(sc: Scenario, arm: PolicyArm, run: number, reg: Registries,
  progress?: (simUs: number, events: number) => void): { metrics: Record<CompareMetric, number | null>; counters: Record<string, number>; sample: ArmSample } {
  const sim = new Simulation(armScenario(sc, arm), run, reg);
  sim.runToEnd(progress);
  return armResult(sc, sim, run);
}

/**
 * {@link armRunDetailed} in `n` slices of simulated time: yields the time reached after each (so
 * the CLI can yield to the event loop and a signal can stop the run) and returns the same result
 * (slicing cannot change a run; see Simulation.slices).
 */
export function* armRunSlices(sc: Scenario, arm: PolicyArm, run: number, reg: Registries, n = 200):
  Generator<number, ReturnType<typeof armRunDetailed>, void> {
  const sim = new Simulation(armScenario(sc, arm), run, reg);
  for (const t of sim.slices(n)) yield t;
  return armResult(sc, sim, run);
}

function armResult(sc: Scenario, sim: Simulation, run: number): ReturnType<typeof armRunDetailed> {
  const s = runSummary(sim);
  const sample: ArmSample = {
    run,
    nf_conntrack_max: s.table.nf_conntrack_max,
    sample_interval_s: sc.sample_interval / 1e6,
    columns: [...Metrics.COLUMNS],
    rows: sim.metrics.rows.map((r) => [...r]),
    evictions: s.evictions,
    lifetimes: s.lifetimes,
    classes: s.classes,
    generators: s.generators,
    counters: runCounters(s),
  };
  return { metrics: armMetrics(sim, s), counters: sample.counters, sample };
}

/** The comparison metrics of a finished run (also used by `ctsim sweep`). */
export function armMetrics(sim: Simulation, s: RunSummary): Record<CompareMetric, number | null> {
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
  const pct = (pick: (g: TrafficGenerator) => LatencyRecorder | null, p: number) => legitPercentile(sim.gens, pick, p);
  const probes = s.policies.reduce((a, p) => a + (((p as Record<string, unknown>)['probes_sent'] as number | undefined) ?? 0) + (((p as Record<string, unknown>)['probe_answers'] as number | undefined) ?? 0), 0);
  return {
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
    legit_never_admitted: legit?.failed_by.never_admitted ?? 0,
    legit_unfinished_admitting: legit?.unfinished.admitting ?? 0,
    legit_success_rate_ended: legit?.success_rate_ended ?? null,
    legit_setup_p50_ms: pct((g) => g.outcomes.setup, 50),
    legit_setup_p90_ms: pct((g) => g.outcomes.setup, 90),
    legit_setup_p99_ms: pct((g) => g.outcomes.setup, 99),
    legit_setup_max_ms: pct((g) => g.outcomes.setup, 100),
    legit_resolution_p50_ms: pct((g) => g.outcomes.resolve, 50),
    legit_resolution_p99_ms: pct((g) => g.outcomes.resolve, 99),
    legit_completion_p50_ms: pct((g) => g.outcomes.completion, 50),
    legit_completion_p99_ms: pct((g) => g.outcomes.completion, 99),
  };
}

/** A percentile (ms, nearest rank, exact) over the samples of every legitimate generator that records `pick`. */
function legitPercentile(gens: readonly TrafficGenerator[], pick: (g: TrafficGenerator) => LatencyRecorder | null, p: number): number | null {
  const parts: Float64Array[] = [];
  for (const g of gens) { const r = g.cls === CLASS_LEGIT ? pick(g) : null; if (r && r.n > 0) parts.push(r.sorted()); }
  if (parts.length === 0) return null;
  let all = parts[0]!;
  if (parts.length > 1) {
    all = new Float64Array(parts.reduce((a, x) => a + x.length, 0));
    let o = 0;
    for (const x of parts) { all.set(x, o); o += x.length; }
    all.sort();
  }
  const v = nearestRank(all, p);
  return v === null ? null : Math.round(v) / 1000;
}

/** Mean and 95% confidence half-width of the non-null values (exact Student-t quantile, n − 1 df; null for n < 2). */
export function meanCi(xs: readonly (number | null)[]): { mean: number | null; ci95: number | null; n: number } {
  const v = xs.filter((x): x is number => x !== null);
  const n = v.length;
  if (n === 0) return { mean: null, ci95: null, n };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, ci95: null, n };
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const t = t95(n - 1);
  return { mean, ci95: (t * sd) / Math.sqrt(n), n };
}

/** One rule of an arm in a comparison (see Comparison.arms[].rules). */
export interface ArmRule {
  id: number;
  family: string;
  table: string;
  chain: string;
  hook: string;
  line: number;
  text: string;
  packets: ReturnType<typeof meanCi>;
  bytes: ReturnType<typeof meanCi>;
  dropped_legit: ReturnType<typeof meanCi>;
  dropped_attack: ReturnType<typeof meanCi>;
}

export interface Comparison {
  scenario: string;
  seed: number;
  runs: number;
  /** The arm the paired differences are taken from. */
  baseline: string;
  /** How the headline `legit_success_rate` is computed. */
  success_rate_denominator: string;
  arms: {
    label: string;
    /** The scenario variant this arm runs (absent: the scenario itself), and what it overrides. */
    variant?: string;
    overrides?: string[];
    policies: PolicySpec[];
    perRun: Record<CompareMetric, number | null>[];
    stats: Record<CompareMetric, ReturnType<typeof meanCi>>;
    /** Per run: every counter its policies (and rules) report, user policies' included. */
    countersPerRun: Record<string, number>[];
    counterStats: Record<string, ReturnType<typeof meanCi>>;
    /**
     * Per rule of the arm's ruleset (absent without one): where it is, its text, and the mean ±
     * 95% CI over runs of the packets and bytes it matched and the legitimate and attack packets
     * it dropped (a mitigation's collateral damage). The same numbers are in counterStats as
     * `rule.<id>.<counter>`.
     */
    rules?: ArmRule[];
    /** Per metric: this arm − the baseline, paired by run (null for the baseline arm itself). */
    paired: Record<CompareMetric, PairedDiff> | null;
    /** Run 0's time series and breakdowns (charts, report). */
    sample: ArmSample;
  }[];
}

/** Progress of a comparison: `onTick` during each run with the simulated time reached (it cannot change the run), `onRunDone` after it. */
export interface CompareProgress {
  onTick?: (simUs: number, endUs: number) => void;
  onRunDone?: (arm: string, run: number) => void;
}

/**
 * Replays identical traffic through each arm: the same seed and run index give the same
 * generator substreams and hash key, so differences between arms are the policies' alone.
 * `onRun` is called before each (arm, run), `onTick` during it with the simulated time reached
 * (progress; it cannot change the run), `onRunDone` after it.
 */
export function compare(sc: Scenario, arms: readonly PolicyArm[], runs: number, reg: Registries, onRun?: (arm: string, run: number) => void,
  baseline?: string, progress?: CompareProgress): Comparison {
  const steps = compareSteps(sc, arms, runs, reg, baseline, armRunDetailed, progress);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    onRun?.(r.value.arm, r.value.run);
  }
}

/**
 * {@link compare} one run at a time: yields before each run (arm label, run index, the arm) and
 * returns the comparison, so a caller can yield to the event loop in between, or run the arm
 * elsewhere and pass its result to `next()`.
 */
export function* compareSteps(sc: Scenario, arms: readonly PolicyArm[], runs: number, reg: Registries, baseline?: string,
  runArm: typeof armRunDetailed = armRunDetailed, progress?: CompareProgress): Generator<{ arm: string; run: number; spec: PolicyArm }, Comparison, ReturnType<typeof armRunDetailed> | undefined> {
  const base = baseline ?? arms[0]?.label ?? '';
  if (!arms.some((a) => a.label === base)) throw new RangeError(`baseline "${base}" is not one of the arms compared (${arms.map((a) => a.label).join(', ')})`);
  const out: Comparison['arms'] = [];
  for (const arm of arms) {
    const perRun: Record<CompareMetric, number | null>[] = [];
    const countersPerRun: Record<string, number>[] = [];
    let sample: ArmSample | undefined;
    for (let r = 0; r < runs; r++) {
      // the caller may run the arm itself (in the user-policy sandbox) and send the result in
      const given = yield { arm: arm.label, run: r, spec: arm };
      const tick = progress?.onTick;
      const d = given ?? runArm(sc, arm, r, reg, tick ? (t) => tick(t, sc.duration) : undefined);
      progress?.onRunDone?.(arm.label, r);
      perRun.push(d.metrics);
      countersPerRun.push(d.counters);
      if (r === 0) sample = d.sample;
    }
    const stats = Object.fromEntries(COMPARE_METRICS.map((m) => [m, meanCi(perRun.map((x) => x[m]))])) as Record<CompareMetric, ReturnType<typeof meanCi>>;
    const keys = [...new Set(countersPerRun.flatMap((c) => Object.keys(c)))];
    const counterStats = Object.fromEntries(keys.map((k) => [k, meanCi(countersPerRun.map((c) => c[k] ?? null))]));
    const rs = armScenario(sc, arm).ruleset;
    const none = meanCi([]);
    const rules: ArmRule[] | undefined = rs?.rules.map((r) => ({
      id: r.id, family: r.family ?? 'ip', table: r.table, chain: r.chain, hook: r.hook, line: r.line, text: r.text,
      packets: counterStats[`rule.${r.id}.packets`] ?? none,
      bytes: counterStats[`rule.${r.id}.bytes`] ?? none,
      dropped_legit: counterStats[`rule.${r.id}.dropped_legit`] ?? none,
      dropped_attack: counterStats[`rule.${r.id}.dropped_attack`] ?? none,
    }));
    out.push({ label: arm.label, ...(arm.variant !== undefined ? { variant: arm.variant, overrides: describeVariant(findVariant(sc, arm.variant)) } : {}), policies: arm.policies, perRun, stats, countersPerRun, counterStats, ...(rules !== undefined ? { rules } : {}), paired: null, sample: sample! });
  }
  const b = out.find((a) => a.label === base)!;
  for (const a of out) {
    if (a === b) continue;
    a.paired = Object.fromEntries(COMPARE_METRICS.map((m) => [m, pairedDiff(a.perRun.map((x) => x[m]), b.perRun.map((x) => x[m]))])) as Record<CompareMetric, PairedDiff>;
  }
  return { scenario: sc.name, seed: sc.seed, runs, baseline: base, success_rate_denominator: SUCCESS_RATE_DENOMINATOR, arms: out };
}
