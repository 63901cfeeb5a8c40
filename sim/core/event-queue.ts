/**
 * The future-event set: a binary min-heap on parallel typed arrays, keyed by (time, prio, seq).
 *
 * Layout (measured, see bench-queue.ts): four parallel arrays — `time` (Float64, integer µs),
 * `key` (Float64, prio·2^48 + seq), `kind` and `arg` (Int32). Packing prio and seq into one
 * double makes ties one comparison; a binary heap beat a 4-ary one on the hold model here.
 *
 * A pop leaves the root vacant and the next push fills it by sifting down from the root, so
 * the common pop-then-push costs one sift instead of two. The vacancy is invisible through the API.
 *
 * Cancellation is lazy: there is no remove. Callers that change their mind leave the stale
 * event in the queue and ignore it when it fires (e.g. by comparing a generation counter
 * stored in `arg` or beside it). This keeps push/pop allocation-free and O(log n).
 */
import { SimInvariantError } from './errors.js';

/** 2^48: `seq` occupies the low 48 bits of the packed tie key; prio the 5 bits above. */
const SEQ_SPAN = 281_474_976_710_656;
/** Largest priority value (prio must be an integer in [0, MAX_PRIO]). */
export const MAX_PRIO = 31;

/** Min-priority queue of events `(time, prio, kind, arg)` ordered by (time, prio, seq). */
export class EventQueue {
  /** Time of the last popped event (µs). */
  time = 0;
  /** Priority of the last popped event. */
  prio = 0;
  /** Kind of the last popped event. */
  kind = 0;
  /** Argument of the last popped event. */
  arg = 0;
  /** Sequence number of the last popped event (push order within this queue, from 0). */
  seq = 0;

  private n = 0; // events in the heap, not counting a vacant root
  private vacant = false; // root popped; the orphan last element sits at index n
  private nextSeq = 0;
  private t: Float64Array;
  private k: Float64Array;
  private kd: Int32Array;
  private ag: Int32Array;

  /** @param capacity initial capacity; the arrays double when full. */
  constructor(capacity = 1024) {
    const c = Math.max(2, capacity | 0);
    this.t = new Float64Array(c);
    this.k = new Float64Array(c);
    this.kd = new Int32Array(c);
    this.ag = new Int32Array(c);
  }

  /** Number of pending events. */
  get size(): number {
    return this.n;
  }

  /**
   * Add an event. `time` must be a finite number (the Scheduler checks integer µs), `prio` an
   * integer in [0, {@link MAX_PRIO}]; `kind` and `arg` are stored as int32. Ties in (time, prio)
   * pop in push order (FIFO).
   */
  push(time: number, prio: number, kind: number, arg: number): void {
    if (prio >>> 0 !== prio || prio > MAX_PRIO) throw new SimInvariantError(`event prio must be an integer in [0, ${MAX_PRIO}], got ${prio}`);
    const seq = this.nextSeq++;
    if (seq >= SEQ_SPAN) throw new SimInvariantError('event queue sequence exhausted (2^48 pushes)');
    const key = prio * SEQ_SPAN + seq;
    if (this.vacant) {
      this.vacant = false;
      this.siftDown(time, key, kind, arg, ++this.n);
      return;
    }
    if (this.n === this.t.length) this.grow();
    const T = this.t, K = this.k, KD = this.kd, AG = this.ag;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const tp = T[p]!;
      if (tp < time || (tp === time && K[p]! < key)) break;
      T[i] = tp; K[i] = K[p]!; KD[i] = KD[p]!; AG[i] = AG[p]!;
      i = p;
    }
    T[i] = time; K[i] = key; KD[i] = kind; AG[i] = arg;
  }

  /** Time of the next event, or Infinity when empty. */
  peekTime(): number {
    if (this.vacant) this.refill();
    return this.n > 0 ? this.t[0]! : Infinity;
  }

  /** Remove the minimum event into the public fields `time`, `prio`, `kind`, `arg`, `seq`; false when empty. */
  pop(): boolean {
    if (this.vacant) this.refill();
    if (this.n === 0) return false;
    const key = this.k[0]!;
    const prio = Math.floor(key / SEQ_SPAN);
    this.time = this.t[0]!;
    this.prio = prio;
    this.seq = key - prio * SEQ_SPAN;
    this.kind = this.kd[0]!;
    this.arg = this.ag[0]!;
    this.n--;
    this.vacant = this.n > 0; // the last element (index n) waits to be placed
    return true;
  }

  /** Drop all pending events (the sequence counter keeps counting). */
  clear(): void {
    this.n = 0;
    this.vacant = false;
  }

  /** Fill the vacant root with the orphaned last element. */
  private refill(): void {
    this.vacant = false;
    const m = this.n;
    this.siftDown(this.t[m]!, this.k[m]!, this.kd[m]!, this.ag[m]!, m);
  }

  /** Place (time, key, kind, arg) starting at the root of a heap of `m` slots. */
  private siftDown(time: number, key: number, kind: number, arg: number, m: number): void {
    const T = this.t, K = this.k, KD = this.kd, AG = this.ag;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= m) break;
      let tc = T[c]!, kc = K[c]!;
      const r = c + 1;
      if (r < m) {
        const tr = T[r]!;
        if (tr < tc || (tr === tc && K[r]! < kc)) { c = r; tc = tr; kc = K[r]!; }
      }
      if (time < tc || (time === tc && key < kc)) break;
      T[i] = tc; K[i] = kc; KD[i] = KD[c]!; AG[i] = AG[c]!;
      i = c;
    }
    T[i] = time; K[i] = key; KD[i] = kind; AG[i] = arg;
  }

  private grow(): void {
    const c = this.t.length * 2;
    const t = new Float64Array(c), k = new Float64Array(c), kd = new Int32Array(c), ag = new Int32Array(c);
    t.set(this.t); k.set(this.k); kd.set(this.kd); ag.set(this.ag);
    this.t = t; this.k = k; this.kd = kd; this.ag = ag;
  }
}
