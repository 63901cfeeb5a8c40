/**
 * The rule path (docs/rules.md §8): filter/raw chains around conntrack in the kernel's hook
 * order, the built-in matches and statements, per-rule counters and drops per class, and the
 * extension point. Expectations are computed from the kernel's rules, not from the code.
 */
import test from 'ava';
import {
  IP_CT_ESTABLISHED_REPLY, IP_CT_NEW, IP_CT_UNTRACKED, NF_ACCEPT, NF_DROP, NF_REJECT, type Conntrack,
} from '../conntrack/conntrack.js';
import { IPCT_MARK, IPCT_NEW, IPS_ASSURED } from '../conntrack/constants.js';
import { createConntrack } from '../conntrack/create.js';
import { Pkt } from '../conntrack/packet.js';
import { CLASS_ATTACK, CLASS_LEGIT } from '../conntrack/stats.js';
import { ip, send, tcp, udp } from '../conntrack/testing.js';
import { RngStreams } from '../core/rng.js';
import { setupNat } from '../nat/setup.js';
import { buildRoutes, loadRuleset, parseRouteArg, registerStatement, type RouteEntry, setupRules } from './index.js';
import type { LoadedRuleset } from './ruleset.js';

const A = ip(10, 0, 0, 2), B = ip(192, 0, 2, 10), VIP = ip(198, 51, 100, 1), PUB = ip(203, 0, 113, 1);

function fw(rules: string, o: { max?: number; sysctl?: Record<string, number>; routes?: string[] } = {}) {
  const built = o.routes ? buildRoutes(o.routes.map((a) => parseRouteArg(a) as RouteEntry)) : undefined;
  if (built && !built.ok) throw new Error(JSON.stringify(built.issues));
  const routes = built?.ok ? built.routes : undefined;
  const rs = loadRuleset(rules, 'fw.nft', routes).clone();
  const ct = createConntrack({ version: '6.12', seed: 3, sysctl: { nf_conntrack_max: o.max ?? 1024, nf_conntrack_buckets: 256, ...(o.sysctl ?? {}) } });
  setupNat(ct, { version: [6, 12], ruleset: rs, routes }, new RngStreams(3, 0));
  setupRules(ct, rs, routes);
  const events: number[] = [];
  ct.observer = { event: (_s, m) => events.push(m) };
  (ct as unknown as { eventsOn: boolean }).eventsOn = true;
  return { ct, rs, events };
}

const filter = (hook: string, prio: string, body: string, policy = '') =>
  `table inet t {\n chain c {\n  type filter hook ${hook} priority ${prio};${policy}\n  ${body}\n }\n}\n`;

const conntrackS = (ct: Conntrack) => {
  const s = ct.stats;
  return { found: s.found, invalid: s.invalid, insert: s.insert, insert_failed: s.insert_failed, drop: s.drop, early_drop: s.early_drop, error: s.error };
};

test('notrack in raw prerouting: no entry, ctinfo UNTRACKED, ct state untracked matches later; the reply creates its own entry (docs/rules.md §8.3)', (t) => {
  const { ct, rs } = fw(`table inet raw {\n chain pre {\n  type filter hook prerouting priority raw;\n  udp dport 53 notrack\n }\n}\ntable inet f {\n chain fwd {\n  type filter hook forward priority filter;\n  ct state untracked counter accept\n }\n}\n`);
  const p = new Pkt();
  t.is(send(ct, 0, udp(p, A, 40000, B, 53)), NF_ACCEPT);
  t.is(ct.count, 0, 'notrack: nothing allocated');
  t.is(ct.lastCtinfo, IP_CT_UNTRACKED);
  t.is(ct.stats.notrack, 1);
  t.is(rs.packets[1], 1, 'ct state untracked matched in forward');
  // the answer (sport 53) is not notrack'd: conntrack creates a NEW entry for it
  t.is(send(ct, 10, udp(p, B, 53, A, 40000)), NF_ACCEPT);
  t.is(ct.count, 1);
  t.is(ct.lastCtinfo, IP_CT_NEW);
  t.deepEqual(conntrackS(ct), { found: 0, invalid: 0, insert: 0, insert_failed: 0, drop: 0, early_drop: 0, error: 0 });
});

