/**
 * Trajectory fingerprint of a run, in the spirit of OMNeT++ fingerprints: a running hash over
 * the sequence of events the model produces, so that any behavioural change shows even when
 * the summary metrics happen to agree.
 *
 * What is hashed, in order of occurrence:
 * - every packet a traffic generator sends through conntrack (`Simulation.send`): its time (µs),
 *   the generator, the packet's protocol and TCP flags, the verdict (accept / drop), the
 *   `ctinfo` conntrack attached (NEW, ESTABLISHED, …, or none) and the entry it was attached to,
 *   named by the entry's ORIGINAL tuple (addresses, ports, l3/l4 protocol); a packet that got no
 *   entry is named by its own tuple, marked as such;
 * - every entry leaving the table (`ConntrackObserver.destroyed`): its time, the reason
 *   (timeout, early_drop, gc_95, tcp_rst, policy, probe …) and its ORIGINAL tuple.
 *
 * Entries are named by tuple, not by their slot in the model's arrays, so a refactoring that only
 * changes how slots are allocated keeps the fingerprint. Nothing else (gc invocations, samples,
 * policy timers) is hashed directly: it matters only through what it does to packets and entries.
 *
 * The hash is two independent 32-bit lanes (a murmur3 body round and an xxHash32 round over
 * 32-bit words), finalised with murmur3's fmix32 and the event count: 16 hex digits. It costs a
 * few `Math.imul` per event and allocates nothing unless a {@link TraceRecorder} is attached.
 * Checkpoints (the fingerprint after every `every` events) let `ctsim regress --explain` locate
 * the window where two runs first diverge.
 */
import type { Conntrack } from '../conntrack/conntrack.js';
import type { Pkt } from '../conntrack/packet.js';
import type { ConntrackTable } from '../conntrack/table.js';

/**
 * Version of the fingerprint's definition (what is hashed, and how). Baselines record it; bump
 * it when the definition changes, so that `ctsim regress` says so instead of reporting a
 * behavioural change.
 */
export const FP_VERSION = 1;

/** Checkpoint interval of a Simulation's fingerprint (events; a power of two). */
export const FP_CHECKPOINT_EVERY = 4096;

export const EV_PACKET = 1;
export const EV_DESTROY = 2;

/** One fingerprinted event, as recorded for `--explain`. */
export interface TraceEvent {
  /** 1-based position in the run's event sequence (the fingerprint after it covers events 1..index). */
  index: number;
  timeUs: number;
  kind: 'packet' | 'destroy';
  /** Generator index + 1 (0 = none) for packets; -1 for destroys. */
  owner: number;
  /** Packets: 1 accept, 0 drop; destroys: -1. */
  verdict: number;
  /** Packets: the ctinfo (IP_CT_*, -1 none); destroys: -1. */
  ctinfo: number;
  /** Destroys: the REASON_* code; packets: -1. */
  reason: number;
  /** TCP flags of the packet (0 for destroys and non-TCP). */
  tcpFlags: number;
  /** Whether the tuple is an entry's ORIGINAL tuple (else: the packet's own, no entry). */
  entry: boolean;
  l3proto: number;
  src: number;
  dst: number;
  /** (sport << 16) | dport, as int32. */
  ports: number;
  /** The fingerprint after this event. */
  fingerprint: string;
}

/** Collects the events with index in [from, to], at most `max` of them. */
export class TraceRecorder {
  readonly events: TraceEvent[] = [];
  constructor(readonly from: number, readonly to: number, readonly max: number) {}
  wants(index: number): boolean {
    return index >= this.from && index <= this.to && this.events.length < this.max;
  }
}

