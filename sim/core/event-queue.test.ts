import test from 'ava';
import { EventQueue } from './event-queue.js';
import { ReferenceQueue } from './reference-queue.js';
import { SimInvariantError } from './errors.js';
import { Rng } from './rng.js';

type Q = EventQueue | ReferenceQueue;
const popAll = (q: Q): number[][] => {
  const out: number[][] = [];
  while (q.pop()) out.push([q.time, q.prio, q.seq, q.kind, q.arg]);
  return out;
};

for (const seed of [1, 2, 3, 42, 2024]) {
  test(`matches the reference queue on random push/pop sequences (seed ${seed})`, (t) => {
    const rng = new Rng(`queue-test/${seed}`);
    const q = new EventQueue(2); // small: exercises growth
    const r = new ReferenceQueue();
    let now = 0;
    const timeSpan = 1 + rng.below(50); // small spans force many (time, prio) ties
    for (let step = 0; step < 20_000; step++) {
      const u = rng.uniform();
      if (u < 0.55) {
        const time = now + rng.below(timeSpan);
        const prio = rng.below(4);
        const kind = rng.below(8), arg = rng.int32();
        q.push(time, prio, kind, arg);
        r.push(time, prio, kind, arg);
      } else if (u < 0.97) {
        const a = q.pop(), b = r.pop();
        t.is(a, b);
        if (a) {
          if (q.time !== r.time || q.prio !== r.prio || q.seq !== r.seq || q.kind !== r.kind || q.arg !== r.arg) {
            t.fail(`step ${step}: got ${[q.time, q.prio, q.seq, q.kind, q.arg]} want ${[r.time, r.prio, r.seq, r.kind, r.arg]}`);
          }
          now = q.time;
        }
      } else {
        t.is(q.peekTime(), r.peekTime());
      }
      if (q.size !== r.size) t.fail(`size at step ${step}`);
    }
    t.deepEqual(popAll(q), popAll(r));
    t.is(q.size, 0);
  });
}

test('FIFO among equal (time, prio); prio orders within a time', (t) => {
  const q = new EventQueue(4);
  for (let i = 0; i < 100; i++) q.push(10, 1 + (i % 2), 0, i);
  q.push(10, 0, 0, 999);
  q.push(5, 3, 0, 500);
  const args = popAll(q).map((e) => e[4]);
  const odd = Array.from({ length: 50 }, (_, i) => 2 * i + 1);
  const even = odd.map((x) => x - 1);
  t.deepEqual(args, [500, 999, ...even, ...odd]);
});

test('grows by doubling and keeps all events', (t) => {
  const q = new EventQueue(2);
  const n = 100_000;
  for (let i = n - 1; i >= 0; i--) q.push(i, 1, 7, i);
  t.is(q.size, n);
  for (let i = 0; i < n; i++) {
    t.true(q.pop());
    if (q.time !== i || q.arg !== i || q.kind !== 7 || q.seq !== n - 1 - i) t.fail(`at ${i}`);
  }
  t.false(q.pop());
});

test('empty queue, peekTime, clear and pop-then-push', (t) => {
  const q = new EventQueue();
  t.is(q.peekTime(), Infinity);
  t.false(q.pop());
  q.push(3, 1, 0, 3); q.push(1, 1, 0, 1); q.push(2, 1, 0, 2);
  t.true(q.pop());
  t.is(q.time, 1);
  t.is(q.size, 2);
  q.push(0, 1, 0, 0); // into the vacant root
  t.is(q.peekTime(), 0);
  t.is(q.size, 3);
  q.clear();
  t.is(q.size, 0);
  t.is(q.peekTime(), Infinity);
  t.false(q.pop());
  q.push(5, 1, -1, -2147483648);
  t.true(q.pop());
  t.deepEqual([q.kind, q.arg, q.seq], [-1, -2147483648, 4]);
});

test('rejects a bad prio', (t) => {
  const q = new EventQueue();
  for (const p of [-1, 32, 1.5, NaN]) t.throws(() => q.push(0, p, 0, 0), { instanceOf: SimInvariantError });
});
