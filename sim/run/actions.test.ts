/**
 * Operator actions in whole runs (docs/model.md §14): validation with file, line and path,
 * their place in the event order, their record in summary.json, and determinism.
 */
import test from 'ava';
import { POLICIES } from '../../policies/index.js';
import { GENERATORS } from '../traffic/registry.js';
import { loadScenario, formatIssue } from '../scenario/load.js';
import type { Scenario } from '../scenario/scenario.js';
import { Simulation, type Registries } from './simulation.js';
import { runSummary } from './summary.js';

const REG: Registries = { generators: GENERATORS, policies: POLICIES };

function load(text: string, name = 'scenarios/act.yaml'): Scenario {
  const r = loadScenario(text, name, REG);
  if (!r.ok) throw new Error(r.issues.map(formatIssue).join('\n'));
  return r.scenario;
}

function issues(text: string): string[] {
  const r = loadScenario(text, 'scenarios/bad.yaml', REG);
  return r.ok ? [] : r.issues.map(formatIssue);
}

const BASE = `
name: act
seed: 7
duration: 20s
sysctl: { nf_conntrack_max: 4096, nf_conntrack_buckets: 1024 }
traffic:
  - kind: tcp-clients
    label: web
    rate: 50
  - kind: syn-flood
    label: flood
    rate: 2000
    sources: 198.18.0.0/15
    port: 80
    start: 2s
    stop: 15s
`;

test('§14 bad input: negative time, time after the run, unknown sysctl with a suggestion, bad value: exit-2 messages name file, line and path', (t) => {
  const neg = issues(`${BASE}actions:\n  - at: 1s\n    flush: true\n  - at: -2s\n    flush: true\n`);
  t.is(neg.length, 1);
  t.regex(neg[0]!, /^scenarios\/bad\.yaml:\d+: actions\[1\]\.at: .*negative/);
  const late = issues(`${BASE}actions:\n  - at: 1s\n    flush: true\n  - at: 5s\n    flush: true\n  - at: 21s\n    flush: true\n`);
  t.deepEqual(late, ['scenarios/bad.yaml:22: actions[2].at: 21s is after the end of the run (duration 20s): the action would never run']);
  const unk = issues(`${BASE}actions:\n  - at: 1s\n    sysctl: { nf_conntrack_mx: 5 }\n`);
  t.is(unk.length, 1);
  t.regex(unk[0]!, /actions\[0\]\.sysctl\.nf_conntrack_mx: unknown sysctl "nf_conntrack_mx" \(did you mean "nf_conntrack_max"\?\)/);
  const val = issues(`${BASE}actions:\n  - at: 1s\n    sysctl: { nf_conntrack_udp_timeout: -1, nf_conntrack_buckets: 0 }\n`);
  t.is(val.length, 2);
  t.regex(val.join('\n'), /actions\[0\]\.sysctl\.nf_conntrack_udp_timeout: expected 0\.\.\d+ \(seconds\), got -1/);
  t.regex(val.join('\n'), /actions\[0\]\.sysctl\.nf_conntrack_buckets: expected 1\.\.\d+ \(count\), got 0/);
  const two = issues(`${BASE}actions:\n  - at: 1s\n    flush: true\n    delete: { protocol: udp }\n`);
  t.regex(two[0] ?? '', /actions\[0\]: expected one of sysctl, flush, delete per step, got flush and delete/);
  const state = issues(`${BASE}actions:\n  - at: 1s\n    delete: { protocol: udp, state: ESTABLISHED }\n`);
  t.regex(state[0] ?? '', /actions\[0\]\.delete\.state: a TCP state filter needs protocol: tcp/);
  const events = issues(`${BASE}actions:\n  - at: 1s\n    sysctl: { nf_conntrack_events: 1 }\n`);
  t.regex(events[0] ?? '', /nf_conntrack_events is fixed for the whole run/);
  t.deepEqual(issues(`${BASE}actions:\n  - at: 20s\n    flush: true\n`), [], 'at = duration is inside the run');
});

