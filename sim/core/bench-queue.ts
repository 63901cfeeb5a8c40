/**
 * Hold-model benchmark of the event queue (the shape of ns-3's `utils/bench-scheduler`): fill the
 * queue with `pending` events, then repeat "pop the minimum, push one at its time + an exponential
 * increment". Used by `ctsim bench`. Reads the wall clock (performance.now): a benchmark, not model
 * code.
 *
 * Measured when the layout was chosen (Node 20.20, 2-vCPU VM, 3 M ops, 100 k pending, mean 100 µs):
 * binary heap with packed (prio, seq) key and deferred root refill 5.5 M ev/s; the same without
 * deferral 4.9; 4-ary 4.8; separate prio/seq arrays 4.4 (binary) / 4.3 (4-ary).
 */
import { EventQueue } from './event-queue.js';
import { Rng } from './rng.js';

/** Result of {@link benchHoldModel}. */
export interface HoldModelResult {
  eventsPerSecond: number;
  pending: number;
  ops: number;
  seconds: number;
}

/**
 * Time `ops` hold operations on a queue holding `pending` events. Increments are exponential
 * with mean `meanIncrement` µs, rounded to integer µs (mean 100 gives many ties, as in ns-3's
 * run in ns). A warm-up of min(ops, 200 k) operations precedes the timed loop.
 */
export function benchHoldModel(pending: number, ops: number, meanIncrement = 100): HoldModelResult {
  if (!Number.isSafeInteger(pending) || pending < 1) throw new RangeError(`pending must be a positive integer, got ${pending}`);
  if (!Number.isSafeInteger(ops) || ops < 1) throw new RangeError(`ops must be a positive integer, got ${ops}`);
  const rng = new Rng('ctsim/bench/hold-model');
  const q = new EventQueue(pending + 1);
  for (let i = 0; i < pending; i++) q.push(Math.round(rng.exponential(meanIncrement)), 1, 0, i);
  const hold = (n: number): number => {
    let check = 0;
    for (let i = 0; i < n; i++) {
      q.pop();
      check += q.arg;
      q.push(q.time + Math.round(rng.exponential(meanIncrement)), 1, q.kind, q.arg);
    }
    return check;
  };
  hold(Math.min(ops, 200_000));
  const t0 = performance.now();
  const check = hold(ops);
  const seconds = (performance.now() - t0) / 1000;
  if (check < 0) throw new Error('unreachable'); // keeps the loop's work observable
  return { eventsPerSecond: ops / seconds, pending, ops, seconds };
}
