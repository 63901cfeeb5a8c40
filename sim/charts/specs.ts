/**
 * Vega-Lite specs of a run or a comparison: pure functions from ChartData to JSON specs (the
 * data inlined as `values`, so a spec file is self-contained). The same specs are rendered
 * headlessly to SVG/PNG (render.ts) and embedded interactively in the HTML report
 * (`interactive: true` adds legend selection and zoom/pan).
 */
import type { ChartArm, ChartData } from './data.js';

/** A Vega-Lite spec as plain JSON (typed loosely: vega-lite's own types are not needed here). */
export type VlSpec = Record<string, unknown>;

export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** The charts, in the order a report shows them. `overview` exists for comparisons only. */
export const CHART_NAMES = ['overview', 'occupancy', 'drops', 'evictions', 'success-rate', 'broken-flows', 'lifetimes', 'setup-time'] as const;
export type ChartName = (typeof CHART_NAMES)[number];

export interface SpecOptions {
  /** Add interactions (legend selection, zoom and pan on time axes): for the HTML report. */
  interactive?: boolean;
  /** Keep at most this many samples per policy in time series (windows are aggregated). */
  maxPoints?: number;
}

const WIDTH = 640;
const HEIGHT = 300;
const FONT = 'DejaVu Sans';

/** Shared look: one font everywhere (the one the PNG renderer embeds), white background. */
export const CONFIG = {
  font: FONT,
  background: 'white',
  padding: 8,
  title: { fontSize: 15, anchor: 'start', subtitleFontSize: 11, subtitleColor: '#555' },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 220 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  view: { stroke: '#ccc' },
} as const;

const CLASS_COLORS = { domain: ['legit', 'attack', 'none'], range: ['#2b7bba', '#d62728', '#8c8c8c'] };

/** The class colour scale restricted to the classes present (in the fixed order). */
function classScale(present: Iterable<string>) {
  const p = new Set(present);
  const idx = CLASS_COLORS.domain.map((c, i) => [c, i] as const).filter(([c]) => p.has(c));
  return { domain: idx.map(([c]) => c), range: idx.map(([, i]) => CLASS_COLORS.range[i]!) };
}

/** Fixed colours per policy (in the order given), the same in every chart: a Vega-Lite colour scale. */
export function policyColors(policies: readonly string[]): { domain: string[]; range: string[] } {
  const palette = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#eeca3b', '#9d755d', '#ff9da6', '#bab0ac'];
  return { domain: [...policies], range: policies.map((_, i) => palette[i % palette.length]!) };
}

function policyScale(d: ChartData) {
  return policyColors(d.arms.map((a) => a.policy));
}

const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/** A log-scale count axis with ticks and grid lines at powers of ten only. */
function logCountY(values: readonly Record<string, unknown>[], field: string, title: string): VlSpec {
  const max = Math.max(1, ...values.map((v) => Number(v[field]) || 0));
  const ticks: number[] = [];
  for (let p = 1; ticks.length === 0 || ticks[ticks.length - 1]! < max; p *= 10) ticks.push(p);
  return { field, type: 'quantitative', title, stack: null, scale: { type: 'log', domain: [1, ticks[ticks.length - 1]!] }, axis: { format: '~s', values: ticks } };
}

function col(arm: ChartArm, name: string): number {
  const i = arm.columns.indexOf(name);
  if (i < 0) throw new Error(`charts: the sample rows have no column "${name}"`);
  return i;
}

/**
 * Time series rows of one arm, at most `maxPoints`: consecutive samples are merged into windows,
 * keeping the window's end time, its peak count and the sum of its per-interval counters.
 */
function windows(arm: ChartArm, maxPoints: number): { t: number; dt: number; count: number; legitDropped: number; attackDropped: number; drop: number; earlyDrop: number }[] {
  const it = col(arm, 'time_s'), ic = col(arm, 'count'), il = col(arm, 'legit_dropped'), ia = col(arm, 'attack_dropped');
  const id = col(arm, 'drop'), ie = col(arm, 'early_drop');
  const rows = arm.rows;
  const k = Math.max(1, Math.ceil(rows.length / maxPoints));
  const out = [];
  for (let i = 0; i < rows.length; i += k) {
    const end = Math.min(rows.length, i + k);
    let count = 0, ld = 0, ad = 0, dr = 0, ed = 0;
    for (let j = i; j < end; j++) {
      const r = rows[j]!;
      count = Math.max(count, r[ic]!);
      ld += r[il]!; ad += r[ia]!; dr += r[id]!; ed += r[ie]!;
    }
    const t = rows[end - 1]![it]!;
    const t0 = i > 0 ? rows[i - 1]![it]! : rows[0]![it]!;
    out.push({ t, dt: t - t0, count, legitDropped: ld, attackDropped: ad, drop: dr, earlyDrop: ed });
  }
  return out;
}

function subtitle(d: ChartData, extra?: string): string {
  const base = d.kind === 'compare'
    ? `${d.scenario}, seed ${d.seed}: identical traffic through ${d.arms.length} ${d.arms.length === 1 ? 'policy' : 'policies'}` + (d.runs > 1 ? `; time series and breakdowns of run 0 of ${d.runs}` : '')
    : `${d.scenario}, seed ${d.seed}, run ${d.run ?? 0}, policy ${d.arms[0]?.policy ?? '-'}`;
  return extra ? `${base}; ${extra}` : base;
}

