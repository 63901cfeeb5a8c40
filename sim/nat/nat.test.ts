import test from 'ava';
import fc from 'fast-check';
import { IP_CT_ESTABLISHED_REPLY, NF_ACCEPT, NF_DROP } from '../conntrack/conntrack.js';
import { IPPROTO_TCP, IPPROTO_UDP, IPS_FIXED_TIMEOUT, IPS_NAT_CLASH } from '../conntrack/constants.js';
import { Pkt } from '../conntrack/packet.js';
import { icmpEcho, ip, send, tcp, udp } from '../conntrack/testing.js';
import {
  IPS_DST_NAT, IPS_DST_NAT_DONE, IPS_SRC_NAT, IPS_SRC_NAT_DONE, NF_NAT_RANGE_MAP_IPS, NF_NAT_RANGE_PERSISTENT,
  NF_NAT_RANGE_PROTO_RANDOM_FULLY, NF_NAT_RANGE_PROTO_SPECIFIED,
} from './constants.js';
import { jhash2 } from './jhash.js';
import { Draws, FixedDecider, natCt, range } from './testkit.js';

const N = ip(198, 51, 100, 1); // the NAT address
const D = ip(192, 0, 2, 10); // a server outside
const C1 = ip(10, 0, 0, 5);
const C2 = ip(10, 0, 0, 6);
const inside = (a: number) => (a >>> 24) === 10;
const MAP = NF_NAT_RANGE_MAP_IPS;
const SPEC = NF_NAT_RANGE_PROTO_SPECIFIED;

function masq(flags = 0, lo = 0, hi = 0): FixedDecider {
  const d = new FixedDecider();
  d.snat = range(MAP | flags | (lo > 0 ? SPEC : 0), N, N, lo, hi);
  d.snatFrom = inside;
  return d;
}


/**
 * Occupies the reply tuples D:dport → N:p for every p in [lo, hi]: local flows N:p → D:dport
 * (their REPLY nodes are exactly those tuples; docs/nat.md §2.6.1).
 */
function occupy(ct: ReturnType<typeof natCt>['ct'], lo: number, hi: number, dport: number, proto = IPPROTO_UDP, at = 0): void {
  const pkt = new Pkt();
  for (let p = lo; p <= hi; p++) {
    if (proto === IPPROTO_UDP) udp(pkt, N, p, D, dport); else tcp(pkt, N, p, D, dport, 'S');
    if (send(ct, at, pkt) !== NF_ACCEPT) throw new Error(`occupy: port ${p} dropped`);
  }
}

test('jhash2 matches an independent lookup3 implementation (docs/nat.md §2.4)', (t) => {
  t.is(jhash2([], 0), 0xdeadbeef);
  t.is(jhash2([1, 2, 3, 4], 0), 0x66491246);
  t.is(jhash2([1, 2, 3, 4, 5], 7), 0x5a4f3b1e);
});

test('find_best_ips_proto: address by hash of (src, dst), or of src only with persistent (docs/nat.md §2.4)', (t) => {
  const lo = ip(203, 0, 113, 1), hi = ip(203, 0, 113, 8);
  const cases: [number, number, number, number][] = [
    // src, dst, flags, expected address (computed by an independent implementation)
    [C1, ip(1, 2, 3, 4), 0, ip(203, 0, 113, 4)],
    [C1, ip(5, 6, 7, 8), 0, ip(203, 0, 113, 3)],
    [C2, ip(1, 2, 3, 4), 0, ip(203, 0, 113, 3)],
    [C1, ip(1, 2, 3, 4), NF_NAT_RANGE_PERSISTENT, ip(203, 0, 113, 8)],
  ];
  for (const [src, dst, flags, want] of cases) {
    const d = new FixedDecider();
    d.snat = range(MAP | flags, lo, hi);
    const { ct } = natCt({ decider: d });
    const pkt = udp(new Pkt(), src, 40000, dst, 53);
    t.is(send(ct, 0, pkt), NF_ACCEPT);
    t.is(pkt.src, want, `src ${src} dst ${dst}`);
    t.is(pkt.sport, 40000, 'port preserved (step 3)');
  }
});

