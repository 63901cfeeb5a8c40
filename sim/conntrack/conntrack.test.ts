import test from 'ava';
import { IPCT_ASSURED, IPCT_DESTROY, IPCT_NEW, IPCT_PROTOINFO, IPCT_REPLY, IPPROTO_TCP, IPS_ASSURED } from './constants.js';
import { IP_CT_ESTABLISHED_REPLY, IP_CT_NEW, IP_CT_RELATED_REPLY, NF_ACCEPT, NF_DROP } from './conntrack.js';
import { createConntrack } from './create.js';
import { Pkt } from './packet.js';
import { TCP_CONNTRACK_ESTABLISHED, TCP_CONNTRACK_SYN_SENT } from './proto-tcp.js';
import { checkTable, icmpEcho, ip, portFor, send, tcp, udp } from './testing.js';

const A = ip(10, 0, 0, 1);
const B = ip(10, 0, 0, 2);
const S = 1_000_000; // µs per second
const HZ = 250;

function small(max: number, buckets: number, extra: Record<string, number> = {}, version = '6.12') {
  return createConntrack({ version, hz: HZ, sysctl: { nf_conntrack_max: max, nf_conntrack_buckets: buckets, ...extra }, seed: 7 });
}

/** A table whose bucket count is not rounded to 512, for placement tests. */
function tiny(max: number, buckets: number) {
  const ct = small(max, 512);
  ct.table.resetBuckets(buckets);
  return ct;
}

test('§1.6/§1.7 a SYN allocates, confirms both nodes and sets the SYN_SENT timeout from confirmation', (t) => {
  const ct = small(1024, 1024);
  const p = new Pkt();
  t.is(send(ct, 5 * S, tcp(p, A, 40000, B, 80, 'S')), NF_ACCEPT);
  t.is(ct.count, 1);
  t.is(ct.lastCtinfo, IP_CT_NEW);
  const slot = ct.lastSlot;
  t.is(ct.tcp.stateOf(slot), TCP_CONNTRACK_SYN_SENT);
  t.is(ct.table.timeoutOf(slot), 5 * HZ + 120 * HZ);
  t.is(checkTable(ct), 2);
  t.is(ct.stats.insert, 0, 'the packet path does not count `insert` (§9.3)');
});

test('§4 handshake: reply gets ESTABLISHED_REPLY, third packet sets ASSURED; events NEW, UPDATE, UPDATE', (t) => {
  const ct = createConntrack({ hz: HZ, seed: 1, eventListener: true, sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024 } });
  const events: number[] = [];
  ct.observer = { event: (_s, mask) => events.push(mask) };
  const p = new Pkt();
  send(ct, 0, tcp(p, A, 40000, B, 80, 'S', 1000, 0));
  send(ct, 10_000, tcp(p, B, 80, A, 40000, 'SA', 5000, 1001));
  t.is(ct.lastCtinfo, IP_CT_ESTABLISHED_REPLY);
  send(ct, 20_000, tcp(p, A, 40000, B, 80, 'A', 1001, 5001));
  const slot = ct.lastSlot;
  t.is(ct.tcp.stateOf(slot), TCP_CONNTRACK_ESTABLISHED);
  t.truthy(ct.table.statusOf(slot) & IPS_ASSURED);
  // the creating SYN changes the state NONE → SYN_SENT, so PROTOINFO rides along with NEW
  t.deepEqual(events, [
    (1 << IPCT_NEW) | (1 << IPCT_PROTOINFO),
    (1 << IPCT_REPLY) | (1 << IPCT_PROTOINFO),
    (1 << IPCT_ASSURED) | (1 << IPCT_PROTOINFO),
  ]);
  t.is(ct.table.timeoutOf(slot), Math.floor(0.02 * HZ) + 432000 * HZ);
});

test('§2.1 early_drop kills every non-assured entry of the first bucket that has one', (t) => {
  const ct = tiny(4, 1);
  const p = new Pkt();
  for (let i = 0; i < 4; i++) send(ct, 0, tcp(p, A, 1000 + i, B, 80, 'S'));
  t.is(ct.count, 4);
  t.is(send(ct, 1000, tcp(p, A, 2000, B, 80, 'S')), NF_ACCEPT);
  t.is(ct.stats.early_drop, 4, 'all four unassured entries go in one call');
  t.is(ct.count, 1);
  checkTable(ct);
});

test('§2.1 early_drop never evicts ASSURED entries; with none eligible the packet is dropped and the gc flag raised', (t) => {
  const ct = tiny(3, 1);
  const p = new Pkt();
  for (let i = 0; i < 3; i++) {
    send(ct, 0, tcp(p, A, 1000 + i, B, 80, 'S', 100, 0));
    send(ct, 0, tcp(p, B, 80, A, 1000 + i, 'SA', 500, 101));
    send(ct, 0, tcp(p, A, 1000 + i, B, 80, 'A', 101, 501));
  }
  t.is(ct.count, 3);
  t.false(ct.gcEarlyDrop);
  t.is(send(ct, 1000, tcp(p, A, 3000, B, 80, 'S')), NF_DROP);
  t.is(ct.stats.drop, 1);
  t.is(ct.stats.early_drop, 0);
  t.is(ct.count, 3);
  t.true(ct.gcEarlyDrop);
  // packets of tracked flows are unaffected by a full table
  t.is(send(ct, 2000, tcp(p, A, 1000, B, 80, 'A', 101, 501)), NF_ACCEPT);
});

