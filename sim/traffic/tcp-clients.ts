import { clientPacket, fillFromServer } from './nat-view.js';
import { IP_CT_ESTABLISHED_REPLY, IP_CT_NEW, IP_CT_NONE } from '../conntrack/conntrack.js';
import { IPPROTO_TCP, TH_ACK, TH_FIN, TH_PSH, TH_RST, TH_SYN } from '../conntrack/constants.js';
import { makeMicrosSampler, makeSampler, type Distribution } from '../core/distributions.js';
import type { Rng } from '../core/rng.js';
import type { Prefix, SourceSpec } from './addresses.js';
import { FlowPool, openClientFlow, type ClientFlowSpec } from './flow-pool.js';
import { ArrivalGenerator, FAIL_BROKEN, FAIL_DROPPED, FAIL_NEVER_ADMITTED, FAIL_RESET, FAIL_TIMEOUT, rejected, sendCounted, type GeneratorInit, type TrafficContext } from './generator.js';
import { LatencyRecorder } from '../core/latency.js';
import type { Pkt } from '../conntrack/packet.js';
import { EMIT_CLIENT_ACK, EMIT_CLIENT_SYNACK, EMIT_SERVER_SYN, NF_STOLEN, synproxyOf } from '../synproxy/synproxy.js';
import { makeDelay, type DelaySampler } from './path.js';
import { Arrivals, type ArrivalKind, type RateSpec } from './rate.js';
import { pick, type DelaySpec } from './schema-types.js';

/** Ways a connection ends, in the order of the `close` weights. */
export const CLOSE_MODES = ['client-fin', 'server-fin', 'rst'] as const;
/** Misbehaviours, in the order of their codes (1…). */
export const MISBEHAVIOURS = ['ignore_fin', 'fin_resend', 'half_open', 'vanish', 'out_of_window'] as const;
export type Misbehaviour = typeof MISBEHAVIOURS[number];

export interface TcpClientsParams {
  rate: RateSpec;
  arrival: ArrivalKind;
  clients: SourceSpec;
  server: Prefix;
  port: number;
  startUs: number;
  stopUs: number;
  /** Firewall ↔ client and firewall ↔ server round trips (drawn per connection). */
  clientRtt: DelaySpec;
  serverRtt: DelaySpec;
  /** Time from the last response to the close, seconds. */
  hold: Distribution;
  /** Request/response rounds per connection, and the pause between them (seconds). */
  requests: Distribution;
  think: Distribution;
  /** Bytes per request and per response (clamped to 0..4 MiB: one segment each). */
  requestBytes: Distribution;
  responseBytes: Distribution;
  /** Cumulative weights of CLOSE_MODES. */
  close: Float64Array;
  /** What the server does with a SYN. */
  serverMode: 'accept' | 'refuse' | 'silent';
  /** SYN retransmissions before giving up (Linux tcp_syn_retries), first RTO in µs (doubling). */
  synRetries: number;
  rtoUs: number;
  /** Fraction of connections per misbehaviour (the rest behave). */
  misbehave: Record<Misbehaviour, number>;
  /** Interval at which a `fin_resend` peer re-sends its FIN. */
  finResendUs: number;
}

// steps of a connection
const SYN = 0, SYNACK = 1, REQ = 2, RESP = 3, ACK_RESP = 4, CLOSE = 5, FIN2 = 6, FIN3 = 7, REFUSE = 8, FIN_RESEND = 9, VANISH = 10;
// behind SYNPROXY: the client's third-handshake ACK, and its zero-window probes
const PROXY_ACK = 11, PROBE = 12;
// behaviours (low nibble of beh; the close mode is in the high nibble)
const NORMAL = 0, IGNORE_FIN = 1, RESEND_FIN = 2, HALF_OPEN = 3, VANISHES = 4, OUT_OF_WINDOW = 5;
const MAX_SEGMENT = 4 * 1024 * 1024;
/** Bit of `beh` set once one of the connection's SYNs got through the firewall. */
const SYN_PASSED = 0x40;
/** Bit of `beh` set when SYNPROXY answered the connection's SYN (docs/synproxy.md §9). */
const PROXIED = 0x80;
/** MSS option of the clients' and servers' SYNs (Ethernet). */
const MSS = 1460;

