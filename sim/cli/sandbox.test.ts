/**
 * The user-policy sandbox (issue 17; policies/README.md "Sandbox"): every bad return value of a
 * hook, a write into the table and a hook that never returns end the run with exit 1 and a
 * message naming the policy and the hook, at the first bad value; a well-behaved user policy
 * gives the same results in the sandbox (worker thread) as in this thread.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli.js';
import { loadUserPolicy } from '../io/user-policy.js';
import { loadScenarioFile } from '../io/scenario-files.js';
import { GENERATORS } from '../traffic/registry.js';
import { POLICIES } from '../../policies/index.js';
import { Simulation } from '../run/simulation.js';
import { runSummary } from '../run/summary.js';
import { toJson } from '../io/format.js';

async function quiet(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const ow = process.stdout.write.bind(process.stdout), ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => { out += s; return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  try { return { code: await main(argv), out, err }; } finally { process.stdout.write = ow; process.stderr.write = ew; }
}

const d = mkdtempSync(join(tmpdir(), 'ctsim-sandbox-'));
/** A table that fills (64 entries) under a SYN flood, so chooseVictims, timeout and gcVisit all run. */
const FULL = join(d, 'full.yaml');
writeFileSync(FULL, 'name: full\nduration: 10s\nsysctl: { nf_conntrack_max: 64, nf_conntrack_buckets: 512 }\ntraffic: [ { kind: syn-flood, rate: 100 } ]\n');

function policy(name: string, install: string): string {
  const f = join(d, `${name}.mjs`);
  writeFileSync(f, `export default { summary: "test", create: () => ({ name: "${name}", install: ({ ct, hooks }) => { ${install} } }) };\n`);
  return f;
}

const BAD: [string, string, RegExp][] = [
  ['victims-nan', 'hooks.chooseVictims = () => NaN;', /policy victims-nan \(.*\): chooseVictims returned NaN; expected the number of victims written/],
  ['victims-fraction', 'hooks.chooseVictims = () => 0.5;', /chooseVictims returned 0\.5; expected the number of victims written \(an integer 0\.\.\d+\)/],
  ['victims-too-many', 'hooks.chooseVictims = (b, out) => out.length + 1;', /chooseVictims returned \d+; expected the number of victims written/],
  ['slot-negative', 'hooks.chooseVictims = (b, out) => { out[0] = -5; return 1; };', /chooseVictims chose slot -5 \(victim 0\), outside the table/],
  ['slot-out-of-range', 'hooks.chooseVictims = (b, out) => { out[0] = 1e6; return 1; };', /chooseVictims chose slot 1000000 \(victim 0\), outside the table \(0\.\.\d+\)/],
  ['slot-twice', 'hooks.chooseVictims = (b, out) => { let s = -1; for (let i = 0; i < ct.table.capacity; i++) if (ct.table.statusOf(i) & 8) { s = i; break; } out[0] = s; out[1] = s; return 2; };', /chooseVictims chose slot \d+ twice/],
  ['timeout-nan', 'hooks.timeout = () => NaN;', /policy timeout-nan \(.*\): timeout returned NaN for slot \d+; expected a timeout in jiffies/],
  ['timeout-negative', 'hooks.timeout = () => -1;', /timeout returned -1 for slot \d+; expected a timeout in jiffies: an integer 0\.\.2147483647/],
  ['timeout-fraction', 'hooks.timeout = (s, t) => t / 3 + 0.1;', /timeout returned [\d.]+ for slot \d+; expected a timeout in jiffies/],
  ['gc-not-boolean', 'hooks.gcVisit = () => 1;', /gcVisit returned 1 for slot \d+; expected true \(evict\) or false/],
  ['table-write', 'hooks.chooseVictims = () => { ct.table.hot[6] = 0; return -1; };', /policy table-write \(.*\) wrote ct\.table\.hot\[6\]: the conntrack table is read-only to policies/],
  ['table-field-write', 'hooks.chooseVictims = () => { ct.count = 0; return -1; };', /policy table-field-write \(.*\) wrote ct\.count: the conntrack table is read-only/],
];

for (const [name, install, re] of BAD) {
  test.serial(`bad hook behaviour "${name}": exit 1 naming the policy and the hook, nothing written`, async (t) => {
    const f = policy(name, install);
    const out = join(d, `out-${name}`);
    const r = await quiet(['run', FULL, '--policy', f, '--set', `policies=["${name}"]`, '--out', out, '--no-charts', '--quiet']);
    t.is(r.code, 1, r.err);
    t.regex(r.err, re);
    t.is(r.err.trim().split('\n').length, 1, 'one line, no stack trace');
  });
}

test.serial('a hook that never returns is stopped by the watchdog (--hook-timeout), naming policy and hook', async (t) => {
  const f = policy('forever', 'hooks.timeout = () => { for (;;) { /* never returns */ } };');
  const r = await quiet(['run', FULL, '--policy', f, '--set', 'policies=["forever"]', '--out', join(d, 'out-forever'), '--no-charts', '--quiet', '--hook-timeout', '0.5']);
  t.is(r.code, 1, r.err);
  t.regex(r.err, /policy forever \(.*forever\.mjs\): timeout did not return within 0\.5 s \(the --hook-timeout limit\); the run was stopped/);
});

test.serial('compare: a looping hook in one arm is stopped too', async (t) => {
  const f = policy('spin', 'hooks.chooseVictims = () => { for (;;) { /* spin */ } };');
  const r = await quiet(['compare', FULL, '--policy', f, '--policies', 'kernel,spin', '--out', join(d, 'out-spin'), '--runs', '1', '--no-charts', '--hook-timeout', '0.5']);
  t.is(r.code, 1, r.err);
  t.regex(r.err, /policy spin \(.*spin\.mjs\): chooseVictims did not return within 0\.5 s/);
});