test('§2.1 the scan covers 8 consecutive buckets from the new flow bucket and stops at the first with a victim', (t) => {
  const ct = tiny(2, 16);
  const p = new Pkt();
  // victim 1 with both nodes in bucket 12; victim 2 in bucket 3: the new flow hashes to bucket 10
  const s1 = portFor(ct, A, B, 80, IPPROTO_TCP, 12, 12);
  const s2 = portFor(ct, A, B, 80, IPPROTO_TCP, 3, 3);
  send(ct, 0, tcp(p, A, s1, B, 80, 'S'));
  send(ct, 0, tcp(p, A, s2, B, 80, 'S'));
  const sNew = portFor(ct, A, B, 80, IPPROTO_TCP, 10);
  send(ct, 1000, tcp(p, A, sNew, B, 80, 'S'));
  t.is(ct.stats.early_drop, 1);
  t.truthy(ct.find(A, B, ((s2 << 16) | 80) | 0, (4 << 8) | IPPROTO_TCP) >= 0, 'bucket 3 is outside 10..17 mod 16 = 10..15,0,1');
  t.is(ct.find(A, B, ((s1 << 16) | 80) | 0, (4 << 8) | IPPROTO_TCP), -1);
});

test('§2.1 expired entries met by the scan are reaped but do not count, and the packet is still dropped', (t) => {
  const ct = tiny(2, 16);
  const p = new Pkt();
  // an entry (both nodes in bucket 5) that will expire, and an assured one in bucket 6
  const sx = portFor(ct, A, B, 80, IPPROTO_TCP, 5, 5);
  send(ct, 0, tcp(p, A, sx, B, 80, 'S'));
  const sa = portFor(ct, A, B, 80, IPPROTO_TCP, 6, 6);
  send(ct, 0, tcp(p, A, sa, B, 80, 'S', 100, 0));
  send(ct, 0, tcp(p, B, 80, A, sa, 'SA', 500, 101));
  send(ct, 0, tcp(p, A, sa, B, 80, 'A', 101, 501));
  const sn = portFor(ct, A, B, 80, IPPROTO_TCP, 4);
  t.is(send(ct, 121 * S, tcp(p, A, sn, B, 80, 'S')), NF_DROP, 'room was made by reaping, but this packet is dropped');
  t.is(ct.stats.reaped_early_drop, 1);
  t.is(ct.stats.early_drop, 0);
  t.is(ct.stats.drop, 1);
  t.is(ct.count, 1);
  t.is(send(ct, 121 * S + 1, tcp(p, A, sn, B, 80, 'S')), NF_ACCEPT, 'a later packet finds room');
});

test('§3.4 a lookup reaps expired entries it passes; an expired entry with the same tuple is replaced', (t) => {
  const ct = small(1024, 1024);
  const p = new Pkt();
  send(ct, 0, udp(p, A, 5000, B, 53));
  const slot = ct.lastSlot;
  t.is(ct.table.timeoutOf(slot), 30 * HZ);
  send(ct, 30 * S, udp(p, A, 5000, B, 53));
  t.is(ct.stats.reaped_lookup, 1, 'expired at exactly timeout - now32 = 0');
  t.is(ct.count, 1);
});

test('§5.1 UDP (≥ v5.16): 30 s until a post-reply packet more than 2 s after creation, then 120 s and ASSURED', (t) => {
  const ct = small(1024, 1024);
  const p = new Pkt();
  send(ct, 0, udp(p, A, 5000, B, 53));
  const slot = ct.lastSlot;
  send(ct, 100_000, udp(p, B, 53, A, 5000));
  t.is(ct.table.timeoutOf(slot), 25 + 30 * HZ, 'the first reply is handled before SEEN_REPLY is set');
  send(ct, 200_000, udp(p, A, 5000, B, 53));
  t.is(ct.table.timeoutOf(slot), 50 + 30 * HZ);
  t.falsy(ct.table.statusOf(slot) & IPS_ASSURED, 'request/response within 2 s stays early-droppable');
  send(ct, 2 * S, udp(p, A, 5000, B, 53));
  t.falsy(ct.table.statusOf(slot) & IPS_ASSURED, 'stream_ts = creation + 2 s; time_after is strict');
  send(ct, 2 * S + 4000, udp(p, A, 5000, B, 53));
  t.truthy(ct.table.statusOf(slot) & IPS_ASSURED);
  t.is(ct.table.timeoutOf(slot), 501 + 120 * HZ);
});

