import test from 'ava';
import { loadScenario } from './load.js';
import { type Scenario, type TrafficClass, buildScenarioSchema, scenarioDefaults } from './scenario.js';
import type { Issue } from './schema-dsl.js';
import { TEST_REGISTRY } from './test-registry.js';

function load(text: string): Scenario {
  const r = loadScenario(text, 'scenarios/web.yaml', TEST_REGISTRY);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.scenario;
}

test('defaults are filled', (t) => {
  const s = load('traffic:\n  - kind: web-clients\n');
  t.deepEqual(s, {
    name: 'web',
    seed: 1,
    runs: 1,
    duration: 60_000_000,
    sample_interval: 1_000_000,
    kernel: { version: '6.12', hz: 250, memory: 24 * 2 ** 30, gc_buckets_per_ms: 8192, cpus: 1, confirm_delay: 0 },
    sysctl: {},
    traffic: [{ kind: 'web-clients', class: 'legit', rate: 100, think_time: 5_000_000, proto: 'tcp' }],
    policies: [{ name: 'kernel' }],
    policy_params: {},
  });
});

test('given values win over defaults; durations resolve to µs, memory to bytes', (t) => {
  const s = load([
    'name: syn-flood-vs-web',
    'description: Web clients under a spoofed SYN flood',
    'seed: 7',
    'runs: 3',
    'duration: 2m',
    'sample_interval: 250ms',
    'kernel: { version: "5.15", hz: 1000, memory: 512MiB, hashsize: 16384, gc_buckets_per_ms: 100 }',
    'sysctl:',
    '  nf_conntrack_max: 65536',
    '  nf_conntrack_tcp_timeout_syn_recv: 30',
    'traffic:',
    '  - { kind: syn-flood, rate: 20000, label: flood }',
    '  - { kind: web-clients, class: attack, think_time: 1.5s }',
    'policies:',
    '  - kernel',
    '  - { name: adaptive-timeout, start: 0.5 }',
  ].join('\n'));
  t.is(s.name, 'syn-flood-vs-web');
  t.is(s.description, 'Web clients under a spoofed SYN flood');
  t.is(s.seed, 7);
  t.is(s.runs, 3);
  t.is(s.duration, 120_000_000);
  t.is(s.sample_interval, 250_000);
  t.deepEqual(s.kernel, { version: '5.15', hz: 1000, memory: 512 * 2 ** 20, hashsize: 16384, gc_buckets_per_ms: 100, cpus: 1, confirm_delay: 0 });
  t.deepEqual(s.sysctl, { nf_conntrack_max: 65536, nf_conntrack_tcp_timeout_syn_recv: 30 });
  t.deepEqual(s.traffic, [
    { kind: 'syn-flood', class: 'attack', label: 'flood', rate: 20000 },
    { kind: 'web-clients', class: 'attack', rate: 100, think_time: 1_500_000, proto: 'tcp' },
  ]);
  t.deepEqual(s.policies, [{ name: 'kernel' }, { name: 'adaptive-timeout', start: 0.5, end: 1.2 }]);
});

test('the Scenario type carries the schema', (t) => {
  const s = load('traffic: [{ kind: syn-flood, rate: 1 }]');
  const hz: number = s.kernel.hz;
  const cls: TrafficClass = s.traffic[0]!.class;
  const max: number | undefined = s.sysctl.nf_conntrack_max;
  const pol: string = s.policies[0]!.name;
  // @ts-expect-error not a sysctl name
  t.is(s.sysctl.nf_conntrack_maximum, undefined);
  t.deepEqual([hz, cls, max, pol], [250, 'attack', undefined, 'kernel']);
});

test('scenarioDefaults are what an empty scenario resolves to', (t) => {
  const issues: Issue[] = [];
  const out = buildScenarioSchema(TEST_REGISTRY).validate({ traffic: [{ kind: 'syn-flood', rate: 1 }] }, [], issues);
  t.deepEqual(issues, []);
  t.is(out?.seed, scenarioDefaults.seed);
  t.is(out?.kernel.hz, scenarioDefaults.kernel.hz);
  t.is(out?.kernel.version, scenarioDefaults.kernel.version);
  t.deepEqual(out?.policies, scenarioDefaults.policies.map((name) => ({ name })));
});

test('validation collects issues without a file (paths only)', (t) => {
  const issues: Issue[] = [];
  buildScenarioSchema(TEST_REGISTRY).validate({ seed: 'x', traffic: [{ kind: 'web-clients', rate: -1, pace: 1 }] }, [], issues);
  t.deepEqual(issues.map((i) => i.path), ['seed', 'traffic[0].pace', 'traffic[0].rate']);
  t.deepEqual(issues[1]!.at, ['traffic', 0, 'pace']);
  t.is(issues[1]!.message, 'unknown key "pace"; allowed: kind, class, label, rate, think_time, proto');
});
