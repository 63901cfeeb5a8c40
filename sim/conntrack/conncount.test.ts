import test from 'ava';
import { createConntrack } from './create.js';
import { Pkt } from './packet.js';
import { send, tcp, udp, ip } from './testing.js';
import { IPS_ASSURED, IPS_CONFIRMED } from './constants.js';
import { ConnCount, connlimitEval, CONNCOUNT_EEXIST, CONNCOUNT_OK, CONNCOUNT_TUPLE_BYTES, CONNCOUNT_LIST_BYTES } from './conncount.js';
import { IP_CT_NEW, IP_CT_ESTABLISHED } from './conntrack.js';

const A = ip(10, 0, 0, 1);
const B = ip(10, 0, 0, 2);
const HZ = 250;
const J = 1_000_000 / HZ; // µs per jiffy

function setup() {
  const ct = createConntrack({ hz: HZ, seed: 3, sysctl: { nf_conntrack_max: 4096, nf_conntrack_buckets: 1024 } });
  return { ct, cc: new ConnCount(ct), p: new Pkt() };
}

/**
 * The rule sees a new connection's first packet before confirm (raw → conntrack → filter →
 * confirm): `add` as for an unconfirmed entry. The model's packetIn() confirms at once, so the
 * test hides the CONFIRMED bit during the call.
 */
function addNew(cc: ConnCount, list: number, p: Pkt, slot: number): number {
  const ct = (cc as unknown as { ct: ReturnType<typeof setup>['ct'] }).ct;
  ct.table.clearStatus(slot, IPS_CONFIRMED);
  try { return cc.add(list, p, slot, IP_CT_NEW, false); } finally { ct.table.orStatus(slot, IPS_CONFIRMED); }
}

/** Opens a TCP connection with a SYN at `us` (entry created, not assured); returns its slot. */
function syn(ct: ReturnType<typeof setup>['ct'], p: Pkt, us: number, sport: number): number {
  send(ct, us, tcp(p, A, sport, B, 80, 'S', 1000, 0));
  return ct.lastSlot;
}

/** Full handshake plus data both ways → ESTABLISHED and ASSURED. */
function established(ct: ReturnType<typeof setup>['ct'], p: Pkt, us: number, sport: number): number {
  const s = syn(ct, p, us, sport);
  send(ct, us, tcp(p, B, 80, A, sport, 'SA', 5000, 1001));
  send(ct, us, tcp(p, A, sport, B, 80, 'A', 1001, 5001));
  return s;
}

test('rules.md §20.2 ct count over 20: the 20th connection is within, the 21st counts 21 and matches', (t) => {
  const { ct, cc, p } = setup();
  ct.setNow(0);
  const list = cc.newList();
  const matched: boolean[] = [];
  const slots: number[] = [];
  for (let i = 0; i < 21; i++) {
    const s = syn(ct, p, 0, 40000 + i);
    slots.push(s);
    ct.table.clearStatus(s, IPS_CONFIRMED);
    matched.push(connlimitEval(cc, list, 20, true, p, s, IP_CT_NEW, false) === 1); // over = NFT_CONNLIMIT_F_INV
    ct.table.orStatus(s, IPS_CONFIRMED);
  }
  t.is(cc.count[list], 21);
  t.deepEqual(matched.map((m, i) => (m ? i + 1 : 0)).filter((x) => x > 0), [21], 'only the 21st has count > 20');
  // `ct count 20` (no over) is the complement
  const l2 = cc.newList();
  let lastOk = 0;
  for (let i = 0; i < 21; i++) if (connlimitEval(cc, l2, 20, false, p, slots[i], IP_CT_NEW, false) === 1) lastOk = i + 1;
  t.is(lastOk, 20);
});

test('rules.md §20.2 a retransmitted SYN of a counted connection is not added twice (found in the table and equal)', (t) => {
  const { ct, cc, p } = setup();
  ct.setNow(0);
  const list = cc.newList();
  const s = syn(ct, p, 0, 40000);
  t.is(cc.add(list, p, s, IP_CT_NEW, false), CONNCOUNT_OK);
  ct.setNow(10 * J); // past the jiffy of the list's creation: the walk runs
  t.is(cc.add(list, p, s, IP_CT_NEW, false), CONNCOUNT_OK);
  t.is(cc.count[list], 1);
});

