import test from 'ava';
import type { ChartArm, ChartData } from './data.js';
import { timelineOf } from './data.js';
import { attackWindowLayers, chartSpecs, countY, failureScale, timeUnit, timeX, type VlSpec } from './specs.js';

const COLUMNS = ['time_s', 'count', 'legit_dropped', 'attack_dropped', 'drop', 'early_drop'];

/** A synthetic arm: `n` one-second samples, counts from `count(t)`, no drops. */
function arm(policy: string, n: number, count: (t: number) => number, extra: Partial<ChartArm> = {}): ChartArm {
  return {
    policy, nf_conntrack_max: 100, columns: COLUMNS,
    rows: Array.from({ length: n + 1 }, (_, t) => [t, count(t), 0, 0, 0, 0]),
    evictions: {}, lifetimes: { bounds_s: [1, 2, 5, 10], legit: [3, 0, 0, 1, 0], attack: [0, 0, 0, 0, 0] },
    classes: {}, generators: [], ...extra,
  };
}

function data(arms: ChartArm[], extra: Partial<ChartData> = {}): ChartData {
  return { kind: 'compare', scenario: 's', seed: 1, runs: 1, arms, ...extra };
}

function walk(x: unknown, f: (o: Record<string, unknown>) => void): void {
  if (Array.isArray(x)) x.forEach((y) => walk(y, f));
  else if (x && typeof x === 'object') { f(x as Record<string, unknown>); Object.values(x).forEach((y) => walk(y, f)); }
}
const encodings = (spec: VlSpec, channel: string): Record<string, unknown>[] => {
  const out: Record<string, unknown>[] = [];
  walk(spec, (o) => { const e = o['encoding'] as Record<string, Record<string, unknown>> | undefined; if (e?.[channel]) out.push(e[channel]!); });
  return out;
};

test('time unit by duration: s up to 10 min, min up to 5 h, h beyond; the axis ends at the run end', (t) => {
  t.deepEqual(timeUnit(90), { unit: 's', div: 1 });
  t.deepEqual(timeUnit(600), { unit: 's', div: 1 });
  t.deepEqual(timeUnit(7200), { unit: 'min', div: 60 });
  t.deepEqual(timeUnit(6 * 3600), { unit: 'h', div: 3600 });
  // a 2-hour run: minutes, domain exactly 0..120 (no nice rounding past the end)
  const d = data([arm('kernel', 7200, () => 5)], { timeline: { end_s: 7200, attacks: [] } });
  const x = timeX(d);
  t.is(x['title'], 'simulated time (min)');
  t.deepEqual(x['scale'], { domain: [0, 120], nice: false, zero: true });
  const occ = chartSpecs(d).occupancy!;
  const line = (occ['layer'] as VlSpec[]).find((l) => (l['mark'] as { type: string }).type === 'line')!;
  const values = (line['data'] as { values: { t: number; time_s: number }[] }).values;
  t.is(values[values.length - 1]!.t, 120);
  t.is(values[60]!.t, Number((values[60]!.time_s / 60).toFixed(6)));
  // without a scenario the axis ends at the last sample
  t.deepEqual(timeX(data([arm('kernel', 90, () => 1)]))['scale'], { domain: [0, 90], nice: false, zero: true });
});

test('count axes: integer ticks (tickMinStep 1, format d); an all-zero panel gets a 0..1 domain, not 0.000000', (t) => {
  t.deepEqual(countY([{ n: 0 }, { n: 0 }], 'n', 'x'), { field: 'n', type: 'quantitative', title: 'x', axis: { tickMinStep: 1, format: ',d' }, scale: { domain: [0, 1] } });
  t.deepEqual(countY([{ n: 0 }, { n: 3 }], 'n', 'x'), { field: 'n', type: 'quantitative', title: 'x', axis: { tickMinStep: 1, format: ',d' } });
  const specs = chartSpecs(data([arm('kernel', 30, (s) => s * 2)]));
  // every y of occupancy and drops (no drops at all here: all-zero panels)
  const ys = [...encodings(specs.occupancy!, 'y'), ...encodings(specs.drops!, 'y')].filter((y) => y['field'] === 'count' || y['field'] === 'per_s');
  t.is(ys.length, 3);
  for (const y of ys) t.like(y, { axis: { tickMinStep: 1, format: ',d' } });
  t.is(ys.filter((y) => (y['scale'] as { domain?: number[] } | undefined)?.domain?.[1] === 1).length, 2, 'both drop panels are all zero');
});

