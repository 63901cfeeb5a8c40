import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli.js';
import { meanCi } from '../run/compare.js';

/** The one result folder under `parent` whose name starts with `prefix` (names end in a hash). */
function one(parent: string, prefix: string): string {
  const m = readdirSync(parent).filter((n) => n.startsWith(prefix));
  if (m.length !== 1) throw new Error(`expected one ${prefix}* folder in ${parent}, found ${m.join(', ') || 'none'}`);
  return join(parent, m[0]!);
}

const SCENARIO = `
name: cmp
duration: 150s
runs: 2
sysctl: { nf_conntrack_max: 2048, nf_conntrack_buckets: 2048 }
traffic:
  - { kind: tcp-clients, label: web, rate: 40 }
  - { kind: tcp-clients, label: bots, class: attack, rate: 60, hold: 0, misbehave: { vanish: 1 }, start: 5s, stop: 25s }
policy_params:
  keepalive: { idle: 5s, interval: 2s, probes: 2 }
`;

async function quiet(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const ow = process.stdout.write.bind(process.stdout), ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => { out += s; return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  try { return { code: await main(argv), out, err }; } finally { process.stdout.write = ow; process.stderr.write = ew; }
}

test('meanCi: mean and Student-t 95% half-width; null values ignored', (t) => {
  const r = meanCi([1, 2, 3, null]);
  t.is(r.mean, 2);
  t.is(r.n, 3);
  // exact t quantile, 2 degrees of freedom: (2p − 1) / √(2p(1 − p)) at p = 0.975 = 4.3026527…
  const q = 0.95 / Math.sqrt(2 * 0.975 * 0.025);
  t.true(Math.abs(r.ci95! - q / Math.sqrt(3)) < 1e-9);
  t.deepEqual(meanCi([null]), { mean: null, ci95: null, n: 0 });
});

test.serial('compare replays identical traffic per run: the attack is the same, the outcomes differ by policy', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'ctsim-cmp-'));
  const f = join(d, 'cmp.yaml');
  writeFileSync(f, SCENARIO);
  const r = await quiet(['compare', f, '--policies', 'kernel,keepalive,none', '--out', d, '--json']);
  t.is(r.code, 0, r.err);
  const c = JSON.parse(r.out);
  t.deepEqual(c.arms.map((a: { label: string }) => a.label), ['kernel', 'keepalive', 'none']);
  const k = c.arms[0], ka = c.arms[1];
  t.is(k.perRun.length, 2);
  // keepalive's parameters came from policy_params
  t.is(ka.policies[0].idle, 5_000_000);
  t.true(ka.stats.evicted_probe.mean > 0, 'the vanished bot connections are probed away');
  t.is(k.stats.evicted_probe.mean, 0);
  const csv = readFileSync(join(one(join(d, 'cmp'), 'compare-s1-'), 'comparison.csv'), 'utf8').split('\n');
  t.is(csv[0], 'policy,metric,mean,ci95,n,baseline,diff_mean,diff_ci95,diff_lo,diff_hi,diff_significant,id,scenario,seed,runs');
  // paired differences from the first arm, by run
  t.is(c.baseline, 'kernel');
  t.is(k.paired, null);
  const pd = ka.paired.evicted_probe;
  const diffs = ka.perRun.map((x: Record<string, number>, i: number) => x['evicted_probe']! - k.perRun[i].evicted_probe);
  t.is(pd.n, 2);
  t.is(pd.mean_diff, (diffs[0] + diffs[1]) / 2);
  // n = 2: half-width = t(0.975, 1) · |d1 − d2| / 2 (sd = |d1 − d2| / √2, over √2)
  t.true(Math.abs(pd.ci95 - Math.tan(0.475 * Math.PI) * Math.abs(diffs[0] - diffs[1]) / 2) < 1e-6 * Math.max(1, pd.ci95));
  t.is(pd.significant, pd.lo > 0 || pd.hi < 0);
  // every arm's policy counters: keepalive's probes
  t.true(ka.counterStats['policy.keepalive.probes_sent'].mean > 0);
  t.true(csv.some((l) => l.startsWith('keepalive,policy.keepalive.probes_sent,')));
  const txt = readFileSync(join(one(join(d, 'cmp'), 'compare-s1-'), 'comparison.txt'), 'utf8');
  t.regex(txt, /legit_success_rate/);
  t.regex(txt, /difference from kernel, paired by run/);
  t.regex(txt, /policy\.keepalive\.probes_sent/);
  const other = await quiet(['compare', f, '--policies', 'kernel,none', '--baseline', 'none', '--out', d, '--json', '--runs', '1']);
  t.is(JSON.parse(other.out).baseline, 'none');
  const bad = await quiet(['compare', f, '--policies', 'kernel,none', '--baseline', 'nne', '--out', d]);
  t.is(bad.code, 2);
  t.regex(bad.err, /--baseline: "nne" is not one of --policies \(did you mean "none"\?\)/);
});

test.serial('compare: an unknown policy is bad input with a did-you-mean hint', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'ctsim-cmp-'));
  const f = join(d, 'cmp.yaml');
  writeFileSync(f, SCENARIO);
  const r = await quiet(['compare', f, '--policies', 'kernel,l4-awre', '--out', d]);
  t.is(r.code, 2);
  t.regex(r.err, /unknown policy "l4-awre" \(did you mean "l4-aware"\?\)/);
});

