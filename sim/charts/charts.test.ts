import test from 'ava';
import { compare } from '../run/compare.js';
import { arms, REGISTRIES, runScenarioInMemory, scenarioFromYaml } from '../index.js';
import { compareChartData, runChartData } from './data.js';
import { CHART_NAMES, chartSpecs, type VlSpec } from './specs.js';

const SCENARIO = `
name: charts
duration: 90s
runs: 2
sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024 }
traffic:
  - { kind: tcp-clients, label: web, rate: 30 }
  - { kind: idle-nat-flows, label: nat, flows: 50, idle: { dist: exponential, mean: 20 } }
  - { kind: tcp-clients, label: bots, class: attack, rate: 80, hold: 0, misbehave: { vanish: 1 }, start: 5s, stop: 25s }
policy_params:
  keepalive: { idle: 5s, interval: 2s, probes: 2 }
`;

const sc = scenarioFromYaml(SCENARIO);
const cmp = compare(sc, arms('kernel,keepalive', sc), 2, REGISTRIES);
const one = runScenarioInMemory(sc);
const runData = runChartData(one.summary, one.rows, one.columns);
const cmpData = compareChartData(cmp);

function walk(x: unknown, f: (o: Record<string, unknown>) => void): void {
  if (Array.isArray(x)) x.forEach((y) => walk(y, f));
  else if (x && typeof x === 'object') { f(x as Record<string, unknown>); Object.values(x).forEach((y) => walk(y, f)); }
}
const dataValues = (spec: VlSpec): Record<string, unknown>[][] => {
  const out: Record<string, unknown>[][] = [];
  walk(spec, (o) => { const d = o['data'] as { values?: Record<string, unknown>[] } | undefined; if (d?.values) out.push(d.values); });
  return out;
};

test('compare keeps run 0 of each arm: sample rows, evictions, lifetimes, classes', (t) => {
  for (const a of cmp.arms) {
    t.is(a.sample.run, 0);
    t.is(a.sample.rows.length, 91, "a sample per second, 0..90 s");
    t.is(a.sample.columns[1], 'count');
    t.is(a.sample.nf_conntrack_max, 1024);
    t.truthy(a.sample.evictions);
    t.deepEqual(a.sample.lifetimes.bounds_s.slice(0, 3), [1, 2, 5]);
    t.truthy(a.sample.classes['legit']);
  }
});

test('comparison specs: every chart, one colour per policy, nf_conntrack_max marked, intervals present', (t) => {
  const specs = chartSpecs(cmpData);
  t.deepEqual(Object.keys(specs), [...CHART_NAMES]);
  for (const [name, s] of Object.entries(specs)) {
    t.is(s!['$schema'], 'https://vega.github.io/schema/vega-lite/v6.json', name);
    t.truthy((s!['title'] as { text: string }).text, name);
  }
  const occ = specs.occupancy!;
  const [line, rule] = (occ['layer'] as VlSpec[]);
  const lineValues = (line!['data'] as { values: { policy: string }[] }).values;
  t.deepEqual([...new Set(lineValues.map((v) => v.policy))], ['kernel', 'keepalive'], 'one line per policy');
  t.deepEqual((rule!['data'] as { values: { max: number }[] }).values.map((v) => v.max), [1024]);
  const succ = specs['success-rate']!;
  const stats = dataValues(succ)[0]!;
  t.is(stats.length, 2);
  for (const s of stats) {
    t.true(typeof s['lo'] === 'number' && typeof s['hi'] === 'number' && (s['lo'] as number) <= (s['mean'] as number) && (s['mean'] as number) <= (s['hi'] as number));
    t.is(s['n'], 2);
  }
  const drops = dataValues(specs.drops!).flat();
  t.deepEqual([...new Set(drops.map((v) => v['class']))], ['legit', 'attack']);
  t.true(drops.every((v) => typeof v['per_s'] === 'number' && (v['per_s'] as number) >= 0));
  const ev = dataValues(specs.evictions!)[0]!;
  t.true(ev.some((v) => v['reason'] === 'probe' && v['policy'] === 'keepalive'), 'keepalive probes evictions');
  const broken = dataValues(specs['broken-flows']!)[0]!;
  t.deepEqual(broken.map((v) => v['policy']), ['kernel', 'keepalive']);
  const life = dataValues(specs.lifetimes!)[0]!;
  t.true(life.length > 0 && life.every((v) => (v['entries'] as number) > 0));
});

test('run specs: no overview; success and broken flows per generator; evictions per class', (t) => {
  const specs = chartSpecs(runData);
  t.deepEqual(Object.keys(specs), CHART_NAMES.filter((n) => n !== 'overview'));
  const gens = dataValues(specs['success-rate']!)[0]!.map((v) => v['generator']);
  t.deepEqual(gens, ['web', 'nat']);
  const ev = dataValues(specs.evictions!)[0]!;
  t.true(ev.every((v) => ['legit', 'attack', 'none'].includes(v['class'] as string)));
});

test('time series are thinned to maxPoints windows, keeping the peak', (t) => {
  const full = dataValues(chartSpecs(runData).occupancy!)[0]!;
  const thin = dataValues(chartSpecs(runData, { maxPoints: 10 }).occupancy!)[0]!;
  t.is(full.length, 91);
  t.true(thin.length <= 11);
  t.is(Math.max(...thin.map((v) => v['count'] as number)), Math.max(...full.map((v) => v['count'] as number)));
});

test('specs compile with vega-lite, plain and interactive', async (t) => {
  const { toVega } = await import('./render.js');
  for (const d of [runData, cmpData]) {
    for (const interactive of [false, true]) {
      for (const [name, s] of Object.entries(chartSpecs(d, { interactive }))) {
        t.notThrows(() => toVega(s!), `${d.kind} ${name} interactive=${interactive}`);
      }
    }
  }
});

test('rendered SVG and PNG: non-empty, PNG signature, byte-identical across two renders', async (t) => {
  const { renderAll } = await import('./render.js');
  const specs = chartSpecs(cmpData);
  const a = await renderAll(specs);
  const b = await renderAll(specs);
  t.is(a.length, CHART_NAMES.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    t.regex(x.svg, /^<svg[^>]*width="\d+(\.\d+)?"/, x.name);
    t.regex(x.svg, /DejaVu Sans/, `${x.name}: the SVG names the font`);
    t.true(x.svg.length > 2000, `${x.name}: SVG has content`);
    t.deepEqual([...x.png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${x.name}: PNG signature`);
    t.true(x.png.length > 10_000, `${x.name}: PNG has content`);
    t.is(x.svg, y.svg, `${x.name}: SVG identical`);
    t.true(x.png.equals(y.png), `${x.name}: PNG identical`);
  }
});