function top(d: ChartData, title: string, body: VlSpec, sub?: string): VlSpec {
  return { $schema: VEGA_LITE_SCHEMA, title: { text: title, subtitle: subtitle(d, sub) }, config: CONFIG, ...body };
}

/** A chart body saying there is nothing to show (instead of an empty or broken log axis). */
function emptyBody(message: string): VlSpec {
  return { width: WIDTH - 140, height: 60, data: { values: [{ message }] }, mark: { type: 'text', fontSize: 13, color: '#555' }, encoding: { text: { field: 'message' } } };
}

const legendSelect = (field: string): VlSpec[] => [{ name: `pick_${field}`, select: { type: 'point', fields: [field] }, bind: 'legend' }];
const zoom: VlSpec = { name: 'zoom', select: 'interval', bind: 'scales' };

/** The unit of a time axis chosen by the run's length: s up to 10 min, min up to 5 h, h beyond. */
export function timeUnit(endS: number): { unit: 's' | 'min' | 'h'; div: number } {
  if (endS <= 600) return { unit: 's', div: 1 };
  if (endS <= 5 * 3600) return { unit: 'min', div: 60 };
  return { unit: 'h', div: 3600 };
}

/** The run's end (s): the scenario's duration when known, else the last sample of any arm. */
export function runEndS(d: ChartData): number {
  if (d.timeline) return d.timeline.end_s;
  let end = 0;
  for (const a of d.arms) {
    const it = a.columns.indexOf('time_s');
    const last = a.rows[a.rows.length - 1];
    if (it >= 0 && last) end = Math.max(end, last[it]!);
  }
  return end;
}

/**
 * The x encoding of a time series: field `t` (seconds divided by {@link timeUnit}'s `div`), in
 * the unit fitting the run, from 0 to the run's end exactly (no rounding past it).
 */
export function timeX(d: ChartData, title = 'simulated time'): VlSpec {
  const end = runEndS(d);
  const { unit, div } = timeUnit(end);
  return { field: 't', type: 'quantitative', title: `${title} (${unit})`, scale: { domain: [0, r6(end / div)], nice: false, zero: true } };
}

/** Seconds → the value of field `t` for {@link timeX}. */
export function timeValue(d: ChartData): (s: number) => number {
  const { div } = timeUnit(runEndS(d));
  return (sec) => r6(sec / div);
}

/**
 * Layers shading each attack window (from the attack generators' start and stop) with its label
 * at the bottom, to put under the lines of a time-series chart; none when there is no window.
 * The first layer is named `attack-windows`.
 */
export function attackWindowLayers(d: ChartData): VlSpec[] {
  const w = d.timeline?.attacks ?? [];
  if (w.length === 0) return actionLayers(d);
  const tv = timeValue(d);
  const x = timeX(d);
  const values = w.map((a) => ({ attack: a.label, t0: tv(a.start_s), t1: tv(a.stop_s), from_s: a.start_s, to_s: a.stop_s }));
  // labels at the bottom of the plot (y = 0 on the chart's own linear axis, whatever the layout),
  // stepped up a line for each overlapping neighbour so they do not print over each other
  const near = (x['scale'] as { domain: number[] }).domain[1]! / 8;
  const byStart = values.map((_, i) => i).sort((a, b) => values[a]!.t0 - values[b]!.t0 || a - b);
  const rows = new Array<number>(values.length).fill(0);
  byStart.forEach((i, k) => {
    let row = 0;
    for (let m = 0; m < k; m++) if (values[i]!.t0 - values[byStart[m]!]!.t0 < near) row++;
    rows[i] = row % 3;
  });
  const labels = [0, 1, 2].filter((r) => rows.includes(r)).map((r) => ({
    data: { values: values.filter((_, i) => rows[i] === r) },
    mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 3, dy: -3 - 12 * r, fontSize: 10, color: '#a61c1c' },
    encoding: { x: { ...x, field: 't0' }, y: { datum: 0, type: 'quantitative' }, text: { field: 'attack' } },
  }));
  return [
    {
      name: 'attack-windows',
      data: { values },
      mark: { type: 'rect', color: '#d62728', opacity: 0.09 },
      encoding: { x: { ...x, field: 't0' }, x2: { field: 't1' }, tooltip: [{ field: 'attack', title: 'attack' }, { field: 'from_s', title: 'from (s)' }, { field: 'to_s', title: 'to (s)' }] },
    },
    ...labels,
    ...actionLayers(d),
  ];
}

/**
 * A dashed vertical rule at each operator action (docs/model.md §14) with its label at the top,
 * named `actions`; none when the scenario has no actions.
 */
export function actionLayers(d: ChartData): VlSpec[] {
  const acts = d.timeline?.actions ?? [];
  if (acts.length === 0) return [];
  const tv = timeValue(d);
  const x = timeX(d);
  const values = acts.map((a) => ({ action: a.label, t: tv(a.at_s), at_s: a.at_s }));
  return [
    {
      name: 'actions',
      data: { values },
      mark: { type: 'rule', color: '#1f4e99', strokeDash: [2, 3], strokeWidth: 1.2 },
      encoding: { x: { ...x, field: 't' }, tooltip: [{ field: 'action', title: 'action' }, { field: 'at_s', title: 'at (s)' }] },
    },
    {
      data: { values },
      mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 3, fontSize: 10, color: '#1f4e99', y: 0 },
      encoding: { x: { ...x, field: 't' }, text: { field: 'action' } },
    },
  ];
}

