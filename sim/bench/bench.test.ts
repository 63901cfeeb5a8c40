import test from 'ava';
import { formatBench, runBench, spread } from './bench.js';
import { WORKLOADS, type BenchSizes } from './workloads.js';

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
});

test('bench runs a repetition in a child process and measures its peak RSS', async (t) => {
  const r = await runBench({ workloads: ['syn-flood'], sizes: TINY, repetitions: 1 });
  const f = r.workloads['syn-flood']!;
  t.true(f.peakRssBytes > 10 * 1024 ** 2);
  t.is(f.check['count'], TINY.entries);
  t.true(f.bytesPerEntry > 0, `heap growth per live entry with a forced gc: ${f.bytesPerEntry}`);
});