test('identity: a source already inside the range keeps its tuple; only SRC_NAT_DONE is set (docs/nat.md §2.2 step 1, §1.4)', (t) => {
  const d = new FixedDecider();
  d.snat = range(MAP, ip(10, 0, 0, 0), ip(10, 0, 0, 255));
  const { ct, nat } = natCt({ decider: d });
  const pkt = udp(new Pkt(), C1, 40000, D, 53);
  send(ct, 0, pkt);
  const s = ct.table.statusOf(ct.lastSlot);
  t.is(s & IPS_SRC_NAT, 0);
  t.not(s & IPS_SRC_NAT_DONE, 0);
  t.not(s & IPS_DST_NAT_DONE, 0, 'DST null binding');
  t.is(pkt.src, C1);
  t.deepEqual(nat.bysourceChain((4 << 8) | IPPROTO_UDP, C1, 40000), [ct.lastSlot], 'on the bysource list');
});

test('port preservation, then the search when the port is taken (docs/nat.md §2.2 step 3, §2.5)', (t) => {
  const draws = new Draws().push(7);
  const { ct } = natCt({ decider: masq(), draws });
  const pkt = new Pkt();
  send(ct, 0, udp(pkt, C1, 40000, D, 53));
  t.is(pkt.src, N);
  t.is(pkt.sport, 40000);
  t.not(ct.table.statusOf(ct.lastSlot) & IPS_SRC_NAT, 0);
  // another client, same port, same destination: N:40000 is taken → search [1024, 65535] from off = 7
  send(ct, 0, udp(pkt, C2, 40000, D, 53));
  t.is(pkt.sport, 1024 + 7);
  t.is(ct.stats.found, 1, 'step 3 hits N:40000 once; the first probe (1031) is free');
});

test('bysource reuse: an earlier flow of the same ip:port lends its mapping to a new destination (docs/nat.md §1.6, §2.2 step 1)', (t) => {
  const lo = ip(203, 0, 113, 1), hi = ip(203, 0, 113, 8);
  const d = new FixedDecider();
  d.snat = range(MAP, lo, hi);
  const { ct, nat } = natCt({ decider: d });
  const pkt = new Pkt();
  // C1 → 1.2.3.4 hashes to .4; C1 → 5.6.7.8 alone would hash to .3 (test above)
  send(ct, 0, udp(pkt, C1, 40000, ip(1, 2, 3, 4), 53));
  t.is(pkt.src, ip(203, 0, 113, 4));
  send(ct, 0, udp(pkt, C1, 40000, ip(5, 6, 7, 8), 53));
  t.is(pkt.src, ip(203, 0, 113, 4), 'same outer address as the earlier flow, not the hash choice');
  t.is(pkt.sport, 40000);
  t.is(nat.counters.bysource_reuse, 1);
});

test('random-fully skips port preservation: the port comes from the random offset (docs/nat.md §2.2)', (t) => {
  const draws = new Draws().push(100);
  const { ct } = natCt({ decider: masq(NF_NAT_RANGE_PROTO_RANDOM_FULLY), draws });
  const pkt = new Pkt();
  send(ct, 0, udp(pkt, C1, 40000, D, 53));
  t.is(pkt.sport, 1024 + 100);
});

test('default port ranges by the current source port (docs/nat.md §2.5)', (t) => {
  for (const [port, want] of [[100, 1 + (5 % 511)], [700, 600 + (5 % 424)], [5000, 1024 + 5]] as const) {
    const draws = new Draws();
    const { ct } = natCt({ decider: masq(), draws });
    occupy(ct, port, port, 53);
    draws.push(5);
    const pkt = udp(new Pkt(), C1, port, D, 53);
    send(ct, 0, pkt);
    t.is(pkt.sport, want, `source port ${port}`);
  }
});

