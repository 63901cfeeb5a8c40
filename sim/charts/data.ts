/**
 * The data the charts are drawn from, in one shape for a single run and for a comparison
 * (one "arm" per policy). Pure: converters from what `ctsim run` and `ctsim compare` produce
 * (summary.json + timeseries.csv, comparison.json). No vega here: this module is cheap to load.
 */
import type { ArmSample, Comparison } from '../run/compare.js';
import type { RunSummary } from '../run/summary.js';

export interface MeanCi {
  mean: number | null;
  ci95: number | null;
  n: number;
}

export interface OutcomeFigures {
  started: number;
  succeeded: number;
  failed: number;
  success_rate: number | null;
  broken: number;
  packets: number;
  dropped: number;
  /** Delay histograms and percentiles (summary.json), for generators that record them. */
  setup_time?: DelayFigures;
  resolution_time?: DelayFigures;
  completion_time?: DelayFigures;
}

export interface DelayFigures {
  n: number;
  p50_ms: number | null;
  p90_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
  histogram: { bounds_ms: readonly number[]; counts: readonly number[] };
}

export interface GeneratorFigures extends OutcomeFigures {
  label: string;
  kind: string;
  class: string | undefined;
}

/** One policy's data: a time series and breakdowns of one run, plus stats over runs (compare). */
export interface ChartArm {
  policy: string;
  nf_conntrack_max: number;
  columns: readonly string[];
  rows: readonly (readonly number[])[];
  /** evictions[reason][class | 'total'] */
  evictions: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** lifetimes.bounds_s: bucket upper bounds (the last bucket is open); other keys: class → counts */
  lifetimes: Readonly<Record<string, readonly number[]>>;
  classes: Readonly<Record<string, OutcomeFigures>>;
  generators: readonly GeneratorFigures[];
  /** Comparisons only: mean and 95% CI over runs of the per-run metrics, and the per-run values. */
  stats?: Readonly<Record<string, MeanCi>>;
  perRun?: readonly Readonly<Record<string, number | null>>[];
}

/** A time span when an attack generator was sending (from its `start` and `stop`, clipped to the run). */
export interface AttackWindow {
  label: string;
  start_s: number;
  stop_s: number;
}

/** An operator action of the scenario (docs/model.md §14): a marker on the time axis. */
export interface ActionMark {
  at_s: number;
  label: string;
}

/** The run's time frame: its end (the time axis ends there), its attack windows and its operator actions. */
export interface Timeline {
  end_s: number;
  attacks: AttackWindow[];
  /** Present only when the scenario has actions. */
  actions?: ActionMark[];
}

export interface ChartData {
  kind: 'run' | 'compare';
  /** The run's end and attack windows, when the scenario is known (charts shade the windows). */
  timeline?: Timeline;
  scenario: string;
  seed: number;
  /** Runs behind the stats (1 for a single run). */
  runs: number;
  /** For a single run: its index. */
  run?: number;
  arms: ChartArm[];
}

/** The label of a policy stack as `ctsim compare` writes it (`soft-timeout+keepalive`). */
export function policyLabel(policies: readonly { name: string }[]): string {
  return policies.length === 0 ? 'none' : policies.map((p) => p.name).join('+');
}

/** What {@link timelineOf} reads of a (resolved) scenario: its duration and generators, times in µs. */
export interface ScenarioTimes {
  duration: number;
  traffic: readonly { kind: string; label?: string | undefined; class?: string | undefined; start?: unknown; stop?: unknown }[];
  actions?: readonly { at: unknown; label?: string | undefined; sysctl?: unknown; flush?: unknown; delete?: unknown; ruleset?: unknown }[] | undefined;
}

