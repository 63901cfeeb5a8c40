import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli.js';
import { loadScenarioFile, SCENARIO_REGISTRY, builtinScenarios } from '../io/scenario-files.js';
import { loadScenario } from './load.js';
import { resolvedYaml } from './resolved.js';

test('validate --resolved round trip: every built-in scenario, written back in user terms, validates to the same scenario', (t) => {
  const all = builtinScenarios();
  t.true(all.length >= 4);
  for (const b of all) {
    const sc = loadScenarioFile(b.path, []);
    const y = resolvedYaml(sc, SCENARIO_REGISTRY);
    t.false(/: -?\d{7,}\b/.test(y.replace(/nf_conntrack_\w+: \d+/g, '')), `${b.name}: no raw µs or integer addresses`);
    const r = loadScenario(y, b.path, SCENARIO_REGISTRY);
    t.true(r.ok, `${b.name}: ${r.ok ? '' : r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    if (r.ok) t.is(JSON.stringify(r.scenario), JSON.stringify(sc), b.name);
  }
});

test('resolved YAML writes durations, sizes and addresses as a user would', (t) => {
  const sc = loadScenarioFile(builtinScenarios().find((b) => b.name === 'mixed')!.path, []);
  const y = resolvedYaml(sc, SCENARIO_REGISTRY);
  t.regex(y, /^duration: 3m$/m);
  t.regex(y, /^  memory: 4GiB$/m);
  t.regex(y, /clients: 10\.1\.0\.0\/16/);
  t.regex(y, /server: 192\.0\.2\.10$/m);
  t.regex(y, /shape: ramp/);
  t.regex(y, /ports: 1-65535/);
});

test.serial('ctsim validate --resolved prints YAML that ctsim validate accepts (with --set applied)', async (t) => {
  let out = '';
  const ow = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((x: string) => { out += x; return true; }) as typeof process.stdout.write;
  let code: number;
  try { code = await main(['validate', 'syn-flood-vs-web', '--resolved', '--set', 'sysctl.nf_conntrack_max=4096', '--set', 'duration=2m']); } finally { process.stdout.write = ow; }
  t.is(code, 0);
  t.regex(out, /^# syn-flood-vs-web resolved by ctsim /);
  t.regex(out, /^duration: 2m$/m);
  t.regex(out, /^  nf_conntrack_max: 4096$/m);
  const f = join(mkdtempSync(join(tmpdir(), 'ctsim-resolved-')), 'r.yaml');
  writeFileSync(f, out);
  const back = loadScenarioFile(f, []);
  const orig = loadScenarioFile(builtinScenarios().find((b) => b.name === 'syn-flood-vs-web')!.path, ['sysctl.nf_conntrack_max=4096', 'duration=2m']);
  t.is(JSON.stringify({ ...back, name: orig.name }), JSON.stringify(orig));
});

test('round trip on every regression-suite case (policies with parameters, seeds, runs)', async (t) => {
  const { loadSuite, caseScenario } = await import('../regress/regress.js');
  const { REGISTRIES, packageRoot } = await import('../io/scenario-files.js');
  const suite = loadSuite(join(packageRoot(), 'results', 'baselines', 'suite.yaml'));
  t.true(suite.cases.length >= 10);
  for (const c of suite.cases) {
    const sc = caseScenario(suite, c, REGISTRIES);
    const r = loadScenario(resolvedYaml(sc, REGISTRIES), 'suite', REGISTRIES);
    t.true(r.ok, `${c.name}: ${r.ok ? '' : r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    if (r.ok) t.is(JSON.stringify(r.scenario), JSON.stringify(sc), c.name);
  }
});

test('round trip with every built-in policy installed (its parameters from policy_params or its defaults)', async (t) => {
  const { parseArms } = await import('../run/arms.js');
  const { REGISTRIES } = await import('../io/scenario-files.js');
  const base = loadScenarioFile(builtinScenarios().find((b) => b.name === 'mixed')!.path, []);
  let n = 0;
  for (const name of Object.keys(REGISTRIES.policies)) {
    let arm;
    try { [arm] = parseArms(name, base, REGISTRIES.policies); } catch { continue; } // needs parameters the scenario does not give
    const sc = { ...base, policies: arm!.policies };
    const r = loadScenario(resolvedYaml(sc, REGISTRIES), 'mixed', REGISTRIES);
    t.true(r.ok, `${name}: ${r.ok ? '' : r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    if (r.ok) t.is(JSON.stringify(r.scenario), JSON.stringify(sc), name);
    n++;
  }
  t.true(n >= 5, `${n} policies checked`);
});
