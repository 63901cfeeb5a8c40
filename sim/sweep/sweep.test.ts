import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../io/errors.js';
import { mergeShards, shardDirs, writeSweepDir } from './output.js';
import { parseShard } from './shard.js';
import { parseSweep, parameterGrid } from './sweep-file.js';
import { planDryRun, planSweep, runSweep, timingReport, type SweepOptions, type SweepTimings } from './sweep.js';
import { main } from '../cli.js';

const SCENARIO = `
name: tiny
duration: 8s
kernel: { memory: 512MiB }
sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024 }
traffic:
  - kind: tcp-clients
    rate: 40
  - kind: syn-flood
    rate: 400
    start: 2s
`;

const SWEEP = `
name: tiny-sweep
scenarios: [tiny.yaml]
policies: [kernel, l4-aware]
parameters:
  sysctl.nf_conntrack_max: [512, 2048]
  traffic[1].rate: [300, 900]
seeds: [1, 2]
`;

function setup(): { dir: string; sweep: string; scenario: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ctsim-sweep-'));
  writeFileSync(join(dir, 'tiny.yaml'), SCENARIO);
  writeFileSync(join(dir, 'sweep.yaml'), SWEEP);
  return { dir, sweep: join(dir, 'sweep.yaml'), scenario: join(dir, 'tiny.yaml') };
}

const opts = (out: string, o: Partial<SweepOptions> = {}): SweepOptions => ({ out, workers: 1, shard: null, sets: [], policyFiles: [], ...o });
const files = (d: string): Record<string, Buffer> => Object.fromEntries(readdirSync(d).sort().map((f) => [f, readFileSync(join(d, f))]));

function sameBytes(t: import('ava').ExecutionContext, a: string, b: string): void {
  const x = files(a), y = files(b);
  t.deepEqual(Object.keys(x), ['cases.csv', 'cases.jsonl', 'sweep.json']);
  t.deepEqual(Object.keys(y), Object.keys(x));
  for (const f of Object.keys(x)) t.true(x[f]!.equals(y[f]!), `${f} differs between ${a} and ${b}`);
}

test('the grid expands scenarios × policies × parameters × seeds in a fixed order', async (t) => {
  const { dir, sweep } = setup();
  const plan = await planSweep(sweep, opts(join(dir, 'out')));
  t.is(plan.cases.length, 2 * 4 * 2);
  t.deepEqual(plan.cases.map((c) => c.index), [...Array(16).keys()]);
  t.deepEqual(plan.cases[0]!.overrides, ['sysctl.nf_conntrack_max=512', 'traffic[1].rate=300', 'seed=1']);
  t.deepEqual(plan.cases[1]!.params, { 'sysctl.nf_conntrack_max': 512, 'traffic[1].rate': 300 });
  t.is(plan.cases[1]!.seed, 2);
  t.is(plan.cases[8]!.policy, 'l4-aware');
  t.is(plan.jobs[0]!.key, 'tiny|kernel|sysctl.nf_conntrack_max=512,traffic[1].rate=300|s1|r0');
  t.deepEqual(parameterGrid({ a: [1, 2], b: ['x', 'y'] }), [{ a: 1, b: 'x' }, { a: 1, b: 'y' }, { a: 2, b: 'x' }, { a: 2, b: 'y' }]);
});

test.serial('a sweep on 2 workers equals the serial run byte for byte', async (t) => {
  const { dir, sweep } = setup();
  const serial = await runSweep(sweep, opts(join(dir, 'serial'), { workers: 1 }));
  const pooled = await runSweep(sweep, opts(join(dir, 'pooled'), { workers: 2 }));
  t.is(serial.manifest.cases, 16);
  sameBytes(t, serial.dir, pooled.dir);
  // results differ between cases (the grid is not degenerate)
  const lines = readFileSync(join(serial.dir, 'cases.jsonl'), 'utf8').trimEnd().split('\n');
  t.is(lines.length, 16);
  t.true(new Set(lines.map((l) => JSON.stringify(JSON.parse(l).summary.conntrack_S))).size > 4);
});

