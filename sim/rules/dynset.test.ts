import test from 'ava';
import { DynSet, NFT_DYNSET_DEFAULT_SIZE } from './dynset.js';
import { ConnCount } from '../conntrack/conncount.js';
import { createConntrack } from '../conntrack/create.js';
import { Pkt } from '../conntrack/packet.js';
import { send, udp, ip } from '../conntrack/testing.js';
import { IPS_CONFIRMED } from '../conntrack/constants.js';
import { IP_CT_NEW } from '../conntrack/conntrack.js';

test('rules.md §20.2 a set of size 3 holds 3 keys; the 4th key fails (the rule does not match), known keys still update', (t) => {
  const s = new DynSet('perip', 3, undefined);
  t.true(s.update(10) >= 0 && s.isNew);
  t.true(s.update(11) >= 0);
  t.true(s.update(12) >= 0);
  t.is(s.update(13), -1);
  t.is(s.fullFailures, 1);
  const e = s.update(11);
  t.true(e >= 0);
  t.false(s.isNew);
  t.is(s.nelems, 3);
});

test('rules.md §20.2 a set declared without size is bound with 65535', (t) => {
  t.is(new DynSet('s', 0, undefined).size, NFT_DYNSET_DEFAULT_SIZE);
  t.is(NFT_DYNSET_DEFAULT_SIZE, 65535);
});

test('lookup/update/remove agree with a Map over many keys, including 0 and -1 (255.255.255.255)', (t) => {
  const s = new DynSet('s', 100_000, undefined);
  const ref = new Map<number, number>();
  let x = 12345;
  const next = () => { x = (Math.imul(x, 1103515245) + 12345) | 0; return x; };
  const keys = [0, -1, 1, 2];
  for (let i = 0; i < 3000; i++) keys.push(next() & 0x3ff);
  for (const k of keys as number[]) {
    if (ref.has(k) && (next() & 1) === 0) {
      s.remove(ref.get(k)!);
      ref.delete(k);
    } else {
      const e = s.update(k);
      if (ref.has(k)) t.is(e, ref.get(k)!); else ref.set(k, e);
    }
  }
  t.is(s.nelems, ref.size);
  for (let k = -1; k < 1024; k++) t.is(s.lookup(k), ref.get(k) ?? -1);
});

test('rules.md §20.2 gc frees an element once its conncount list is empty after a gc in a later jiffy', (t) => {
  const ct = createConntrack({ hz: 250, seed: 3, sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024 } });
  const cc = new ConnCount(ct);
  const s = new DynSet('perip', 0, cc);
  const p = new Pkt();
  const A = ip(10, 0, 0, 1), B = ip(10, 0, 0, 2);
  ct.setNow(0);
  send(ct, 0, udp(p, A, 5000, B, 53));
  const slot = ct.lastSlot;
  const e = s.update(A);
  ct.table.clearStatus(slot, IPS_CONFIRMED);
  cc.add(s.elemList[e], p, slot, IP_CT_NEW, false);
  ct.table.orStatus(slot, IPS_CONFIRMED);
  ct.setNow(1_000_000);
  s.gc();
  t.is(s.nelems, 1, 'the UDP entry lives 30 s');
  ct.setNow(31_000_000);
  s.gc();
  t.is(s.nelems, 0);
  t.is(s.gcRemoved, 1);
  t.is(s.lookup(A), -1);
  t.is(cc.listsAlive, 0);
});