test('§5.2 UDP (v5.12–v5.15): ASSURED on the first post-reply packet, 30 s until the 2 s mark', (t) => {
  const ct = small(1024, 1024, {}, '5.13');
  const p = new Pkt();
  send(ct, 0, udp(p, A, 5000, B, 53));
  const slot = ct.lastSlot;
  send(ct, 100_000, udp(p, B, 53, A, 5000));
  send(ct, 200_000, udp(p, A, 5000, B, 53));
  t.truthy(ct.table.statusOf(slot) & IPS_ASSURED);
  t.is(ct.table.timeoutOf(slot), 50 + 30 * HZ);
});

test('§5.2 UDP (≤ v5.11): 120 s and ASSURED on the first post-reply packet', (t) => {
  const ct = small(1024, 1024, {}, '5.10');
  const p = new Pkt();
  send(ct, 0, udp(p, A, 5000, B, 53));
  const slot = ct.lastSlot;
  send(ct, 100_000, udp(p, B, 53, A, 5000));
  send(ct, 200_000, udp(p, A, 5000, B, 53));
  t.truthy(ct.table.statusOf(slot) & IPS_ASSURED);
  t.is(ct.table.timeoutOf(slot), 50 + 120 * HZ);
});

test('§6.1 ICMP: echo creates, reply refreshes, unmatched echo reply is invalid after allocation', (t) => {
  const ct = small(1024, 1024);
  const p = new Pkt();
  send(ct, 0, icmpEcho(p, A, B, 77, 8));
  const slot = ct.lastSlot;
  t.is(ct.count, 1);
  send(ct, S, icmpEcho(p, B, A, 77, 0));
  t.is(ct.lastCtinfo, IP_CT_ESTABLISHED_REPLY);
  t.is(ct.table.timeoutOf(slot), HZ + 30 * HZ);
  send(ct, S, icmpEcho(p, B, A, 99, 0));
  t.is(ct.stats.invalid, 1);
  t.is(ct.stats.allocated, 2, 'the allocation happens before the tracker rejects the reply');
  t.is(ct.count, 1);
});

test('§6.1 ICMP errors are RELATED to the entry of the embedded packet when the outer destination matches', (t) => {
  const ct = small(1024, 1024);
  const p = new Pkt();
  send(ct, 0, tcp(p, A, 40000, B, 80, 'S'));
  const slot = ct.lastSlot;
  const before = ct.table.timeoutOf(slot);
  const err = (outerDst: number) => {
    p.reset();
    p.proto = 1; p.src = ip(192, 0, 2, 1); p.dst = outerDst; p.dport = 3 << 8 | 1; p.len = 56;
    p.innerValid = true; p.innerProto = IPPROTO_TCP; p.innerSrc = A; p.innerDst = B; p.innerSport = 40000; p.innerDport = 80;
    return p;
  };
  send(ct, S, err(A));
  t.is(ct.lastCtinfo, IP_CT_RELATED_REPLY);
  t.is(ct.lastSlot, slot);
  t.is(ct.table.timeoutOf(slot), before, 'RELATED errors do not refresh');
  send(ct, S, err(ip(10, 9, 9, 9)));
  t.is(ct.stats.error, 1, 'outer destination mismatch → icmp_error');
  t.is(ct.stats.related, 1);
});

test('§4.6-12 SYN answered by RST deletes the entry at once (DESTROY event, no UPDATE)', (t) => {
  const ct = createConntrack({ hz: HZ, seed: 1, eventListener: true, sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024 } });
  const events: number[] = [];
  ct.observer = { event: (_s, m) => events.push(m) };
  const p = new Pkt();
  send(ct, 0, tcp(p, A, 40000, B, 80, 'S', 1000, 0));
  send(ct, 1000, tcp(p, B, 80, A, 40000, 'RA', 0, 1001));
  t.is(ct.count, 0);
  t.is(ct.stats.killed_rst, 1);
  t.deepEqual(events, [(1 << IPCT_NEW) | (1 << IPCT_PROTOINFO), 1 << IPCT_DESTROY]);
});

test('§1.8 chain too long: insertion refused with chaintoolong and insert_failed, entry freed', (t) => {
  const ct = tiny(200, 1);
  const p = new Pkt();
  let ok = 0;
  for (let i = 0; i < 100; i++) if (send(ct, 0, tcp(p, A, 1000 + i, B, 80, 'S')) === NF_ACCEPT) ok++;
  // every entry adds 2 nodes to the single chain; the limit is drawn from [50, 79]
  t.true(ct.stats.chaintoolong > 0);
  t.is(ct.stats.chaintoolong, ct.stats.insert_failed);
  t.is(ct.stats.drop, 0, 'chaintoolong does not count as drop');
  t.is(ok + ct.stats.chaintoolong, 100);
  t.true(ct.table.chainLength(0) >= 50 && ct.table.chainLength(0) <= 81);
  checkTable(ct);
});
