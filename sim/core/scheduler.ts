/**
 * The simulation clock and dispatch loop over an {@link EventQueue}.
 *
 * Events are plain integers (`kind`, `arg`); the caller's `dispatch` maps them to handlers.
 * Order is total: (time, prio, seq), so the same schedule calls always dispatch in the same order.
 */
import { EventQueue } from './event-queue.js';
import { SimInvariantError } from './errors.js';
import type { Micros } from './time.js';

/** Runs first at its time (e.g. a stop sentinel or a fault injection). */
export const PRIO_URGENT = 0;
/** Packet arrivals: at equal time, packets run before the gc worker… */
export const PRIO_PACKET = 1;
/** …the gc worker runs after the packets of its instant, and before the sampler… */
export const PRIO_GC = 2;
/** …so a sample taken at time t sees every packet and gc pass at t. */
export const PRIO_SAMPLE = 3;

/** Discrete-event clock: `now` in integer µs, a future-event set, and a run loop. */
export class Scheduler {
  /** Current simulated time (µs). Starts at 0 and never decreases. */
  now: Micros = 0;
  /** Events dispatched so far, over all runUntil calls. */
  eventsDispatched = 0;
  private readonly queue: EventQueue;
  private stopRequested = false;

  /** @param capacity initial event-queue capacity (it grows by doubling). */
  constructor(capacity?: number) {
    this.queue = new EventQueue(capacity);
  }

  /** Number of pending events (including stale ones callers will ignore). */
  get pending(): number {
    return this.queue.size;
  }

  /** Time of the next pending event, or Infinity. */
  nextTime(): number {
    return this.queue.peekTime();
  }

  /**
   * Schedule event (`kind`, `arg`) at absolute time `at` with priority `prio` (see PRIO_*).
   * Throws SimInvariantError if `at` is not a safe integer or lies before `now`.
   * Scheduling at `now` is allowed: the event runs in the current runUntil, after the events
   * at `now` that precede it in (prio, seq) order.
   */
  schedule(at: Micros, prio: number, kind: number, arg: number): void {
    if (!(at >= this.now) || !Number.isSafeInteger(at)) {
      throw new SimInvariantError(`schedule: event time ${at} µs is not an integer >= now (${this.now} µs); kind ${kind}, arg ${arg}`);
    }
    this.queue.push(at, prio, kind, arg);
  }

  /** Schedule `delay` µs after now (a non-negative safe integer). */
  scheduleAfter(delay: Micros, prio: number, kind: number, arg: number): void {
    this.schedule(this.now + delay, prio, kind, arg);
  }

  /** Ask the running runUntil to return after the event being dispatched. */
  stop(): void {
    this.stopRequested = true;
  }

  /**
   * Dispatch events in (time, prio, seq) order while the next event's time is ≤ `end`
   * (inclusive: events at exactly `end` run, including ones scheduled at `end` during the run).
   * Before each dispatch `now` is set to the event's time.
   * - If `stop()` is called during a dispatch, returns false right after that dispatch; `now`
   *   stays at that event's time and the remaining events stay queued.
   * - Otherwise, once no event ≤ `end` remains (queue empty or next event later), sets
   *   `now = end` and returns true.
   * A stop requested before the call is discarded. Throws SimInvariantError if `end` is not a
   * safe integer ≥ now.
   */
  runUntil(end: Micros, dispatch: (kind: number, arg: number) => void): boolean {
    if (!(end >= this.now) || !Number.isSafeInteger(end)) {
      throw new SimInvariantError(`runUntil: end ${end} µs is not an integer >= now (${this.now} µs)`);
    }
    const q = this.queue;
    this.stopRequested = false;
    while (q.peekTime() <= end) {
      q.pop();
      const t = q.time;
      if (t < this.now) throw new SimInvariantError(`event at ${t} µs popped after now = ${this.now} µs`);
      this.now = t;
      this.eventsDispatched++;
      dispatch(q.kind, q.arg);
      if (this.stopRequested) {
        this.stopRequested = false;
        return false;
      }
    }
    this.now = end;
    return true;
  }

  /** Drop all pending events; `now` and the counters are kept. */
  clear(): void {
    this.queue.clear();
  }
}
