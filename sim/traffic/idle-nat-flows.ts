import { clientPacket, fillFromServer } from './nat-view.js';
import { IP_CT_ESTABLISHED_REPLY, IP_CT_NEW, IP_CT_NONE } from '../conntrack/conntrack.js';
import { IPPROTO_TCP, IPPROTO_UDP, TH_ACK, TH_PSH, TH_RST, TH_SYN } from '../conntrack/constants.js';
import { makeMicrosSampler, makeSampler, type Distribution } from '../core/distributions.js';
import type { Rng } from '../core/rng.js';
import { ephemeralPort, randomIn, type Prefix, type SourcePicker, type SourceSpec } from './addresses.js';
import { FlowPool } from './flow-pool.js';
import { BaseGenerator, FAIL_BROKEN, FAIL_DROPPED, FAIL_NEVER_ADMITTED, FAIL_RESET, rejected, sendCounted, type GeneratorInit, type TrafficContext } from './generator.js';
import { LatencyRecorder } from '../core/latency.js';
import { makeDelay, type DelaySampler } from './path.js';
import type { DelaySpec } from './schema-types.js';

export interface IdleNatFlowsParams {
  protocol: 'tcp' | 'udp';
  /** Long-lived flows kept open, opened evenly over `ramp` from `start`. */
  flows: number;
  rampUs: number;
  startUs: number;
  clients: SourceSpec;
  server: Prefix;
  port: number;
  clientRtt: DelaySpec;
  serverRtt: DelaySpec;
  /** Idle gap between activities, seconds. */
  idle: Distribution;
  /** Request/response rounds per activity and the pause between rounds. */
  rounds: number;
  thinkUs: number;
  requestBytes: Distribution;
  responseBytes: Distribution;
  /** Probability that an activity after a gap starts from the server (a push). */
  serverResume: number;
  /** Application keepalive interval while idle (0: none). */
  keepaliveUs: number;
  /** Pause before a broken or failed flow connects again (new source port). */
  reconnectUs: number;
  synRetries: number;
  rtoUs: number;
}

const SYN = 0, SYNACK = 1, REQ = 2, RESP = 3, ACK_RESP = 4, IDLE = 5, KA = 6, KA_ACK = 7, PUSH = 8, PUSH_ACK = 9, CONNECT = 10;
const MAX_SEGMENT = 4 * 1024 * 1024;

/**
 * Long-lived flows behind NAT (database pools, SSH, MQTT, VPN): each connects, runs `rounds`
 * request/response rounds, then idles for a gap drawn from `idle` and resumes, forever. With
 * `keepalive`, the client sends a keepalive (answered by the server) every interval while idle.
 * An activity (the first one, and each resume) is one started flow; it succeeds when its rounds
 * complete. A packet that finds the flow's entry gone (expired during the gap, or evicted) is a
 * broken NAT flow: counted broken and failed; for TCP the far end answers the stray packet with
 * an RST (which removes the entry the packet made); the client connects again after `reconnect`
 * from a new port. UDP entries become ASSURED at the first packet after a reply more than 2 s
 * after creation (§5.1), so the first activity's rounds (default 3, 2 s apart) assure them.
 */
export class IdleNatFlows extends BaseGenerator {
  readonly kind = 'idle-nat-flows';
  private readonly p: IdleNatFlowsParams;
  private readonly proto: number;
  private readonly idle: (rng: Rng) => number;
  private readonly reqBytes: (rng: Rng) => number;
  private readonly respBytes: (rng: Rng) => number;
  private readonly cRtt: DelaySampler;
  private readonly sRtt: DelaySampler;
  private readonly pool = new FlowPool();
  private opened = 0;
  private readonly clients: SourcePicker;

  constructor(init: GeneratorInit<IdleNatFlowsParams>) {
    super(init);
    this.p = init.params;
    this.clients = this.clientFlows(this.p.clients, this.p.server, this.p.port).clients;
    this.proto = this.p.protocol === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
    this.idle = makeMicrosSampler(this.p.idle, 1_000_000);
    const size = (d: Distribution) => { const f = makeSampler(d); return (rng: Rng) => Math.min(MAX_SEGMENT, Math.max(1, Math.round(f(rng)))); };
    this.reqBytes = size(this.p.requestBytes);
    this.respBytes = size(this.p.responseBytes);
    this.cRtt = makeDelay(this.p.clientRtt);
    this.sRtt = makeDelay(this.p.serverRtt);
    if (this.proto === IPPROTO_TCP) this.outcomes.setup = new LatencyRecorder();
  }

  start(ctx: TrafficContext): void {
    if (this.p.startUs >= this.endUs) return;
    // the flows are opened one by one, evenly over the ramp: one pending event opens the next
    ctx.schedule(Math.max(ctx.now, this.p.startUs), -1);
  }

  fire(arg: number, ctx: TrafficContext): void {
    if (arg === -1) return this.open(ctx);
    this.step(arg, ctx);
  }

