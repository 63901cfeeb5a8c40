/**
 * `ctsim compare` replays identical traffic through every arm (issue 17): the real `compare()`
 * is run with Simulation.send observed, and every arm must see the same attack packets (open-loop
 * traffic: same times, tuples and flags) and the same bucket hash key, while the outcomes differ
 * by policy. Legitimate clients are closed-loop (they react to drops), so only their first packets
 * before the table fills must agree.
 */
import test from 'ava';
import { POLICIES } from '../../policies/index.js';
import { GENERATORS } from '../traffic/registry.js';
import { scenarioFromYaml } from '../index.js';
import { compare } from './compare.js';
import { observe, type Trace } from './traffic-trace.testkit.js';

const YAML = `
name: arms
duration: 30s
sysctl: { nf_conntrack_max: 512, nf_conntrack_buckets: 512 }
traffic:
  - { kind: tcp-clients, label: web, rate: 20 }
  - { kind: syn-flood, label: flood, rate: 200, start: 5s, stop: 20s }
`;

test('compare: every arm sees the same attack packets and the same hash key; outcomes differ', (t) => {
  const sc = scenarioFromYaml(YAML);
  const reg = { generators: GENERATORS, policies: POLICIES };
  const arms = ['kernel', 'none', 'l4-aware'].map((name) => ({ label: name, policies: [{ name, ...(POLICIES[name]!.schema.validate({}, [], []) as object) }] }));
  const traces = observe(() => compare(sc, arms, 1, reg));
  t.is(traces.length, 3, 'one simulation per arm');
  const [a, b, c] = traces as [Trace, Trace, Trace];
  t.true(a.attack.length > 1000, `the flood ran (${a.attack.length} packets)`);
  t.deepEqual(b.attack, a.attack);
  t.deepEqual(c.attack, a.attack);
  t.is(b.key, a.key);
  t.is(c.key, a.key);
  t.not(a.verdicts, b.verdicts, 'kernel and tail drop decide differently: the test would see a difference');
});

test('compare: another seed gives other attack packets and another key (the check above can fail)', (t) => {
  const reg = { generators: GENERATORS, policies: POLICIES };
  const arm = [{ label: 'kernel', policies: [{ name: 'kernel' }] }];
  const [x] = observe(() => compare(scenarioFromYaml(YAML), arm, 1, reg));
  const [y] = observe(() => compare(scenarioFromYaml(YAML, ['seed=2']), arm, 1, reg));
  t.notDeepEqual(x!.attack, y!.attack);
  t.not(x!.key, y!.key);
});