/** Probes of one exhausted search for a range of `size` ports (all taken, client port outside the range). */
function probesFor(size: number): { probes: number; found: number; draws: number } {
  const lo = 20000, hi = lo + size - 1;
  const draws = new Draws();
  const { ct, nat } = natCt({ decider: masq(0, lo, hi), draws, max: 200000, buckets: 65536 });
  occupy(ct, lo, hi, 53);
  const f0 = ct.stats.found;
  draws.calls = 0;
  send(ct, 0, udp(new Pkt(), C1, 40000, D, 53));
  return { probes: nat.counters.probes, found: ct.stats.found - f0, draws: draws.calls };
}

test('search attempts: 1, 64, 128 ports = one pass; 129 and 64512 ports = 128+64+32+16+8 probes (docs/nat.md §2.5)', (t) => {
  // expected: min(size, 128) for sizes ≤ 128; otherwise 248 with 5 random starts
  t.deepEqual(probesFor(1), { probes: 1, found: 1, draws: 1 });
  t.deepEqual(probesFor(64), { probes: 64, found: 64, draws: 1 });
  t.deepEqual(probesFor(128), { probes: 128, found: 128, draws: 1 });
  t.deepEqual(probesFor(129), { probes: 248, found: 248, draws: 5 });
});

test('search attempts for the default range of 64512 ports (docs/nat.md §2.5)', (t) => {
  const draws = new Draws();
  const { ct, nat } = natCt({ decider: masq(), draws, max: 70000, buckets: 65536 });
  occupy(ct, 1024, 65535, 53);
  const f0 = ct.stats.found;
  const pkt = udp(new Pkt(), C1, 40000, D, 53);
  t.is(send(ct, 0, pkt), NF_DROP, 'exhausted: installed, then dropped at confirm');
  // step 3 (port 40000 taken) + 248 probes
  t.is(ct.stats.found - f0, 1 + 248);
  t.is(nat.counters.probes, 248);
  t.is(nat.counters.exhausted, 1);
  t.is(nat.rules[0]!.exhausted, 1);
  t.is(nat.rules[0]!.insert_failed, 1);
});

test('a single-port range keeps its port even when taken; the clash drops at confirm (docs/nat.md §2.2 step 3, §2.7)', (t) => {
  const { ct, nat } = natCt({ decider: masq(0, 40000, 40000) });
  occupy(ct, 40000, 40000, 53);
  const st0 = { ...ct.stats };
  t.is(send(ct, 0, udp(new Pkt(), C1, 40000, D, 53)), NF_DROP);
  t.is(nat.counters.probes, 0, 'no search');
  t.is(ct.stats.insert_failed - st0.insert_failed, 1);
  t.is(ct.stats.drop - st0.drop, 1);
});

test('exhaustion for TCP: insert_failed and drop at confirm, no entry (docs/nat.md §2.7)', (t) => {
  const { ct } = natCt({ decider: masq(0, 30000, 30009) });
  occupy(ct, 30000, 30009, 80, IPPROTO_TCP);
  const c0 = ct.count;
  t.is(send(ct, 0, tcp(new Pkt(), C1, 40000, D, 80, 'S')), NF_DROP);
  t.is(ct.count, c0);
  t.is(ct.stats.insert_failed, 1);
  t.is(ct.stats.drop, 1);
});

test('property: N ports, M > N silent UDP flows to one destination → N mappings, M − N insert_failed (docs/nat.md §2.5, §2.7)', (t) => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 128 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 0xffff }), (n, extra, seed) => {
    const draws = new Draws();
    draws.next = seed;
    const { ct } = natCt({ decider: masq(0, 5000, 5000 + n - 1), draws });
    const pkt = new Pkt();
    let ok = 0;
    for (let i = 0; i < n + extra; i++) {
      // distinct clients, ports outside the range
      if (send(ct, i, udp(pkt, ip(10, 1, i >> 8, i & 0xff), 40000 + i, D, 53)) === NF_ACCEPT) ok++;
    }
    return ok === n && ct.count === n && ct.stats.insert_failed === extra && ct.stats.drop === extra;
  }), { numRuns: 60 });
  t.pass();
});