test.serial('--timings records each case once and each store batch, and leaves the outputs byte-identical', async (t) => {
  const { dir, sweep } = setup();
  const plain = await runSweep(sweep, opts(join(dir, 'plain'), { workers: 2, store: false }));
  let now = 0;
  const timings: SweepTimings = { clock: () => (now += 1), t0: 0, cases: [], store: [], phases: {} };
  const timed = await runSweep(sweep, opts(join(dir, 'timed'), { workers: 2, timings }));
  sameBytes(t, plain.dir, timed.dir);
  t.deepEqual(timings.cases.map((c) => c.case).sort((a, b) => a - b), [...Array(16).keys()]);
  t.true(timings.cases.every((c) => c.end > c.start && (c.worker === 0 || c.worker === 1)));
  t.deepEqual([...new Set(timings.cases.map((c) => c.worker))].sort(), [0, 1]);
  // every finished case went to the store, in batches of one or more (none twice)
  t.is(timings.store.reduce((a, b) => a + b.cases, 0), 16);
  t.true(timings.store.length <= 16);
  t.deepEqual(Object.keys(timings.phases), ['planned', 'resume_checked', 'pool_done', 'store_done', 'written', 'sweep_recorded']);
  const report = timingReport(timings, 2);
  t.is(report['cases'], 16);
  t.is(report['case_sum_ms'], timings.cases.reduce((a, c) => a + c.end - c.start, 0));
  // serially in this thread: one store write, after the last case (no transaction spans a case)
  const serial: SweepTimings = { clock: () => (now += 1), t0: 0, cases: [], store: [], phases: {} };
  const one = await runSweep(sweep, opts(join(dir, 'serial'), { workers: 1, timings: serial }));
  sameBytes(t, plain.dir, one.dir);
  t.deepEqual(serial.store.map((b) => b.cases), [16]);
  t.true(serial.store[0]!.start > Math.max(...serial.cases.map((c) => c.end)));
  t.true(serial.cases.every((c) => c.worker === 0));
  // the CLI writes the file; the sweep's own output stays the same bytes
  const file = join(dir, 'timings.json');
  const ow = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  let code: number;
  try { code = await main(['sweep', sweep, '--workers', '2', '--out', join(dir, 'cli'), '--no-store', '--quiet', '--timings', file]); } finally { process.stdout.write = ow; }
  t.is(code, 0);
  sameBytes(t, plain.dir, join(dir, 'cli', 'tiny-sweep', 'sweep'));
  const j = JSON.parse(readFileSync(file, 'utf8'));
  t.is(j.cases, 16);
  t.is(j.cases_ms.length, 16);
  t.is(j.store_writes, 0);
  t.true(j.makespan_ms > 0 && j.case_sum_ms >= j.makespan_ms);
});