/**
 * TCP clients: handshake over the path RTTs, `requests` rounds of request and response, a hold
 * time, then a close by FIN from either side or by RST. A SYN dropped by the firewall (or
 * unanswered, or whose SYN-ACK finds no entry) is retransmitted after 1, 2, 4, … s up to
 * `synRetries`, as Linux does; then the connection fails. A packet of an established connection
 * that finds no entry (evicted or expired) is lost on a NAT gateway: the flow counts as broken and
 * failed. Misbehaving peers (a fraction of connections each): `ignore_fin` (the peer ACKs the FIN
 * and never closes: CLOSE_WAIT), `fin_resend` (and the closer re-sends its FIN forever),
 * `half_open` (the client never ACKs the SYN-ACK: SYN_RECV), `vanish` (the client disappears
 * after the exchange without FIN or RST: ESTABLISHED until timeout), `out_of_window` (one segment
 * far outside the window: INVALID). A misbehaving connection that ran its script counts as
 * succeeded; `failed` is left to the firewall.
 *
 * Outcomes: a connection is being admitted until its handshake completes (the SYN-ACK reaches
 * the client), then in progress. It fails `never_admitted` when every SYN was dropped,
 * `dropped` when a SYN got through but the handshake was lost (its entry evicted before the
 * SYN-ACK), `timeout` when a silent server never answered, `reset` when refused, `broken` when an
 * established connection's packet found no entry. Setup time is first SYN to SYN-ACK at the
 * client (firewall times plus the client round trip), completion time first SYN to the last
 * response at the client.
 */
export class TcpClients extends ArrivalGenerator {
  readonly kind = 'tcp-clients';
  private readonly p: TcpClientsParams;
  private readonly ends: ClientFlowSpec;
  protected readonly arrivals: Arrivals;
  private readonly hold: (rng: Rng) => number;
  private readonly think: (rng: Rng) => number;
  private readonly requests: (rng: Rng) => number;
  private readonly reqBytes: (rng: Rng) => number;
  private readonly respBytes: (rng: Rng) => number;
  private readonly cRtt: DelaySampler;
  private readonly sRtt: DelaySampler;
  private readonly misCum: Float64Array;
  private readonly pool = new FlowPool();

  constructor(init: GeneratorInit<TcpClientsParams>) {
    super(init);
    const p = init.params;
    this.p = { ...p, stopUs: Math.min(p.stopUs, init.endUs) };
    this.ends = this.clientFlows(this.p.clients, this.p.server, this.p.port);
    this.arrivals = new Arrivals(p.rate, p.arrival, p.startUs, this.p.stopUs, this.arng);
    this.hold = makeMicrosSampler(p.hold, 1_000_000);
    this.think = makeMicrosSampler(p.think, 1_000_000);
    const count = makeSampler(p.requests);
    this.requests = (rng) => Math.max(1, Math.round(count(rng)));
    const size = (d: Distribution) => { const f = makeSampler(d); return (rng: Rng) => Math.min(MAX_SEGMENT, Math.max(0, Math.round(f(rng)))); };
    this.reqBytes = size(p.requestBytes);
    this.respBytes = size(p.responseBytes);
    this.cRtt = makeDelay(p.clientRtt);
    this.sRtt = makeDelay(p.serverRtt);
    let c = 0;
    this.misCum = Float64Array.from(MISBEHAVIOURS.map((k) => (c += p.misbehave[k])));
    this.outcomes.setup = new LatencyRecorder();
    this.outcomes.completion = new LatencyRecorder();
  }

  protected arrive(ctx: TrafficContext): void {
    const p = this.p, rng = this.arng, f = this.pool;
    const id = openClientFlow(f, this.ends, rng);
    f.seqC[id] = rng.int32();
    f.seqS[id] = rng.int32();
    f.startUs[id] = ctx.now;
    f.cRtt[id] = this.cRtt(rng);
    f.sRtt[id] = this.sRtt(rng);
    f.c[id] = this.requests(rng);
    let beh = NORMAL;
    if (this.misCum[this.misCum.length - 1]! > 0) {
      const u = rng.uniform();
      for (let i = 0; i < this.misCum.length; i++) if (u < this.misCum[i]!) { beh = i + 1; break; }
    }
    f.beh[id] = beh | (pick(p.close, rng) << 4);
    f.serial[id] = this.openFlow();
    this.flowStarted(f.serial[id]!);
    this.step(id, ctx);
  }