test('rules.md §20.2 a confirmed ASSURED entry is not added (-EEXIST) and the list is gc-ed instead; ESTABLISHED ctinfo likewise', (t) => {
  const { ct, cc, p } = setup();
  ct.setNow(0);
  const list = cc.newList();
  const s = established(ct, p, 0, 40000);
  t.not(ct.table.statusOf(s) & IPS_ASSURED, 0);
  t.is(cc.add(list, p, s, IP_CT_ESTABLISHED, false), CONNCOUNT_EEXIST);
  t.is(cc.count[list], 0);
  const u = syn(ct, p, 0, 40001);
  t.is(cc.add(list, p, u, IP_CT_ESTABLISHED, false), CONNCOUNT_EEXIST, 'confirmed, not assured, but ctinfo ESTABLISHED');
  t.is(connlimitEval(cc, list, 0, true, p, s, IP_CT_ESTABLISHED, false), 0, 'count 0 is not over 0: ct count over 0 does not match');
});

test('rules.md §20.2 a connection in TIME_WAIT no longer counts: the next walk (a later jiffy) removes it', (t) => {
  const { ct, cc, p } = setup();
  ct.setNow(0);
  const list = cc.newList();
  for (let i = 0; i < 3; i++) {
    const s = syn(ct, p, 0, 40000 + i);
    addNew(cc, list, p, s);
    send(ct, 0, tcp(p, B, 80, A, 40000 + i, 'SA', 5000, 1001));
    send(ct, 0, tcp(p, A, 40000 + i, B, 80, 'A', 1001, 5001));
  }
  t.is(cc.count[list], 3);
  // close 40000 actively: FIN, ACK, FIN, ACK → TIME_WAIT
  const us = J;
  send(ct, us, tcp(p, A, 40000, B, 80, 'FA', 1001, 5001));
  send(ct, us, tcp(p, B, 80, A, 40000, 'A', 5001, 1002));
  send(ct, us, tcp(p, B, 80, A, 40000, 'FA', 5001, 1002));
  send(ct, us, tcp(p, A, 40000, B, 80, 'A', 1002, 5002));
  addNew(cc, list, p, syn(ct, p, 2 * J, 40010));
  t.is(cc.count[list], 3, '3 stored − 1 in TIME_WAIT + the new one');
  t.is(cc.removedClosed, 1);
  t.false(cc.tuples(list).some((x) => (x.ports >>> 16) === 40000));
});

test('rules.md §20.2 once per jiffy: within the jiffy of the last gc, fewer than 64 new nodes skip the walk; the 65th add walks', (t) => {
  const { ct, cc, p } = setup();
  ct.setNow(0);
  const list = cc.newList(); // last_gc = jiffy 0, last_gc_count 0
  // a UDP entry is counted, then deleted from the table
  send(ct, 0, udp(p, A, 5000, B, 53));
  const dead = ct.lastSlot;
  addNew(cc, list, p, dead);
  ct.destroy(dead, 0);
  for (let i = 1; i < 64; i++) addNew(cc, list, p, syn(ct, p, 0, 30000 + i));
  t.is(cc.count[list], 64, '64 adds in jiffy 0: no walk, the deleted entry still counts');
  t.is(cc.removedAbsent, 0);
  addNew(cc, list, p, syn(ct, p, 0, 31000));
  t.is(cc.removedAbsent, 1, 'count − last_gc_count = 64 is not < 64: this add walked and removed the absent tuple');
  t.is(cc.count[list], 64);
  t.deepEqual(cc.gcState(list), { lastGc: 0, lastGcCount: 63 });
});

test('rules.md §20.2 an absent tuple stored by another CPU is kept while younger than 2 jiffies, removed at 2', (t) => {
  const { ct, cc, p } = setup();
  ct.setNow(0);
  const list = cc.newList();
  ct.curCpu = 1;
  send(ct, 0, udp(p, A, 5000, B, 53));
  const s = ct.lastSlot;
  cc.add(list, p, s, IP_CT_NEW, false);
  ct.destroy(s, 0);
  ct.curCpu = 0;
  ct.setNow(J); // 1 jiffy old, other CPU: kept
  cc.add(list, p, syn(ct, p, J, 40001), IP_CT_NEW, false);
  t.is(cc.removedAbsent, 0);
  t.is(cc.count[list], 2);
  ct.setNow(2 * J); // 2 jiffies old: removed
  cc.add(list, p, syn(ct, p, 2 * J, 40002), IP_CT_NEW, false);
  t.is(cc.removedAbsent, 1);
  t.is(cc.count[list], 2);
});