test('attack windows from the generators\' start/stop, clipped to the run; shaded under the lines of every time series', (t) => {
  const tl = timelineOf({ duration: 60e6, traffic: [
    { kind: 'tcp-clients', label: 'web', class: 'legit', start: 0, stop: 86400e9 },
    { kind: 'syn-flood', label: 'flood', class: 'attack', start: 10e6, stop: 40e6 },
    { kind: 'port-scan', class: 'attack', start: 50e6, stop: 86400e9 },
    { kind: 'syn-flood', label: 'late', class: 'attack', start: 70e6, stop: 80e6 },
  ] });
  t.deepEqual(tl, { end_s: 60, attacks: [{ label: 'flood', start_s: 10, stop_s: 40 }, { label: 'port-scan#2', start_s: 50, stop_s: 60 }] });
  const d = data([arm('kernel', 60, () => 10), arm('lru', 60, () => 10)], { timeline: tl });
  const [shade, label] = attackWindowLayers(d);
  t.is(shade!['name'], 'attack-windows');
  t.deepEqual((shade!['data'] as { values: { t0: number; t1: number }[] }).values.map((v) => [v.t0, v.t1]), [[10, 40], [50, 60]]);
  t.is((label!['mark'] as { type: string }).type, 'text');
  const specs = chartSpecs(d);
  for (const name of ['occupancy', 'drops', 'overview'] as const) {
    let n = 0;
    walk(specs[name], (o) => { if (o['name'] === 'attack-windows') n++; });
    t.is(n, name === 'occupancy' ? 1 : 2, name); // drops and overview: two time-series panels
  }
  t.deepEqual(attackWindowLayers(data([arm('kernel', 10, () => 1)])), [], 'no scenario, no shading');
  // windows starting close together: their labels go on separate lines (by start, whatever the order)
  const close = attackWindowLayers(data([arm('kernel', 180, () => 1)], { timeline: { end_s: 180, attacks: [
    { label: 'a', start_s: 20, stop_s: 80 }, { label: 'c', start_s: 40, stop_s: 100 }, { label: 'b', start_s: 30, stop_s: 100 }, { label: 'far', start_s: 150, stop_s: 160 }] } }));
  const texts = close.slice(1).map((l) => [(l['mark'] as { dy: number }).dy, (l['data'] as { values: { attack: string }[] }).values.map((v) => v.attack)]);
  t.deepEqual(texts, [[-3, ['a', 'far']], [-15, ['b']], [-27, ['c']]]);
});

test('coinciding policy lines get distinct dash patterns and nested widths', (t) => {
  const d = data(['kernel', 'l4-aware', 'soft-timeout'].map((p) => arm(p, 20, () => 100)));
  const occ = chartSpecs(d).occupancy!;
  const dash = encodings(occ, 'strokeDash')[0]!;
  const dashes = (dash['scale'] as { range: number[][] }).range;
  t.is(new Set(dashes.map((x) => x.join(','))).size, 3);
  const widths = (encodings(occ, 'strokeWidth')[0]!['scale'] as { range: number[] }).range;
  t.true(widths[0]! > widths[1]! && widths[1]! > widths[2]!);
  t.deepEqual(encodings(chartSpecs(data([arm('kernel', 5, () => 1)])).occupancy!, 'strokeDash'), [], 'one policy: a plain line');
});