  /** Fills the scratch packet for connection `id` in a direction. */
  private pkt(ctx: TrafficContext, id: number, fromClient: boolean, flags: number, seq: number, ack: number, len: number) {
    const f = this.pool;
    const pkt = this.head(ctx, IPPROTO_TCP, f.serial[id]!);
    if (fromClient) {
      pkt.src = f.cAddr[id]!; pkt.sport = f.cPort[id]!; pkt.dst = f.sAddr[id]!; pkt.dport = f.sPort[id]!;
      clientPacket(f, id);
    } else {
      fillFromServer(f, id, pkt);
    }
    pkt.tcpFlags = flags;
    pkt.seq = seq >>> 0;
    // behind SYNPROXY the client acknowledges the cookie sequence space (seqD is 0 otherwise)
    pkt.ack = (fromClient ? ack + f.seqD[id]! : ack) >>> 0;
    pkt.win = 64240;
    pkt.dataLen = len;
    pkt.len = 52 + len;
    if ((flags & TH_SYN) !== 0) {
      pkt.optWscale = 7; pkt.optSackPerm = true; pkt.optMss = MSS;
      // timestamps on the handshake (the clock: ms of simulated time); data segments carry none
      pkt.optTs = true; pkt.tsval = Math.floor(ctx.now / 1000) >>> 0; pkt.tsecr = fromClient ? 0 : f.ts[id]! >>> 0;
    }
    return pkt;
  }

  /** Sends a packet of an established connection; false (and the flow ends broken) if its entry was gone. */
  private sendMid(ctx: TrafficContext, id: number): boolean {
    const v = sendCounted(ctx, this.outcomes);
    const info = ctx.ct.lastCtinfo;
    const lost = info === IP_CT_NEW || info === IP_CT_NONE;
    if (v === 0 || lost) {
      if (lost) this.outcomes.entryLost++;
      this.flowFailed(this.pool.serial[id]!, v === 0 && rejected(ctx) ? FAIL_RESET : lost ? FAIL_BROKEN : FAIL_DROPPED);
      this.end(id);
      return false;
    }
    return true;
  }

  /** A SYN (or its SYN-ACK) was lost: retransmit after rto·2^attempt from the last SYN, or give up. */
  private retrySyn(ctx: TrafficContext, id: number): void {
    const f = this.pool, a = f.attempt[id]!;
    if (a >= this.p.synRetries) {
      const passed = (f.beh[id]! & SYN_PASSED) !== 0;
      this.flowFailed(f.serial[id]!, !passed ? FAIL_NEVER_ADMITTED : this.p.serverMode === 'silent' ? FAIL_TIMEOUT : FAIL_DROPPED);
      this.end(id);
      return;
    }
    f.attempt[id] = a + 1;
    f.step[id] = SYN;
    ctx.schedule(Math.max(ctx.now, f.t[id]! + this.p.rtoUs * 2 ** a), id);
  }

  /**
   * SYNPROXY answered the SYN with a cookie SYN-ACK (docs/synproxy.md §9): the client is
   * connected as soon as it arrives (cr/2 from now) and sends its ACK, which reaches the firewall
   * cr from now. Its acks then refer to the cookie sequence space.
   */
  private proxySynack(ctx: TrafficContext, id: number, sa: Pkt): void {
    const f = this.pool;
    f.beh[id] = f.beh[id]! | PROXIED;
    f.seqD[id] = (sa.seq - f.seqS[id]!) | 0;
    f.ts[id] = sa.optTs ? sa.tsval | 0 : 0;
    this.outcomes.setup!.record(ctx.now - f.startUs[id]! + f.cRtt[id]!);
    if ((f.beh[id]! & 15) === HALF_OPEN) return this.done(id); // the client never ACKs
    f.step[id] = PROXY_ACK;
    ctx.schedule(ctx.now + f.cRtt[id]!, id);
  }

  /**
   * Behind SYNPROXY, no window update came (the ACK was dropped, the server SYN found no room,
   * or the server did not answer): the client probes its zero window at rto·2^k, as many times
   * as it would retransmit a SYN, then gives up.
   */
  private probe(ctx: TrafficContext, id: number): void {
    const f = this.pool, a = f.attempt[id]!;
    if (a >= this.p.synRetries) {
      this.flowFailed(f.serial[id]!, this.p.serverMode === 'silent' ? FAIL_TIMEOUT : FAIL_DROPPED);
      this.end(id);
      return;
    }
    f.attempt[id] = a + 1;
    f.step[id] = PROBE;
    ctx.schedule(ctx.now + this.p.rtoUs * 2 ** a, id);
  }

