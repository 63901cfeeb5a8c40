/**
 * Per-rule counters (issue 13, "Counters"): the `rules` block of summary.json, and per arm in
 * `ctsim compare` (JSON, CSV counters, the text table). Expectations come from the traffic
 * generators' own packet counts, not from the rule code: NAT chains see the first packet of
 * every new connection (nf_nat_core.c: nf_nat_inet_fn() runs the chains only for an entry
 * without a NAT binding), and every SYN of a spoofed flood is a new connection.
 */
import test from 'ava';
import { POLICIES } from '../../policies/index.js';
import { GENERATORS } from '../traffic/registry.js';
import { runScenarioInMemory, scenarioFromYaml } from '../index.js';
import { compare } from './compare.js';
import { comparisonCsv, formatComparison } from './compare-format.js';
import { parseCompareArms } from './arms.js';
import { rulesSummary } from './summary.js';
import type { Ruleset } from '../rules/types.js';

const REG = { generators: GENERATORS, policies: POLICIES };

const RULESET = `|
  table ip nat {
    chain pre {
      type nat hook prerouting priority dstnat; policy accept;
      ip saddr 198.18.0.0/15 counter accept
      ip saddr 10.0.0.0/8 counter accept
    }
  }`;

const YAML = (ruleset: boolean) => `
name: rulecount
duration: 12s
sysctl: { nf_conntrack_max: 65536 }
kernel: { memory: 1GiB }
traffic:
  - { kind: syn-flood, label: flood, rate: 300, sources: 198.18.0.0/15, start: 1s, stop: 11s }
${ruleset ? `ruleset: ${RULESET}` : ''}
variants:
  - name: with-rules
    ruleset: ${RULESET.replace(/\n/g, '\n    ')}
`;

test('summary.json: a rules block with each rule\'s place, text, packets and bytes; absent without a ruleset', (t) => {
  const { summary } = runScenarioInMemory(scenarioFromYaml(YAML(true)), 0, REG);
  const attack = summary.classes['attack']!;
  t.true(attack.packets > 2500, `the flood ran (${attack.packets} SYNs)`);
  t.is(attack.dropped, 0, 'the table never fills: every SYN reaches the NAT hook');
  const rules = summary.rules!;
  t.deepEqual(rules.map((r) => [r.id, r.family, r.table, r.chain, r.hook, r.line, r.text]), [
    [0, 'ip', 'nat', 'pre', 'prerouting', 12, 'ip saddr 198.18.0.0/15 counter accept'],
    [1, 'ip', 'nat', 'pre', 'prerouting', 13, 'ip saddr 10.0.0.0/8 counter accept'],
  ]);
  // every spoofed SYN is a new connection: the first rule matches each one, the second none
  t.is(rules[0]!.packets, attack.packets);
  t.is(rules[1]!.packets, 0);
  t.true(rules[0]!.bytes >= 40 * attack.packets, 'at least an IPv4 + TCP header per SYN');
  t.deepEqual(rules[0]!.drops, { legit: 0, attack: 0 }, 'accept drops nothing');
  const plain = runScenarioInMemory(scenarioFromYaml(YAML(false)), 0, REG).summary;
  t.false('rules' in plain, 'no ruleset: no rules block (summary.json unchanged)');
  t.is(plain.fingerprint, summary.fingerprint, 'counting rules changes no verdict');
});

test('rulesSummary: drops are read per rule and class at id * 3 + class (zeros when the ruleset has none)', (t) => {
  const rules = [0, 1].map((id) => ({ id, table: 'filter', chain: 'fwd', hook: 'forward' as const, priority: 0, index: id, line: 3 + id, text: `rule ${id}` }));
  const stub = { rules, packets: new Float64Array([5, 7]), bytes: new Float64Array([300, 420]) } as unknown as Ruleset;
  t.deepEqual(rulesSummary(stub).map((r) => r.drops), [{ legit: 0, attack: 0 }, { legit: 0, attack: 0 }]);
  // cls 0 none, 1 legit, 2 attack (sim/conntrack/stats.ts CLASS_*)
  (stub as Ruleset & { drops: Float64Array }).drops = new Float64Array([9, 1, 2, 9, 3, 4]);
  t.deepEqual(rulesSummary(stub).map((r) => [r.packets, r.bytes, r.drops.legit, r.drops.attack]), [[5, 300, 1, 2], [7, 420, 3, 4]]);
});

test('compare: rule counters per arm in JSON, CSV and the text table; an arm without rules has none; byte-identical when run again', async (t) => {
  const sc = scenarioFromYaml(YAML(false));
  const arms = parseCompareArms({ policies: 'kernel', arms: 'with-rules' }, sc, POLICIES);
  const c = compare(sc, arms, 2, REG);
  const [k, w] = c.arms as [typeof c.arms[0], typeof c.arms[0]];
  t.is(k.rules, undefined);
  t.false(Object.keys(k.counterStats).some((x) => x.startsWith('rule.')));
  t.is(w.rules!.length, 2);
  const sent = w.sample.classes['attack']!.packets;
  t.is(w.countersPerRun[0]!['rule.0.packets'], sent, 'run 0: every SYN counted by the first rule');
  t.is(w.rules![0]!.packets.mean, (w.countersPerRun[0]!['rule.0.packets']! + w.countersPerRun[1]!['rule.0.packets']!) / 2);
  t.is(w.rules![1]!.packets.mean, 0);
  t.is(w.rules![0]!.dropped_legit.mean, 0);
  const txt = formatComparison(c);
  t.regex(txt, /\nrules of with-rules \(mean ± 95% CI over 2 run\(s\); dropped = dropped or rejected by the rule, by traffic class\)\nrule +packets +bytes +legit dropped +attack dropped\n/);
  t.regex(txt, new RegExp(`\\nnat/pre:\\d+ ip saddr 198\\.18\\.0\\.0/15 counter accept +${Math.round(w.rules![0]!.packets.mean!)} ± \\d+ +\\d+ ± \\d+ +0 ± 0 +0 ± 0\\n`));
  t.notRegex(txt, /rule\.0\.packets/, 'rule counters are in the rules table, not among the policy counters');
  t.notRegex(txt, /rules of kernel/);
  const csv = await comparisonCsv(c);
  t.regex(csv, /\nwith-rules,rule\.0\.packets,\d+/);
  t.regex(csv, /\nwith-rules,rule\.1\.dropped_attack,0,0,2,/);
  const again = compare(sc, parseCompareArms({ policies: 'kernel', arms: 'with-rules' }, sc, POLICIES), 2, REG);
  t.is(JSON.stringify(again), JSON.stringify(c));
  t.is(formatComparison(again), txt);
});
