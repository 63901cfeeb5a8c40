/**
 * The seed paper's error-handling proposal as a scenario option (docs/rules.md §9,
 * `kernel.untracked_when_full`): at a full table the packet passes untracked instead of being
 * dropped, unless a NAT rule would need an entry for it.
 */
import test from 'ava';
import { IP_CT_UNTRACKED, NF_ACCEPT, NF_DROP } from '../conntrack/conntrack.js';
import { IPS_ASSURED } from '../conntrack/constants.js';
import { createConntrack } from '../conntrack/create.js';
import { Pkt } from '../conntrack/packet.js';
import { ip, send, udp } from '../conntrack/testing.js';
import { RngStreams } from '../core/rng.js';
import { setupNat } from '../nat/setup.js';
import type { RulesetDecider } from '../nat/ruleset-decider.js';
import { runScenarioInMemory, scenarioFromYaml } from '../index.js';
import { loadRuleset, setupRules } from './index.js';

const A = ip(10, 0, 0, 2), B = ip(192, 0, 2, 10);

function full(rules?: string) {
  const ct = createConntrack({ version: '6.12', seed: 3, sysctl: { nf_conntrack_max: 2, nf_conntrack_buckets: 16 } });
  const rs = rules === undefined ? undefined : loadRuleset(rules, 'r.nft', undefined).clone();
  const nat = setupNat(ct, { version: [6, 12], ruleset: rs, routes: undefined }, new RngStreams(1, 0));
  setupRules(ct, rs, undefined);
  ct.untrackedWhenFull = true;
  const d = nat?.decider as RulesetDecider | undefined;
  ct.natNeedsEntry = d === undefined ? undefined : (p) => d.needsEntry(p);
  const p = new Pkt();
  for (const sp of [1000, 1001]) {
    send(ct, 0, udp(p, A, sp, B, 53));
    // the answer goes to the (maybe translated) source
    send(ct, 1, udp(p, B, 53, p.src, p.sport));
    if (ct.lastSlot < 0) throw new Error('setup: the answer found no entry');
    ct.table.orStatus(ct.lastSlot, IPS_ASSURED);
  }
  return { ct, rs, p };
}

test('at a full table with nothing evictable the packet passes UNTRACKED; conntrack -S drop stays 0 (docs/rules.md §9)', (t) => {
  const { ct, p } = full();
  t.is(send(ct, 10, udp(p, A, 1002, B, 53)), NF_ACCEPT);
  t.is(ct.lastCtinfo, IP_CT_UNTRACKED);
  t.true(ct.lastUntrackedFull);
  t.is(ct.count, 2);
  t.is(ct.stats.untracked_full, 1);
  t.is(ct.stats.drop, 0);
});

test('a packet a NAT rule would map is still dropped (NAT needs an entry); one no NAT rule matches passes; NAT counters do not move for the probe (docs/rules.md §9)', (t) => {
  const { ct, rs, p } = full('table ip nat {\n chain post {\n  type nat hook postrouting priority srcnat;\n  udp dport 53 snat to 203.0.113.1\n }\n}\ntable inet f {\n chain fwd {\n  type filter hook forward priority 0;\n  ct state untracked counter\n }\n}\n');
  const before = rs!.packets[0]!;
  t.is(send(ct, 10, udp(p, A, 1002, B, 53)), NF_DROP);
  t.is(ct.stats.untracked_full_nat_drop, 1);
  t.is(ct.stats.drop, 1);
  t.is(rs!.packets[0], before, 'the NAT rule\'s counter did not count the probe');
  t.is(send(ct, 10, udp(p, A, 1003, B, 5353)), NF_ACCEPT);
  t.is(ct.stats.untracked_full, 1);
  t.is(rs!.packets[1], 1, 'the filter rule saw ct state untracked');
});

const SCENARIO = (on: boolean) => `
name: full
duration: 20s
kernel: { memory: 256MiB${on ? ', untracked_when_full: true' : ''} }
sysctl: { nf_conntrack_max: 200, nf_conntrack_udp_timeout: 60 }
traffic:
  - kind: udp-request-response
    clients: 10.1.0.0/16
    server: 192.0.2.53
    rate: 40
`;

test('a run reports the untracked_when_full block only when the option is on; flows that passed untracked and succeeded are counted (docs/rules.md §9)', (t) => {
  const off = runScenarioInMemory(scenarioFromYaml(SCENARIO(false))).summary as unknown as Record<string, unknown> & { conntrack_S: { drop: number } };
  const on = runScenarioInMemory(scenarioFromYaml(SCENARIO(true))).summary as unknown as Record<string, unknown> & { conntrack_S: { drop: number }; untracked_when_full: { packets_passed: number; nat_drops: number; flows: Record<string, { flows: number; failed: number; succeeded: number }> } };
  t.false('untracked_when_full' in off);
  t.true(off.conntrack_S.drop > 0, 'without the option the full table drops');
  t.is(on.conntrack_S.drop, 0);
  const u = on.untracked_when_full;
  t.true(u.packets_passed > 0);
  t.is(u.nat_drops, 0);
  t.true(u.flows.legit!.flows > 0);
  // a query that passed untracked gets its answer untracked too (the table is still full) or a NEW entry
  t.is(u.flows.legit!.flows >= u.flows.legit!.failed + u.flows.legit!.succeeded, true);
});