  private open(ctx: TrafficContext): void {
    const p = this.p, f = this.pool, rng = this.arng;
    const id = f.alloc();
    f.cAddr[id] = this.clients.next(rng);
    f.sAddr[id] = randomIn(p.server, rng, this.addrs);
    f.sPort[id] = p.port;
    f.cRtt[id] = this.cRtt(rng);
    f.sRtt[id] = this.sRtt(rng);
    this.connect(id, ctx);
    this.opened++;
    if (this.opened < p.flows) {
      const at = p.startUs + Math.round((this.opened * p.rampUs) / p.flows);
      if (at < this.endUs) ctx.schedule(Math.max(ctx.now, at), -1);
    }
  }

  /** A new connection of flow `id` from a fresh port: one started activity. */
  private connect(id: number, ctx: TrafficContext): void {
    const f = this.pool, rng = this.rng;
    f.cPort[id] = ephemeralPort(rng);
    f.seqC[id] = rng.int32();
    f.seqS[id] = rng.int32();
    f.a[id] = 0; f.b[id] = 0; f.attempt[id] = 0; f.beh[id] = 0;
    f.c[id] = this.p.rounds;
    f.serial[id] = this.openFlow();
    f.startUs[id] = ctx.now;
    this.flowStarted(f.serial[id]!);
    f.step[id] = this.proto === IPPROTO_TCP ? SYN : REQ;
    this.step(id, ctx);
  }

  private fill(ctx: TrafficContext, id: number, fromClient: boolean, flags: number, len: number): void {
    const f = this.pool;
    const pkt = this.head(ctx, this.proto, f.serial[id]!);
    const c = f.seqC[id]! + 1 + f.a[id]!, s = f.seqS[id]! + 1 + f.b[id]!;
    if (fromClient) {
      pkt.src = f.cAddr[id]!; pkt.sport = f.cPort[id]!; pkt.dst = f.sAddr[id]!; pkt.dport = f.sPort[id]!;
      clientPacket(f, id);
      pkt.seq = c >>> 0; pkt.ack = s >>> 0;
    } else {
      fillFromServer(f, id, pkt);
      pkt.seq = s >>> 0; pkt.ack = c >>> 0;
    }
    if (this.proto === IPPROTO_TCP) {
      pkt.tcpFlags = flags;
      pkt.win = 64240;
      pkt.dataLen = len;
      pkt.len = 52 + len;
      if ((flags & TH_SYN) !== 0) { pkt.optWscale = 7; pkt.optSackPerm = true; }
    } else {
      pkt.seq = 0; pkt.ack = 0;
      pkt.len = 28 + len;
    }
  }

  /** Sends; false when the flow's entry was gone (the flow is then broken and reconnects). */
  private sendMid(ctx: TrafficContext, id: number, fromClient: boolean): boolean {
    const v = sendCounted(ctx, this.outcomes);
    const info = ctx.ct.lastCtinfo;
    if (v !== 0 && info !== IP_CT_NEW && info !== IP_CT_NONE) return true;
    const serial = this.pool.serial[id]!;
    const lost = info === IP_CT_NEW || info === IP_CT_NONE;
    if (lost) this.outcomes.entryLost++;
    // a keepalive while idle: no activity is open; the break fails the next one, now
    if (!this.isOpen(serial)) this.flowResumed(serial);
    this.flowFailed(serial, v === 0 && rejected(ctx) ? FAIL_RESET : lost && this.wasAdmitted(serial) ? FAIL_BROKEN : FAIL_DROPPED);
    if (this.proto === IPPROTO_TCP && v !== 0 && info === IP_CT_NEW) {
      // the far end has no such connection: it answers the stray segment with an RST
      const pkt = ctx.pkt;
      const seq = pkt.ack;
      this.fill(ctx, id, !fromClient, TH_RST, 0);
      pkt.seq = seq; pkt.ack = 0;
      sendCounted(ctx, this.outcomes);
    }
    this.closeFlow(this.pool.serial[id]!);
    this.reconnect(id, ctx);
    return false;
  }

  private reconnect(id: number, ctx: TrafficContext): void {
    const at = ctx.now + this.p.reconnectUs;
    if (at > this.endUs) return;
    this.pool.step[id] = CONNECT;
    ctx.schedule(at, id);
  }