test('replies: an SNATed flow is answered at the NAT address and un-NATed (docs/nat.md §1.7)', (t) => {
  const { ct } = natCt({ decider: masq() });
  const pkt = new Pkt();
  send(ct, 0, tcp(pkt, C1, 40000, D, 80, 'S', 1000));
  t.is(pkt.src, N);
  const p = pkt.sport;
  send(ct, 10, tcp(pkt, D, 80, N, p, 'SA', 5000, 1001));
  t.is(ct.lastCtinfo, IP_CT_ESTABLISHED_REPLY);
  t.is(pkt.dst, C1);
  t.is(pkt.dport, 40000);
  // a reply to a port with no mapping finds no entry: it is a new flow (lost for the client)
  send(ct, 20, tcp(pkt, D, 80, N, p + 1, 'SA', 5000, 1001));
  t.not(ct.lastCtinfo, IP_CT_ESTABLISHED_REPLY);
});

test('DNAT: destination rewritten, reply source restored; no port search without a port range (docs/nat.md §1.7, §2.5)', (t) => {
  const V = ip(10, 96, 0, 10), E = ip(10, 244, 1, 7);
  const d = new FixedDecider();
  d.dnat = range(MAP, E, E);
  d.dnatTo = V;
  const { ct, nat } = natCt({ decider: d });
  const pkt = new Pkt();
  send(ct, 0, udp(pkt, C1, 40000, V, 53));
  t.is(pkt.dst, E);
  t.is(pkt.dport, 53);
  t.not(ct.table.statusOf(ct.lastSlot) & IPS_DST_NAT, 0);
  send(ct, 5, udp(pkt, E, 53, C1, 40000));
  t.is(ct.lastCtinfo, IP_CT_ESTABLISHED_REPLY);
  t.is(pkt.src, V);
  t.is(nat.counters.probes, 0);
});

test('DNAT with a port range: offset 0 from v6.8, random before (docs/nat.md §2.5, §2.9)', (t) => {
  const V = ip(10, 96, 0, 10), E = ip(10, 244, 1, 7);
  for (const [version, want] of [['6.8', 21000], ['6.7', 21000 + (300 % 11)]] as const) {
    const d = new FixedDecider();
    d.dnat = range(MAP | SPEC, E, E, 21000, 21010);
    d.dnatTo = V;
    const draws = new Draws().push(300);
    const { ct } = natCt({ decider: d, draws, version });
    const pkt = udp(new Pkt(), C1, 40000, V, 80);
    send(ct, 0, pkt);
    t.is(pkt.dport, want, version);
  }
});

test('null binding moves the source port of a local flow that collides with an SNATed one (docs/nat.md §1.3)', (t) => {
  const draws = new Draws().push(9);
  const { ct, nat } = natCt({ decider: masq(), draws });
  const pkt = new Pkt();
  send(ct, 0, udp(pkt, C1, 40000, D, 53)); // → N:40000
  send(ct, 1, udp(pkt, N, 40000, D, 53)); // the host itself from N:40000
  t.is(pkt.sport, 1024 + 9);
  t.not(ct.table.statusOf(ct.lastSlot) & IPS_SRC_NAT, 0);
  t.is(nat.counters.null_binding_realloc, 1);
});

test('ICMP: the echo id is searched when the mapped id is taken (docs/nat.md §2.5)', (t) => {
  const draws = new Draws().push(1234);
  const { ct } = natCt({ decider: masq(), draws });
  const pkt = new Pkt();
  send(ct, 0, icmpEcho(pkt, C1, D, 77));
  t.is(pkt.sport, 77);
  send(ct, 0, icmpEcho(pkt, C2, D, 77));
  t.is(pkt.sport, 1234, 'id range [0, 65535] from offset 1234');
  send(ct, 5, icmpEcho(pkt, D, N, 1234, 0));
  t.is(ct.lastCtinfo, IP_CT_ESTABLISHED_REPLY);
  t.is(pkt.dst, C2);
  t.is(pkt.sport, 77);
});

