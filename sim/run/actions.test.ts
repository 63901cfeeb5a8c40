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
  t.regex(two[0] ?? '', /actions\[0\]: expected one of sysctl, flush, delete, ruleset per step, got flush and delete/);
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
  const once = (slices: number) => {
    const s = new Simulation(load(text), 0, REG);
    for (const _ of s.slices(slices)) { /* sliced like the CLI's progress, which must not matter */ }
    return JSON.stringify([runSummary(s), s.metrics.rows]);
  };
  const a = once(1);
  t.is(once(1), a);
  t.is(once(7), a);
  t.true(a.includes('"kind":"delete"'));
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

const NAT_BASE = `
name: act-nat
seed: 3
duration: 10s
routes:
  - { prefix: 100.64.0.0/10, iface: access }
  - { prefix: 0.0.0.0/0, iface: uplink, addr: 203.0.113.1 }
ruleset: |
  table ip nat {
    chain postrouting {
      type nat hook postrouting priority srcnat; policy accept;
      oifname "uplink" ip saddr 100.64.0.0/10 snat to 203.0.113.1
    }
  }
traffic:
  - kind: tcp-clients
    label: browsing
    clients: 100.64.0.0/26
    server: 198.51.100.0/24
    port: 443
    rate: 100
    hold: { dist: exponential, mean: 60 }
`;

test('§14.6 ruleset action: entries keep their NAT bindings, new decisions use the new rules; rule ids continue after the first ruleset\'s', (t) => {
  const sc = load(`${NAT_BASE}actions:
  - at: 5s
    ruleset: |
      table ip nat {
        chain postrouting {
          type nat hook postrouting priority srcnat; policy accept;
          oifname "uplink" ip saddr 100.64.0.0/10 snat to 203.0.113.2
        }
      }
`);
  const sim = new Simulation(sc, 0, REG);
  const ct = sim.ct;
  const OLD = (203 << 24) | (113 << 8) | 1, NEW = (203 << 24) | (113 << 8) | 2;
  // run to 5 s: every confirmed entry is SNATed to .1 (its REPLY destination)
  const sl = sim.slices(2);
  sl.next();
  const tb = ct.table;
  const before: number[] = [];
  for (let s = 0; s < tb.capacity; s++) if ((tb.statusOf(s) & 8) !== 0 && tb.isLinked(s * 2 + 1)) before.push(s); // IPS_CONFIRMED, hashed
  t.true(before.length > 50, `${before.length} entries at 5 s`);
  t.true(before.every((s) => tb.replyDst(s) === OLD));
  const bornBefore = new Map(before.map((s) => [s, ct.bornOf(s)]));
  for (const _ of sl) { /* to the end */ }
  let kept = 0, fresh = 0;
  for (let s = 0; s < tb.capacity; s++) {
    if ((tb.statusOf(s) & 8) === 0 || !tb.isLinked(s * 2 + 1)) continue;
    if (bornBefore.get(s) === ct.bornOf(s)) { kept++; t.is(tb.replyDst(s), OLD); } else { fresh++; t.is(tb.replyDst(s), NEW); }
  }
  t.true(kept > 0 && fresh > 0, `kept ${kept}, new ${fresh}`);
  const s = runSummary(sim);
  const rules = (s as { nat?: { rules: { id: number; text?: string; mappings: number }[] } }).nat!.rules;
  t.deepEqual(rules.map((r) => r.id), [0, 1]);
  t.regex(rules[1]!.text!, /snat to 203\.0\.113\.2/);
  const act = (s as { actions?: { kind: string; rules?: number; first_rule_id?: number; command: string }[] }).actions![0]!;
  t.like(act, { kind: 'ruleset', rules: 1, first_rule_id: 1, command: 'nft -f - (inline ruleset)' });
});

test('§14.6 ruleset action bad input: no top-level ruleset; a rule error inside is reported at the scenario line and column', (t) => {
  const none = issues(`${BASE}actions:\n  - at: 1s\n    ruleset: "table ip nat { }"\n`);
  t.is(none.length, 1);
  t.regex(none[0]!, /^scenarios\/bad\.yaml:\d+: actions\[0\]\.ruleset: a ruleset action needs a top-level ruleset/);
  const bad = issues(`${NAT_BASE}actions:\n  - at: 1s\n    ruleset: |\n      table ip nat {\n        chain postrouting {\n          type nat hook postrouting priority srcnat;\n          snat tu 1.2.3.4\n        }\n      }\n`);
  t.is(bad.length, 1);
  t.regex(bad[0]!, /^scenarios\/bad\.yaml:29:16: actions\[0\]\.ruleset: /);
  const missing = issues(`${NAT_BASE}actions:\n  - at: 1s\n    ruleset: nowhere.nft\n`);
  t.regex(missing[0] ?? '', /actions\[0\]\.ruleset: cannot read ruleset "scenarios\/nowhere\.nft": no such file/);
});