test('notrack after conntrack (priority -150) is a no-op for a packet that has an entry (docs/rules.md §8.3)', (t) => {
  const { ct } = fw(filter('prerouting', 'mangle', 'notrack'));
  const p = new Pkt();
  send(ct, 0, udp(p, A, 40000, B, 53));
  t.is(ct.count, 1);
  t.is(ct.lastCtinfo, IP_CT_NEW);
  t.is(ct.stats.notrack, 0);
});

test('a filter drop of a first packet frees the unconfirmed entry: no NEW event, nothing in conntrack -S, drop counted per class (docs/rules.md §8.1)', (t) => {
  const { ct, rs, events } = fw(filter('forward', 'filter', 'tcp dport 22 counter drop'));
  const p = new Pkt();
  tcp(p, A, 40000, B, 22, 'S');
  p.cls = CLASS_ATTACK;
  t.is(send(ct, 0, p), NF_DROP);
  t.is(ct.count, 0);
  t.is(ct.stats.allocated, 1, 'the entry was allocated by nf_conntrack_in');
  t.is(ct.stats.freed_rule, 1);
  t.is(ct.stats.confirmed, 0);
  t.deepEqual(events, [], 'no NEW (nor DESTROY) event');
  t.deepEqual(conntrackS(ct), { found: 0, invalid: 0, insert: 0, insert_failed: 0, drop: 0, early_drop: 0, error: 0 });
  t.is(rs.packets[0], 1);
  t.is(rs.bytes[0], 40);
  t.is(rs.drops.length, 3);
  t.deepEqual([...rs.drops], [0, 0, 1], 'index id*3 + cls: attack');
  // another port passes and is confirmed with its NEW event
  tcp(p, A, 40001, B, 80, 'S');
  p.cls = CLASS_LEGIT;
  t.is(send(ct, 1, p), NF_ACCEPT);
  t.is(ct.count, 1);
  t.is(events.length, 1);
  t.is(events[0]! & (1 << IPCT_NEW), 1 << IPCT_NEW);
});

test('a table-full drop happens in nf_conntrack_in before any rule sees the packet (docs/rules.md §8.1)', (t) => {
  const { ct, rs } = fw(filter('forward', 'filter', 'counter'), { max: 2 });
  const p = new Pkt();
  // two ASSURED entries (early_drop cannot evict them)
  for (const sp of [1000, 1001]) {
    send(ct, 0, udp(p, A, sp, B, 53));
    send(ct, 10, udp(p, B, 53, A, sp));
    ct.table.orStatus(ct.lastSlot, IPS_ASSURED);
  }
  t.is(rs.packets[0], 4);
  t.is(send(ct, 20, udp(p, A, 1002, B, 53)), NF_DROP);
  t.is(ct.stats.drop, 1, 'conntrack -S drop');
  t.is(rs.packets[0], 4, 'the rule never saw the dropped packet');
});

test('ct state invalid: a non-SYN first packet with nf_conntrack_tcp_loose = 0 has no entry and is dropped by the rule (docs/rules.md §8.4)', (t) => {
  const { ct, rs } = fw(filter('forward', 'filter', 'ct state invalid counter drop'), { sysctl: { nf_conntrack_tcp_loose: 0 } });
  const p = new Pkt();
  t.is(send(ct, 0, tcp(p, A, 40000, B, 80, 'A')), NF_DROP);
  t.is(ct.count, 0);
  t.is(ct.stats.invalid, 1, 'the tracker refused it (conntrack -S invalid)');
  t.is(rs.drops[0 * 3 + 0], 1);
  t.is(send(ct, 1, tcp(p, A, 40001, B, 80, 'S')), NF_ACCEPT);
  t.is(ct.count, 1);
});

test('ct state sets and comma lists: new, established (reply variants map to the same bit) (docs/rules.md §8.4)', (t) => {
  const { ct, rs } = fw(filter('forward', 'filter', 'ct state { established, related } counter\n  ct state new,untracked counter\n  ct state != new counter'));
  const p = new Pkt();
  send(ct, 0, tcp(p, A, 40000, B, 80, 'S'));
  t.deepEqual([...rs.packets], [0, 1, 0]);
  send(ct, 1, tcp(p, B, 80, A, 40000, 'SA', 5000, 1001));
  t.is(ct.lastCtinfo, IP_CT_ESTABLISHED_REPLY);
  t.deepEqual([...rs.packets], [1, 1, 1]);
});

