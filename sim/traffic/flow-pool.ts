import type { Rng } from '../core/rng.js';
import type { AddrInterner } from '../conntrack/addr.js';
import { ephemeralPort, randomIn, type Prefix, type SourcePicker } from './addresses.js';

/**
 * Per-flow state for generators with many concurrent flows, in growable typed arrays with a
 * free list: a flow id is an index, passed as the event argument.
 */
/**
 * Opens a client → server flow: allocates it and draws, in this order, the client address, its
 * ephemeral port and the server address (the order is part of the generators' random streams).
 */
export function openClientFlow(f: FlowPool, p: ClientFlowSpec, rng: Rng): number {
  const id = f.alloc();
  f.cAddr[id] = p.clients.next(rng);
  f.cPort[id] = ephemeralPort(rng);
  f.sAddr[id] = randomIn(p.server, rng, p.addrs);
  f.sPort[id] = p.port;
  f.xcAddr[id] = f.cAddr[id]!; f.xcPort[id] = f.cPort[id]!; f.xsAddr[id] = f.sAddr[id]!; f.xsPort[id] = p.port;
  return id;
}

/** Where a client → server flow's endpoints come from (built once per generator). */
export interface ClientFlowSpec {
  clients: SourcePicker;
  server: Prefix;
  port: number;
  /** The run's IPv6 interner (for IPv6 servers). */
  addrs: AddrInterner;
}

export class FlowPool {
  capacity: number;
  /** Client and server addresses and ports. */
  cAddr: Int32Array;
  sAddr: Int32Array;
  cPort: Int32Array;
  sPort: Int32Array;
  /** The same four as the far side sees them after NAT (nat-view.ts); equal to the above without NAT. */
  xcAddr: Int32Array;
  xsAddr: Int32Array;
  xcPort: Int32Array;
  xsPort: Int32Array;
  /** Generator-defined step, attempt counter, and two sequence numbers. */
  step: Uint8Array;
  attempt: Uint8Array;
  seqC: Int32Array;
  seqS: Int32Array;
  /** Generator-defined sizes or counters, and the flow's start time (µs). */
  a: Int32Array;
  b: Int32Array;
  startUs: Float64Array;
  /** Generator-defined: behaviour code, a third counter, and a second time (µs). */
  beh: Uint8Array;
  c: Int32Array;
  t: Float64Array;
  /** Path round trips firewall ↔ client and firewall ↔ server (µs), drawn per flow. */
  cRtt: Int32Array;
  sRtt: Int32Array;
  /** The flow's serial number (`pkt.flow`), unique over the run. */
  serial: Int32Array;
  /**
   * Behind SYNPROXY (docs/synproxy.md §9): the server ISN as the client sees it (the cookie)
   * minus the server's own, added to the acks the client sends; and the TSval the client echoes.
   */
  seqD: Int32Array;
  ts: Int32Array;
  private free: Int32Array;
  private nFree = 0;
  live = 0;

  constructor(capacity = 256) {
    this.capacity = capacity;
    this.cAddr = new Int32Array(capacity);
    this.sAddr = new Int32Array(capacity);
    this.cPort = new Int32Array(capacity);
    this.sPort = new Int32Array(capacity);
    this.xcAddr = new Int32Array(capacity);
    this.xsAddr = new Int32Array(capacity);
    this.xcPort = new Int32Array(capacity);
    this.xsPort = new Int32Array(capacity);
    this.step = new Uint8Array(capacity);
    this.attempt = new Uint8Array(capacity);
    this.seqC = new Int32Array(capacity);
    this.seqS = new Int32Array(capacity);
    this.a = new Int32Array(capacity);
    this.b = new Int32Array(capacity);
    this.startUs = new Float64Array(capacity);
    this.beh = new Uint8Array(capacity);
    this.c = new Int32Array(capacity);
    this.t = new Float64Array(capacity);
    this.cRtt = new Int32Array(capacity);
    this.sRtt = new Int32Array(capacity);
    this.serial = new Int32Array(capacity);
    this.seqD = new Int32Array(capacity);
    this.ts = new Int32Array(capacity);
    this.free = new Int32Array(capacity);
    for (let i = capacity - 1; i >= 0; i--) this.free[this.nFree++] = i;
  }

  alloc(): number {
    if (this.nFree === 0) this.grow();
    this.live++;
    const id = this.free[--this.nFree]!;
    this.step[id] = 0;
    this.attempt[id] = 0;
    this.beh[id] = 0;
    this.a[id] = 0;
    this.b[id] = 0;
    this.c[id] = 0;
    this.seqD[id] = 0;
    this.ts[id] = 0;
    return id;
  }

  release(id: number): void {
    this.live--;
    this.free[this.nFree++] = id;
  }

  private grow(): void {
    const old = this.capacity;
    const n = old * 2;
    const g32 = (x: Int32Array) => { const y = new Int32Array(n); y.set(x); return y; };
    const g8 = (x: Uint8Array) => { const y = new Uint8Array(n); y.set(x); return y; };
    const g64 = (x: Float64Array) => { const y = new Float64Array(n); y.set(x); return y; };
    this.cAddr = g32(this.cAddr); this.sAddr = g32(this.sAddr);
    this.cPort = g32(this.cPort); this.sPort = g32(this.sPort);
    this.xcAddr = g32(this.xcAddr); this.xsAddr = g32(this.xsAddr);
    this.xcPort = g32(this.xcPort); this.xsPort = g32(this.xsPort);
    this.step = g8(this.step); this.attempt = g8(this.attempt);
    this.seqC = g32(this.seqC); this.seqS = g32(this.seqS);
    this.a = g32(this.a); this.b = g32(this.b); this.c = g32(this.c);
    this.startUs = g64(this.startUs); this.t = g64(this.t);
    this.beh = g8(this.beh);
    this.cRtt = g32(this.cRtt); this.sRtt = g32(this.sRtt); this.serial = g32(this.serial);
    this.seqD = g32(this.seqD); this.ts = g32(this.ts);
    const f = new Int32Array(n); f.set(this.free.subarray(0, this.nFree)); this.free = f;
    for (let i = n - 1; i >= old; i--) this.free[this.nFree++] = i;
    this.capacity = n;
  }
}
