import test from 'ava';
import { runScenarioInMemory, scenarioFromYaml } from '../index.js';

const NAT_SCENARIO = `
name: nat-small
duration: 20s
kernel: { memory: 256MiB }
routes:
  - { prefix: 10.0.0.0/8, iface: lan0 }
  - { prefix: 0.0.0.0/0, iface: wan0, addr: 203.0.113.1 }
ruleset: |
  table ip nat {
    chain post {
      type nat hook postrouting priority srcnat; policy accept;
      oifname "wan0" meta l4proto udp masquerade to :20000-20049
    }
  }
traffic:
  - kind: udp-request-response
    clients: 10.1.0.0/24
    server: 192.0.2.53
    rate: 20
`;

test('a run with a ruleset reports the nat block and port utilisation; replies come back through the mapping (docs/nat.md §6)', (t) => {
  const { summary, columns, rows } = runScenarioInMemory(scenarioFromYaml(NAT_SCENARIO));
  const nat = summary.nat!;
  t.truthy(nat);
  // 20 queries/s for 20 s, each entry holding one of the 50 ports for 30 s: the range fills up
  t.true(nat.insert_failed > 0);
  t.is(nat.rules[0]!.insert_failed, nat.insert_failed);
  t.is(nat.port_keys[0]!.range, 50);
  t.is(nat.port_keys[0]!.peak, 50);
  t.is(nat.peak_port_util, 1);
  const u = columns.indexOf('nat_port_util');
  t.is(u, columns.length - 1);
  t.is(Math.max(...rows.map((r) => r[u]!)), 1);
  const g = summary.generators[0]!;
  t.true(g.succeeded > 0, 'answers addressed to the NAT address reach the clients');
  t.is(g.broken, 0);
  // deterministic
  t.is(runScenarioInMemory(scenarioFromYaml(NAT_SCENARIO)).summary.fingerprint, summary.fingerprint);
});

test('without a ruleset and with one CPU there is no nat block and the column is 0 (docs/nat.md §6.2)', (t) => {
  const yaml = NAT_SCENARIO.replace(/routes:[\s\S]*?traffic:/, 'traffic:');
  const { summary, columns, rows } = runScenarioInMemory(scenarioFromYaml(yaml));
  t.false('nat' in summary);
  const u = columns.indexOf('nat_port_util');
  t.true(rows.every((r) => r[u] === 0));
});

const DNS = (version: string, aaaa: string) => `
name: dns-small
duration: 15s
kernel: { memory: 256MiB, version: "${version}", cpus: 8, confirm_delay: 20us }
routes:
  - { prefix: 10.0.0.0/8, iface: cni0 }
ruleset: |
  table ip nat {
    chain pre {
      type nat hook prerouting priority dstnat; policy accept;
      ip daddr 10.96.0.10 udp dport 53 dnat to 10.244.1.10
    }
  }
traffic:
  - kind: udp-request-response
    clients: 10.2.0.0/24
    server: 10.96.0.10
    rate: 50
    aaaa: ${aaaa}
    answer_delay: 1
`;

const natOf = (s: ReturnType<typeof runScenarioInMemory>['summary']) => s.nat as unknown as Record<string, number>;

test('glibc A/AAAA from one socket: on 4.19 raced AAAA queries are dropped and answered after the 5 s re-send; single-request-reopen avoids the race (docs/nat.md §3.3)', (t) => {
  const par = natOf(runScenarioInMemory(scenarioFromYaml(DNS('4.19', 'parallel'))).summary);
  t.true(par['drop']! > 0);
  t.is(par['drop'], par['insert_failed']);
  t.true(par['lookups_answered_after_resend']! > 0);
  const reopen = natOf(runScenarioInMemory(scenarioFromYaml(DNS('4.19', 'reopen'))).summary);
  t.is(reopen['insert_failed'], 0);
  t.is(reopen['lookups_answered_after_resend'], 0);
  const merged = runScenarioInMemory(scenarioFromYaml(DNS('6.12', 'parallel'))).summary;
  t.true(natOf(merged)['clash_resolve']! > 0);
  t.is(natOf(merged)['drop'], 0);
  t.is(natOf(merged)['lookups_answered_after_resend'], 0);
  t.is(merged.generators[0]!.failed, 0);
});
