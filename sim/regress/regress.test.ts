import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { POLICIES, type PolicyKind } from '../../policies/index.js';
import { collectWindow } from '../../policies/window.js';
import { GENERATORS } from '../traffic/registry.js';
import { InputError } from '../io/errors.js';
import { loadScenario } from '../scenario/load.js';
import { Simulation, type Registries } from '../run/simulation.js';
import { runSummary } from '../run/summary.js';
import { TraceRecorder } from '../run/fingerprint.js';
import { caseScenario, loadSuite, runRegress, type RegressReport } from './regress.js';
import { formatValue, formatMarkdown, formatText, sortRows } from './report.js';

const REG: Registries = { generators: GENERATORS, policies: POLICIES };
const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A small scenario that fills a 2048-entry table (about 0.2 s to run). */
const SCENARIO = `
name: tiny
duration: 20s
sysctl: { nf_conntrack_max: 2048, nf_conntrack_buckets: 1024 }
traffic:
  - { kind: tcp-clients, label: web, rate: 50 }
  - { kind: udp-request-response, label: dns, rate: 100 }
  - { kind: syn-flood, label: flood, rate: 400, start: 5s }
policies: [kernel]
`;

function workdir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ctsim-regress-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'tiny.yaml'), SCENARIO);
  return dir;
}

function suite(dir: string, cases: string, head = ''): string {
  const p = join(dir, 'suite.yaml');
  writeFileSync(p, `${head}cases:\n${cases}`);
  return p;
}

/** soft-timeout whose SYN_SENT soft timeout is the parameter a change edits. */
const softCase = (synSent: number) => `  - name: tiny-soft
    scenario: tiny.yaml
    policies: [{ name: soft-timeout, threshold: 0.9, soft: { tcp_syn_sent: ${synSent} } }]
`;

const line = (text: string, metric: string): string | undefined => text.split('\n').find((l) => l.split(/\s+/).includes(metric));

