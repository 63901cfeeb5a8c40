import test from 'ava';
import { formatBench, ratiosToBound, runBench, spread } from './bench.js';
import { runWorkload, WORKLOADS, type BenchSizes, type WorkloadName, type WorkloadSample } from './workloads.js';

const TINY: BenchSizes = { entries: 2000, buckets: 2048, packets: 20_000, mixedSeconds: 2, pending: 1000, holdOps: 20_000, seed: 1 };

test('spread gives the median and the range', (t) => {
  t.deepEqual(spread([3, 1, 2]), { median: 2, min: 1, max: 3 });
  t.deepEqual(spread([4, 1, 2, 3]), { median: 2.5, min: 1, max: 4 });
});

test('bench runs every workload at tiny sizes and reports the JSON keys (in process)', async (t) => {
  const r = await runBench({ workloads: WORKLOADS, sizes: TINY, repetitions: 2, inProcess: true });
  for (const w of WORKLOADS) {
    const x = r.workloads[w]!;
    t.truthy(x, w);
    for (const k of ['packetsPerSecond', 'bytesPerEntry', 'eventsPerSecond', 'simSecondsPerWallSecond', 'peakRssBytes'] as const) t.true(Number.isFinite(x[k]), `${w}.${k}`);
    t.true(x.deterministic, `${w}: repetitions simulated the same thing`);
    t.is(x.repetitions, 2);
  }
  const f = r.workloads['syn-flood']!;
  t.is(f.liveEntries, TINY.entries);
  t.true(f.packetsPerSecond > 0);
  // heap growth per entry needs a forced gc before and after (the child processes of `ctsim bench`
  // run with --expose-gc, checked below); in the test worker it is noise and may even be negative
  if (typeof (globalThis as { gc?: unknown }).gc === 'function') t.true(f.bytesPerEntry > 0);
  t.is(f.check['count'], TINY.entries, 'the flooded table stays full');
  t.true(f.check['early_drop']! > 0);
  t.true(r.workloads.hold!.eventsPerSecond > 0);
  t.true(r.model.perEntry > r.model.perSlot);
  t.regex(formatBench(r), /syn-flood +[\d,]+ packets\/s/);
  // every workload carries its ratio to the bound workload of the same rounds
  for (const w of WORKLOADS) {
    const rb = r.workloads[w]!.ratioToBound!;
    t.truthy(rb, `${w}.ratioToBound`);
    for (const k of ['median', 'min', 'max'] as const) t.true(Number.isFinite(rb[k]), `${w}.ratioToBound.${k}`);
    t.true(rb.min <= rb.median && rb.median <= rb.max);
  }
  t.deepEqual(r.workloads.bound!.ratioToBound, { median: 1, min: 1, max: 1 });
  t.regex(formatBench(r), /syn-flood .*; [\d.]+ × bound \([\d.]+–[\d.]+\)/);
  t.regex(formatBench(r), /syn-flood \/ bound \(median of per-round ratios\): (\d\.\d+|1) \(target >= 1\.0\)/, 'the ratio goal prints its decimals');
  const b = r.workloads.bound!;
  t.true(b.deterministic, 'bound simulates the same flood every repetition');
  t.is(b.check['count'], TINY.entries, 'bound keeps its table full too');
  t.true(b.check['early_drop']! > 0);
  const json = JSON.parse(JSON.stringify(r)) as { workloads: Record<string, { ratioToBound?: unknown }> };
  t.deepEqual(Object.keys(json.workloads).filter((w) => json.workloads[w]!.ratioToBound === undefined), [], 'the JSON carries a ratio for every workload');
});

