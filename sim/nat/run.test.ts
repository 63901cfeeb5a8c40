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
