import test from 'ava';
import fc from 'fast-check';
import { HashKey } from './hash.js';
import { BKT_INLINE, BKT_STRIDE, ConntrackTable } from './table.js';

/**
 * The bucket records against an independent model of the kernel's hlist chains (§1.5): a plain
 * array per bucket, head first, where an insert is `unshift` (hlist_nulls_add_head_rcu) and a
 * delete is `splice` (hlist_nulls_del_rcu keeps the others in order).
 */
function chainOf(tb: ConntrackTable, b: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < tb.chainLength(b); i++) out.push(tb.nodeAt(b, i));
  return out;
}

test('§1.5 chains stay in head-insertion order through inline records, spill blocks and back (random inserts and deletes)', (t) => {
  fc.assert(fc.property(
    fc.array(fc.record({ op: fc.nat(99), b: fc.nat(3), k: fc.nat(1000) }), { minLength: 1, maxLength: 400 }),
    (ops) => {
      const tb = new ConntrackTable(4, 4096, new HashKey(1, 2, 3, 4));
      const ref: number[][] = [[], [], [], []];
      let nextNode = 0;
      for (const { op, b, k } of ops) {
        if (op < 60 || ref[b]!.length === 0) {
          const node = nextNode++;
          tb.linkHead(node, b);
          ref[b]!.unshift(node);
        } else {
          const i = k % ref[b]!.length;
          const node = ref[b]![i]!;
          tb.unlink(node, b);
          ref[b]!.splice(i, 1);
        }
        tb.checkBuckets();
        for (let x = 0; x < 4; x++) {
          if (tb.chainLength(x) !== ref[x]!.length) return false;
          const c = chainOf(tb, x);
          for (let i = 0; i < c.length; i++) if (c[i] !== ref[x]![i]) return false;
        }
      }
      return true;
    },
  ), { seed: 11, numRuns: 200 });
  t.pass();
});

test('§1.5 a chain of exactly BKT_INLINE nodes sits in its bucket record; one more moves it to a spill block, one fewer moves it back', (t) => {
  const tb = new ConntrackTable(2, 64, new HashKey(5, 6, 7, 8));
  for (let n = 0; n < BKT_INLINE; n++) tb.linkHead(n, 1);
  t.is(tb.chainBase(1), 1 * BKT_STRIDE + 1, 'inline');
  t.deepEqual(chainOf(tb, 1), [2, 1, 0]);
  tb.linkHead(3, 1);
  t.true(tb.chainBase(1) >= 2 * BKT_STRIDE, 'spilled past the bucket records');
  t.deepEqual(chainOf(tb, 1), [3, 2, 1, 0]);
  tb.unlink(1, 1);
  t.is(tb.chainBase(1), 1 * BKT_STRIDE + 1, 'back inline');
  t.deepEqual(chainOf(tb, 1), [3, 2, 0]);
  t.deepEqual(chainOf(tb, 0), [], 'the neighbour bucket is untouched');
  // long chains: 8 → 16 → 32 node blocks, order kept
  for (let n = 10; n < 50; n++) tb.linkHead(n, 0);
  tb.checkBuckets();
  t.is(tb.chainLength(0), 40);
  t.deepEqual(chainOf(tb, 0), Array.from({ length: 40 }, (_, i) => 49 - i));
});

test('headOf/nextOf (the linked-layout interface user policies may use) walk the same order as nodeAt', (t) => {
  const tb = new ConntrackTable(1, 64, new HashKey(1, 1, 1, 1));
  // nextOf finds a node's bucket by hashing its tuple: with one bucket every tuple maps to 0
  for (let s = 0; s < 6; s++) {
    tb.allocSlot(false);
    tb.fillTuple(s, 0x0a000001 + s, 0x0a0000ff, (1000 + s) << 16 | 80, (80 << 16) | (1000 + s), (4 << 8) | 6);
    tb.linkHead(s * 2, 0);
    tb.linkHead(s * 2 + 1, 0);
  }
  const walked: number[] = [];
  for (let n = tb.headOf(0); n >= 0; n = tb.nextOf(n)) walked.push(n);
  t.deepEqual(walked, chainOf(tb, 0));
  t.deepEqual(walked.slice(0, 4), [11, 10, 9, 8]);
  t.is(tb.headOf(0), 11);
  tb.unlink(0, 0);
  t.is(tb.nextOf(0), -1, 'an unlinked node has no successor');
});
