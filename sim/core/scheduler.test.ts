import test from 'ava';
import { Scheduler, PRIO_URGENT, PRIO_PACKET, PRIO_GC, PRIO_SAMPLE } from './scheduler.js';
import { SimInvariantError } from './errors.js';

test('dispatches in (time, prio, seq) order and time never goes back', (t) => {
  const s = new Scheduler();
  const seen: string[] = [];
  s.schedule(10, PRIO_SAMPLE, 3, 0);
  s.schedule(10, PRIO_GC, 2, 0);
  s.schedule(10, PRIO_PACKET, 1, 0);
  s.schedule(10, PRIO_PACKET, 1, 1);
  s.schedule(5, PRIO_SAMPLE, 3, 1);
  let last = 0;
  const done = s.runUntil(100, (kind, arg) => {
    t.true(s.now >= last);
    last = s.now;
    seen.push(`${s.now}:${kind}/${arg}`);
    if (kind === 1 && arg === 0) s.schedule(s.now, PRIO_URGENT, 0, 9); // same time, runs next
  });
  t.true(done);
  t.deepEqual(seen, ['5:3/1', '10:1/0', '10:0/9', '10:1/1', '10:2/0', '10:3/0']);
  t.is(s.now, 100);
  t.is(s.eventsDispatched, 6);
});

test('schedule in the past or at a non-integer time throws', (t) => {
  const s = new Scheduler();
  s.runUntil(50, () => {});
  t.throws(() => s.schedule(49, PRIO_PACKET, 0, 0), { instanceOf: SimInvariantError });
  for (const bad of [50.5, NaN, Infinity, 2 ** 53]) t.throws(() => s.schedule(bad, PRIO_PACKET, 0, 0), { instanceOf: SimInvariantError });
  t.throws(() => s.scheduleAfter(-1, PRIO_PACKET, 0, 0), { instanceOf: SimInvariantError });
  t.notThrows(() => s.schedule(50, PRIO_PACKET, 0, 0));
  t.throws(() => s.runUntil(49, () => {}), { instanceOf: SimInvariantError });
});

test('runUntil boundaries: end is inclusive; later events stay queued', (t) => {
  const s = new Scheduler();
  const times: number[] = [];
  for (const at of [0, 99, 100, 101, 200]) s.schedule(at, PRIO_PACKET, 0, at);
  t.true(s.runUntil(100, (_k, arg) => {
    times.push(arg);
    if (arg === 100) s.scheduleAfter(0, PRIO_PACKET, 0, 1000); // at end: still runs now
  }));
  t.deepEqual(times, [0, 99, 100, 1000]);
  t.is(s.now, 100);
  t.is(s.pending, 2);
  t.is(s.nextTime(), 101);
  t.true(s.runUntil(150, (_k, arg) => times.push(arg)));
  t.is(s.now, 150);
  t.true(s.runUntil(1000, (_k, arg) => times.push(arg)));
  t.deepEqual(times, [0, 99, 100, 1000, 101, 200]);
  t.is(s.now, 1000); // queue ran empty: now = end
  t.is(s.pending, 0);
  t.true(s.runUntil(1000, () => t.fail()));
});

test('stop() returns early at the stopping event; a later runUntil resumes', (t) => {
  const s = new Scheduler();
  for (let i = 1; i <= 5; i++) s.schedule(i * 10, PRIO_PACKET, 0, i);
  const seen: number[] = [];
  s.stop(); // before the run: discarded
  t.false(s.runUntil(1000, (_k, arg) => { seen.push(arg); if (arg === 2) s.stop(); }));
  t.deepEqual(seen, [1, 2]);
  t.is(s.now, 20);
  t.is(s.pending, 3);
  t.true(s.runUntil(1000, (_k, arg) => seen.push(arg)));
  t.deepEqual(seen, [1, 2, 3, 4, 5]);
  t.is(s.now, 1000);
  t.is(s.eventsDispatched, 5);
});

test('self-rescheduling generator: one pending event at a time', (t) => {
  const s = new Scheduler(2);
  let fired = 0;
  s.schedule(0, PRIO_PACKET, 1, 0);
  s.runUntil(1_000_000, () => { fired++; s.scheduleAfter(1_000, PRIO_PACKET, 1, 0); });
  t.is(fired, 1001); // t = 0, 1000, …, 1_000_000
  t.is(s.pending, 1);
  s.clear();
  t.is(s.pending, 0);
});