const SEED_A = 0x2f1e6b3d;
const SEED_B = 0x165667b1;
const TWO32 = 4294967296;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** One 32-bit word into lane A (a murmur3 body round). */
function mixA(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** One 32-bit word into lane B (an xxHash32 round). */
function mixB(h: number, k: number): number {
  h = (h + Math.imul(k, 0x85ebca77)) | 0;
  h = (h << 13) | (h >>> 19);
  return Math.imul(h, 0x9e3779b1);
}

const hex8 = (x: number): string => (x >>> 0).toString(16).padStart(8, '0');

/** The running trajectory hash of one run. */
export class Fingerprint {
  private a = SEED_A;
  private b = SEED_B;
  /** Events hashed so far. */
  count = 0;
  /** Finalised lanes after every `every` events: [a1, b1, a2, b2, …]. */
  readonly checkpoints: number[] = [];
  recorder: TraceRecorder | undefined;
  private readonly mask: number;

  constructor(readonly every: number = FP_CHECKPOINT_EVERY) {
    if (!Number.isInteger(every) || every < 1 || (every & (every - 1)) !== 0) throw new Error(`fingerprint checkpoint interval must be a power of two, got ${every}`);
    this.mask = every - 1;
  }

  private finalA(): number {
    return fmix32(this.a ^ this.count);
  }
  private finalB(): number {
    return fmix32(this.b ^ Math.imul(this.count, 0x27d4eb2f));
  }

  /** 16 hex digits over everything hashed so far. */
  hex(): string {
    return hex8(this.finalA()) + hex8(this.finalB());
  }

  /** Checkpoint `j` (1-based: the fingerprint after `j * every` events) as hex. */
  checkpointHex(j: number): string {
    return hex8(this.checkpoints[2 * (j - 1)]!) + hex8(this.checkpoints[2 * (j - 1) + 1]!);
  }

  get checkpointCount(): number {
    return this.checkpoints.length >> 1;
  }

  private tick(): void {
    if ((++this.count & this.mask) === 0) this.checkpoints.push(this.finalA(), this.finalB());
  }

  /** A generator's packet went through conntrack (call after `packetIn`). */
  packet(timeUs: number, pkt: Pkt, verdict: number, ct: Conntrack): void {
    const slot = ct.lastSlot;
    let l3proto: number, src: number, dst: number, ports: number;
    if (slot >= 0) {
      const tb = ct.table;
      src = tb.srcOf(slot); dst = tb.dstOf(slot); ports = tb.portsOf(slot); l3proto = tb.l3protoOf(slot);
    } else {
      // no entry: the packet's own tuple, marked (bit 16) so it never equals an entry's
      src = pkt.src; dst = pkt.dst; ports = ((pkt.sport << 16) | pkt.dport) | 0; l3proto = (pkt.l3 << 8) | pkt.proto | 0x10000;
    }
    const flags = pkt.proto === 6 ? pkt.tcpFlags : 0;
    const w0 = EV_PACKET | (verdict << 3) | ((ct.lastCtinfo + 1) << 4) | (flags << 8) | (pkt.owner << 16);
    const w1 = l3proto | (((timeUs / TWO32) | 0) << 17);
    this.mixEvent(w0, w1, timeUs, src, dst, ports);
    if (this.recorder !== undefined && this.recorder.wants(this.count)) {
      this.recorder.events.push({
        index: this.count, timeUs, kind: 'packet', owner: pkt.owner, verdict, ctinfo: ct.lastCtinfo, reason: -1,
        tcpFlags: flags, entry: slot >= 0, l3proto: l3proto & 0xffff, src, dst, ports, fingerprint: this.hex(),
      });
    }
  }

  /** Mixes one event's six words into both hash lanes, in order, and counts it. */
  private mixEvent(w0: number, w1: number, timeUs: number, src: number, dst: number, ports: number): void {
    let a = this.a, b = this.b;
    a = mixA(a, w0); b = mixB(b, w0);
    a = mixA(a, w1); b = mixB(b, w1);
    a = mixA(a, timeUs >>> 0); b = mixB(b, timeUs >>> 0);
    a = mixA(a, src); b = mixB(b, src);
    a = mixA(a, dst); b = mixB(b, dst);
    a = mixA(a, ports); b = mixB(b, ports);
    this.a = a; this.b = b;
    this.tick();
  }

  /** An entry leaves the table (call before its slot is released). */
  destroy(timeUs: number, slot: number, reason: number, tb: ConntrackTable): void {
    const src = tb.srcOf(slot), dst = tb.dstOf(slot), ports = tb.portsOf(slot), l3proto = tb.l3protoOf(slot);
    const w0 = EV_DESTROY | (reason << 8);
    const w1 = l3proto | (((timeUs / TWO32) | 0) << 17);
    this.mixEvent(w0, w1, timeUs, src, dst, ports);
    if (this.recorder !== undefined && this.recorder.wants(this.count)) {
      this.recorder.events.push({
        index: this.count, timeUs, kind: 'destroy', owner: -1, verdict: -1, ctinfo: -1, reason,
        tcpFlags: 0, entry: true, l3proto, src, dst, ports, fingerprint: this.hex(),
      });
    }
  }
}