/**
 * A count axis (entries, packets): integer ticks only, and a 0..1 domain when every value is 0
 * (so an all-zero panel gets 0 and 1, never "0.000000").
 */
export function countY(values: readonly Record<string, unknown>[], field: string, title: string): VlSpec {
  const allZero = values.every((v) => !(Number(v[field]) > 0));
  return { field, type: 'quantitative', title, axis: { tickMinStep: 1, format: ',d' }, ...(allZero ? { scale: { domain: [0, 1] } } : {}) };
}

const DASHES = [[1, 0], [7, 3], [2, 2], [9, 3, 2, 3], [4, 4], [1, 3], [12, 4], [6, 2, 2, 2, 2, 2]];

/**
 * Line styles per policy so that coinciding lines stay visible (e.g. several policies at
 * nf_conntrack_max): a dash pattern each (shown in the colour legend) and a stroke width that
 * decreases in policy order, so a later line is drawn inside an earlier one.
 */
export function policyLineStyle(d: ChartData): VlSpec {
  const dom = policyScale(d).domain;
  if (dom.length < 2) return {};
  return {
    strokeDash: { field: 'policy', type: 'nominal', title: 'policy', sort: dom, scale: { domain: dom, range: dom.map((_, i) => DASHES[i % DASHES.length]) } },
    strokeWidth: { field: 'policy', type: 'nominal', title: 'policy', sort: dom, scale: { domain: dom, range: dom.map((_, i) => Math.max(1.2, 3.4 - 0.6 * i)) } },
  };
}

/** Table occupancy over time, one line per policy, nf_conntrack_max marked. */
function occupancyBody(d: ChartData, o: SpecOptions): VlSpec {
  const tv = timeValue(d);
  const values = d.arms.flatMap((a) => windows(a, o.maxPoints ?? 1500).map((w) => ({ policy: a.policy, time_s: w.t, t: tv(w.t), count: w.count })));
  const maxes = [...new Set(d.arms.map((a) => a.nf_conntrack_max))].filter((m) => m > 0).map((m) => ({ max: m, label: `nf_conntrack_max = ${m}` }));
  const line: VlSpec = {
    data: { values },
    mark: { type: 'line', strokeWidth: 1.6, interpolate: 'step-after' },
    encoding: {
      x: timeX(d),
      y: countY(values, 'count', 'conntrack entries'),
      color: { field: 'policy', type: 'nominal', title: 'policy', scale: policyScale(d), sort: policyScale(d).domain },
      ...policyLineStyle(d),
      tooltip: [{ field: 'policy' }, { field: 'time_s', title: 'time (s)' }, { field: 'count', title: 'entries', format: ',' }],
      ...(o.interactive ? { opacity: { condition: { param: 'pick_policy', value: 1 }, value: 0.15 } } : {}),
    },
    ...(o.interactive ? { params: [...legendSelect('policy'), zoom] } : {}),
  };
  const rule: VlSpec = {
    data: { values: maxes },
    mark: { type: 'rule', color: 'black', strokeDash: [6, 4], strokeWidth: 1.2 },
    encoding: { y: { field: 'max', type: 'quantitative' }, tooltip: [{ field: 'label', title: 'limit' }] },
  };
  const text: VlSpec = {
    data: { values: maxes },
    mark: { type: 'text', align: 'left', dx: 4, dy: -7, fontSize: 11, x: 0 },
    encoding: { y: { field: 'max', type: 'quantitative' }, text: { field: 'label' } },
  };
  return { width: WIDTH, height: HEIGHT, layer: [...attackWindowLayers(d), line, rule, text] };
}

/** Packets dropped per second, legitimate and attack (a panel each), one line per policy. */
function dropsBody(d: ChartData, o: SpecOptions): VlSpec {
  const tv = timeValue(d);
  const panel = (cls: 'legit' | 'attack'): VlSpec => {
    const values = d.arms.flatMap((a) => windows(a, o.maxPoints ?? 1500).filter((w) => w.dt > 0).map((w) => (
      { policy: a.policy, time_s: w.t, t: tv(w.t), class: cls, per_s: r6((cls === 'legit' ? w.legitDropped : w.attackDropped) / w.dt) })));
    return {
      width: Math.round(WIDTH / 2) - 20,
      height: HEIGHT - 40,
      title: { text: `${cls} packets dropped`, fontSize: 12, fontWeight: 'normal' },
      layer: [...attackWindowLayers(d), {
        data: { values },
        mark: { type: 'line', strokeWidth: 1.4, interpolate: 'step-after' },
        encoding: {
          x: timeX(d),
          y: countY(values, 'per_s', 'packets dropped per second'),
          color: { field: 'policy', type: 'nominal', title: 'policy', scale: policyScale(d), sort: policyScale(d).domain },
          ...policyLineStyle(d),
          tooltip: [{ field: 'policy' }, { field: 'class' }, { field: 'time_s', title: 'time (s)' }, { field: 'per_s', title: 'dropped/s', format: ',.1f' }],
          ...(o.interactive ? { opacity: { condition: { param: `pick_policy_${cls}`, value: 1 }, value: 0.15 } } : {}),
        },
        ...(o.interactive ? { params: [{ name: `pick_policy_${cls}`, select: { type: 'point', fields: ['policy'] }, bind: 'legend' }] } : {}),
      }],
    };
  };
  return { hconcat: [panel('legit'), panel('attack')], spacing: 24, resolve: { scale: { y: 'independent' } } };
}