test.serial('the union of all shards equals the whole sweep, and merge checks completeness', async (t) => {
  const { dir, sweep } = setup();
  const whole = await runSweep(sweep, opts(join(dir, 'whole')));
  const out = join(dir, 'sharded');
  const counts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await runSweep(sweep, opts(out, { shard: { index: i, count: 3, source: 'test' }, workers: i === 1 ? 2 : 1 }));
    counts.push(r.manifest.cases);
    const ks = readFileSync(join(r.dir, 'cases.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l).case as number);
    t.true(ks.every((k) => k % 3 === i));
  }
  t.deepEqual(counts, [6, 5, 5]);
  const dirs = shardDirs([join(out, 'tiny-sweep')]);
  t.is(dirs.length, 3);
  const m = mergeShards(dirs);
  const merged = join(dir, 'merged');
  await writeSweepDir(merged, m.manifest, m.lines);
  sameBytes(t, whole.dir, merged);
  const e = t.throws(() => mergeShards(dirs.slice(0, 2)), { instanceOf: InputError });
  t.regex(e!.message, /5 of 16 cases are missing \(cases 2, 5, 8, 11, 14\)/);
});

test.serial('a sweep case gives the same summary.json as ctsim run of that case alone', async (t) => {
  const { dir, sweep, scenario } = setup();
  const r = await runSweep(sweep, opts(join(dir, 'sw')));
  const line = JSON.parse(readFileSync(join(r.dir, 'cases.jsonl'), 'utf8').split('\n')[5]!);
  t.is(line.policy, 'kernel');
  const runOut = join(dir, 'run');
  const argv = ['run', scenario, '--out', runOut, '--quiet', '--no-charts', '--seed', String(line.seed)];
  for (const [k, v] of Object.entries(line.params as Record<string, unknown>)) argv.push('--set', `${k}=${JSON.stringify(v)}`);
  const ow = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  let code: number;
  try { code = await main(argv); } finally { process.stdout.write = ow; }
  t.is(code, 0);
  // the same inputs give the same run id as a sweep case and as a run of its own
  const alone = readFileSync(join(runOut, 'tiny', (line.id as string).slice('tiny-'.length), 'summary.json'), 'utf8');
  t.is(JSON.stringify(line.summary, null, 2) + '\n', alone);
});

test('the shard index comes from --shard i/N, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX', (t) => {
  t.like(parseShard('2/5', {}), { index: 2, count: 5, source: '--shard' });
  t.like(parseShard('5', { SLURM_ARRAY_TASK_ID: '3' }), { index: 3, count: 5, source: 'SLURM_ARRAY_TASK_ID' });
  t.like(parseShard('5', { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '1' }), { index: 3, count: 5 });
  t.like(parseShard('5', { JOB_COMPLETION_INDEX: '4' }), { index: 4, count: 5, source: 'JOB_COMPLETION_INDEX' });
  t.like(parseShard('5', { SLURM_ARRAY_TASK_ID: '1', JOB_COMPLETION_INDEX: '4' }), { index: 1 }, 'Slurm wins when both are set');
  t.like(parseShard('2/5', { JOB_COMPLETION_INDEX: '4' }), { index: 2 }, 'an explicit index wins');
  t.throws(() => parseShard('5', {}), { instanceOf: InputError, message: /no shard index/ });
  t.throws(() => parseShard('5', { JOB_COMPLETION_INDEX: '5' }), { instanceOf: InputError, message: /shard index 5 \(from JOB_COMPLETION_INDEX\) is not in 0\.\.4/ });
  t.throws(() => parseShard('1/0', {}), { instanceOf: InputError });
  t.throws(() => parseShard('a/b', {}), { instanceOf: InputError, message: /malformed/ });
});

test('bad sweep files are reported with file, line and path', async (t) => {
  const { dir } = setup();
  const bad = parseSweep('scenarios: [tiny.yaml]\nparamters: {}\nseeds: [1, 1]\n', 'bad.yaml');
  t.false(bad.ok);
  if (!bad.ok) t.deepEqual(bad.issues, ['bad.yaml:2: paramters: unknown key "paramters" (did you mean "parameters"?)', 'bad.yaml:3: seeds: a seed appears twice']);
  const f = join(dir, 'bad2.yaml');
  writeFileSync(f, 'scenarios: [tiny.yaml, nope.yaml]\n');
  await t.throwsAsync(planSweep(f, opts(join(dir, 'o'))), { instanceOf: InputError, message: /bad2\.yaml:1: scenarios\[1\]: scenario file "nope\.yaml" not found/ });
  writeFileSync(f, 'scenarios: [tiny.yaml]\npolicies: [kernel, l4-awar]\nparameters:\n  traffic[9].rate: [1]\n  sysctl.nf_conntrack_max: [-5]\n');
  const e = await t.throwsAsync(planSweep(f, opts(join(dir, 'o'))), { instanceOf: InputError });
  t.deepEqual((e as InputError).lines.map((l) => l.replace(/ \(expected path=value.*$/, '')), [
    `${f}:4: parameters["traffic[9].rate"][0]: 1: malformed override "traffic[9].rate=1": traffic has 2 items; index 9 is out of range`,
    `${f}:5: parameters["sysctl.nf_conntrack_max"][0]: -5: sysctl.nf_conntrack_max: expected 0..2147483647 (count), got -5`,
    `${f}:2: policies[1]: unknown policy "l4-awar" (did you mean "l4-aware"?); known: kernel, none, l4-aware, l4-aware-evict-assured, soft-timeout, adaptive-timeout, threshold-timeout, ct-timeout-above, keepalive, timeout-policy, lru, random`,
  ]);
});

test.serial('ctsim sweep exits 2 on bad input and on a table that cannot fit, writing nothing', async (t) => {
  const { dir } = setup();
  const f = join(dir, 'big.yaml');
  writeFileSync(f, 'scenarios: [tiny.yaml]\nparameters:\n  sysctl.nf_conntrack_max: [1024, 40000000]\n');
  let err = '';
  const ew = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  const prev = process.env['CTSIM_MEMORY_AVAILABLE'];
  process.env['CTSIM_MEMORY_AVAILABLE'] = String(2 * 1024 ** 3);
  let code: number;
  try { code = await main(['sweep', f, '--out', join(dir, 'o'), '--workers', '2']); } finally {
    process.stderr.write = ew;
    if (prev === undefined) delete process.env['CTSIM_MEMORY_AVAILABLE']; else process.env['CTSIM_MEMORY_AVAILABLE'] = prev;
  }
  t.is(code, 2);
  t.regex(err, /big\.yaml: case 1 \(tiny\|\(scenario\)\|sysctl\.nf_conntrack_max=40000000\|s-\|r0\): the conntrack table cannot fit in memory: it needs \d+\.\d\d GiB \(2 concurrent runs × \(nf_conntrack_max 40,000,000 × \d+ B/);
  t.regex(err, /but 2\.00 GiB is available/);
  t.deepEqual(readdirSync(dir).filter((d) => d === 'o'), []);
});

test('--dry-run counts without expanding: the same case indices and keys as the full plan, whole and per shard', async (t) => {
  const { dir } = setup();
  writeFileSync(join(dir, 'tiny2.yaml'), SCENARIO.replace('name: tiny', 'name: tiny2\nruns: 3'));
  const f = join(dir, 'dry.yaml');
  // two scenarios (one with 3 runs of its own), two arms, 2 × 2 parameters, 2 seeds: 2×2×4×2×(1 | 3) = 64 cases
  writeFileSync(f, SWEEP.replace('scenarios: [tiny.yaml]', 'scenarios: [tiny.yaml, tiny2.yaml]'));
  for (const shard of [null, { index: 0, count: 3, source: 'flag' }, { index: 2, count: 3, source: 'flag' }, { index: 5, count: 7, source: 'flag' }] as const) {
    const full = await planSweep(f, opts(join(dir, 'o'), { shard: shard as never }));
    const dry = await planDryRun(f, opts(join(dir, 'o'), { shard: shard as never, planOnly: true }));
    t.is(dry.casesTotal, 64);
    t.is(full.cases.length, 64);
    t.is(dry.cases, full.jobs.length, `shard ${JSON.stringify(shard)}`);
    t.deepEqual([...dry.keys()], full.jobs.map((j) => [j.c.index, j.key]));
  }
});

test.serial('--dry-run applies the memory guard and reports a bad case like a real run (exit 2)', async (t) => {
  const { dir } = setup();
  const f = join(dir, 'bigdry.yaml');
  writeFileSync(f, 'scenarios: [tiny.yaml]\nparameters:\n  sysctl.nf_conntrack_max: [1024, 40000000]\nseeds: [1, 2]\n');
  let err = '';
  const ew = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  const prev = process.env['CTSIM_MEMORY_AVAILABLE'];
  process.env['CTSIM_MEMORY_AVAILABLE'] = String(2 * 1024 ** 3);
  let code: number;
  try { code = await main(['sweep', f, '--out', join(dir, 'o'), '--workers', '2', '--dry-run']); } finally {
    process.stderr.write = ew;
    if (prev === undefined) delete process.env['CTSIM_MEMORY_AVAILABLE']; else process.env['CTSIM_MEMORY_AVAILABLE'] = prev;
  }
  t.is(code, 2);
  // cases 0, 1: 1024 (seeds 1, 2); cases 2, 3: 40 000 000: the first of them is named
  t.regex(err, /bigdry\.yaml: case 2 \(tiny\|\(scenario\)\|sysctl\.nf_conntrack_max=40000000\|s1\|r0\): the conntrack table cannot fit in memory/);
});
