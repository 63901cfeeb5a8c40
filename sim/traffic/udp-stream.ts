import { clientPacket, fillFromServer } from './nat-view.js';
import { IP_CT_ESTABLISHED_REPLY, IP_CT_NONE, IP_CT_UNTRACKED } from '../conntrack/conntrack.js';

/** `a[id]` of a flow whose packets pass untracked (notrack): no entry to follow. */
const UNTRACKED_FLOW = -2;
import { IPPROTO_UDP } from '../conntrack/constants.js';
import { makeMicrosSampler, type Distribution } from '../core/distributions.js';
import type { Rng } from '../core/rng.js';
import type { Prefix, SourceSpec } from './addresses.js';
import { FlowPool, openClientFlow, type ClientFlowSpec } from './flow-pool.js';
import { ArrivalGenerator, FAIL_BROKEN, FAIL_NEVER_ADMITTED, sendCounted, type GeneratorInit, type TrafficContext } from './generator.js';
import { makeDelay, type DelaySampler } from './path.js';
import { Arrivals, type ArrivalKind, type RateSpec } from './rate.js';
import type { DelaySpec } from './schema-types.js';

export interface UdpStreamParams {
  /** `one-way`: the client sends, nobody answers; `stream`: the server answers every packet. */
  mode: 'one-way' | 'stream';
  rate: RateSpec;
  arrival: ArrivalKind;
  clients: SourceSpec;
  server: Prefix;
  port: number;
  startUs: number;
  stopUs: number;
  clientRtt: DelaySpec;
  serverRtt: DelaySpec;
  /** How long each flow lasts, seconds. */
  flowDuration: Distribution;
  /** Gap between the client's packets, ms. */
  interval: Distribution;
}

const CLIENT = 0, SERVER = 1;

/**
 * UDP flows that last: `one-way` (syslog, telemetry, an encapsulation whose replies never come:
 * one unreplied entry, 30 s, early-droppable) and `stream` (media, VPN, QUIC: every client packet
 * answered; the first packet after a reply more than 2 s after creation makes the entry ASSURED
 * with the 120 s stream timeout, §5.1). A packet that finds its entry gone (a new entry is made,
 * or the server's answer has none) means the NAT mapping was lost: the flow counts as broken and
 * failed, and ends. One pending event per flow.
 */
export class UdpStream extends ArrivalGenerator {
  readonly kind = 'udp-request-response';
  private readonly p: UdpStreamParams;
  private readonly ends: ClientFlowSpec;
  protected readonly arrivals: Arrivals;
  private readonly life: (rng: Rng) => number;
  private readonly gap: (rng: Rng) => number;
  private readonly cRtt: DelaySampler;
  private readonly sRtt: DelaySampler;
  private readonly pool = new FlowPool();

  constructor(init: GeneratorInit<UdpStreamParams>) {
    super(init);
    const p = init.params;
    this.p = { ...p, stopUs: Math.min(p.stopUs, init.endUs) };
    this.ends = this.clientFlows(this.p.clients, this.p.server, this.p.port);
    this.arrivals = new Arrivals(p.rate, p.arrival, p.startUs, this.p.stopUs, this.arng);
    this.life = makeMicrosSampler(p.flowDuration, 1_000_000);
    this.gap = makeMicrosSampler(p.interval, 1000);
    this.cRtt = makeDelay(p.clientRtt);
    this.sRtt = makeDelay(p.serverRtt);
  }

  protected step(id: number, ctx: TrafficContext): void {
    if (this.pool.step[id] === CLIENT) this.client(id, ctx);
    else this.server(id, ctx);
  }

  protected arrive(ctx: TrafficContext): void {
    const rng = this.arng, f = this.pool;
    const id = openClientFlow(f, this.ends, rng);
    f.startUs[id] = ctx.now;
    f.t[id] = ctx.now + this.life(rng); // end of the flow
    f.cRtt[id] = this.cRtt(rng);
    f.sRtt[id] = this.sRtt(rng);
    f.serial[id] = this.openFlow();
    f.a[id] = -1; // slot of the flow's entry, once made
    this.flowStarted(f.serial[id]!);
    this.client(id, ctx);
  }

  private fill(ctx: TrafficContext, id: number, fromClient: boolean): void {
    const f = this.pool;
    const pkt = this.head(ctx, IPPROTO_UDP, f.serial[id]!);
    if (fromClient) { pkt.src = f.cAddr[id]!; pkt.sport = f.cPort[id]!; pkt.dst = f.sAddr[id]!; pkt.dport = f.sPort[id]!; clientPacket(f, id); }
    else fillFromServer(f, id, pkt);
    pkt.len = 200;
  }

  private client(id: number, ctx: TrafficContext): void {
    const f = this.pool, ct = ctx.ct;
    this.fill(ctx, id, true);
    const v = sendCounted(ctx, this.outcomes);
    const slot = ct.lastSlot;
    if (f.a[id] === -1) {
      if (v !== 0 && slot >= 0) { f.a[id] = slot; f.b[id] = ct.bornOf(slot); this.flowAdmitted(f.serial[id]!); }
      // untracked (notrack): it passes without an entry, and has none to lose
      else if (v !== 0 && ct.lastCtinfo === IP_CT_UNTRACKED) { f.a[id] = UNTRACKED_FLOW; this.flowAdmitted(f.serial[id]!); }
    } else if (f.a[id] === UNTRACKED_FLOW) {
      if (v === 0 || ct.lastCtinfo !== IP_CT_UNTRACKED) return this.broken(id);
    } else if (v === 0 || slot !== f.a[id] || ct.bornOf(slot) !== f.b[id]) {
      return this.broken(id); // the entry was gone: this packet needed a new one
    }
    if (this.p.mode === 'stream' && v !== 0) {
      f.step[id] = SERVER;
      ctx.schedule(ctx.now + f.sRtt[id]!, id);
      return;
    }
    this.nextClient(id, ctx, ctx.now);
  }

  private server(id: number, ctx: TrafficContext): void {
    this.fill(ctx, id, false);
    const v = sendCounted(ctx, this.outcomes);
    const info = ctx.ct.lastCtinfo;
    if (this.pool.a[id] === UNTRACKED_FLOW) { if (v === 0 || info !== IP_CT_UNTRACKED) return this.broken(id); } else if (v === 0 || info === IP_CT_NONE || info !== IP_CT_ESTABLISHED_REPLY) return this.broken(id);
    this.nextClient(id, ctx, ctx.now - this.pool.sRtt[id]!);
  }

  /** Schedules the client's next packet one interval after its last one (at `lastUs`), or ends the flow. */
  private nextClient(id: number, ctx: TrafficContext, lastUs: number): void {
    const f = this.pool;
    const at = Math.max(ctx.now, lastUs + this.gap(this.rng));
    if (at >= f.t[id]!) {
      // a flow none of whose packets ever got an entry did not succeed
      if (f.a[id]! === -1) this.flowFailed(f.serial[id]!, FAIL_NEVER_ADMITTED);
      else this.flowSucceeded(f.serial[id]!);
      this.end(id);
      return;
    }
    if (at > this.endUs) return; // still running when the run ends
    f.step[id] = CLIENT;
    ctx.schedule(at, id);
  }

  private broken(id: number): void {
    this.outcomes.entryLost++;
    this.flowFailed(this.pool.serial[id]!, FAIL_BROKEN);
    this.end(id);
  }

  private end(id: number): void {
    this.closeFlow(this.pool.serial[id]!);
    this.pool.release(id);
  }
}