test('tcp flags: implicit list, & (syn|ack) == syn, syn / syn,ack, == exact (docs/rules.md §8.5)', (t) => {
  const { ct, rs } = fw(filter('forward', 'filter', 'tcp flags syn counter\n  tcp flags & (syn|ack) == syn counter\n  tcp flags syn / syn,ack counter\n  tcp flags == syn|ack counter\n  tcp flags { syn, syn|ack } counter\n  tcp flags & (fin|syn|rst|ack) != syn counter'));
  const p = new Pkt();
  send(ct, 0, tcp(p, A, 40000, B, 80, 'S'));
  t.deepEqual([...rs.packets], [1, 1, 1, 0, 1, 0], 'SYN');
  send(ct, 1, tcp(p, B, 80, A, 40000, 'SA', 5000, 1001));
  t.deepEqual([...rs.packets], [2, 1, 1, 1, 2, 1], 'SYN-ACK: syn set, but not syn without ack');
  send(ct, 2, tcp(p, A, 40000, B, 80, 'A', 1001, 5001));
  t.deepEqual([...rs.packets], [2, 1, 1, 1, 2, 2], 'ACK');
});

test('meta mark set, ct mark set meta mark, ct mark match, meta mark set ct mark on the reply; IPCT_MARK cached with NEW (docs/rules.md §8.6)', (t) => {
  const { ct, rs, events } = fw(filter('forward', 'filter', 'tcp dport 80 meta mark set 0x2a\n  tcp dport 80 ct mark set meta mark\n  ct mark 42 counter\n  ct mark != 42 counter\n  meta mark set ct mark\n  mark 42 counter'));
  const p = new Pkt();
  send(ct, 0, tcp(p, A, 40000, B, 80, 'S'));
  t.is(ct.mark[ct.lastSlot], 42);
  t.is(events.length, 1);
  t.is(events[0]! & ((1 << IPCT_NEW) | (1 << IPCT_MARK)), (1 << IPCT_NEW) | (1 << IPCT_MARK), 'one message: NEW with MARK');
  t.deepEqual([rs.packets[2], rs.packets[3], rs.packets[5]], [1, 0, 1]);
  tcp(p, B, 80, A, 40000, 'SA', 5000, 1001);
  p.mark = 7; // a packet from the wire carries no mark: the path resets it
  send(ct, 1, p);
  t.is(p.mark, 42, 'meta mark set ct mark restored the entry mark on the reply');
  t.deepEqual([rs.packets[2], rs.packets[3], rs.packets[5]], [2, 0, 2]);
});

test('ct mark and ct status do not match a packet without an entry, whatever the operator (nft_ct_get_eval: NFT_BREAK) (docs/rules.md §8.4)', (t) => {
  const { ct, rs } = fw(filter('prerouting', 'raw', 'notrack') + filter('forward', 'filter', 'ct mark != 1 counter\n  ct status != assured counter\n  ct state untracked counter').replace('table inet t', 'table inet u'));
  const p = new Pkt();
  send(ct, 0, udp(p, A, 1, B, 2));
  t.deepEqual([...rs.packets], [1, 0, 0, 1]);
});

test('hook order: the filter sees the DNATed destination and the pre-SNAT source; a DNAT entry dropped in forward is freed (docs/rules.md §8.1)', (t) => {
  const rules = `table ip nat {\n chain pre {\n  type nat hook prerouting priority dstnat;\n  ip daddr ${'198.51.100.1'} tcp dport 80 dnat to 192.0.2.10\n }\n chain post {\n  type nat hook postrouting priority srcnat;\n  ip saddr 10.0.0.0/8 snat to 203.0.113.1\n }\n}\ntable ip f {\n chain fwd {\n  type filter hook forward priority filter;\n  ip daddr 192.0.2.10 ip saddr 10.0.0.2 counter\n  ip daddr 192.0.2.99 drop\n }\n}\n`;
  const { ct, rs } = fw(rules);
  const p = new Pkt();
  t.is(send(ct, 0, tcp(p, A, 40000, VIP, 80, 'S')), NF_ACCEPT);
  t.is(rs.packets[2], 1, 'forward saw daddr after DNAT and saddr before SNAT');
  t.is(p.src, PUB, 'then SNAT rewrote the source');
  t.is(p.dst, B);
  t.is(ct.count, 1);
});

