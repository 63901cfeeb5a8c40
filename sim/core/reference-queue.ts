/**
 * A naive, obviously-correct event queue with the same API as {@link EventQueue}: a sorted array
 * of event objects, kept ordered by (time, prio, seq). For tests only (O(n) push).
 */

interface RefEvent { time: number; prio: number; seq: number; kind: number; arg: number }

/** Sorted-array reference implementation of the EventQueue API. */
export class ReferenceQueue {
  time = 0;
  prio = 0;
  kind = 0;
  arg = 0;
  seq = 0;
  private events: RefEvent[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.events.length;
  }

  push(time: number, prio: number, kind: number, arg: number): void {
    const e: RefEvent = { time, prio, seq: this.nextSeq++, kind: kind | 0, arg: arg | 0 };
    let i = this.events.length;
    while (i > 0 && compare(this.events[i - 1]!, e) > 0) i--;
    this.events.splice(i, 0, e);
  }

  peekTime(): number {
    return this.events.length > 0 ? this.events[0]!.time : Infinity;
  }

  pop(): boolean {
    const e = this.events.shift();
    if (e === undefined) return false;
    ({ time: this.time, prio: this.prio, seq: this.seq, kind: this.kind, arg: this.arg } = e);
    return true;
  }

  clear(): void {
    this.events = [];
  }
}

function compare(a: RefEvent, b: RefEvent): number {
  return a.time - b.time || a.prio - b.prio || a.seq - b.seq;
}
