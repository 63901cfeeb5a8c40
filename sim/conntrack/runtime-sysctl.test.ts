/**
 * Operator actions on a running table (docs/model.md §14): sysctl writes, the bucket rehash,
 * `conntrack -F` and `conntrack -D`. Expectations are derived by hand or by an independent
 * list model of the kernel's walk, never read back from the code under test.
 */
import test from 'ava';
import { IPCT_DESTROY, IPPROTO_TCP, IPPROTO_UDP } from './constants.js';
import { createConntrack } from './create.js';
import type { Conntrack } from './conntrack.js';
import { GcWorker } from './gc.js';
import { tupleHash as hashOf } from './hash.js';
import { Pkt } from './packet.js';
import { REASON_FLUSH } from './stats.js';
import { checkTable, ip, send, tcp, udp } from './testing.js';

const SERVER = ip(10, 9, 9, 9);
const HZ = 250;

function mk(max: number, buckets = 1024): Conntrack {
  return createConntrack({ hz: HZ, seed: 3, sysctl: { nf_conntrack_max: max, nf_conntrack_buckets: buckets } });
}

/** Confirms `n` UDP flows 10.0.x.y:1000+i → SERVER:53, one per µs from `t0`. Returns the slots. */
function udpFlows(ct: Conntrack, n: number, t0 = 0, base = ip(10, 0, 0, 1)): number[] {
  const p = new Pkt();
  const slots: number[] = [];
  for (let i = 0; i < n; i++) {
    send(ct, t0 + i, udp(p, (base + i) | 0, 1000 + i, SERVER, 53));
    slots.push(ct.lastSlot);
  }
  return slots;
}

/** Both directions of every listed entry are found by a lookup, at their own nodes. */
function assertFindable(t: import('ava').ExecutionContext, ct: Conntrack, slots: readonly number[]): void {
  const tb = ct.table;
  for (const s of slots) {
    const l3proto = tb.l3protoOf(s);
    t.is(ct.find(tb.srcOf(s), tb.dstOf(s), tb.portsOf(s), l3proto), s * 2, `slot ${s} ORIGINAL`);
    t.is(ct.find(tb.replySrc(s), tb.replyDst(s), tb.rportsOf(s), l3proto), s * 2 + 1, `slot ${s} REPLY`);
  }
}

/** The chains of a table as node lists, head first. */
function chains(ct: Conntrack): number[][] {
  const tb = ct.table;
  const out: number[][] = [];
  for (let b = 0; b < tb.nbuckets; b++) {
    const c: number[] = [];
    for (let p = tb.chainLength(b) - 1; p >= 0; p--) c.push(tb.at(b, p));
    out.push(c);
  }
  return out;
}

test('§14.2 rehash, hand-derived: one chain C.r C.o B.r B.o A.r A.o rehashed into one bucket comes out reversed', (t) => {
  const ct = mk(16);
  ct.table.resetBuckets(1);
  const [a, b, c] = udpFlows(ct, 3) as [number, number, number];
  // each confirm head-inserts ORIGINAL then REPLY (§1.5), so the newest entry's REPLY node leads
  t.deepEqual(chains(ct), [[c * 2 + 1, c * 2, b * 2 + 1, b * 2, a * 2 + 1, a * 2]]);
  ct.table.rehash(1);
  // popped from the old head one by one, each head-inserted: the last popped (A.o) leads
  t.deepEqual(chains(ct), [[a * 2, a * 2 + 1, b * 2, b * 2 + 1, c * 2, c * 2 + 1]]);
  checkTable(ct);
  assertFindable(t, ct, [a, b, c]);
});

test('§14.2 rehash: chain order as an independent list model of nf_conntrack_hash_resize() predicts; every entry findable both ways; count and max unchanged', (t) => {
  for (const [from, to] of [[4, 7], [7, 3], [2, 512], [512, 2]] as const) {
    const ct = mk(400);
    ct.table.resetBuckets(from);
    const slots = udpFlows(ct, 40); // chains stay below the 50-node confirm limit at 2 buckets
    // expected: walk old buckets in index order, each chain head first, unshift into the new chain
    const expected: number[][] = Array.from({ length: to }, () => []);
    const tb = ct.table;
    const key = tb.key;
    const scale = (hash: number, n: number): number => Number((BigInt(hash >>> 0) * BigInt(n)) >> 32n);
    const rawOf = (node: number): number => {
      const s = node >> 1;
      return (node & 1) === 0 ? hashOf(key, tb.srcOf(s), tb.dstOf(s), tb.portsOf(s), tb.l3protoOf(s))
        : hashOf(key, tb.replySrc(s), tb.replyDst(s), tb.rportsOf(s), tb.l3protoOf(s));
    };
    for (const chain of chains(ct)) for (const node of chain) expected[scale(rawOf(node), to)]!.unshift(node);
    const count = ct.count;
    ct.table.rehash(to);
    t.is(ct.table.nbuckets, to);
    t.deepEqual(chains(ct), expected, `${from} → ${to} buckets`);
    t.is(checkTable(ct), 2 * 40);
    t.is(ct.count, count);
    t.is(ct.max, 400);
    assertFindable(t, ct, slots);
  }
});


