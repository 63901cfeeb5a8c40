import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli.js';
import { runSweep } from '../sweep/sweep.js';
import { Store } from './store.js';

const SCENARIO = `
name: tiny
duration: 15s
kernel: { memory: 512MiB }
sysctl: { nf_conntrack_max: 2048, nf_conntrack_buckets: 1024 }
traffic:
  - kind: tcp-clients
    rate: 50
  - { kind: syn-flood, rate: 500, start: 5s }
`;

const SWEEP = `
name: tiny-sweep
scenarios: [tiny.yaml]
policies: [kernel, l4-aware]
parameters:
  sysctl.nf_conntrack_max: [512, 2048]
seeds: [1, 2, 3]
`;

function setup(): { dir: string; scenario: string; sweep: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ctsim-store-'));
  writeFileSync(join(dir, 'tiny.yaml'), SCENARIO);
  writeFileSync(join(dir, 'sweep.yaml'), SWEEP);
  return { dir, scenario: join(dir, 'tiny.yaml'), sweep: join(dir, 'sweep.yaml') };
}

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const ow = process.stdout.write.bind(process.stdout), ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => { out += s; return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  try {
    return { code: await main(argv), out, err };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

async function q(out: string, sql: string): Promise<Record<string, unknown>[]> {
  const r = await cli(['query', sql, '--out', out, '--json']);
  if (r.code !== 0) throw new Error(r.err);
  return JSON.parse(r.out) as Record<string, unknown>[];
}

test.serial('two comparisons with different policies both survive, each with its own id; the same inputs are reused', async (t) => {
  const { dir, scenario } = setup();
  const out = join(dir, 'res');
  const a = await cli(['compare', scenario, '--policies', 'kernel,l4-aware', '--out', out, '--no-charts', '--quiet']);
  const b = await cli(['compare', scenario, '--policies', 'kernel,soft-timeout', '--out', out, '--no-charts', '--quiet']);
  t.is(a.code, 0, a.err);
  t.is(b.code, 0, b.err);
  const folders = readdirSync(join(out, 'tiny')).filter((n) => n.startsWith('compare-s1-'));
  t.is(folders.length, 2);
  const labels = folders.map((f) => JSON.parse(readFileSync(join(out, 'tiny', f, 'comparison.json'), 'utf8')).arms.map((x: { label: string }) => x.label).join(',')).sort();
  t.deepEqual(labels, ['kernel,l4-aware', 'kernel,soft-timeout']);
  const again = await cli(['compare', scenario, '--policies', 'kernel,l4-aware', '--out', out, '--no-charts']);
  t.regex(again.out, /^reused tiny-compare-s1-[0-9a-f]{10}: /);
  t.deepEqual(await q(out, 'SELECT count(*)::INT AS n FROM comparisons'), [{ n: 2 }]);
  // run 0 of each arm keeps its time series: as many sample rows as comparison.json holds
  const cmp = JSON.parse(readFileSync(join(out, 'tiny', folders[0]!, 'comparison.json'), 'utf8'));
  const cid = JSON.parse(readFileSync(join(out, 'tiny', folders[0]!, 'manifest.json'), 'utf8')).id as string;
  for (const arm of cmp.arms as { label: string; perRun: unknown[]; sample: { rows: unknown[] } }[]) {
    t.deepEqual(await q(out, `SELECT count(*)::INT AS n FROM samples s JOIN comparison_runs c ON c.run_id = s.run_id WHERE c.comparison_id = '${cid}' AND c.policy = '${arm.label}'`), [{ n: arm.sample.rows.length }], arm.label);
    t.deepEqual(await q(out, `SELECT count(*)::INT AS n FROM comparison_runs WHERE comparison_id = '${cid}' AND policy = '${arm.label}'`), [{ n: arm.perRun.length }]);
  }
  // the kernel arm is the same run in both comparisons: one row in runs
  t.deepEqual(await q(out, `SELECT policy, count(*)::INT AS n FROM runs GROUP BY 1 ORDER BY 1`), [{ policy: 'kernel', n: 1 }, { policy: 'l4-aware', n: 1 }, { policy: 'soft-timeout', n: 1 }]);
});

test.serial('the store rows match the files of a run; run again reuses, --force replaces; the answer to the done-when query', async (t) => {
  const { dir, scenario } = setup();
  const out = join(dir, 'res');
  t.is((await cli(['run', scenario, '--out', out, '--quiet', '--no-charts'])).code, 0);
  const [runDir] = readdirSync(join(out, 'tiny'));
  const d = join(out, 'tiny', runDir!);
  const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8'));
  t.regex(m.id, /^tiny-s1-r0-[0-9a-f]{10}$/);
  t.is(m.id, `tiny-${runDir}`);
  const summary = JSON.parse(readFileSync(join(d, 'summary.json'), 'utf8'));
  const csvLines = readFileSync(join(d, 'timeseries.csv'), 'utf8').trimEnd().split('\n').length - 1;
  const id = m.id as string;
  t.deepEqual(await q(out, `SELECT count(*)::INT AS n FROM samples WHERE run_id = '${id}'`), [{ n: csvLines }]);
  t.deepEqual(await q(out, `SELECT count(DISTINCT generator)::INT AS n FROM outcomes WHERE run_id = '${id}'`), [{ n: summary.generators.length }]);
  const evRows = Object.values(summary.evictions as Record<string, Record<string, number>>).reduce((s, c) => s + Object.keys(c).length - 1, 0);
  t.deepEqual(await q(out, `SELECT count(*)::INT AS n FROM evictions WHERE run_id = '${id}'`), [{ n: evRows }]);
  t.deepEqual(await q(out, `SELECT value FROM metrics WHERE run_id = '${id}' AND metric = 'classes.legit.success_rate'`), [{ value: summary.classes.legit.success_rate }]);
  const again = await cli(['run', scenario, '--out', out, '--no-charts']);
  t.regex(again.out, /^reused tiny-s1-r0-/);
  const forced = await cli(['run', scenario, '--out', out, '--no-charts', '--force']);
  t.notRegex(forced.out, /reused/);
  t.deepEqual(await q(out, `SELECT count(*)::INT AS n FROM samples WHERE run_id = '${id}'`), [{ n: csvLines }], 'replaced, not doubled');
  // a second table size: the one-statement question of the issue
  t.is((await cli(['run', scenario, '--out', out, '--quiet', '--no-charts', '--set', 'sysctl.nf_conntrack_max=1024'])).code, 0);
  const rows = await q(out, `SELECT r.policy, r.nf_conntrack_max, count(*)::INT AS runs, avg(m.value) AS success_rate
    FROM runs r JOIN metrics m ON m.run_id = r.id AND m.metric = 'legit_success_rate' GROUP BY ALL ORDER BY ALL`);
  t.deepEqual(rows.map((r) => [r['policy'], Number(r['nf_conntrack_max']), r['runs']]), [['kernel', 1024, 1], ['kernel', 2048, 1]]);
  // the folders alone rebuild the same store content (runs --import into a fresh store)
  const fresh = join(dir, 'fresh');
  const imp = await cli(['runs', '--import', out, '--out', fresh, '--quiet']);
  t.is(imp.code, 0, imp.err);
  for (const table of ['runs', 'metrics', 'samples', 'outcomes', 'evictions']) {
    t.deepEqual(await q(fresh, `SELECT count(*)::INT AS n FROM ${table}`), await q(out, `SELECT count(*)::INT AS n FROM ${table}`), table);
  }
});

test.serial('bad input: a failing query and an incompatible store exit 2 with the reason', async (t) => {
  const { dir, scenario } = setup();
  const out = join(dir, 'res');
  t.is((await cli(['run', scenario, '--out', out, '--quiet', '--no-charts'])).code, 0);
  const bad = await cli(['query', 'SELECT nope FROM runs', '--out', out]);
  t.is(bad.code, 2);
  t.regex(bad.err, /query failed: .*nope/);
  const s = await Store.open(out);
  await s.exec(`UPDATE meta SET value = '99' WHERE key = 'schema_version'`);
  s.close();
  const old = await cli(['runs', '--out', out]);
  t.is(old.code, 2);
  t.regex(old.err, /schema version 99 .*this ctsim reads version 1: move the file away .*ctsim runs --import/);
  t.is((await cli(['query', 'SELECT 1', '--out', join(dir, 'nothing')])).code, 2);
});

test.serial('sweep: workers record concurrently through the main thread; a re-run resumes from the store with the same bytes', async (t) => {
  const { dir, sweep } = setup();
  const out = join(dir, 'res');
  const o = { out, workers: 2, shard: null, sets: [], policyFiles: [] };
  const first = await runSweep(sweep, o);
  t.is(first.resumed, 0);
  const bytes = readFileSync(join(first.dir, 'cases.jsonl'));
  t.deepEqual(await q(out, `SELECT count(*)::INT AS n FROM sweep_cases`), [{ n: 12 }]);
  t.deepEqual(await q(out, `SELECT count(*)::INT AS n FROM runs WHERE kind = 'sweep'`), [{ n: 12 }]);
  const second = await runSweep(sweep, o);
  t.is(second.resumed, 12, 'every case came from the store');
  t.true(readFileSync(join(second.dir, 'cases.jsonl')).equals(bytes), 'resumed output is byte-identical');
  // an interrupted sweep: half the cases gone from the store, then resumed
  const s = await Store.open(out);
  await s.exec(`DELETE FROM runs WHERE id IN (SELECT run_id FROM sweep_cases WHERE case_index % 2 = 0)`);
  s.close();
  const third = await runSweep(sweep, { ...o, workers: 1 });
  t.is(third.resumed, 6);
  t.true(readFileSync(join(third.dir, 'cases.jsonl')).equals(bytes));
  // the analysis
  const r = await cli(['report', third.dir, '--baseline', 'kernel', '--out', out]);
  t.is(r.code, 0, r.err);
  const paired = readFileSync(join(third.dir, 'paired.csv'), 'utf8').trimEnd().split('\n');
  t.is(paired[0], 'sysctl.nf_conntrack_max,policy,baseline,metric,mean_diff,ci95,n,sweep');
  t.true(paired.slice(1).every((l) => l.includes(',l4-aware,kernel,')));
  t.true(existsSync(join(third.dir, 'charts', 'sysctl.nf_conntrack_max--legit_success_rate.svg')));
  const stored = await cli(['report', '--sweep', 'tiny-sweep', '--out', out]);
  t.is(stored.code, 0, stored.err);
  t.true(readFileSync(join(out, 'tiny-sweep', 'sweep-report', 'analysis.csv')).equals(readFileSync(join(third.dir, 'analysis.csv'))));
});

test.serial('ctsim run MANIFEST reproduces the run byte for byte; a changed policy module is named (exit 2)', async (t) => {
  const { dir } = setup();
  const pol = join(dir, 'my-policy.mjs');
  writeFileSync(pol, `export default { summary: 'does nothing', create: () => ({ name: 'my-policy', install() {} }) };\n`);
  writeFileSync(join(dir, 'p.yaml'), SCENARIO + 'policies: [kernel, ./my-policy.mjs]\n');
  const out = join(dir, 'res');
  t.is((await cli(['run', join(dir, 'p.yaml'), '--out', out, '--quiet', '--set', 'traffic[0].rate=60'])).code, 0);
  const [runDir] = readdirSync(join(out, 'tiny'));
  const mf = join(out, 'tiny', runDir!, 'manifest.json');
  const m = JSON.parse(readFileSync(mf, 'utf8'));
  t.is(m.scenario_file.text, SCENARIO + 'policies: [kernel, ./my-policy.mjs]\n');
  t.deepEqual(m.sets, ['traffic[0].rate=60']);
  t.is(m.policy_modules.length, 1);
  const r = await cli(['run', mf, '--json']);
  t.is(r.code, 0, r.err);
  const rep = JSON.parse(r.out);
  t.true(rep.reproduced);
  t.true(rep.files >= 4, 'summary, metrics, timeseries and the charts');
  // reproduce into a folder: the files are byte-identical to the original ones
  const again = join(dir, 'again');
  t.is((await cli(['run', mf, '--out', again, '--quiet'])).code, 0);
  for (const f of ['summary.json', 'timeseries.csv', 'metrics.json', 'charts/occupancy.png']) {
    t.true(readFileSync(join(out, 'tiny', runDir!, f)).equals(readFileSync(join(again, 'tiny', runDir!, f))), f);
  }
  writeFileSync(pol, `export default { summary: 'changed', create: () => ({ name: 'my-policy', install() {} }) };\n`);
  const changed = await cli(['run', mf]);
  t.is(changed.code, 2);
  t.regex(changed.err, /inputs changed:[\s\S]*policy \.\/my-policy\.mjs: .*my-policy\.mjs changed since the run/);
});

test.serial('separate ctsim processes writing to one store at the same time all get recorded', async (t) => {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const cliJs = fileURLToPath(new URL('../cli.js', import.meta.url));
  const { dir, scenario } = setup();
  const out = join(dir, 'res');
  const go = (args: string[]) => new Promise<number>((res) => {
    const p = spawn(process.execPath, [cliJs, ...args, '--out', out, '--quiet', '--no-charts'], { stdio: 'ignore' });
    p.on('exit', (code) => res(code ?? -1));
  });
  const codes = await Promise.all([
    go(['run', scenario]),
    go(['run', scenario, '--seed', '2']),
    go(['run', scenario, '--seed', '3']),
    go(['compare', scenario, '--policies', 'l4-aware,none', '--runs', '1']),
  ]);
  t.deepEqual(codes, [0, 0, 0, 0]);
  t.deepEqual(await q(out, `SELECT count(*)::INT AS n FROM runs`), [{ n: 5 }]);
  t.deepEqual(await q(out, `SELECT count(DISTINCT run_id)::INT AS n FROM samples`), [{ n: 5 }]);
});