test('changing one policy parameter fails regress with a diff naming the metric, baseline, new value and tolerance', (t) => {
  const dir = workdir(t);
  const tolerances = 'tolerances:\n  "*success_rate": { abs: 1.0e-6 }\n';
  runRegress(loadSuite(suite(dir, softCase(2), tolerances)), REG, { update: true });
  t.is(runRegress(loadSuite(join(dir, 'suite.yaml')), REG).failed, 0, 'unchanged code and inputs pass');

  const r = runRegress(loadSuite(suite(dir, softCase(4), tolerances)), REG);
  t.is(r.failed, 1);
  const c = r.cases[0]!;
  t.is(c.result, 'fail');
  const regressed = c.rows.filter((x) => x.status === 'regression');
  t.true(regressed.length > 0);
  t.true(c.fingerprint.changed && c.fingerprint.fails);
  t.deepEqual(c.inputChanges, [{ path: 'policies[0].soft.tcp_syn_sent', baseline: 2, current: 4 }]);

  const text = formatText(r, dir);
  const md = formatMarkdown(r, dir);
  for (const row of sortRows(regressed).slice(0, 10)) { // the order the report shows them in (it shows the first MAX_ROWS)
    const l = line(text, row.metric);
    t.truthy(l, `${row.metric} is in the table`);
    for (const cell of [formatValue(row.baseline), formatValue(row.current), row.tolerance, 'REGRESSION']) t.true(l!.includes(cell), `${row.metric}: "${cell}" in "${l}"`);
    t.true(md.includes(`| tiny-soft | \`${row.metric}\` | ${formatValue(row.baseline)} | ${formatValue(row.current)} |`), `${row.metric} in the Markdown table`);
  }
  // a metric with a declared tolerance shows it
  const rate = c.rows.find((x) => x.metric.endsWith('success_rate') && x.status === 'regression');
  if (rate) t.true(line(text, rate.metric)!.includes('±0.000001'));
  t.regex(text, /policies\[0\]\.soft\.tcp_syn_sent: 2 → 4/);
  t.regex(text, /tiny-soft: [0-9a-f]{16} \(\d+ events\) → [0-9a-f]{16} \(\d+ events\)/);
  t.regex(text, /\nregress: 0 passed, 1 failed\n$/);
  t.regex(md, /^### ctsim regress: 0 passed, 1 failed/);
  t.regex(md, /\*\*REGRESSION\*\*/);
});

/** lru as a refactoring would write it: window sorted by (idle desc, slot asc), then the head. */
const refactoredLru: PolicyKind = {
  ...POLICIES['lru']!,
  create: (p) => {
    const range = p['range'] as number;
    const buf = new Int32Array(4096);
    return {
      name: 'lru',
      install: ({ ct, hooks }) => {
        hooks.chooseVictims = (bucket, out) => {
          const n = collectWindow(ct, bucket, range, buf);
          if (n === 0) return 0;
          const order = Array.from(buf.subarray(0, n)).map((slot) => ({ slot, idle: ct.idle(slot) }));
          order.sort((a, b) => b.idle - a.idle || a.slot - b.slot);
          out[0] = order[0]!.slot;
          return 1;
        };
      },
    };
  },
};

test('a pure refactoring (lru rewritten) keeps the trajectory fingerprint and every metric', (t) => {
  const dir = workdir(t);
  const s = suite(dir, '  - { name: tiny-lru, scenario: tiny.yaml, policies: [lru] }\n  - { name: tiny-kernel, scenario: tiny.yaml, policies: [kernel] }\n');
  const before = runRegress(loadSuite(s), REG, { update: true });
  const after = runRegress(loadSuite(s), { generators: GENERATORS, policies: { ...POLICIES, lru: refactoredLru } });
  t.is(after.failed, 0, formatText(after));
  for (const [i, c] of after.cases.entries()) {
    t.false(c.fingerprint.changed);
    t.is(c.fingerprint.current, before.cases[i]!.fingerprint.current);
    t.deepEqual(c.rows, []);
  }
  t.not(before.cases[0]!.fingerprint.current, before.cases[1]!.fingerprint.current, 'lru and kernel do behave differently');
});

test('the fingerprint: deterministic, identical for the kernel policy and no policy layer, sensitive to one changed event', (t) => {
  const r = loadScenario(SCENARIO, 'tiny.yaml', REG);
  if (!r.ok) return t.fail(JSON.stringify(r.issues));
  const run = (policies = r.scenario.policies, seed = r.scenario.seed) => {
    const sim = new Simulation({ ...r.scenario, policies, seed }, 0, REG);
    sim.runToEnd();
    return sim;
  };
  const a = run();
  t.regex(a.fingerprint, /^[0-9a-f]{16}$/);
  t.is(runSummary(a).fingerprint, a.fingerprint);
  t.is(run().fingerprint, a.fingerprint);
  t.is(run([]).fingerprint, a.fingerprint);
  t.true(a.fp.count > a.fp.every, 'the run has checkpoints');
  t.not(run(undefined, 2).fingerprint, a.fingerprint);
});

test('--explain: the first diverging event lies in the reported window, after every shared event', (t) => {
  const dir = workdir(t);
  const s = suite(dir, softCase(2));
  runRegress(loadSuite(s), REG, { update: true });
  const sNew = suite(dir, softCase(4));
  const r = runRegress(loadSuite(sNew), REG, { explain: true });
  const ex = r.cases[0]!.fingerprint.explain;
  t.truthy(ex);
  const m = /agree on events 1\.\.(\d+)/.exec(ex!.join('\n'));
  const w = /first diverging event is one of events (\d+)\.\.(\d+)/.exec(ex!.join('\n'));
  t.truthy(w, ex!.join('\n'));

  // ground truth: record every event of both runs (both are runnable here) and find the first difference
  const trace = (path: string) => {
    const su = loadSuite(path);
    const sim = new Simulation(caseScenario(su, su.cases[0]!, REG), 0, REG);
    const rec = new TraceRecorder(1, Infinity, Infinity);
    sim.recordEvents(rec);
    sim.runToEnd();
    return rec.events.map(({ fingerprint: _f, ...e }) => JSON.stringify(e));
  };
  const now = trace(sNew);
  suite(dir, softCase(2));
  const old = trace(join(dir, 'suite.yaml'));
  let first = 0;
  while (first < now.length && now[first] === old[first]) first++;
  const firstIndex = first + 1;
  const agreed = m ? Number(m[1]) : 0;
  t.true(firstIndex > agreed, `first difference ${firstIndex} after the agreed ${agreed}`);
  t.true(firstIndex >= Number(w![1]) && firstIndex <= Number(w![2]), `first difference ${firstIndex} in ${w![1]}..${w![2]}`);
  t.regex(ex!.join('\n'), /#\d+ t=\d+\.\d{6} s {2}(packet from|destroy)/);
});

test('a change within tolerance passes and is listed; fingerprint: report only reports the trajectory', (t) => {
  const dir = workdir(t);
  runRegress(loadSuite(suite(dir, softCase(2))), REG, { update: true });
  // wide enough for every metric: a delay maximum may jump by a whole 5 s DNS retry (55 ms → 5031 ms)
  const r = runRegress(loadSuite(suite(dir, softCase(4), 'fingerprint: report\ntolerances:\n  "*": { abs: 10000, rel: 1000 }\n')), REG);
  t.is(r.failed, 0, formatText(r));
  const c = r.cases[0]!;
  t.true(c.rows.length > 0 && c.rows.every((x) => x.status === 'within' || x.status === 'new'));
  t.true(c.fingerprint.changed && !c.fingerprint.fails);
  t.regex(formatText(r), /within tolerance/);
  t.regex(formatText(r), /reported only/);
});

test('--update rewrites only what changed, reports it, and leaves no temporary files', (t) => {
  const dir = workdir(t);
  const first = runRegress(loadSuite(suite(dir, softCase(2))), REG, { update: true });
  t.is(first.cases[0]!.result, 'created');
  const again = runRegress(loadSuite(join(dir, 'suite.yaml')), REG, { update: true });
  t.is(again.cases[0]!.result, 'unchanged');
  t.regex(formatText(again), /regress: 0 updated, 1 unchanged\n$/);
  const changed = runRegress(loadSuite(suite(dir, softCase(4))), REG, { update: true });
  t.is(changed.cases[0]!.result, 'updated');
  t.true(changed.cases[0]!.rows.length > 0 && changed.cases[0]!.rows.every((x) => x.status === 'changed'));
  t.regex(formatText(changed), /Metrics changed by this update/);
  t.deepEqual(readdirSync(dir).sort(), ['suite.yaml', 'tiny-soft.json', 'tiny.yaml']);
  t.is(runRegress(loadSuite(join(dir, 'suite.yaml')), REG).failed, 0);
});

test('a missing baseline fails the case and says how to create it', (t) => {
  const dir = workdir(t);
  const r = runRegress(loadSuite(suite(dir, softCase(2))), REG);
  t.is(r.failed, 1);
  t.regex(formatText(r), /no baseline .*tiny-soft\.json: create it with ctsim regress --update/);
});

test('bad suites are bad input naming the file, line and path', (t) => {
  const dir = workdir(t);
  const p = suite(dir, `  - { name: a, scenario: tiny.yaml, polices: [kernel] }
  - { name: a, scenario: tiny.yaml }
  - { name: b, tolerances: { "*": { abs: -1 } } }
  - { name: c, scenario: tiny.yaml, fingerprint: maybe, run: -1 }
`);
  const e = t.throws(() => loadSuite(p), { instanceOf: InputError });
  const lines = [...e.lines];
  t.true(lines.some((l) => /suite\.yaml:2: cases\[0\]\.polices: unknown key \(did you mean "policies"\?\)/.test(l)), lines.join('\n'));
  t.true(lines.some((l) => /suite\.yaml:3: cases\[1\]\.name: "a" is already the name of cases\[0\]/.test(l)), lines.join('\n'));
  t.true(lines.some((l) => /suite\.yaml:4: cases\[2\]: missing scenario/.test(l)), lines.join('\n'));
  t.true(lines.some((l) => /suite\.yaml:4: cases\[2\]\.tolerances\.\*: abs: expected a number ≥ 0/.test(l)), lines.join('\n'));
  t.true(lines.some((l) => /suite\.yaml:5: cases\[3\]\.fingerprint: expected fail or report/.test(l)), lines.join('\n'));
  t.true(lines.some((l) => /suite\.yaml:5: cases\[3\]\.run: expected an integer ≥ 0/.test(l)), lines.join('\n'));

  // a case whose scenario or policy parameters are wrong names the suite, the case and the problem
  const q = suite(dir, '  - { name: bad, scenario: tiny.yaml, policies: [{ name: soft-timeout, threshold: 7 }] }\n');
  const e2 = t.throws(() => runRegress(loadSuite(q), REG), { instanceOf: InputError });
  t.regex(e2.lines.join('\n'), /suite\.yaml:2: cases\[0\] \(bad\): policies\[0\]\.threshold: expected a number .* got 7 \(from the case's policies\)$/);
  const q2 = suite(dir, '  - { name: gone, scenario: nowhere.yaml }\n');
  const e3 = t.throws(() => runRegress(loadSuite(q2), REG), { instanceOf: InputError });
  t.regex(e3.lines.join('\n'), /suite\.yaml:2: cases\[0\] \(gone\): scenario: nowhere\.yaml: no such file/);
});

test('the CLI exits 0 on a pass, 1 on a regression (last line "regress: N passed, M failed"), 2 on a bad suite', (t) => {
  const dir = workdir(t);
  const s = suite(dir, softCase(2));
  const run = (args: string[]): { code: number; out: string; err: string } => {
    try {
      return { code: 0, out: execFileSync(process.execPath, [CLI, 'regress', '--suite', s, ...args], { encoding: 'utf8', stdio: 'pipe' }), err: '' };
    } catch (e) {
      const x = e as { status: number; stdout: string; stderr: string };
      return { code: x.status, out: x.stdout, err: x.stderr };
    }
  };
  t.is(run(['--update']).code, 0);
  const ok = run([]);
  t.is(ok.code, 0, ok.err);
  t.regex(ok.out, /\nregress: 1 passed, 0 failed\n$/);
  suite(dir, softCase(4));
  const md = join(dir, 'report.md');
  const bad = run(['--markdown', md]);
  t.is(bad.code, 1, bad.err);
  t.regex(bad.out, /\nregress: 0 passed, 1 failed\n$/);
  t.regex(readFileSync(md, 'utf8'), /\| tiny-soft \| `[^`]+` \|/);
  writeFileSync(s, 'cases: 3\n');
  const input = run([]);
  t.is(input.code, 2);
  t.regex(input.err, /suite\.yaml:1: cases: expected a non-empty list of cases/);
});

test('the committed suite is valid, every case has a baseline, and baselines stay small', (t) => {
  const path = join(ROOT, 'results', 'baselines', 'suite.yaml');
  const su = loadSuite(path);
  t.true(su.cases.length >= 10);
  for (const c of su.cases) {
    t.notThrows(() => caseScenario(su, c, REG), c.name);
    const b = join(ROOT, 'results', 'baselines', `${c.name}.json`);
    t.true(statSync(b).size < 64 * 1024, `${c.name}.json is small`);
  }
});

test('report with nothing moved is short and ends with the count line', (t) => {
  const r: RegressReport = { suite: '/x/suite.yaml', mode: 'check', cases: [], orphans: [], passed: 0, failed: 0 };
  t.regex(formatText(r, '/x'), /^ctsim regress: 0 case\(s\) of suite\.yaml\n[\s\S]*\nregress: 0 passed, 0 failed\n$/);
});