/** Opens and closes TCP connections C:port → D:80 through masquerade to TIME_WAIT (sequence `seq`). */
function timeWait(ct: ReturnType<typeof natCt>['ct'], n: number, seq: number): void {
  const pkt = new Pkt();
  for (let i = 0; i < n; i++) {
    const c = ip(10, 2, i >> 8, i & 0xff);
    send(ct, 0, tcp(pkt, c, 50000, D, 80, 'S', seq));
    const p = pkt.sport;
    send(ct, 1, tcp(pkt, D, 80, N, p, 'SA', 9000, seq + 1));
    send(ct, 2, tcp(pkt, c, 50000, D, 80, 'A', seq + 1, 9001));
    send(ct, 3, tcp(pkt, c, 50000, D, 80, 'FA', seq + 1, 9001));
    send(ct, 4, tcp(pkt, D, 80, N, p, 'FA', 9001, seq + 2));
    send(ct, 5, tcp(pkt, c, 50000, D, 80, 'A', seq + 2, 9002));
  }
}

test('v6.5+: a SYN evicts a SNATed TIME_WAIT entry only in the last 32 probes of a round (docs/nat.md §2.6.3)', (t) => {
  for (const [size, wantProbes] of [[64, 33], [129, 97]] as const) {
    const draws = new Draws();
    const { ct, nat } = natCt({ decider: masq(0, 30000, 30000 + size - 1), draws });
    timeWait(ct, size, 1000);
    t.is(nat.counters.evicted_time_wait, 0);
    const p0 = nat.counters.probes;
    draws.push(0);
    const pkt = tcp(new Pkt(), C1, 40000, D, 80, 'S', 5000);
    t.is(send(ct, 10, pkt), NF_ACCEPT, `range ${size}`);
    t.is(nat.counters.probes - p0, wantProbes, `range ${size}: probes until the eviction window`);
    t.is(nat.counters.evicted_time_wait, 1);
  }
});

test('before v6.5, or with a sequence that did not advance, TIME_WAIT entries block the port (docs/nat.md §2.6.3, §2.9)', (t) => {
  for (const [version, seq] of [['6.4', 5000], ['6.12', 500]] as const) {
    const { ct, nat } = natCt({ decider: masq(0, 30000, 30063), version });
    timeWait(ct, 64, 1000);
    t.is(send(ct, 10, tcp(new Pkt(), C1, 40000, D, 80, 'S', seq)), NF_DROP, `${version} seq ${seq}`);
    t.is(nat.counters.evicted_time_wait, 0);
  }
});

test('expired entries met by the probe are reaped and do not block a port (docs/nat.md §2.6.1)', (t) => {
  const { ct } = natCt({ decider: masq(0, 40000, 40001) });
  occupy(ct, 40000, 40000, 53, IPPROTO_UDP, 0);
  // udp unreplied timeout 30 s: at 31 s the occupying entry is expired but not yet reaped
  const pkt = udp(new Pkt(), C1, 40000, D, 53);
  t.is(send(ct, 31_000_000, pkt), NF_ACCEPT);
  t.is(ct.stats.reaped_lookup, 1);
});

// ---------------------------------------------------------------- the race (docs/nat.md §3)

/** A conntrack with 2 CPUs and a 50 µs confirm delay; `cpus` scripts each packet's CPU. */
function race(version: string, decider: FixedDecider | undefined, cpus: number[]) {
  const r = natCt({ version, decider });
  let i = 0;
  r.ct.enableRace(2, 50, () => (cpus[i++] ?? 0) / 2);
  return r;
}