  protected step(id: number, ctx: TrafficContext): void {
    const p = this.p, f = this.pool, rng = this.rng;
    const c = f.seqC[id]! + 1 + f.a[id]!, s = f.seqS[id]! + 1 + f.b[id]!; // next sequence numbers
    const beh = f.beh[id]! & 15, mode = (f.beh[id]! >> 4) & 3;
    const now = ctx.now, cr = f.cRtt[id]!, sr = f.sRtt[id]!;
    const fromClient = mode !== 1; // who closes (client unless server-fin)
    const mine = fromClient ? c : s, theirs = fromClient ? s : c; // closer's and peer's next seq
    switch (f.step[id]) {
      case SYN: {
        this.pkt(ctx, id, true, TH_SYN, f.seqC[id]!, 0, 0);
        f.t[id] = now;
        f.ts[id] = ctx.pkt.tsval | 0;
        const v = sendCounted(ctx, this.outcomes);
        if (v === NF_STOLEN) {
          // answered by SYNPROXY, unless its SYN-ACK found no room in conntrack (docs/synproxy.md §3)
          const sp = synproxyOf(ctx.ct);
          if (sp === undefined || (sp.emitted & EMIT_CLIENT_SYNACK) === 0) return this.retrySyn(ctx, id);
          f.beh[id] = f.beh[id]! | SYN_PASSED;
          return this.proxySynack(ctx, id, sp.toClient);
        }
        if (v !== 0) f.beh[id] = f.beh[id]! | SYN_PASSED;
        if (v === 0 && rejected(ctx)) {
          // a reject rule answered the SYN (RST or ICMP unreachable): connect() fails at once
          this.flowFailed(f.serial[id]!, FAIL_RESET);
          this.end(id);
          return;
        }
        if (v !== 0 && p.serverMode !== 'silent') {
          f.step[id] = p.serverMode === 'accept' ? SYNACK : REFUSE;
          ctx.schedule(now + sr, id);
          return;
        }
        this.retrySyn(ctx, id);
        return;
      }
      case REFUSE:
        this.pkt(ctx, id, false, TH_RST | TH_ACK, 0, c, 0);
        sendCounted(ctx, this.outcomes);
        this.flowFailed(f.serial[id]!, FAIL_RESET);
        this.end(id);
        return;
      case SYNACK: {
        this.pkt(ctx, id, false, TH_SYN | TH_ACK, f.seqS[id]!, c, 0);
        const v = sendCounted(ctx, this.outcomes);
        if ((f.beh[id]! & PROXIED) !== 0) {
          // SYNPROXY consumes the SYN-ACK, ACKs the server and sends the client a window update,
          // which reaches it cr/2 from now; its request arrives cr from now
          const sp = synproxyOf(ctx.ct);
          if (v !== NF_STOLEN || sp === undefined || (sp.emitted & EMIT_CLIENT_ACK) === 0) return this.probe(ctx, id);
          this.flowAdmitted(f.serial[id]!);
          f.step[id] = REQ;
          ctx.schedule(now + cr, id);
          return;
        }
        // no entry for it (the SYN_SENT entry was evicted): the client never sees it
        if (v === 0 || ctx.ct.lastCtinfo !== IP_CT_ESTABLISHED_REPLY) return this.retrySyn(ctx, id);
        // established: the SYN-ACK reaches the client cr/2 from now; its first SYN left cr/2 before startUs
        this.flowAdmitted(f.serial[id]!);
        this.outcomes.setup!.record(now - f.startUs[id]! + cr);
        if (beh === HALF_OPEN) return this.done(id);
        f.step[id] = REQ;
        ctx.schedule(now + cr, id);
        return;
      }
      case REQ: {
        const q = this.reqBytes(rng);
        this.pkt(ctx, id, true, q > 0 ? TH_ACK | TH_PSH : TH_ACK, c, s, q);
        if (!this.sendMid(ctx, id)) return;
        f.a[id] = f.a[id]! + q;
        f.step[id] = RESP;
        ctx.schedule(now + sr, id);
        return;
      }
      case RESP: {
        const r = this.respBytes(rng);
        this.pkt(ctx, id, false, r > 0 ? TH_ACK | TH_PSH : TH_ACK, s, c, r);
        if (!this.sendMid(ctx, id)) return;
        f.b[id] = f.b[id]! + r;
        f.step[id] = ACK_RESP;
        ctx.schedule(now + cr, id);
        return;
      }
      case ACK_RESP: {
        this.pkt(ctx, id, true, TH_ACK, c, s, 0);
        if (!this.sendMid(ctx, id)) return;
        const left = --f.c[id]!;
        if (beh === OUT_OF_WINDOW && left === 0) {
          // one data segment a gigabyte beyond the window: conntrack marks it INVALID (§4.7 I)
          this.pkt(ctx, id, true, TH_ACK | TH_PSH, c + 0x40000000, s, 100);
          sendCounted(ctx, this.outcomes);
        }
        if (left > 0) { f.step[id] = REQ; ctx.schedule(now + this.think(rng), id); return; }
        // the last response reached the client cr/2 ago; its first SYN left cr/2 before startUs
        this.outcomes.completion!.record(now - f.startUs[id]!);
        f.step[id] = beh === VANISHES ? VANISH : CLOSE;
        ctx.schedule(now + this.hold(rng), id);
        return;
      }
      case VANISH:
        return this.done(id); // nothing is sent: the client is gone
      case CLOSE:
        if (mode === 2) {
          this.pkt(ctx, id, true, TH_RST | TH_ACK, c, s, 0);
          if (this.sendMid(ctx, id)) this.done(id);
          return;
        }
        this.pkt(ctx, id, fromClient, TH_FIN | TH_ACK, mine, theirs, 0);
        if (!this.sendMid(ctx, id)) return;
        f.step[id] = FIN2;
        ctx.schedule(now + (fromClient ? sr : cr), id);
        return;
      case FIN2: {
        const ignore = beh === IGNORE_FIN || beh === RESEND_FIN;
        // the peer ACKs the FIN; unless it ignores it, it closes too
        this.pkt(ctx, id, !fromClient, ignore ? TH_ACK : TH_FIN | TH_ACK, theirs, mine + 1, 0);
        if (!this.sendMid(ctx, id)) return;
        if (beh === IGNORE_FIN) return this.done(id);
        if (beh === RESEND_FIN) {
          this.flowSucceeded(f.serial[id]!);
          f.step[id] = FIN_RESEND;
          ctx.schedule(now + p.finResendUs, id);
          return;
        }
        f.step[id] = FIN3;
        ctx.schedule(now + (fromClient ? cr : sr), id);
        return;
      }
      case FIN3:
        this.pkt(ctx, id, fromClient, TH_ACK, mine + 1, theirs + 1, 0);
        if (this.sendMid(ctx, id)) this.done(id);
        return;
      case FIN_RESEND:
        // the closer re-sends its FIN (same sequence) to a peer that never closes; it stops
        // only when the entry is gone (a FIN cannot create one)
        this.pkt(ctx, id, fromClient, TH_FIN | TH_ACK, mine, theirs, 0);
        sendCounted(ctx, this.outcomes);
        if (ctx.ct.lastCtinfo === IP_CT_NONE || ctx.ct.lastCtinfo === IP_CT_NEW) return this.end(id);
        ctx.schedule(now + p.finResendUs, id);
        return;
      case PROXY_ACK:
      case PROBE: {
        // the third-handshake ACK (seq ISN + 1), or a zero-window probe (seq ISN, SND.NXT − 1)
        const probe = f.step[id] === PROBE;
        this.pkt(ctx, id, true, TH_ACK, probe ? f.seqC[id]! : c, s, 0);
        if (!probe) {
          const q = ctx.pkt;
          q.optTs = true; q.tsval = Math.floor(now / 1000) >>> 0; q.tsecr = f.ts[id]! >>> 0;
          f.ts[id] = q.tsval | 0; // what the server will echo (the proxy's SYN carries this TSval)
        }
        const v = sendCounted(ctx, this.outcomes);
        const sp = synproxyOf(ctx.ct);
        if (v === NF_STOLEN && sp !== undefined && (sp.emitted & EMIT_SERVER_SYN) !== 0 && sp.serverVerdict !== 0) {
          // the proxy's SYN reaches the server: its answer arrives sr from now
          if (p.serverMode === 'silent') return this.probe(ctx, id);
          f.step[id] = p.serverMode === 'accept' ? SYNACK : REFUSE;
          ctx.schedule(now + sr, id);
          return;
        }
        return this.probe(ctx, id);
      }
      default:
        throw new Error(`tcp-clients: flow ${id} in unknown step ${f.step[id]}`);
    }
  }

  private done(id: number): void { this.flowSucceeded(this.pool.serial[id]!); this.end(id); }

  private end(id: number): void { this.closeFlow(this.pool.serial[id]!); this.pool.release(id); }
}