test('input vs forward: a destination that is an interface address goes to input, others to forward (docs/rules.md §8.1)', (t) => {
  const { ct, rs } = fw(`table inet f {\n chain in {\n  type filter hook input priority filter;\n  counter drop\n }\n chain fwd {\n  type filter hook forward priority filter;\n  counter accept\n }\n}\n`,
    { routes: ['10.0.0.0/8=lan0@10.0.0.1', '0.0.0.0/0=wan0@203.0.113.1'] });
  const p = new Pkt();
  t.is(send(ct, 0, tcp(p, A, 40000, PUB, 22, 'S')), NF_DROP);
  t.is(send(ct, 0, tcp(p, A, 40000, B, 22, 'S')), NF_ACCEPT);
  t.deepEqual([...rs.packets], [1, 1]);
  t.is(ct.count, 1);
});

test('policy drop: packets no rule accepted are dropped and counted per class (docs/rules.md §8.2)', (t) => {
  const { ct, rs } = fw(filter('forward', 'filter', 'ct state established,related accept\n  tcp dport 80 accept', ' policy drop;'));
  const p = new Pkt();
  t.is(send(ct, 0, tcp(p, A, 40000, B, 80, 'S')), NF_ACCEPT);
  tcp(p, A, 40001, B, 81, 'S');
  p.cls = CLASS_LEGIT;
  t.is(send(ct, 0, p), NF_DROP);
  t.deepEqual([...rs.policyDrops], [0, 1, 0]);
  t.is(ct.count, 1);
});

test('ct zone set in raw: identical tuples in different zones are distinct entries (docs/rules.md §8.7)', (t) => {
  const { ct } = fw(filter('prerouting', 'raw', 'ip saddr 10.0.0.2 udp sport 1000 ct zone set 5'));
  const p = new Pkt();
  send(ct, 0, udp(p, A, 1000, B, 53));
  const z = ct.lastSlot;
  t.is(ct.zone[z], 5);
  // the reply comes from B: no zone set → zone 0 → does not find the zone-5 entry
  send(ct, 1, udp(p, B, 53, A, 1000));
  t.is(ct.lastCtinfo, IP_CT_NEW);
  t.is(ct.count, 2);
});

test('reject returns NF_REJECT and counts as a drop (docs/rules.md §8.8)', (t) => {
  const { ct, rs } = fw(filter('forward', 'filter', 'tcp dport 23 reject with tcp reset'));
  const p = new Pkt();
  t.is(send(ct, 0, tcp(p, A, 40000, B, 23, 'S')), NF_REJECT);
  t.is(ct.count, 0);
  t.is(rs.drops[0], 1);
});

// ---- the extension point (types.ts) ----
let seen = 0;
registerStatement({
  keyword: 'ct testcount over',
  syntax: 'ct testcount over N',
  parse: (p) => ({ n: p.int('a count', 1000) }),
  compile: (node) => {
    const n = (node as { n: number }).n;
    let count = 0; // per-run state: compile runs again for every clone()
    return { eval: (c) => { seen++; count++; if (count > n && c.pkt.proto === 17) { c.verdict = 0; return false; } return count > n; } };
  },
  hooks: ['forward', 'input'],
});

test('extension point: a registered statement parses, runs in order, keeps per-run state, may end the hook with a verdict, and is hook-checked (types.ts)', (t) => {
  const text = filter('forward', 'filter', 'tcp dport 80 ct testcount over 1 counter\n  ct testcount over 0 counter');
  const { ct, rs } = fw(text);
  const p = new Pkt();
  send(ct, 0, tcp(p, A, 40000, B, 80, 'S'));
  send(ct, 0, tcp(p, A, 40001, B, 80, 'S'));
  t.deepEqual([...rs.packets], [1, 2], 'second packet over 1; the second rule counts every packet');
  // a UDP packet over the limit: the expression sets a DROP verdict (rule 1's count is now 3 > 0)
  t.is(send(ct, 0, udp(p, A, 1, B, 2)), NF_DROP);
  t.is(rs.drops[1 * 3], 1);
  const fresh = (rs as LoadedRuleset).clone();
  t.deepEqual([...fresh.packets], [0, 0]);
  t.throws(() => loadRuleset(filter('prerouting', 'raw', 'ct testcount over 1'), 'x.nft', undefined), { message: /^x\.nft:4:3: ct testcount over is not allowed at hook prerouting; it runs at forward or input$/ });
  t.true(seen > 0);
});
