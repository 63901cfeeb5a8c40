/**
 * The stateful statements (docs/rules.md §20) through the real packet path: raw → conntrack →
 * filter → confirm, loaded from nft text. Expectations come from the kernel's rules.
 */
import test from 'ava';
import { NF_ACCEPT, NF_DROP } from '../conntrack/conntrack.js';
import { createConntrack } from '../conntrack/create.js';
import { Pkt } from '../conntrack/packet.js';
import { ip, send, tcp, udp } from '../conntrack/testing.js';
import { RngStreams } from '../core/rng.js';
import { setupNat } from '../nat/setup.js';
import { loadRuleset, RulesetError, setupRules, statefulSummary } from './index.js';

const B = ip(192, 0, 2, 10);
const HZ = 250;

function fw(rules: string, max = 4096) {
  const rs = loadRuleset(rules, 'fw.nft', undefined).clone();
  const ct = createConntrack({ version: '6.12', hz: HZ, seed: 3, sysctl: { nf_conntrack_max: max, nf_conntrack_buckets: 1024 } });
  setupNat(ct, { version: [6, 12], ruleset: rs, routes: undefined }, new RngStreams(3, 0));
  ct.setNow(0);
  setupRules(ct, rs, undefined);
  return { ct, rs };
}

const fwd = (body: string, objects = '') =>
  `table ip f {\n${objects}\n chain fwd {\n  type filter hook forward priority filter; policy accept;\n  ${body}\n }\n}\n`;

test('rules.md §20.2 ct state new ct count over 3 drop: the 4th concurrent connection is dropped before confirm; a closed one (TIME_WAIT) makes room', (t) => {
  const { ct, rs } = fw(fwd('ct state new ct count over 3 counter drop'));
  const p = new Pkt();
  const A = ip(10, 0, 0, 1);
  for (let i = 0; i < 3; i++) {
    t.is(send(ct, 0, tcp(p, A, 40000 + i, B, 80, 'S', 1000, 0)), NF_ACCEPT);
    send(ct, 0, tcp(p, B, 80, A, 40000 + i, 'SA', 5000, 1001));
    send(ct, 0, tcp(p, A, 40000 + i, B, 80, 'A', 1001, 5001));
  }
  t.is(ct.count, 3);
  t.is(send(ct, 0, tcp(p, A, 40003, B, 80, 'S', 1000, 0)), NF_DROP, '4 > 3');
  t.is(ct.count, 3, 'the dropped SYN left no entry');
  t.is(rs.drops[0 * 3 + p.cls], 1);
  // close 40000 → TIME_WAIT
  const us = 10_000;
  send(ct, us, tcp(p, A, 40000, B, 80, 'FA', 1001, 5001));
  send(ct, us, tcp(p, B, 80, A, 40000, 'A', 5001, 1002));
  send(ct, us, tcp(p, B, 80, A, 40000, 'FA', 5001, 1002));
  send(ct, us, tcp(p, A, 40000, B, 80, 'A', 1002, 5002));
  // the retransmitted SYN: the walk removes the TIME_WAIT tuple and the stale one of the dropped SYN
  t.is(send(ct, 20_000, tcp(p, A, 40003, B, 80, 'S', 1000, 0)), NF_ACCEPT);
  t.is(ct.count, 4, '3 live + TIME_WAIT entry');
  const s = statefulSummary(ct)!;
  t.is(s.conncount.counted, 3);
  t.is(s.conncount.removed_closed, 1);
  t.is(s.conncount.removed_absent, 1);
});

test('rules.md §20.2 a meter: add @perip { ip saddr ct count over 2 } counts per source; a full set stops matching (the rule lets the packet through)', (t) => {
  const { ct, rs } = fw(fwd('ct state new add @perip { ip saddr ct count over 2 } counter drop', ' set perip { type ipv4_addr; flags dynamic; size 2; }'));
  const p = new Pkt();
  const verdicts = (src: number, n: number, base: number) => Array.from({ length: n }, (_, i) => send(ct, 0, udp(p, src, base + i, B, 53)));
  const A1 = ip(10, 0, 0, 1), A2 = ip(10, 0, 0, 2), A3 = ip(10, 0, 0, 3);
  t.deepEqual(verdicts(A1, 3, 5000), [NF_ACCEPT, NF_ACCEPT, NF_DROP]);
  t.deepEqual(verdicts(A2, 3, 6000), [NF_ACCEPT, NF_ACCEPT, NF_DROP]);
  t.deepEqual(verdicts(A3, 3, 7000), [NF_ACCEPT, NF_ACCEPT, NF_ACCEPT], 'size 2: a third source cannot be added, so the rule never matches for it');
  t.is(ct.count, 7);
  t.is(rs.drops[0 * 3 + p.cls], 2);
  const s = statefulSummary(ct)!;
  t.deepEqual(s.sets.map((x) => [x.name, x.elements, x.add_failed_full]), [['perip', 2, 3]]);
  t.is(s.conncount.counted, 6, 'the dropped third connection of each source stays listed until a walk finds it absent');
  t.is(s.bytes, 6 * 72 + 2 * 32 + (2 * 96 + 4 * 8));
  // 31 s later the UDP entries have expired: the set's gc (at the next evaluation) frees both elements
  ct.setNow(31_000_000);
  t.is(send(ct, 31_000_000, udp(p, A3, 7100, B, 53)), NF_ACCEPT);
  const s2 = statefulSummary(ct)!;
  t.is(s2.sets[0]!.gc_removed, 2);
  t.is(s2.sets[0]!.elements, 1, 'A3 got its element now');
});