test('ratiosToBound pairs each round with the bound run of the same round', (t) => {
  const s = (w: WorkloadName, p: number, e = p) => ({ workload: w, packetsPerSecond: p, eventsPerSecond: e }) as WorkloadSample;
  const m = new Map<WorkloadName, WorkloadSample[]>([
    ['bound', [s('bound', 100), s('bound', 200), s('bound', 50)]],
    ['syn-flood', [s('syn-flood', 50), s('syn-flood', 200), s('syn-flood', 40)]],
    ['hold', [s('hold', 0, 300), s('hold', 0, 300), s('hold', 0, 300)]],
  ]);
  const r = ratiosToBound(m);
  // per round 0.5, 1.0, 0.8 (not the ratio of medians, 50/100 = 0.5)
  t.deepEqual(r.get('syn-flood'), { median: 0.8, min: 0.5, max: 1 });
  t.deepEqual(r.get('hold'), { median: 3, min: 1.5, max: 6 }, 'hold uses events/s');
  t.is(ratiosToBound(new Map([['syn-flood', [s('syn-flood', 1)]]])).size, 0, 'no bound run, no ratios');
});

test('bench runs a repetition in a child process and measures its peak RSS', async (t) => {
  const r = await runBench({ workloads: ['syn-flood'], sizes: TINY, repetitions: 1 });
  t.deepEqual(Object.keys(r.workloads), ['bound', 'syn-flood'], 'bound is added to every run');
  t.truthy(r.workloads['syn-flood']!.ratioToBound);
  const f = r.workloads['syn-flood']!;
  t.true(f.peakRssBytes > 10 * 1024 ** 2);
  t.is(f.check['count'], TINY.entries);
  t.true(f.bytesPerEntry > 0, `heap growth per live entry with a forced gc: ${f.bytesPerEntry}`);
});

test('nat: every entry of the flood is SNATed to the pool, no port search fails, and two runs simulate the same thing', (t) => {
  const a = runWorkload('nat', TINY), b = runWorkload('nat', TINY);
  t.deepEqual(a.check, b.check, 'deterministic counters');
  const c = a.check;
  // packets through the table: the prefill (one per entry), the warm-up (packets/50) and the timed tenth
  const timed = TINY.packets / 10, warm = TINY.packets / 50;
  t.is(a.packets, timed);
  t.is(c['allocated'], TINY.entries + warm + timed, 'every SYN is a new flow and gets an entry (none dropped)');
  t.is(c['drop'], 0);
  t.is(c['mappings'], c['allocated'], 'the postrouting rule set up a SNAT mapping for every entry');
  t.is(c['mappings_changed'], c['allocated'], 'and every mapping rewrote the tuple (the pool is outside 10/8)');
  t.is(c['exhausted'], 0, 'the 256-address pool never runs out of ports');
  t.true(c['early_drop']! > 0, 'the timed SYNs find the table full');
  t.true(c['count']! <= TINY.entries && c['count']! > TINY.entries - 16);
  t.true(a.liveEntries > TINY.entries - 16 && a.liveEntries <= TINY.entries, 'the prefill filled the table');
  t.true(a.packetsPerSecond > 0 && Number.isFinite(a.packetsPerSecond));
});

test('nat in a child process: its bytes per entry exceed the plain flood\'s by what NAT keeps per slot', async (t) => {
  const sizes: BenchSizes = { ...TINY, entries: 20_000, buckets: 16_384, packets: 50_000 };
  const r = await runBench({ workloads: ['syn-flood', 'nat'], sizes, repetitions: 1 });
  t.deepEqual(Object.keys(r.workloads), ['bound', 'syn-flood', 'nat']);
  const f = r.workloads['syn-flood']!, n = r.workloads.nat!;
  t.truthy(n.ratioToBound, 'nat has its ratio to bound');
  t.is(n.liveEntries, n.check['count']);
  // NAT's per-slot arrays alone: REPLY addresses (8 B), rule ids (8), bysource links (8), port-usage key (4), masq flag (1)
  t.true(n.bytesPerEntry - f.bytesPerEntry >= 29, `nat ${n.bytesPerEntry} B/entry vs flood ${f.bytesPerEntry}`);
  t.regex(formatBench(r), /\n {2}nat +[\d,]+ packets\/s/);
});