test('same-flow UDP race: identical results merge (clash_resolve), v5.0+ (docs/nat.md §3.2 b, §3.3)', (t) => {
  const { ct } = race('6.12', masq(), [0, 1]);
  const pkt = new Pkt();
  t.is(send(ct, 0, udp(pkt, C1, 40000, D, 53)), NF_ACCEPT);
  const first = ct.lastSlot;
  t.is(send(ct, 10, udp(pkt, C1, 40000, D, 53)), NF_ACCEPT);
  t.is(ct.lastSlot, first, 'the packet belongs to the winner');
  t.is(ct.count, 1);
  t.is(ct.stats.clash_resolve, 1);
  t.is(ct.stats.insert_failed, 0);
});

test('same-flow race on one CPU or after the window is no race (docs/nat.md §3.3)', (t) => {
  const { ct } = race('6.12', masq(), [0, 0, 1]);
  const pkt = new Pkt();
  send(ct, 0, udp(pkt, C1, 40000, D, 53));
  const first = ct.lastSlot;
  send(ct, 10, udp(pkt, C1, 40000, D, 53)); // same CPU: sees the entry
  t.is(ct.lastSlot, first);
  send(ct, 60, udp(pkt, C1, 40000, D, 53)); // other CPU after 50 µs: confirmed
  t.is(ct.lastSlot, first);
  t.is(ct.count, 1);
  t.is(ct.stats.clash_resolve, 0);
});

function dnsRace(version: string) {
  const V = ip(10, 96, 0, 10), E1 = ip(10, 244, 1, 7), E2 = ip(10, 244, 2, 7);
  const d = masq();
  let k = 0;
  d.dnat = () => { const e = k++ % 2 === 0 ? E1 : E2; return range(MAP, e, e); };
  d.dnatTo = V;
  const r = race(version, d, [0, 1]);
  const pkt = new Pkt();
  const a = send(r.ct, 0, udp(pkt, C1, 40000, V, 53));
  const b = send(r.ct, 5, udp(pkt, C1, 40000, V, 53));
  return { ...r, a, b, pkt, E2 };
}

test('A/AAAA race to two endpoints: v5.6+ inserts the loser reply-only (NAT_CLASH, fixed 1 s) (docs/nat.md §3.2 c, §3.3)', (t) => {
  const { ct, a, b, pkt, E2 } = dnsRace('6.12');
  t.is(a, NF_ACCEPT);
  t.is(b, NF_ACCEPT);
  t.is(pkt.dst, E2, 'the second query keeps its own endpoint');
  const s = ct.table.statusOf(ct.lastSlot);
  t.not(s & IPS_NAT_CLASH, 0);
  t.not(s & IPS_FIXED_TIMEOUT, 0);
  t.is(ct.remaining(ct.lastSlot), ct.hz, '1 s');
  t.is(ct.stats.clash_resolve, 1);
  t.is(ct.count, 2);
  // the reply from E2 finds the loser and is un-NATed
  send(ct, 100, udp(pkt, E2, 53, N, 40000));
  t.is(ct.lastCtinfo, IP_CT_ESTABLISHED_REPLY);
});

test('A/AAAA race by kernel version: drop before v5.6; insert_failed instead of clash_resolve on v5.6–v5.9 (docs/nat.md §3.2, §3.5)', (t) => {
  for (const v of ['4.19', '5.4', '5.5']) {
    const { ct, b } = dnsRace(v);
    t.is(b, NF_DROP, v);
    t.is(ct.stats.insert_failed, 1, v);
    t.is(ct.stats.drop, 1, v);
  }
  const { ct, b } = dnsRace('5.9');
  t.is(b, NF_ACCEPT);
  t.is(ct.stats.insert_failed, 1);
  t.is(ct.stats.clash_resolve, 0);
  t.is(ct.stats.drop, 0);
});