test('rules.md §20.2 an absent tuple stored by this CPU goes at once (next jiffy walk)', (t) => {
  const { ct, cc, p } = setup();
  ct.setNow(0);
  const list = cc.newList();
  send(ct, 0, udp(p, A, 5000, B, 53));
  const s = ct.lastSlot;
  cc.add(list, p, s, IP_CT_NEW, false);
  ct.destroy(s, 0);
  cc.add(list, p, syn(ct, p, J, 40001), IP_CT_NEW, false);
  t.is(cc.removedAbsent, 1);
  t.is(cc.count[list], 1);
});

test('rules.md §20.2 a walk stops after more than 64 removals (CONNCOUNT_GC_MAX_COLLECT): 65 of 70 dead tuples go', (t) => {
  const { ct, cc, p } = setup();
  ct.setNow(0);
  const list = cc.newList();
  const slots: number[] = [];
  for (let i = 0; i < 70; i++) { send(ct, 0, udp(p, A, 5000 + i, B, 53)); slots.push(ct.lastSlot); }
  // add them in separate jiffies? no: 70 adds in jiffy 0 — the 65th walks (nothing dead yet); all stored
  for (const s of slots) cc.add(list, p, s, IP_CT_NEW, false);
  t.is(cc.count[list], 70);
  for (const s of slots) ct.destroy(s, 0);
  cc.add(list, p, syn(ct, p, J, 40001), IP_CT_NEW, false);
  t.is(cc.removedAbsent, 65);
  t.is(cc.count[list], 70 - 65 + 1);
  ct.setNow(2 * J);
  t.false(cc.gcList(list), 'gc removes the other 5; the new SYN entry still counts');
  t.is(cc.count[list], 1);
});

test('rules.md §20.2 gcList: skipped in the jiffy of the last gc; reports an empty list', (t) => {
  const { ct, cc, p } = setup();
  ct.setNow(0);
  const list = cc.newList();
  send(ct, 0, udp(p, A, 5000, B, 53));
  const s = ct.lastSlot;
  cc.add(list, p, s, IP_CT_NEW, false);
  ct.destroy(s, 0);
  t.false(cc.gcList(list), 'jiffy 0 = last_gc: skipped');
  t.is(cc.count[list], 1);
  ct.setNow(J);
  t.true(cc.gcList(list));
  t.is(cc.count[list], 0);
  t.false(cc.gcList(list), 'same jiffy again: skipped, returns false even though empty');
});

test('rules.md §20.2 an expired entry counts until a lookup reaps it (UDP 30 s unreplied)', (t) => {
  const { ct, cc, p } = setup();
  ct.setNow(0);
  const list = cc.newList();
  send(ct, 0, udp(p, A, 5000, B, 53));
  cc.add(list, p, ct.lastSlot, IP_CT_NEW, false);
  ct.setNow(29 * 1_000_000);
  t.false(cc.gcList(list));
  t.is(cc.count[list], 1, 'alive at 29 s');
  ct.setNow(31 * 1_000_000);
  t.true(cc.gcList(list), 'the lookup reaps the expired entry; the tuple is absent');
});

test('rules.md §20.4 memory: 72 B per counted tuple, 32 B per list', (t) => {
  const { ct, cc, p } = setup();
  ct.setNow(0);
  const l = cc.newList();
  for (let i = 0; i < 5; i++) cc.add(l, p, syn(ct, p, 0, 40000 + i), IP_CT_NEW, false);
  t.is(cc.bytes(), 5 * 72 + 32);
  t.is(CONNCOUNT_TUPLE_BYTES + CONNCOUNT_LIST_BYTES, 104);
  cc.freeListId(l);
  t.is(cc.bytes(), 0);
});
