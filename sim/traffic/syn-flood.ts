import { IPPROTO_TCP, TH_ACK, TH_RST, TH_SYN } from '../conntrack/constants.js';
import { familyOf, randomIn, SourcePicker, type Prefix, type SourceSpec } from './addresses.js';
import { FlowPool } from './flow-pool.js';
import { BaseGenerator, FAIL_NEVER_ADMITTED, sendCounted, type GeneratorInit, type TrafficContext } from './generator.js';
import { makeDelay, type DelaySampler } from './path.js';
import { Arrivals, type ArrivalKind, type RateSpec } from './rate.js';
import type { DelaySpec } from './schema-types.js';

export interface SynFloodParams {
  /** SYNs per second (a number or a shape). */
  rate: RateSpec;
  arrival: ArrivalKind;
  /** Spoofed sources: addresses from this set, ports uniformly from 1024–65535. */
  sources: SourceSpec;
  /** Target address(es) and port(s) (a port drawn uniformly per SYN). */
  target: Prefix;
  ports: Int32Array;
  /** Start and stop, µs. */
  startUs: number;
  stopUs: number;
  /**
   * What the attacked server does with a SYN that gets through: `silent` (filtered or overloaded:
   * no answer), `syn-ack` (answers to the spoofed source, which never completes), `rst` (closed port).
   */
  server: 'silent' | 'syn-ack' | 'rst';
  /** Firewall → server → firewall delay (for the server's answer). */
  serverRtt: DelaySpec;
  /** Times each (fake) source re-sends its SYN, unanswered, at rto·2^k; 0 for none. */
  synRetries: number;
  rtoUs: number;
}

const ANSWER = 1 << 30;
const RETX = 1 << 29;
const NEXT = -1;

/**
 * Spoofed SYN flood: every SYN is a new flow (random source address and port), so every SYN
 * that reaches conntrack needs a new entry (§2). One pending event for the next SYN, one per
 * server answer in flight, and one per SYN still to be retransmitted. The sources do not exist,
 * so they never answer the server and never answer a probe.
 *
 * Outcomes (the attacker's view): a SYN flow succeeds when one of its SYNs gets an entry, and
 * fails `never_admitted` when its SYN and every retransmission were dropped, or answered by
 * SYNPROXY instead of reaching the server (docs/synproxy.md §9); a flow whose
 * retransmissions are still to come at the end is unfinished (being admitted).
 */
export class SynFlood extends BaseGenerator {
  readonly kind = 'syn-flood';
  private readonly p: SynFloodParams;
  private readonly arrivals: Arrivals;
  private readonly src: SourcePicker;
  private readonly sRtt: DelaySampler;
  private readonly answers = new FlowPool(64);
  private readonly retx = new FlowPool(64);
  private k = 0;
  /** Flows whose SYNs were all dropped so far, with retransmissions still to come. */
  private pendingAdmit = 0;

  constructor(init: GeneratorInit<SynFloodParams>) {
    super(init);
    const p = init.params;
    this.p = { ...p, stopUs: Math.min(p.stopUs, init.endUs) };
    this.arrivals = new Arrivals(p.rate, p.arrival, p.startUs, this.p.stopUs, this.arng);
    // a botnet's hosts come from the arrival stream (as they always have); a count's from the
    // substream hosts/sources, so adding one shifts no other draw
    this.src = p.sources.kind === 'hosts' ? this.picker('sources', p.sources) : new SourcePicker(p.sources, this.arng, this.addrs);
    this.l3 = familyOf(p.target);
    this.sRtt = makeDelay(p.serverRtt);
  }

  start(ctx: TrafficContext): void {
    const t = this.arrivals.first();
    if (t >= 0) ctx.schedule(Math.max(t, ctx.now), NEXT);
  }

  override finish(): void {
    this.outcomes.unfinishedAdmitting = this.pendingAdmit;
    this.outcomes.unfinishedInProgress = 0;
  }

  /** Spoofed sources do not exist. */
  override endpointsAlive(): boolean {
    return false;
  }