/** Legitimate packets dropped per second, one line per policy (the overview's second panel). */
function legitDropsBody(d: ChartData, o: SpecOptions): VlSpec {
  const tv = timeValue(d);
  const values = d.arms.flatMap((a) => windows(a, o.maxPoints ?? 1500).filter((w) => w.dt > 0)
    .map((w) => ({ policy: a.policy, time_s: w.t, t: tv(w.t), per_s: r6(w.legitDropped / w.dt) })));
  return {
    layer: [...attackWindowLayers(d), {
      data: { values },
      mark: { type: 'line', strokeWidth: 1.6, interpolate: 'step-after' },
      encoding: {
        x: timeX(d),
        y: countY(values, 'per_s', 'legitimate packets dropped per second'),
        color: { field: 'policy', type: 'nominal', title: 'policy', scale: policyScale(d), sort: policyScale(d).domain },
        ...policyLineStyle(d),
        tooltip: [{ field: 'policy' }, { field: 'time_s', title: 'time (s)' }, { field: 'per_s', title: 'dropped/s', format: ',.1f' }],
      },
    }],
  };
}

const REASON_ORDER = ['timeout', 'early_drop', 'gc_95', 'tcp_rst', 'tcp_reopen', 'policy', 'probe', 'flush'];

/** Entries removed, by reason: per class (run) or per policy (compare; classes in the tooltip). Log axis. */
function evictionsBody(d: ChartData, o: SpecOptions): VlSpec {
  const single = d.arms.length === 1;
  const values: Record<string, string | number>[] = [];
  for (const a of d.arms) {
    for (const reason of Object.keys(a.evictions).sort((x, y) => REASON_ORDER.indexOf(x) - REASON_ORDER.indexOf(y))) {
      const e = a.evictions[reason]!;
      const total = e['total'] ?? 0;
      const perClass = { legit: e['legit'] ?? 0, attack: e['attack'] ?? 0, none: e['none'] ?? 0 };
      if (single) {
        for (const [cls, n] of Object.entries(perClass)) if (n > 0) values.push({ policy: a.policy, reason, class: cls, entries: n, reason_total: total });
      } else if (total > 0) {
        values.push({ policy: a.policy, reason, entries: total, legit: perClass.legit, attack: perClass.attack });
      }
    }
  }
  if (values.length === 0) return emptyBody('no entry left the table during the run');
  const reasons = REASON_ORDER.filter((r) => values.some((v) => v['reason'] === r));
  const y = logCountY(values, 'entries', 'entries removed (log scale)');
  const x = { field: 'reason', type: 'nominal', title: 'why the entry left the table', sort: reasons, axis: { labelAngle: 0 } };
  if (single) {
    return {
      width: WIDTH - 140,
      height: HEIGHT,
      data: { values },
      mark: { type: 'bar' },
      encoding: {
        x, y,
        xOffset: { field: 'class', type: 'nominal', sort: CLASS_COLORS.domain },
        color: { field: 'class', type: 'nominal', title: 'class', scale: classScale(values.map((v) => String(v['class']))) },
        tooltip: [{ field: 'reason' }, { field: 'class' }, { field: 'entries', format: ',' }, { field: 'reason_total', title: 'all classes', format: ',' }],
      },
    };
  }
  return {
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      x, y,
      xOffset: { field: 'policy', type: 'nominal', sort: policyScale(d).domain },
      color: { field: 'policy', type: 'nominal', title: 'policy', scale: policyScale(d), sort: policyScale(d).domain },
      tooltip: [{ field: 'policy' }, { field: 'reason' }, { field: 'entries', title: 'entries', format: ',' }, { field: 'legit', format: ',' }, { field: 'attack', format: ',' }],
      ...(o.interactive ? { fillOpacity: { condition: { param: 'pick_policy', value: 1 }, value: 0.2 } } : {}),
    },
    ...(o.interactive ? { params: legendSelect('policy') } : {}),
  };
}

/** Interval bounds, clamped to [0, 1] for rates. */
function ciRow(policy: string, st: { mean: number | null; ci95: number | null; n: number } | undefined, clamp01: boolean) {
  const mean = st?.mean ?? null;
  const h = st?.ci95 ?? null;
  const lo = mean === null || h === null ? mean : clamp01 ? Math.max(0, mean - h) : mean - h;
  const hi = mean === null || h === null ? mean : clamp01 ? Math.min(1, mean + h) : mean + h;
  return { policy, mean, lo, hi, ci95: h, n: st?.n ?? 0 };
}

/** Success rates all above this are shown as failure rates on a log axis. */
export const FAILURE_LOG_ABOVE = 0.95;

/**
 * When every success rate (means, interval bounds, per-run values) is above 95%, the failure
 * rate 1 − success on a log axis shows the differences and intervals that a 0..100% axis
 * crushes against its edge. Zero failures are drawn at the axis floor (a third of the smallest
 * non-zero failure rate, or 1e-5), named in the tooltip. Undefined when a rate is ≤ 95%.
 */