test.serial('a well-behaved user policy: the sandbox (worker) gives byte-identical results to this thread', async (t) => {
  const ex = join(process.cwd(), 'policies', 'examples', 'syn-sent-first.mjs');
  const out = join(d, 'out-ok');
  const r = await quiet(['run', FULL, '--policy', ex, '--set', 'policies=["syn-sent-first"]', '--out', out, '--no-charts', '--quiet']);
  t.is(r.code, 0, r.err);
  const viaWorker = readFileSync(join(out, 'full', readdirSync(join(out, 'full')).find((n) => n.startsWith('s1-r0-'))!, 'summary.json'), 'utf8');
  const kind = await loadUserPolicy(ex);
  const reg = { generators: GENERATORS, policies: { ...POLICIES, 'syn-sent-first': kind } };
  const sc = loadScenarioFile(FULL, ['policies=["syn-sent-first"]'], reg);
  const sim = new Simulation(sc, 0, reg);
  sim.runToEnd();
  t.is(viaWorker, toJson(runSummary(sim)));
  t.true(JSON.parse(viaWorker).table.first_table_full_s !== null, 'the table filled, so chooseVictims ran');
});

// ---- sweep and regress load user policies too (--policy FILE): the same watchdog ----

for (const workers of ['1', '2']) {
  test.serial(`sweep --workers ${workers}: a looping hook is stopped by the watchdog, exit 1 naming policy, hook and case`, async (t) => {
    const f = policy(`sweepspin${workers}`, 'hooks.chooseVictims = () => { for (;;) { /* spin */ } };');
    const sw = join(d, `sweep-${workers}.yaml`);
    writeFileSync(sw, `name: spin${workers}\nscenarios: [./full.yaml]\npolicies: [kernel, sweepspin${workers}]\nseeds: [1]\nruns: 1\n`);
    const out = join(d, `out-sweep-${workers}`);
    const r = await quiet(['sweep', sw, '--policy', f, '--workers', workers, '--out', out, '--no-store', '--quiet', '--hook-timeout', '0.5']);
    t.is(r.code, 1, r.err);
    t.regex(r.err, new RegExp(`policy sweepspin${workers} \\(.*sweepspin${workers}\\.mjs\\): chooseVictims did not return within 0\\.5 s \\(the --hook-timeout limit\\); the sweep was stopped in case 1 \\(full\\|sweepspin${workers}\\|\\|s1\\|r0\\)`));
    t.is(r.err.trim().split('\n').length, 1, 'one line');
    t.false(existsSync(join(out, `spin${workers}`, 'sweep')), 'no sweep folder written');
  });
}

test.serial('sweep: a user policy\'s bad return value in a worker is a UserPolicyError (exit 1, one line), not a crash', async (t) => {
  const f = policy('sweepnan', 'hooks.timeout = () => NaN;');
  const sw = join(d, 'sweep-nan.yaml');
  writeFileSync(sw, 'name: nan\nscenarios: [./full.yaml]\npolicies: [sweepnan]\nseeds: [1]\nruns: 1\n');
  const r = await quiet(['sweep', sw, '--policy', f, '--workers', '2', '--out', join(d, 'out-sweep-nan'), '--no-store', '--quiet']);
  t.is(r.code, 1, r.err);
  t.regex(r.err, /^ctsim: policy sweepnan \(.*\): timeout returned NaN for slot \d+/);
  t.is(r.err.trim().split('\n').length, 1, 'one line, no stack trace');
});

test.serial('regress with a user policy: a looping hook is stopped by the watchdog, exit 1 naming policy and hook, no baseline written', async (t) => {
  const f = policy('regspin', 'hooks.gcVisit = () => { for (;;) { /* spin */ } };');
  const sd = mkdtempSync(join(d, 'suite-'));
  const suite = join(sd, 'suite.yaml');
  writeFileSync(suite, `cases:\n  - { name: spin, scenario: ${FULL}, policies: [regspin] }\n`);
  const r = await quiet(['regress', '--suite', suite, '--policy', f, '--update', '--quiet', '--hook-timeout', '0.5']);
  t.is(r.code, 1, r.err);
  t.regex(r.err, /policy regspin \(.*regspin\.mjs\): gcVisit did not return within 0\.5 s \(the --hook-timeout limit\); the regression suite was stopped and no baseline was written/);
  t.false(existsSync(join(sd, 'spin.json')));
});

test.serial('regress with a well-behaved user policy (in the sandbox): baselines written, then the check passes with the in-thread fingerprint', async (t) => {
  const ex = join(process.cwd(), 'policies', 'examples', 'syn-sent-first.mjs');
  const sd = mkdtempSync(join(d, 'suite-'));
  const suite = join(sd, 'suite.yaml');
  writeFileSync(suite, `cases:\n  - { name: ok, scenario: ${FULL}, policies: [syn-sent-first] }\n`);
  const u = await quiet(['regress', '--suite', suite, '--policy', ex, '--update', '--quiet']);
  t.is(u.code, 0, u.err);
  const c = await quiet(['regress', '--suite', suite, '--policy', ex, '--quiet']);
  t.is(c.code, 0, c.err);
  t.regex(c.out, /regress: 1 passed, 0 failed/);
  const kind = await loadUserPolicy(ex);
  const reg = { generators: GENERATORS, policies: { ...POLICIES, 'syn-sent-first': kind } };
  const sim = new Simulation(loadScenarioFile(FULL, ['policies=["syn-sent-first"]'], reg), 0, reg);
  sim.runToEnd();
  t.is((JSON.parse(readFileSync(join(sd, 'ok.json'), 'utf8')) as { fingerprint: string }).fingerprint, sim.fingerprint, 'the worker\'s fingerprint is this thread\'s');
});