/** A short marker label for an action: its own label, else what it does. */
function actionMarkLabel(a: NonNullable<ScenarioTimes['actions']>[number]): string {
  if (a.label !== undefined) return a.label;
  if (a.sysctl !== undefined && a.sysctl !== null && typeof a.sysctl === 'object') {
    return Object.entries(a.sysctl as Record<string, unknown>).map(([k, v]) => `${k.replace(/^nf_conntrack_/, '')}=${String(v)}`).join(' ');
  }
  if (a.ruleset !== undefined) return 'nft -f';
  return a.flush !== undefined ? 'conntrack -F' : 'conntrack -D';
}

/**
 * The timeline of a scenario (a validated one, or `resolved_scenario` of a manifest): the run's
 * end and one window per attack-class generator, from its `start` to its `stop` clipped to the
 * run (a generator without `stop`, or one past the end, sends until the end).
 */
export function timelineOf(sc: ScenarioTimes): Timeline {
  const end = sc.duration / 1e6;
  const attacks: AttackWindow[] = [];
  sc.traffic.forEach((g, i) => {
    if (g.class !== 'attack') return;
    const start = typeof g.start === 'number' ? g.start / 1e6 : 0;
    const stop = typeof g.stop === 'number' ? Math.min(end, g.stop / 1e6) : end;
    if (start >= end || stop <= start) return;
    attacks.push({ label: g.label ?? `${g.kind}#${i}`, start_s: start, stop_s: stop });
  });
  const actions = (sc.actions ?? []).filter((a) => typeof a.at === 'number' && a.at / 1e6 <= end)
    .map((a) => ({ at_s: (a.at as number) / 1e6, label: actionMarkLabel(a) }));
  return { end_s: end, attacks, ...(sc.actions !== undefined && actions.length > 0 ? { actions } : {}) };
}

/**
 * Chart data of one run (what `ctsim run` writes: summary.json and the sample rows). With the
 * scenario, the charts shade its attack windows and end the time axis at the run's end.
 */
export function runChartData(s: RunSummary, rows: readonly (readonly number[])[], columns: readonly string[], scenario?: ScenarioTimes): ChartData {
  return {
    kind: 'run',
    ...(scenario ? { timeline: timelineOf(scenario) } : {}),
    scenario: s.scenario,
    seed: s.seed,
    runs: 1,
    run: s.run,
    arms: [{
      policy: policyLabel(s.policies),
      nf_conntrack_max: s.table.nf_conntrack_max,
      columns,
      rows,
      evictions: s.evictions,
      lifetimes: s.lifetimes as unknown as Record<string, number[]>,
      classes: s.classes,
      generators: s.generators,
    }],
  };
}

/** Chart data of a comparison (comparison.json; each arm's `sample` is its run 0); `scenario` as for runChartData. */
export function compareChartData(c: Comparison, scenario?: ScenarioTimes): ChartData {
  return {
    kind: 'compare',
    ...(scenario ? { timeline: timelineOf(scenario) } : {}),
    scenario: c.scenario,
    seed: c.seed,
    runs: c.runs,
    arms: c.arms.map((a) => {
      const s: ArmSample = a.sample;
      return {
        policy: a.label,
        nf_conntrack_max: s.nf_conntrack_max,
        columns: s.columns,
        rows: s.rows,
        evictions: s.evictions,
        lifetimes: s.lifetimes as unknown as Record<string, number[]>,
        classes: s.classes,
        generators: s.generators,
        stats: a.stats,
        perRun: a.perRun,
      };
    }),
  };
}

/** Parses timeseries.csv (numbers only, header first). */
export function parseTimeseriesCsv(text: string): { columns: string[]; rows: number[][] } {
  const lines = text.split(/\r?\n/).filter((l) => l !== '');
  const all = (lines[0] ?? '').split(',');
  // the identifying columns (id, scenario, policy, seed, run) come last and are not numbers
  const n = all.indexOf('id') < 0 ? all.length : all.indexOf('id');
  return { columns: all.slice(0, n), rows: lines.slice(1).map((l) => l.split(',').slice(0, n).map(Number)) };
}
