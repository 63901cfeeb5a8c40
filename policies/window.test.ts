import test from 'ava';
import { createConntrack } from '../sim/conntrack/create.js';
import { IPS_DYING } from '../sim/conntrack/constants.js';
import { Pkt } from '../sim/conntrack/packet.js';
import { ip, send, udp } from '../sim/conntrack/testing.js';
import { collectWindow } from './window.js';
import type { Conntrack } from '../sim/conntrack/conntrack.js';

/** The definition: every bucket of the window from its chain head, each entry where first met, dying ones skipped. */
function naiveWindow(ct: Conntrack, bucket: number, range: number): number[] {
  const tb = ct.table;
  const seen: number[] = [];
  for (let i = 0; i < Math.min(range, tb.nbuckets); i++) {
    const b = (bucket + i) % tb.nbuckets;
    for (let k = 0; k < tb.chainLength(b); k++) {
      const slot = tb.nodeAt(b, k) >> 1;
      if ((tb.statusOf(slot) & IPS_DYING) === 0 && !seen.includes(slot)) seen.push(slot);
    }
  }
  return seen;
}

test('§2.1 window: the distinct entries of the window in walk order, each where its first node is met (both nodes in the window count once), for every start bucket and range', (t) => {
  const ct = createConntrack({ seed: 9, sysctl: { nf_conntrack_max: 600, nf_conntrack_buckets: 512 } });
  ct.table.resetBuckets(16);
  // 400 UDP flows over 16 buckets: chains of ~50 nodes, many entries with both nodes in one window
  const pkt = new Pkt();
  for (let i = 0; i < 400; i++) send(ct, 0, udp(pkt, ip(10, 0, i >> 8, i & 255), 1000 + i, ip(10, 9, 9, 9), 53));
  t.true(ct.count > 300, 'most flows got an entry (the chain-length limit refuses a few)');
  const buf = new Int32Array(4096);
  let both = 0;
  for (const range of [1, 3, 8, 16, 40]) {
    for (let b = 0; b < 16; b++) {
      const want = naiveWindow(ct, b, range);
      const n = collectWindow(ct, b, range, buf);
      t.deepEqual(Array.from(buf.subarray(0, n)), want, `bucket ${b}, range ${range}`);
      let nodes = 0;
      for (let i = 0; i < Math.min(range, 16); i++) nodes += ct.table.chainLength((b + i) % 16);
      if (nodes > n) both++;
    }
  }
  t.true(both > 0, 'some windows hold both nodes of an entry');
  // a buffer smaller than the window keeps the first entries met
  const small = new Int32Array(5);
  t.is(collectWindow(ct, 0, 16, small), 5);
  t.deepEqual(Array.from(small), naiveWindow(ct, 0, 16).slice(0, 5));
});