export function failureScale(stats: readonly { mean: number | null; lo: number | null; hi: number | null }[], runs: readonly number[]): { floor: number; top: number } | undefined {
  const all = [...stats.flatMap((s) => [s.mean, s.lo, s.hi]).filter((x): x is number => x !== null), ...runs];
  if (all.length === 0 || all.some((x) => x <= FAILURE_LOG_ABOVE)) return undefined;
  const fails = all.map((x) => 1 - x).filter((f) => f > 1e-12);
  const minF = fails.length > 0 ? Math.min(...fails) : 1e-4;
  const pow = (e: number): number => Number((10 ** e).toPrecision(1));
  const floor = pow(Math.floor(Math.log10(minF / 3)));
  const top = pow(Math.ceil(Math.log10(Math.max(...fails, floor * 10))));
  return { floor: Math.max(floor, 1e-9), top: Math.min(1, top) };
}

function failureBody(d: ChartData, stats: ReturnType<typeof ciRow>[], points: { policy: string; run: number; value: number | null }[], sc: { floor: number; top: number }): VlSpec {
  const f = (x: number | null): number | null => (x === null ? null : Math.max(sc.floor, r6(1 - x) || 0));
  const rows = stats.map((s) => ({ policy: s.policy, fail: f(s.mean), fail_lo: f(s.hi), fail_hi: f(s.lo), mean: s.mean, ci95: s.ci95, n: s.n,
    zero: s.mean === 1 ? 'no failure (drawn at the axis floor)' : '' }));
  const pts = points.map((p) => ({ ...p, fail: f(p.value) }));
  const enc = { y: { field: 'policy', type: 'nominal', title: null, sort: policyScale(d).domain } };
  const ticks: number[] = [];
  for (let v = sc.floor; v <= sc.top * 1.0001; v *= 10) ticks.push(Number(v.toPrecision(1)));
  const xScale = { type: 'log', domain: [sc.floor, sc.top] };
  const color = { field: 'policy', type: 'nominal', scale: policyScale(d), legend: null };
  const tooltip = [{ field: 'policy' }, { field: 'fail', title: 'failure rate (1 − success)', format: '.3~%' }, { field: 'mean', title: 'success rate', format: '.3%' },
    { field: 'ci95', title: '95% CI ±', format: '.3%' }, { field: 'n', title: 'runs' }, { field: 'zero', title: 'note' }];
  return {
    width: Math.round(WIDTH / 2) - 30,
    height: 28 * d.arms.length + 20,
    layer: [
      { data: { values: rows.filter((r) => r.fail_lo !== null) }, mark: { type: 'rule', strokeWidth: 2 },
        encoding: { ...enc, x: { field: 'fail_lo', type: 'quantitative', scale: xScale }, x2: { field: 'fail_hi' }, color, tooltip } },
      ...(d.runs > 1 ? [{ data: { values: pts }, mark: { type: 'tick', thickness: 1, opacity: 0.6, size: 12 },
        encoding: { ...enc, x: { field: 'fail', type: 'quantitative', scale: xScale }, color,
          tooltip: [{ field: 'policy' }, { field: 'run' }, { field: 'fail', title: 'failure rate', format: '.3~%' }] } }] : []),
      { data: { values: rows.filter((r) => r.mean === 1) }, mark: { type: 'text', align: 'left', dx: 8, fontSize: 11, color: '#555' },
        encoding: { ...enc, x: { field: 'fail', type: 'quantitative', scale: xScale }, text: { value: 'no failure' } } },
      { data: { values: rows }, mark: { type: 'point', filled: true, size: 70 },
        encoding: { ...enc, color, tooltip,
          x: { field: 'fail', type: 'quantitative', scale: xScale, axis: { values: ticks, format: '~%' },
            title: d.runs > 1 ? `legitimate failure rate, 1 − success (log; mean, 95% CI over ${d.runs} runs)` : 'legitimate failure rate, 1 − success (log scale; 1 run)' } } },
    ],
  };
}