test('lifetime histogram: every bin on the axis, empty ones included', (t) => {
  const life = chartSpecs(data([arm('kernel', 5, () => 1)])).lifetimes!;
  const x = encodings(life, 'x').find((e) => e['field'] === 'lifetime')!;
  t.deepEqual((x['scale'] as { domain: string[] }).domain, ['≤ 1 s', '1 s–2 s', '2 s–5 s', '5 s–10 s', '> 10 s']);
});

test('success above 95%: failure rate 1 − success on a log axis with visible intervals; below, the success axis', (t) => {
  const st = (mean: number, ci: number) => ({ mean, ci95: ci, n: 5 });
  const hi = data(['kernel', 'lru'].map((p, i) => arm(p, 5, () => 1, {
    stats: { legit_success_rate: i === 0 ? st(0.998, 0.001) : st(0.97, 0.01) },
    perRun: [{ legit_success_rate: i === 0 ? 0.998 : 0.97 }],
  })), { runs: 5 });
  const succ = chartSpecs(hi)['success-rate']!;
  const xs = encodings(succ, 'x');
  t.true(xs.every((x) => (x['scale'] as { type?: string }).type === 'log'));
  t.regex(String(xs.find((x) => x['title'])!['title']), /failure rate, 1 − success/);
  const rows = (succ['layer'] as VlSpec[])[0]!['data'] as { values: { policy: string; fail: number; fail_lo: number; fail_hi: number }[] };
  const k = rows.values.find((r) => r.policy === 'kernel')!;
  t.is(k.fail, 0.002);
  t.is(k.fail_lo, 0.001);
  t.is(k.fail_hi, 0.003);
  // the scale's floor sits below the smallest failure rate, its top above the largest
  t.deepEqual(failureScale([{ mean: 0.998, lo: 0.997, hi: 0.999 }, { mean: 0.97, lo: 0.96, hi: 0.98 }], []), { floor: 0.0001, top: 0.1 });
  // 100% success: drawn at the floor, not lost on a log axis
  t.deepEqual(failureScale([{ mean: 1, lo: 1, hi: 1 }], []), { floor: 1e-5, top: 1e-4 });
  t.is(failureScale([{ mean: 0.9, lo: 0.85, hi: 0.95 }], []), undefined);
  const lo = data([arm('kernel', 5, () => 1, { stats: { legit_success_rate: st(0.9, 0.02) } })]);
  t.true(encodings(chartSpecs(lo)['success-rate']!, 'x').every((x) => (x['scale'] as { type?: string } | undefined)?.type !== 'log'));
});

test('a run whose generators all succeed above 95%: failure rate per generator on a log axis', (t) => {
  const gen = (label: string, started: number, failed: number) => ({ label, kind: 'tcp-clients', class: 'legit', started, succeeded: started - failed, failed,
    success_rate: (started - failed) / started, broken: 0, packets: 0, dropped: 0 });
  const run = (gens: ReturnType<typeof gen>[]): ChartData => ({ kind: 'run', scenario: 's', seed: 1, runs: 1, run: 0,
    arms: [arm('kernel', 5, () => 1, { generators: gens, classes: { legit: { started: 0, succeeded: 0, failed: 0, success_rate: 0.99, broken: 0, packets: 0, dropped: 0 } } })] });
  const hi = chartSpecs(run([gen('web', 1000, 3), gen('dns', 1000, 0)]))['success-rate']!;
  const bars = (hi['layer'] as VlSpec[])[0]!;
  const x = (bars['encoding'] as Record<string, Record<string, unknown>>)['x']!;
  t.is((x['scale'] as { type: string }).type, 'log');
  const rows = (bars['data'] as { values: { generator: string; fail: number }[] }).values;
  t.deepEqual(rows.map((r) => [r.generator, r.fail]), [['web', 0.003], ['dns', 0.001]], 'no failure sits at the floor (a decade below a third of the smallest failure rate)');
  const lo = chartSpecs(run([gen('web', 1000, 300)]))['success-rate']!;
  const x2 = ((lo['layer'] as VlSpec[])[0]!['encoding'] as Record<string, Record<string, unknown>>)['x']!;
  t.deepEqual(x2['scale'], { domain: [0, 1] });
});