test.serial('user policy modules: loaded by --policy, usable by name; a module without create() is bad input; a throwing hook names the policy (exit 1)', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'ctsim-user-'));
  const f = join(d, 'cmp.yaml');
  writeFileSync(f, SCENARIO);
  const ex = join(process.cwd(), 'policies', 'examples', 'syn-sent-first.mjs');
  const ok = await quiet(['compare', f, '--policy', ex, '--policies', 'kernel,syn-sent-first', '--out', d, '--json', '--runs', '1']);
  t.is(ok.code, 0, ok.err);
  t.is(JSON.parse(ok.out).arms[1].label, 'syn-sent-first');
  const bad = join(d, 'bad.mjs');
  writeFileSync(bad, 'export default { summary: "x" };\n');
  const b = await quiet(['run', f, '--policy', bad, '--out', d]);
  t.is(b.code, 2);
  t.regex(b.err, /policy module .*bad\.mjs: `create\(params\)` must be a function/);
  const thrower = join(d, 'thrower.mjs');
  writeFileSync(thrower, 'export default { summary: "t", create: () => ({ name: "thrower", install: ({ hooks }) => { hooks.chooseVictims = () => { throw new Error("boom"); }; } }) };\n');
  const tf = join(d, 'full.yaml');
  writeFileSync(tf, 'name: full\nduration: 10s\nsysctl: { nf_conntrack_max: 64, nf_conntrack_buckets: 512 }\ntraffic: [ { kind: syn-flood, rate: 100 } ]\n');
  const c = await quiet(['compare', tf, '--policy', thrower, '--policies', 'thrower', '--out', d, '--runs', '1']);
  t.is(c.code, 1);
  t.regex(c.err, /policy thrower \(.*thrower\.mjs\) threw in chooseVictims: boom/);
});

test.serial("a user policy's counters appear in every comparison output (json, csv, txt)", async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'ctsim-user-'));
  const f = join(d, 'cmp.yaml');
  writeFileSync(f, SCENARIO);
  const mod = join(d, 'counting.mjs');
  writeFileSync(mod, 'export default { summary: "counts", create: () => { let n = 0; return { name: "counting", install: ({ hooks }) => { hooks.timeout = (s, to) => { n++; return to; }; }, counters: () => ({ refreshes_seen: n }) }; } };\n');
  const r = await quiet(['compare', f, '--policy', mod, '--policies', 'kernel,counting', '--out', d, '--json', '--runs', '1']);
  t.is(r.code, 0, r.err);
  const c = JSON.parse(r.out);
  t.true(c.arms[1].counterStats['policy.counting.refreshes_seen'].mean > 0);
  t.true(readFileSync(join(one(join(d, 'cmp'), 'compare-s1-'), 'comparison.csv'), 'utf8').includes('counting,policy.counting.refreshes_seen,'));
  t.regex(readFileSync(join(one(join(d, 'cmp'), 'compare-s1-'), 'comparison.txt'), 'utf8'), /policy\.counting\.refreshes_seen/);
});

test.serial('compare --arms: variant arms next to policy arms; manifest and store record the variant; bad variants exit 2 naming the path', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'ctsim-cmp-'));
  const f = join(d, 'var.yaml');
  writeFileSync(f, `name: var
duration: 20s
sysctl: { nf_conntrack_max: 512, nf_conntrack_buckets: 512 }
traffic:
  - { kind: tcp-clients, label: web, rate: 20 }
  - { kind: syn-flood, label: flood, rate: 200, start: 5s, stop: 15s }
variants:
  - name: bigger-table
    sysctl: { nf_conntrack_max: 2048 }
`);
  const r = await quiet(['compare', f, '--policies', 'kernel', '--arms', 'bigger-table,bigger-table:lru', '--runs', '1', '--no-charts', '--out', d]);
  t.is(r.code, 0, r.err);
  t.regex(r.out, /^var: 3 arms × 1 run\(s\)/);
  t.regex(r.out, /\narm bigger-table: variant bigger-table \(sysctl\.nf_conntrack_max=2048\), policies kernel\n/);
  t.regex(r.out, /\narm bigger-table:lru: variant bigger-table \(sysctl\.nf_conntrack_max=2048\), policies lru\n/);
  const dir = one(join(d, 'var'), 'compare-s1-');
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  t.deepEqual(m.policies, ['kernel', 'bigger-table', 'bigger-table:lru']);
  t.deepEqual(m.arm_variants, { 'bigger-table': 'bigger-table', 'bigger-table:lru': 'bigger-table' });
  t.deepEqual(m.arm_runs.map((a: { policy: string; variant?: string }) => [a.policy, a.variant]), [['kernel', undefined], ['bigger-table', 'bigger-table'], ['bigger-table:lru', 'bigger-table']]);
  t.is(new Set(m.arm_runs.map((a: { id: string }) => a.id)).size, 3, 'each arm\'s run has its own id');
  const q = await quiet(['query', `SELECT policy, json_extract_string(params, '$.variant') AS v FROM runs WHERE scenario = 'var' ORDER BY policy`, '--out', d, '--csv']);
  t.is(q.code, 0, q.err);
  t.deepEqual(q.out.trim().split('\n').slice(1), ['bigger-table,bigger-table', 'bigger-table:lru,bigger-table', 'kernel,']);
  const bad = await quiet(['compare', f, '--arms', 'biger-table', '--out', d]);
  t.is(bad.code, 2);
  t.regex(bad.err, /--arms: unknown arm "biger-table" \(did you mean "bigger-table"\?\)/);
  writeFileSync(f, readFileSync(f, 'utf8') + '    ruleset: |\n      table ip nat { chain p { type nat hook postrouting priority srcnat; nope; } }\n');
  const badRules = await quiet(['compare', f, '--arms', 'bigger-table', '--out', d]);
  t.is(badRules.code, 2);
  t.regex(badRules.err, /var\.yaml:11:\d+: variants\[0\]\.ruleset: unknown or unsupported "nope"/);
});