/** Legitimate success rate: per policy with 95% CI (compare), per legitimate generator (run). */
function successBody(d: ChartData, o: SpecOptions): VlSpec {
  if (d.kind === 'run') {
    const a = d.arms[0]!;
    const values = a.generators.filter((g) => g.class === 'legit' && g.success_rate !== null)
      .map((g) => ({ generator: g.label, kind: g.kind, success_rate: g.success_rate, started: g.started, succeeded: g.succeeded, failed: g.failed }));
    const all = a.classes['legit'];
    const fs = failureScale(values.map((v) => ({ mean: v.success_rate, lo: null, hi: null })), all && all.success_rate !== null ? [all.success_rate] : []);
    if (fs) {
      // every generator above 95%: failure rate per generator on a log axis, bars from its floor
      const rows = values.map((v) => ({ ...v, fail: Math.max(fs.floor, r6(1 - (v.success_rate ?? 1))), zero: v.failed === 0 ? 'no failure (drawn at the axis floor)' : '' }));
      const ticks: number[] = [];
      for (let v = fs.floor; v <= fs.top * 1.0001; v *= 10) ticks.push(Number(v.toPrecision(1)));
      const xs = { type: 'log', domain: [fs.floor, fs.top] };
      return {
        width: WIDTH - 140,
        height: HEIGHT - 60,
        layer: [{
          data: { values: rows },
          mark: { type: 'bar', color: '#2b7bba' },
          encoding: {
            y: { field: 'generator', type: 'nominal', title: 'legitimate generator', sort: null },
            x: { field: 'fail', type: 'quantitative', title: 'failure rate, 1 − success (log scale; all generators above 95% success)', scale: xs, axis: { values: ticks, format: '~%' } },
            x2: { datum: fs.floor },
            tooltip: [{ field: 'generator' }, { field: 'kind' }, { field: 'fail', title: 'failure rate', format: '.3~%' }, { field: 'success_rate', format: '.3%' }, { field: 'started', format: ',' }, { field: 'failed', format: ',' }, { field: 'zero', title: 'note' }],
          },
        }, {
          data: { values: rows.filter((r) => r.failed === 0) },
          mark: { type: 'text', align: 'left', dx: 4, fontSize: 11, color: '#555' },
          encoding: { y: { field: 'generator', type: 'nominal', sort: null }, x: { datum: fs.floor, type: 'quantitative', scale: xs }, text: { value: 'no failure' } },
        }, ...(all && all.success_rate !== null ? [{
          data: { values: [{ all: Math.max(fs.floor, r6(1 - all.success_rate)), label: `all legitimate: ${((1 - all.success_rate) * 100).toFixed(3)}% failed` }] },
          mark: { type: 'rule', color: 'black', strokeDash: [5, 3] },
          encoding: { x: { field: 'all', type: 'quantitative', scale: xs }, tooltip: [{ field: 'label' }] },
        }] : [])],
      };
    }
    return {
      width: WIDTH - 140,
      height: HEIGHT - 60,
      layer: [{
        data: { values },
        mark: { type: 'bar', color: '#2b7bba' },
        encoding: {
          y: { field: 'generator', type: 'nominal', title: 'legitimate generator', sort: null },
          x: { field: 'success_rate', type: 'quantitative', title: 'success rate (succeeded / ended flows)', scale: { domain: [0, 1] }, axis: { format: '%' } },
          tooltip: [{ field: 'generator' }, { field: 'kind' }, { field: 'success_rate', format: '.2%' }, { field: 'started', format: ',' }, { field: 'succeeded', format: ',' }, { field: 'failed', format: ',' }],
        },
      }, ...(all && all.success_rate !== null ? [{
        data: { values: [{ all: all.success_rate, label: `all legitimate: ${(all.success_rate * 100).toFixed(2)}%` }] },
        mark: { type: 'rule', color: 'black', strokeDash: [5, 3] },
        encoding: { x: { field: 'all', type: 'quantitative' }, tooltip: [{ field: 'label' }] },
      }] : [])],
    };
  }
  const stats = d.arms.map((a) => ciRow(a.policy, a.stats?.['legit_success_rate'], true));
  const points = d.arms.flatMap((a) => (a.perRun ?? []).map((r, run) => ({ policy: a.policy, run, value: r['legit_success_rate'] ?? null }))).filter((p) => p.value !== null);
  const failure = failureScale(stats, points.map((p) => p.value!));
  if (failure) return failureBody(d, stats, points, failure);
  const means = stats.filter((s) => s.mean !== null).map((s) => s.mean!);
  const lows = stats.filter((s) => s.lo !== null).map((s) => s.lo!);
  const lo = Math.max(0, Math.min(1, ...lows, ...means, ...points.map((p) => p.value!)) - 0.02);
  const enc = { y: { field: 'policy', type: 'nominal', title: null, sort: policyScale(d).domain } };
  const xScale = { domain: [Math.floor(lo * 100) / 100, 1] };
  const tooltip = [{ field: 'policy' }, { field: 'mean', title: 'mean', format: '.3%' }, { field: 'ci95', title: '95% CI ±', format: '.3%' }, { field: 'n', title: 'runs' }];
  return {
    width: Math.round(WIDTH / 2) - 30,
    height: 28 * d.arms.length + 20,
    layer: [
      {
        data: { values: stats },
        mark: { type: 'rule', strokeWidth: 2 },
        encoding: { ...enc, x: { field: 'lo', type: 'quantitative', scale: xScale }, x2: { field: 'hi' }, color: { field: 'policy', type: 'nominal', scale: policyScale(d), legend: null }, tooltip },
      },
      ...(d.runs > 1 ? [{
        data: { values: points },
        mark: { type: 'tick', thickness: 1, opacity: 0.6, size: 12 },
        encoding: { ...enc, x: { field: 'value', type: 'quantitative', scale: xScale }, color: { field: 'policy', type: 'nominal', scale: policyScale(d), legend: null },
          tooltip: [{ field: 'policy' }, { field: 'run' }, { field: 'value', title: 'success rate', format: '.3%' }] },
      }] : []),
      {
        data: { values: stats },
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          ...enc,
          x: { field: 'mean', type: 'quantitative', title: d.runs > 1 ? `legitimate success rate (mean, 95% CI over ${d.runs} runs)` : 'legitimate success rate (1 run: no interval)',
            scale: xScale, axis: { format: '%' } },
          color: { field: 'policy', type: 'nominal', scale: policyScale(d), legend: null },
          tooltip,
        },
      },
    ],
  };
}