  fire(arg: number, ctx: TrafficContext): void {
    if (arg !== NEXT && (arg & ANSWER) !== 0) return this.answer(arg & ~ANSWER, ctx);
    if (arg !== NEXT && (arg & RETX) !== 0) return this.retransmit(arg & ~RETX, ctx);
    const p = this.p;
    const rng = this.arng;
    const flow = this.k++;
    const pkt = this.head(ctx, IPPROTO_TCP, flow);
    pkt.src = this.src.next(rng);
    pkt.sport = 1024 + rng.below(65536 - 1024);
    pkt.dst = randomIn(p.target, rng, this.addrs);
    pkt.dport = p.ports.length === 1 ? p.ports[0]! : p.ports[rng.below(p.ports.length)]!;
    pkt.tcpFlags = TH_SYN;
    pkt.seq = (rng.int32() >>> 0);
    pkt.win = 64240;
    pkt.len = 60;
    this.outcomes.started++;
    // admitted: the SYN reached the server (NF_STOLEN, 2: SYNPROXY answered it instead)
    const v = sendCounted(ctx, this.outcomes) === 1;
    if (v) this.outcomes.succeeded++;
    else if (p.synRetries === 0) this.outcomes.fail(FAIL_NEVER_ADMITTED);
    else this.pendingAdmit++;
    if (v && p.server !== 'silent') this.queueAnswer(ctx, flow);
    if (p.synRetries > 0) {
      const r = this.retx;
      const id = r.alloc();
      r.cAddr[id] = pkt.src; r.cPort[id] = pkt.sport; r.sAddr[id] = pkt.dst; r.sPort[id] = pkt.dport;
      r.seqC[id] = pkt.seq | 0; r.serial[id] = flow;
      r.beh[id] = v ? 0 : 1; // 1: no SYN of this flow admitted yet
      ctx.schedule(ctx.now + p.rtoUs, id | RETX);
    }
    const next = this.arrivals.next(ctx.now);
    if (next >= 0) ctx.schedule(next, NEXT);
  }

  /** The (fake) source re-sends its SYN: same tuple and sequence number. */
  private retransmit(id: number, ctx: TrafficContext): void {
    const r = this.retx, p = this.p;
    const pkt = this.head(ctx, IPPROTO_TCP, r.serial[id]!);
    pkt.src = r.cAddr[id]!; pkt.sport = r.cPort[id]!; pkt.dst = r.sAddr[id]!; pkt.dport = r.sPort[id]!;
    pkt.tcpFlags = TH_SYN;
    pkt.seq = r.seqC[id]! >>> 0;
    pkt.win = 64240;
    pkt.len = 60;
    const v = sendCounted(ctx, this.outcomes) === 1;
    if (v && p.server !== 'silent') this.queueAnswer(ctx, r.serial[id]!);
    if (v && r.beh[id] === 1) { r.beh[id] = 0; this.pendingAdmit--; this.outcomes.succeeded++; }
    const a = ++r.attempt[id]!;
    if (a >= p.synRetries) {
      if (r.beh[id] === 1) { this.pendingAdmit--; this.outcomes.fail(FAIL_NEVER_ADMITTED); }
      r.release(id);
      return;
    }
    ctx.schedule(ctx.now + p.rtoUs * 2 ** a, id | RETX);
  }

  /** Remembers the SYN in the scratch packet for the server's answer after its RTT. */
  private queueAnswer(ctx: TrafficContext, flow: number): void {
    const pkt = ctx.pkt, a = this.answers;
    const id = a.alloc();
    a.cAddr[id] = pkt.src; a.cPort[id] = pkt.sport; a.sAddr[id] = pkt.dst; a.sPort[id] = pkt.dport;
    a.seqC[id] = pkt.seq | 0; a.serial[id] = flow;
    ctx.schedule(ctx.now + this.sRtt(this.rng), id | ANSWER);
  }

  private answer(id: number, ctx: TrafficContext): void {
    const a = this.answers, rst = this.p.server === 'rst';
    const pkt = this.head(ctx, IPPROTO_TCP, a.serial[id]!);
    pkt.src = a.sAddr[id]!; pkt.sport = a.sPort[id]!; pkt.dst = a.cAddr[id]!; pkt.dport = a.cPort[id]!;
    pkt.tcpFlags = rst ? TH_RST | TH_ACK : TH_SYN | TH_ACK;
    pkt.seq = rst ? 0 : (this.rng.int32() >>> 0);
    pkt.ack = (a.seqC[id]! + 1) >>> 0;
    pkt.win = rst ? 0 : 65160;
    pkt.len = 60;
    a.release(id);
    sendCounted(ctx, this.outcomes);
  }
}