test('rules.md §20.1 limit rate 2/second burst 2 packets accept, then drop: new connections beyond the bucket are dropped', (t) => {
  const { ct } = fw(fwd('ct state new limit rate 2/second burst 2 packets accept\n  ct state new drop'));
  const p = new Pkt();
  const A = ip(10, 0, 0, 1);
  const v = (us: number, port: number) => send(ct, us, udp(p, A, port, B, 53));
  t.deepEqual([v(0, 1), v(0, 2), v(0, 3)], [NF_ACCEPT, NF_ACCEPT, NF_DROP]);
  t.is(v(499_999, 4), NF_DROP, 'one µs short of a token (500 ms per packet)');
  t.is(v(500_000, 5), NF_ACCEPT, 'the failed evaluation kept its refill: 1 µs more is enough');
  t.is(statefulSummary(ct)!.limit_buckets, 1);
});

test('rules.md §20.3 ct timeout set on the first packet: the entry carries the policy (established 120 s), confirmed entries are untouched', (t) => {
  const { ct } = fw(fwd('tcp dport 80 ct timeout set "short"', ' ct timeout short { protocol tcp; l3proto ip; policy = { established: 120, close: 10 } }'));
  const p = new Pkt();
  const A = ip(10, 0, 0, 1);
  send(ct, 0, tcp(p, A, 40000, B, 80, 'S', 1000, 0));
  const slot = ct.lastSlot;
  t.is(ct.remaining(slot), 120 * HZ, 'syn_sent from nft defaults (120 s)');
  t.not(ct.tpolOf(slot), 0);
  send(ct, 0, tcp(p, B, 80, A, 40000, 'SA', 5000, 1001));
  send(ct, 0, tcp(p, A, 40000, B, 80, 'A', 1001, 5001));
  t.is(ct.remaining(slot), 120 * HZ, 'established: 120 s from the policy, not 432000');
  send(ct, 0, tcp(p, A, 40001, B, 443, 'S', 1000, 0));
  send(ct, 0, tcp(p, B, 443, A, 40001, 'SA', 5000, 1001));
  send(ct, 0, tcp(p, A, 40001, B, 443, 'A', 1001, 5001));
  t.is(ct.remaining(ct.lastSlot), 432000 * HZ, 'port 443 has no policy');
  t.is(ct.kernelBytes(), 1024 * 8 + 2 * 256 + 128, 'one timeout extension (kmalloc-128)');
});

test('rules.md §20.3 errors: undefined ct timeout name (file:line:col), unknown state listing the valid ones, undefined set', (t) => {
  const e1 = t.throws(() => loadRuleset(fwd('ct timeout set "nope"'), 'fw.nft', undefined), { instanceOf: RulesetError });
  t.regex(e1!.message, /^fw\.nft:5:18: ct timeout "nope" is not defined in table f/);
  const e2 = t.throws(() => loadRuleset(fwd('accept', ' ct timeout x { protocol tcp; policy = { establish: 5 } }'), 'fw.nft', undefined), { instanceOf: RulesetError });
  t.regex(e2!.message, /^fw\.nft:2:42: invalid state "establish" for protocol tcp; valid states: syn_sent, syn_recv, established, fin_wait, close_wait, last_ack, time_wait, close, syn_sent2, retrans, unack/);
  const e3 = t.throws(() => loadRuleset(fwd('add @nope { ip saddr ct count over 2 } drop'), 'fw.nft', undefined), { instanceOf: RulesetError });
  t.regex(e3!.message, /^fw\.nft:5:8: set "nope" is not defined in this table/);
  const e4 = t.throws(() => loadRuleset(fwd('add @s { ip saddr ct count over 2 } drop', ' set s { type ipv4_addr; }'), 'fw.nft', undefined), { instanceOf: RulesetError });
  t.regex(e4!.message, /needs "flags dynamic"/);
});

test('rules.md §20.2 a meter with limit: one bucket per source, each starting full when its element is created', (t) => {
  const { ct } = fw(fwd('ct state new add @rl { ip saddr limit rate over 1/second burst 1 packets } drop', ' set rl { type ipv4_addr; flags dynamic; }'));
  const p = new Pkt();
  const A1 = ip(10, 0, 0, 1), A2 = ip(10, 0, 0, 2);
  const v = (us: number, src: number, port: number) => send(ct, us, udp(p, src, port, B, 53));
  t.deepEqual([v(0, A1, 1), v(0, A1, 2), v(0, A2, 1), v(0, A2, 2)], [NF_ACCEPT, NF_DROP, NF_ACCEPT, NF_DROP]);
  t.is(v(999_999, A1, 3), NF_DROP, 'one µs short of the 1 s token');
  t.is(v(1_000_000, A1, 4), NF_ACCEPT);
  const s = statefulSummary(ct)!;
  t.is(s.sets[0]!.elements, 2);
  t.is(s.limit_buckets, 2);
  t.is(s.sets[0]!.size, 65535, 'no size declared: 65535 when the rule binds the set');
});