/** Broken NAT flows (a packet of an established flow found no entry): per policy (compare), per generator (run). */
function brokenBody(d: ChartData, o: SpecOptions): VlSpec {
  void o;
  if (d.kind === 'run') {
    const a = d.arms[0]!;
    const values = a.generators.filter((g) => g.class === 'legit').map((g) => ({ generator: g.label, kind: g.kind, broken: g.broken, started: g.started }));
    return {
      width: WIDTH - 140,
      height: HEIGHT - 60,
      data: { values },
      mark: { type: 'bar', color: '#9467bd' },
      encoding: {
        y: { field: 'generator', type: 'nominal', title: 'legitimate generator', sort: null },
        x: countY(values, 'broken', 'broken flows (established flow found no entry)'),
        tooltip: [{ field: 'generator' }, { field: 'kind' }, { field: 'broken', format: ',' }, { field: 'started', title: 'flows started', format: ',' }],
      },
    };
  }
  const stats = d.arms.map((a) => ciRow(a.policy, a.stats?.['legit_broken'], false)).map((s) => ({ ...s, lo: s.lo === null ? null : Math.max(0, s.lo) }));
  const enc = { y: { field: 'policy', type: 'nominal', title: null, sort: policyScale(d).domain } };
  const tooltip = [{ field: 'policy' }, { field: 'mean', title: 'broken flows (mean)', format: ',.1f' }, { field: 'ci95', title: '95% CI ±', format: ',.1f' }, { field: 'n', title: 'runs' }];
  return {
    width: Math.round(WIDTH / 2) - 30,
    height: 28 * d.arms.length + 20,
    layer: [
      {
        data: { values: stats },
        mark: { type: 'bar', opacity: 0.85 },
        encoding: { ...enc, x: { ...countY(stats.map((x) => ({ v: Math.max(x.mean ?? 0, x.hi ?? 0) })), 'v', d.runs > 1 ? `broken legitimate flows (mean, 95% CI, ${d.runs} runs)` : 'broken legitimate flows (1 run)'), field: 'mean' },
          color: { field: 'policy', type: 'nominal', scale: policyScale(d), legend: null }, tooltip },
      },
      ...(d.runs > 1 ? [{
        data: { values: stats.filter((s) => s.ci95 !== null) },
        mark: { type: 'rule', color: 'black' },
        encoding: { ...enc, x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' }, tooltip },
      }] : []),
    ],
  };
}

function bucketLabels(bounds: readonly number[]): string[] {
  const fmt = (s: number): string => (s >= 86400 && s % 86400 === 0 ? `${s / 86400} d` : s >= 3600 && s % 3600 === 0 ? `${s / 3600} h` : s >= 60 && s % 60 === 0 ? `${s / 60} min` : `${s} s`);
  const out = bounds.map((b, i) => (i === 0 ? `≤ ${fmt(b)}` : `${fmt(bounds[i - 1]!)}–${fmt(b)}`));
  out.push(`> ${fmt(bounds[bounds.length - 1]!)}`);
  return out;
}

/**
 * The delays legitimate users feel: connection setup time (first SYN to established, SYN retries
 * at 1, 3, 7 s show as bumps) and DNS resolution time, as the share of flows per log-scale bucket
 * (bucket upper bound, ms), per policy (compare: run 0, legitimate generators merged) or per
 * generator (run). The legend gives p50/p90/p99.
 */
function setupTimeBody(d: ChartData, o: SpecOptions): VlSpec {
  type Row = { series: string; what: string; bound_ms: number; share: number; count: number };
  const values: Row[] = [];
  const add = (series: string, what: string, figs: readonly (import('./data.js').DelayFigures | undefined)[]) => {
    const hs = figs.filter((f): f is import('./data.js').DelayFigures => f !== undefined && f.n > 0);
    if (hs.length === 0) return;
    const bounds = hs[0]!.histogram.bounds_ms;
    const counts = bounds.map((_, i) => hs.reduce((a, h) => a + (h.histogram.counts[i] ?? 0), 0));
    const open = hs.reduce((a, h) => a + (h.histogram.counts[bounds.length] ?? 0), 0);
    const n = hs.reduce((a, h) => a + h.n, 0);
    const ms = (x: number | null) => (x === null ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
    const p = d.kind === 'run' && hs.length === 1 ? ` (p50 ${ms(hs[0]!.p50_ms)}, p90 ${ms(hs[0]!.p90_ms)}, p99 ${ms(hs[0]!.p99_ms)} ms)` : '';
    counts.forEach((c, i) => { if (c > 0) values.push({ series: series + p, what, bound_ms: bounds[i]!, share: r6(c / n), count: c }); });
    if (open > 0) values.push({ series: series + p, what, bound_ms: bounds[bounds.length - 1]! * 10, share: r6(open / n), count: open });
  };
  for (const a of d.arms) {
    const legit = a.generators.filter((g) => g.class === 'legit');
    if (d.kind === 'compare') {
      add(a.policy, 'connection setup', legit.map((g) => g.setup_time));
      add(a.policy, 'DNS resolution', legit.map((g) => g.resolution_time));
    } else {
      for (const g of legit) {
        add(g.label, 'connection setup', [g.setup_time]);
        add(g.label, 'DNS resolution', [g.resolution_time]);
      }
    }
  }
  if (values.length === 0) return emptyBody('no legitimate connection set up or name resolved');
  const color = d.kind === 'compare'
    ? { field: 'series', type: 'nominal', title: 'policy', scale: policyScale(d) }
    : { field: 'series', type: 'nominal', title: 'generator', legend: { labelLimit: 400 } };
  void o;
  return {
    data: { values },
    facet: { row: { field: 'what', type: 'nominal', title: null, header: { labelAngle: 0, labelAlign: 'left' } } },
    spec: {
      width: WIDTH - 140,
      height: 160,
      mark: { type: 'line', point: true, interpolate: 'step-before' },
      encoding: {
        x: { field: 'bound_ms', type: 'quantitative', scale: { type: 'log' }, title: 'delay (ms, log scale; bucket upper bound)' },
        y: { field: 'share', type: 'quantitative', title: 'share of flows', axis: { format: '%' } },
        color,
        tooltip: [{ field: 'series' }, { field: 'what' }, { field: 'bound_ms', title: '≤ ms' }, { field: 'count', format: ',' }, { field: 'share', format: '.2%' }],
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

/** Lifetimes of removed entries (histogram buckets of summary.lifetimes), per class. */
function lifetimesBody(d: ChartData, o: SpecOptions): VlSpec {
  const bounds = d.arms[0]?.lifetimes['bounds_s'] ?? [];
  const labels = bucketLabels(bounds);
  const values: Record<string, string | number>[] = [];
  const classes = new Set<string>();
  for (const a of d.arms) {
    for (const [cls, h] of Object.entries(a.lifetimes)) {
      if (cls === 'bounds_s' || h.every((n) => n === 0)) continue;
      classes.add(cls);
      h.forEach((n, i) => { if (n > 0) values.push({ policy: a.policy, class: cls, lifetime: labels[i]!, entries: n }); });
    }
  }
  if (values.length === 0) return emptyBody('no entry left the table during the run');
  const single = d.arms.length === 1;
  const cls = CLASS_COLORS.domain.filter((c) => classes.has(c));
  const inner: VlSpec = {
    width: single ? WIDTH - 140 : WIDTH,
    height: single ? HEIGHT - 40 : 170,
    mark: { type: 'bar' },
    encoding: {
      // every bin on the axis, empty ones too (the domain is the bins, not the values present)
      x: { field: 'lifetime', type: 'ordinal', sort: labels, scale: { domain: labels }, title: 'entry lifetime (allocation to removal)', axis: { labelAngle: -30 } },
      y: logCountY(values, 'entries', 'entries removed (log scale)'),
      ...(single
        ? { xOffset: { field: 'class', type: 'nominal', sort: cls }, color: { field: 'class', type: 'nominal', title: 'class', scale: classScale(cls) } }
        : { xOffset: { field: 'policy', type: 'nominal', sort: policyScale(d).domain },
          color: { field: 'policy', type: 'nominal', title: 'policy', scale: policyScale(d), sort: policyScale(d).domain } }),
      tooltip: [{ field: 'policy' }, { field: 'class' }, { field: 'lifetime' }, { field: 'entries', format: ',' }],
      ...(o.interactive && !single ? { fillOpacity: { condition: { param: 'pick_policy', value: 1 }, value: 0.2 } } : {}),
    },
    ...(o.interactive && !single ? { params: legendSelect('policy') } : {}),
  };
  if (single) return { data: { values }, ...inner };
  return { data: { values }, facet: { row: { field: 'class', type: 'nominal', sort: cls, title: null, header: { labelAngle: 0, labelAlign: 'left' } } }, spec: inner };
}

/**
 * Every chart of a run or a comparison, by name. A comparison also gets `overview` (occupancy
 * over success rate and broken flows: the flagship picture).
 */
export function chartSpecs(d: ChartData, o: SpecOptions = {}): Partial<Record<ChartName, VlSpec>> {
  if (d.arms.length === 0) throw new Error('charts: no data (no policy arm)');
  const sub = d.kind === 'compare' && d.runs > 1 ? `intervals: 95% CI over ${d.runs} runs` : undefined;
  const specs: Partial<Record<ChartName, VlSpec>> = {};
  if (d.kind === 'compare') {
    specs.overview = top(d, `${d.scenario}: conntrack table and legitimate traffic per policy`, {
      vconcat: [
        { hconcat: [
          { ...occupancyBody(d, { ...o, interactive: false }), width: 500, height: 260 },
          { ...legitDropsBody(d, o), width: 500, height: 260 },
        ], spacing: 30 },
        { hconcat: [
          { ...successBody(d, o), width: 460 },
          { ...brokenBody(d, o), width: 460 },
        ], spacing: 40 },
      ],
      resolve: { scale: { color: 'shared', strokeDash: 'shared', strokeWidth: 'shared' }, legend: { color: 'independent', strokeDash: 'independent', strokeWidth: 'independent' } },
    });
  }
  specs.occupancy = top(d, 'Conntrack table occupancy', occupancyBody(d, o));
  specs.drops = top(d, 'Packets dropped per second, by class', dropsBody(d, o));
  specs.evictions = top(d, 'Entries removed, by reason', evictionsBody(d, o), d.kind === 'compare' ? 'run 0' : undefined);
  specs['success-rate'] = top(d, d.kind === 'compare' ? 'Legitimate success rate per policy' : 'Legitimate success rate per generator', successBody(d, o), sub);
  specs['broken-flows'] = top(d, d.kind === 'compare' ? 'Broken NAT flows per policy' : 'Broken NAT flows per generator', brokenBody(d, o), sub);
  specs.lifetimes = top(d, 'Lifetimes of removed entries', lifetimesBody(d, o));
  specs['setup-time'] = top(d, 'Delays legitimate users feel: connection setup and DNS resolution', setupTimeBody(d, o), d.kind === 'compare' ? 'run 0' : undefined);
  return specs;
}