test('§14 actions run first at their microsecond: a flush at t leaves 0 entries in the sample at t; summary.json records each action', (t) => {
  const sc = load(`${BASE}actions:
  - at: 5s
    label: raise
    sysctl: { nf_conntrack_max: 65536, nf_conntrack_buckets: 1500 }
  - at: 8s
    delete: { protocol: tcp, state: SYN_SENT, src: 198.18.0.0/15 }
  - at: 12s
    flush: true
`);
  const sim = new Simulation(sc, 0, REG);
  sim.runToEnd();
  const s = runSummary(sim);
  const acts = (s as { actions?: { at_s: number; kind: string; command: string; count_before: number; count_after: number; deleted?: number; buckets_after?: number }[] }).actions!;
  t.is(acts.length, 3);
  t.deepEqual(acts.map((a) => [a.at_s, a.kind]), [[5, 'sysctl'], [8, 'delete'], [12, 'flush']]);
  t.is(acts[0]!.buckets_after, 1536);
  t.is(acts[0]!.command, 'sysctl -w net.netfilter.nf_conntrack_max=65536 net.netfilter.nf_conntrack_buckets=1500');
  t.is(s.table.nf_conntrack_max, 65536);
  t.is(s.table.nf_conntrack_buckets, 1536);
  t.is(acts[1]!.command, 'conntrack -D -p tcp --state SYN_SENT -s 198.18.0.0/15');
  t.true(acts[1]!.deleted! > 1000, `deleted ${acts[1]!.deleted}`);
  t.is(acts[1]!.count_before - acts[1]!.count_after, acts[1]!.deleted! + ((acts[1] as { reaped?: number }).reaped ?? 0));
  t.is(acts[2]!.count_after, 0);
  t.is(acts[2]!.deleted, acts[2]!.count_before);
  // the sample at 12 s comes after the flush at 12 s
  const rows = sim.metrics.rows;
  const at12 = rows.find((r) => r[0] === 12);
  t.truthy(at12);
  t.is(at12![1], 0, 'count column of the 12 s sample');
});

test('§14 determinism: the same scenario with actions and seed gives byte-identical summaries; a scenario without actions has no actions key', (t) => {
  const text = `${BASE}sysctl: { nf_conntrack_max: 4096, nf_conntrack_buckets: 1024, nf_conntrack_acct: 1, nf_conntrack_timestamp: 1 }
actions:
  - at: 6s
    sysctl: { nf_conntrack_buckets: 3000, nf_conntrack_acct: 0 }
  - at: 9s
    delete: { src: 198.18.0.0/16 }
`.replace(/^sysctl: \{ nf_conntrack_max: 4096, nf_conntrack_buckets: 1024 \}\n/m, '');
  const a = runSummary((() => { const s = new Simulation(load(text), 0, REG); s.runToEnd(); return s; })());
  const b = runSummary((() => { const s = new Simulation(load(text), 0, REG); s.runToEnd(); return s; })());
  t.is(JSON.stringify(a), JSON.stringify(b));
  const plain = runSummary((() => { const s = new Simulation(load(BASE), 0, REG); s.runToEnd(); return s; })());
  t.false('actions' in plain);
});

test('§14 charts: the timeline carries one marker per action (label or what it does); time-series charts get a rule layer named actions', async (t) => {
  const { timelineOf } = await import('../charts/data.js');
  const { attackWindowLayers } = await import('../charts/specs.js');
  const sc = load(`${BASE}actions:\n  - at: 5s\n    sysctl: { nf_conntrack_max: 9000 }\n  - at: 8s\n    label: drop flood\n    delete: { src: 198.18.0.0/15 }\n  - at: 9s\n    flush: true\n`);
  const tl = timelineOf(sc);
  t.deepEqual(tl.actions, [{ at_s: 5, label: 'max=9000' }, { at_s: 8, label: 'drop flood' }, { at_s: 9, label: 'conntrack -F' }]);
  const layers = attackWindowLayers({ kind: 'run', timeline: tl, scenario: 'act', seed: 7, runs: 1, arms: [] });
  const rule = layers.find((l) => l['name'] === 'actions');
  t.truthy(rule);
  t.is(((rule!['data'] as { values: unknown[] }).values).length, 3);
  t.is(timelineOf(load(BASE)).actions, undefined);
});