test('§14.2 nf_conntrack_buckets write: rounded up to a multiple of 512, same size is a no-op, max untouched, bucket bytes follow', (t) => {
  const ct = mk(2000, 1024);
  const slots = udpFlows(ct, 1500);
  const before = chains(ct);
  t.is(ct.rehash(1000), 1024); // rounds to 1024 = current size: nothing moves
  t.deepEqual(chains(ct), before);
  const k0 = ct.kernelBytes();
  t.is(ct.rehash(1025), 1536);
  t.is(ct.table.nbuckets, 1536);
  t.is(ct.sys.nf_conntrack_buckets, 1536);
  t.is(ct.max, 2000);
  t.is(ct.kernelBytes() - k0, (1536 - 1024) * 8);
  checkTable(ct);
  assertFindable(t, ct, slots);
  ct.setSysctl('nf_conntrack_buckets', 513);
  t.is(ct.table.nbuckets, 1024);
  checkTable(ct);
  assertFindable(t, ct, slots);
});

test('§14.2 gc cursor after a shrink: a cursor past the new size ends the cycle at the next run (gc_worker: i >= hashsz)', (t) => {
  const ct = mk(64, 4096);
  udpFlows(ct, 10);
  const gc = new GcWorker(ct, 1); // 1 bucket per ms: every invocation stops after 10 ms
  gc.run(1_000_000);
  t.true(gc.nextBucket > 0 && gc.nextBucket < 4096);
  gc.nextBucket = 3000;
  ct.rehash(512);
  const cycles = ct.stats.gc_cycles;
  gc.run(2_000_000);
  t.is(ct.stats.gc_cycles, cycles + 1);
  t.is(gc.nextBucket, 0);
});

test('§14.1 nf_conntrack_max lowered: nothing is evicted; the next new flow early-drops (count > max) and count stays above the new max', (t) => {
  const ct = mk(100);
  udpFlows(ct, 100);
  ct.setSysctl('nf_conntrack_max', 50);
  t.is(ct.count, 100);
  t.is(ct.stats.early_drop, 0);
  const p = new Pkt();
  send(ct, 1000, udp(p, ip(10, 5, 0, 1), 7, SERVER, 53));
  // the flows are unreplied (not ASSURED): early_drop frees the first non-empty bucket's entries
  t.true(ct.stats.early_drop >= 1);
  t.is(ct.count, 101 - ct.stats.early_drop);
  t.true(ct.count > 50);
});

test('§14.1 nf_conntrack_max raised at a full table: limit+1 admitted without early drop, limit+2 is over it; slot arrays grow', (t) => {
  const ct = mk(64);
  const p = new Pkt();
  // ASSURED-free TCP SYNs fill the table to the limit
  for (let i = 0; i < 64; i++) send(ct, i, tcp(p, ip(10, 1, 0, i), 1000, SERVER, 80, 'S'));
  t.is(ct.count, 64);
  ct.setSysctl('nf_conntrack_max', 65);
  send(ct, 100, tcp(p, ip(10, 2, 0, 1), 1000, SERVER, 80, 'S'));
  t.is(ct.count, 65);
  t.is(ct.stats.early_drop, 0);
  t.true(ct.table.capacity >= 65);
  send(ct, 101, tcp(p, ip(10, 2, 0, 2), 1000, SERVER, 80, 'S'));
  // limit + 2 is over the limit: early_drop frees something and admits it, or the packet is dropped
  t.true(ct.stats.early_drop >= 1 || ct.stats.drop === 1);
  t.true(ct.count <= 65);
  checkTable(ct);
});

test('§14.1 nf_conntrack_max 0 before v6.19 is "no limit"; refused from v6.19', (t) => {
  const ct = mk(4);
  ct.setSysctl('nf_conntrack_max', 0);
  udpFlows(ct, 50);
  t.is(ct.count, 50);
  const v619 = createConntrack({ version: '6.19', hz: HZ, sysctl: { nf_conntrack_max: 4, nf_conntrack_buckets: 512 } });
  t.throws(() => v619.setSysctl('nf_conntrack_max', 0), { instanceOf: RangeError });
});

test('§14.1 a timeout write applies from the next refresh on: existing deadlines stay, timeout policies keep their copied values', (t) => {
  const ct = mk(16);
  const pol = ct.addTimeoutPolicy('p', 'udp', { unreplied: 77 });
  ct.timeoutPolicyFor = (pkt) => (pkt.sport === 2000 ? pol : 0);
  const p = new Pkt();
  send(ct, 0, udp(p, ip(10, 0, 0, 1), 1000, SERVER, 53));
  const a = ct.lastSlot;
  send(ct, 0, udp(p, ip(10, 0, 0, 2), 2000, SERVER, 53));
  const b = ct.lastSlot;
  t.is(ct.remaining(a), 30 * HZ);
  ct.setSysctl('nf_conntrack_udp_timeout', 10);
  t.is(ct.remaining(a), 30 * HZ, 'the deadline set before the write is kept');
  send(ct, 1_000_000, udp(p, ip(10, 0, 0, 1), 1000, SERVER, 53));
  t.is(ct.remaining(a), 10 * HZ, 'refreshed with the new value');
  send(ct, 1_000_000, udp(p, ip(10, 0, 0, 2), 2000, SERVER, 53));
  t.is(ct.remaining(b), 77 * HZ, 'the policy keeps its own value');
  ct.setSysctl('nf_conntrack_tcp_timeout_syn_sent', 5);
  send(ct, 2_000_000, tcp(p, ip(10, 0, 0, 3), 1000, SERVER, 80, 'S'));
  t.is(ct.remaining(ct.lastSlot), 5 * HZ);
});

