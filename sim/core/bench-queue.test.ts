import test from 'ava';
import { benchHoldModel } from './bench-queue.js';

test('benchHoldModel runs and reports a positive rate', (t) => {
  const r = benchHoldModel(100, 1_000);
  t.true(Number.isFinite(r.eventsPerSecond) && r.eventsPerSecond > 0);
  t.throws(() => benchHoldModel(0, 10), { instanceOf: RangeError });
});