  private step(id: number, ctx: TrafficContext): void {
    const p = this.p, f = this.pool, rng = this.rng, now = ctx.now;
    const tcp = this.proto === IPPROTO_TCP;
    switch (f.step[id]) {
      case CONNECT:
        return this.connect(id, ctx);
      case SYN: {
        this.fill(ctx, id, true, TH_SYN, 0);
        ctx.pkt.seq = f.seqC[id]! >>> 0; ctx.pkt.ack = 0;
        if (sendCounted(ctx, this.outcomes) !== 0) { f.step[id] = SYNACK; ctx.schedule(now + f.sRtt[id]!, id); return; }
        // refused by a reject rule: connect() fails at once, the client reconnects later
        if (rejected(ctx)) { this.flowFailed(f.serial[id]!, FAIL_RESET); this.closeFlow(f.serial[id]!); return this.reconnect(id, ctx); }
        const a = f.attempt[id]!;
        if (a >= p.synRetries) { this.flowFailed(f.serial[id]!, FAIL_NEVER_ADMITTED); this.closeFlow(f.serial[id]!); return this.reconnect(id, ctx); }
        f.attempt[id] = a + 1;
        ctx.schedule(now + p.rtoUs * 2 ** a, id);
        return;
      }
      case SYNACK:
        this.fill(ctx, id, false, TH_SYN | TH_ACK, 0);
        ctx.pkt.seq = f.seqS[id]! >>> 0;
        if (!this.sendMid(ctx, id, false)) return;
        this.flowAdmitted(f.serial[id]!);
        this.outcomes.setup!.record(now - f.startUs[id]! + f.cRtt[id]!);
        f.step[id] = REQ;
        ctx.schedule(now + f.cRtt[id]!, id);
        return;
      case REQ: {
        const q = this.reqBytes(rng);
        this.fill(ctx, id, true, TH_ACK | TH_PSH, q);
        const first = !tcp && f.beh[id] === 0; // a UDP flow's first packet makes its entry
        if (first) {
          if (sendCounted(ctx, this.outcomes) === 0) { this.flowFailed(f.serial[id]!, FAIL_NEVER_ADMITTED); return this.reconnect(id, ctx); }
          this.flowAdmitted(f.serial[id]!);
        }
        else if (!this.sendMid(ctx, id, true)) return;
        f.a[id] = f.a[id]! + q;
        f.step[id] = RESP;
        ctx.schedule(now + f.sRtt[id]!, id);
        return;
      }
      case RESP: {
        const r = this.respBytes(rng);
        this.fill(ctx, id, false, TH_ACK | TH_PSH, r);
        if (!this.sendMid(ctx, id, false)) return;
        if (!tcp && ctx.ct.lastCtinfo === IP_CT_ESTABLISHED_REPLY) f.beh[id] = 1;
        f.b[id] = f.b[id]! + r;
        if (!tcp) return this.afterRound(id, ctx);
        f.step[id] = ACK_RESP;
        ctx.schedule(now + f.cRtt[id]!, id);
        return;
      }
      case ACK_RESP:
        this.fill(ctx, id, true, TH_ACK, 0);
        if (!this.sendMid(ctx, id, true)) return;
        return this.afterRound(id, ctx);
      case IDLE: {
        // the gap is over: the next activity
        this.flowResumed(f.serial[id]!);
        f.c[id] = p.rounds;
        const push = p.serverResume > 0 && rng.uniform() < p.serverResume;
        f.step[id] = push ? PUSH : REQ;
        return this.step(id, ctx);
      }
      case KA:
        // keepalive: TCP sends one byte before its next sequence number, no data; UDP a small packet
        this.fill(ctx, id, true, TH_ACK, 0);
        if (tcp) ctx.pkt.seq = (ctx.pkt.seq - 1) >>> 0;
        if (!this.sendMid(ctx, id, true)) return;
        f.step[id] = KA_ACK;
        ctx.schedule(now + f.sRtt[id]!, id);
        return;
      case KA_ACK:
        this.fill(ctx, id, false, TH_ACK, 0);
        if (!this.sendMid(ctx, id, false)) return;
        return this.idleUntil(id, ctx, f.t[id]!);
      case PUSH: {
        const r = this.respBytes(rng);
        this.fill(ctx, id, false, TH_ACK | TH_PSH, r);
        if (!this.sendMid(ctx, id, false)) return;
        f.b[id] = f.b[id]! + r;
        f.step[id] = PUSH_ACK;
        ctx.schedule(now + f.cRtt[id]!, id);
        return;
      }
      case PUSH_ACK:
        this.fill(ctx, id, true, TH_ACK, 0);
        if (!this.sendMid(ctx, id, true)) return;
        f.c[id] = 1;
        return this.afterRound(id, ctx);
      default:
        throw new Error(`idle-nat-flows: flow ${id} in unknown step ${f.step[id]}`);
    }
  }

  /** One round done: the next round after the think time, or the activity succeeded and the flow idles. */
  private afterRound(id: number, ctx: TrafficContext): void {
    const f = this.pool;
    const left = --f.c[id]!;
    if (left > 0) {
      f.step[id] = REQ;
      ctx.schedule(ctx.now + this.p.thinkUs, id);
      return;
    }
    this.flowSucceeded(f.serial[id]!);
    this.idleUntil(id, ctx, ctx.now + this.idle(this.rng));
  }

  /** Idles until `resumeUs` (kept in f.t), with keepalives every interval before it. */
  private idleUntil(id: number, ctx: TrafficContext, resumeUs: number): void {
    const f = this.pool, ka = this.p.keepaliveUs;
    if (resumeUs < ctx.now) resumeUs = ctx.now; // a keepalive's answer came after the gap ended
    f.t[id] = resumeUs;
    const kaAt = ka > 0 ? ctx.now + ka : Infinity;
    const at = kaAt < resumeUs ? kaAt : resumeUs;
    if (at > this.endUs) return;
    f.step[id] = kaAt < resumeUs ? KA : IDLE;
    ctx.schedule(at, id);
  }
}