test('§14.1 nf_conntrack_tcp_loose written mid-run applies to the next packet', (t) => {
  const ct = mk(16);
  const p = new Pkt();
  send(ct, 0, tcp(p, ip(10, 0, 0, 1), 1000, SERVER, 80, 'A'));
  t.is(ct.count, 1, 'loose pickup with the default tcp_loose=1');
  ct.setSysctl('nf_conntrack_tcp_loose', 0);
  send(ct, 1, tcp(p, ip(10, 0, 0, 2), 1000, SERVER, 80, 'A'));
  t.is(ct.count, 1, 'no pickup after tcp_loose=0');
});

test('§14.3 conntrack -F: every entry deleted with one DESTROY event each, in bucket order of the ORIGINAL node; conntrack -S counters untouched', (t) => {
  const ct = createConntrack({ hz: HZ, seed: 3, eventListener: true, sysctl: { nf_conntrack_max: 64, nf_conntrack_buckets: 512 } });
  ct.table.resetBuckets(8);
  const slots = udpFlows(ct, 40);
  // expected order: buckets 0..7, in each the ORIGINAL nodes head first (deleting one does not reorder the rest)
  const expected: number[] = [];
  for (const chain of chains(ct)) for (const n of chain) if ((n & 1) === 0) expected.push(n >> 1);
  const seen: number[] = [];
  const reasons: number[] = [];
  ct.observer = {
    event: (slot, mask) => { if (mask === 1 << IPCT_DESTROY) seen.push(slot); },
    destroyed: (_s, r) => reasons.push(r),
  };
  const before = JSON.stringify(ct.stats);
  t.is(ct.flush(REASON_FLUSH), 40);
  t.deepEqual(seen, expected);
  t.is(new Set(seen).size, slots.length);
  t.true(reasons.every((r) => r === REASON_FLUSH));
  t.is(ct.count, 0);
  t.is(JSON.stringify(ct.stats), before);
  checkTable(ct);
});

test('§14.4 conntrack -D: only entries matching every filter go (protocol, state, src prefix, mark); expired entries passed are reaped, not listed', (t) => {
  const ct = createConntrack({ hz: HZ, seed: 3, eventListener: true, sysctl: { nf_conntrack_max: 64, nf_conntrack_buckets: 512 } });
  const p = new Pkt();
  send(ct, 0, tcp(p, ip(198, 18, 0, 1), 1000, SERVER, 80, 'S')); const synA = ct.lastSlot;
  send(ct, 0, tcp(p, ip(198, 19, 0, 1), 1000, SERVER, 80, 'S')); const synB = ct.lastSlot;
  send(ct, 0, tcp(p, ip(10, 0, 0, 1), 1000, SERVER, 80, 'S')); const synC = ct.lastSlot;
  send(ct, 0, udp(p, ip(198, 18, 0, 2), 1000, SERVER, 53)); const u = ct.lastSlot;
  ct.setMark(synB, 7);
  const destroyed: number[] = [];
  ct.observer = { event: (slot, mask) => { if (mask === 1 << IPCT_DESTROY) destroyed.push(slot); } };
  ct.setNow(1_000_000);
  const only = (f: (s: number) => boolean) => ct.deleteMatching(f, REASON_FLUSH);
  // protocol + src prefix 198.18.0.0/15 (covers 198.18 and 198.19)
  const tb = ct.table;
  const inFlood = (s: number) => (tb.l3protoOf(s) & 0xff) === IPPROTO_TCP && ((tb.srcOf(s) - ip(198, 18, 0, 0)) >>> 0) < 2 ** 17;
  // mark filter first: only synB
  t.deepEqual(only((s) => ct.markOf(s) === 7), { deleted: 1, reaped: 0 });
  t.deepEqual(destroyed, [synB]);
  t.deepEqual(only(inFlood), { deleted: 1, reaped: 0 });
  t.deepEqual(destroyed, [synB, synA]);
  t.is(ct.count, 2);
  // the UDP entry expires at 30 s; a -D for TCP at 31 s reaps it on the way and deletes synC
  ct.setNow(31_000_000);
  t.deepEqual(only((s) => (tb.l3protoOf(s) & 0xff) === IPPROTO_TCP), { deleted: 1, reaped: 1 });
  t.is(ct.count, 0);
  t.deepEqual(destroyed.slice(2).sort(), [u, synC].sort());
  t.is(ct.stats.reaped_lookup, 1);
  void IPPROTO_UDP;
});