test('same-flow race by protocol: TCP and ICMP never merge (docs/nat.md §3.2 a)', (t) => {
  const { ct } = race('6.12', masq(), [0, 1, 0, 1]);
  const pkt = new Pkt();
  send(ct, 0, tcp(pkt, C1, 40000, D, 80, 'S'));
  t.is(send(ct, 5, tcp(pkt, C1, 40000, D, 80, 'S')), NF_DROP);
  send(ct, 100, icmpEcho(pkt, C1, D, 9));
  t.is(send(ct, 105, icmpEcho(pkt, C1, D, 9)), NF_DROP);
  t.is(ct.stats.insert_failed, 2);
  t.is(ct.stats.drop, 2);
  t.is(ct.stats.clash_resolve, 0);
});

test('SNAT race: two pods keep the same port inside the window, the second is dropped (docs/nat.md §3.4)', (t) => {
  const { ct, nat } = race('6.12', masq(), [0, 1]);
  const pkt = new Pkt();
  send(ct, 0, udp(pkt, C1, 40000, D, 53));
  t.is(send(ct, 5, udp(pkt, C2, 40000, D, 53)), NF_DROP);
  t.is(nat.counters.reply_clash_drops, 1);
  t.is(ct.stats.insert_failed, 1);
});

test('GRE may clash-merge from v5.8 only (docs/nat.md §3.2 a)', (t) => {
  for (const [v, want] of [['5.7', NF_DROP], ['5.8', NF_ACCEPT]] as const) {
    const { ct } = race(v, undefined, [0, 1]);
    const pkt = new Pkt();
    pkt.reset(); pkt.proto = 47; pkt.src = C1; pkt.dst = D; pkt.len = 60;
    send(ct, 0, pkt);
    t.is(send(ct, 5, pkt), want, v);
  }
});

test('masquerade entries cost the NAT extension area in kernel bytes (docs/nat.md §5)', (t) => {
  const d = masq();
  d.masq = true;
  const { ct } = natCt({ decider: d, sysctl: { nf_conntrack_acct: 0, nf_conntrack_events: 0, nf_conntrack_timestamp: 0 } });
  const b0 = ct.kernelBytes();
  send(ct, 0, udp(new Pkt(), C1, 40000, D, 53));
  t.is(ct.kernelBytes() - b0, 256 + 128);
});

test('reverse-direction race: v6.12 merges the mirror entries, v6.11 drops (docs/nat.md §2.6.2, §3.2 b)', (t) => {
  for (const [v, want] of [['6.12', NF_ACCEPT], ['6.11', NF_DROP]] as const) {
    const { ct } = race(v, new FixedDecider(), [1, 0]);
    const pkt = new Pkt();
    send(ct, 0, udp(pkt, D, 53, C1, 40000)); // the server's packet, CPU 1
    t.is(send(ct, 5, udp(pkt, C1, 40000, D, 53)), want, v); // the client's, CPU 0, inside the window
    t.is(ct.stats.clash_resolve, want === NF_ACCEPT ? 1 : 0, v);
  }
});

test('before v5.0: the whole range is scanned once, the last port unchecked (docs/nat.md §2.5, §2.9)', (t) => {
  const { ct, nat } = natCt({ decider: masq(0, 20000, 20199), version: '4.19' });
  occupy(ct, 20000, 20199, 53);
  const f0 = ct.stats.found;
  t.is(send(ct, 0, udp(new Pkt(), C1, 40000, D, 53)), NF_DROP);
  t.is(nat.counters.probes, 200);
  t.is(ct.stats.found - f0, 199);
});

test('no ruleset, two CPUs: a same-flow UDP race drops before v4.7 and merges from v4.7 (docs/nat.md §3.2)', (t) => {
  for (const [v, want] of [['4.6', NF_DROP], ['4.7', NF_ACCEPT]] as const) {
    const { ct } = race(v, undefined, [0, 1]);
    const pkt = new Pkt();
    send(ct, 0, udp(pkt, C1, 40000, D, 53));
    t.is(send(ct, 5, udp(pkt, C1, 40000, D, 53)), want, v);
  }
});
