import { clientPacket, fillFromServer } from './nat-view.js';
import { IP_CT_ESTABLISHED_REPLY } from '../conntrack/conntrack.js';
import { IPPROTO_UDP } from '../conntrack/constants.js';
import { makeMicrosSampler, type Distribution } from '../core/distributions.js';
import type { Rng } from '../core/rng.js';
import type { Prefix } from './addresses.js';
import { FlowPool, openClientFlow } from './flow-pool.js';
import { ArrivalGenerator, sendCounted, type GeneratorInit, type TrafficContext } from './generator.js';
import { makeDelay, type DelaySampler } from './path.js';
import { Arrivals, type ArrivalKind, type RateSpec } from './rate.js';
import type { DelaySpec } from './schema-types.js';

export interface UdpRequestResponseParams {
  rate: RateSpec;
  arrival: ArrivalKind;
  clients: Prefix;
  server: Prefix;
  port: number;
  startUs: number;
  stopUs: number;
  /** Firewall ↔ client and firewall ↔ server round trips (drawn per query). */
  clientRtt: DelaySpec;
  serverRtt: DelaySpec;
  /** Server processing time before the answer, ms. */
  answerDelay: Distribution;
  /** Probability that the server never answers a query. */
  loss: number;
  /** Client timeout before re-sending the query (µs), and re-sends before giving up. */
  timeoutUs: number;
  retries: number;
  /** Also ask AAAA: from the same socket right after A (glibc), or from a second socket (single-request-reopen). */
  aaaa?: 'parallel' | 'reopen';
}

const QUERY = 0, ANSWER = 1, TIMEOUT = 2;

/**
 * DNS-like request/response over UDP: each query comes from a fresh ephemeral port (a new
 * conntrack entry), the server answers after a delay unless the query is lost; a client whose
 * query or answer does not arrive re-sends after a timeout, `retries` times (glibc's resolver:
 * 5 s, 2 attempts). Entries stay unassured (§5.1), so they are early-droppable.
 */
export class UdpRequestResponse extends ArrivalGenerator {
  readonly kind = 'udp-request-response';
  private readonly p: UdpRequestResponseParams;
  protected readonly arrivals: Arrivals;
  private readonly delay: (rng: Rng) => number;
  private readonly cRtt: DelaySampler;
  private readonly sRtt: DelaySampler;
  private readonly pool = new FlowPool();
  /** Lookups answered only after at least one re-send (the "5 s DNS delay"). */
  retriedOk = 0;

  constructor(init: GeneratorInit<UdpRequestResponseParams>) {
    super(init);
    this.p = { ...init.params, stopUs: Math.min(init.params.stopUs, init.endUs) };
    this.arrivals = new Arrivals(this.p.rate, this.p.arrival, this.p.startUs, this.p.stopUs, this.arng);
    this.delay = makeMicrosSampler(this.p.answerDelay, 1000);
    this.cRtt = makeDelay(this.p.clientRtt);
    this.sRtt = makeDelay(this.p.serverRtt);
  }

  protected step(id: number, ctx: TrafficContext): void {
    const step = this.pool.step[id];
    if (step === QUERY) this.query(id, ctx);
    else if (step === ANSWER) this.answer(id, ctx);
    else this.timeout(id, ctx);
  }

  protected arrive(ctx: TrafficContext): void {
    const p = this.p, rng = this.arng, f = this.pool;
    const id = openClientFlow(f, p, rng);
    f.startUs[id] = ctx.now;
    f.cRtt[id] = this.cRtt(rng);
    f.sRtt[id] = this.sRtt(rng);
    f.serial[id] = this.openFlow();
    this.outcomes.started++;
    this.query(id, ctx);
  }

  private fill(ctx: TrafficContext, id: number, fromClient: boolean): void {
    const f = this.pool;
    const pkt = this.head(ctx, IPPROTO_UDP, f.serial[id]!);
    if (fromClient) { pkt.src = f.cAddr[id]!; pkt.sport = f.cPort[id]!; pkt.dst = f.sAddr[id]!; pkt.dport = f.sPort[id]!; pkt.len = 70; clientPacket(f, id); }
    else { fillFromServer(f, id, pkt); pkt.len = 130; }
  }

  private query(id: number, ctx: TrafficContext): void {
    const p = this.p, f = this.pool;
    this.fill(ctx, id, true);
    let v = sendCounted(ctx, this.outcomes);
    if (p.aaaa !== undefined) {
      // the AAAA query: same socket at the same instant (parallel), or a second socket (port + 1)
      const xs = f.xsAddr[id]!, xsp = f.xsPort[id]!;
      this.fill(ctx, id, true);
      if (p.aaaa === 'reopen') ctx.pkt.sport = (f.cPort[id]! + 1) & 0xffff || 1024;
      const v2 = sendCounted(ctx, this.outcomes);
      // remember where the AAAA query went and from which outside port (a, b: server; c: client port)
      f.a[id] = f.xsAddr[id]!; f.b[id] = f.xsPort[id]!; f.c[id] = f.xcPort[id]!;
      f.xsAddr[id] = xs; f.xsPort[id] = xsp;
      if (v2 === 0) v = 0;
    }
    if (v !== 0 && this.rng.uniform() >= p.loss) {
      f.step[id] = ANSWER;
      ctx.schedule(ctx.now + f.sRtt[id]! + this.delay(this.rng), id);
    } else {
      f.step[id] = TIMEOUT;
      ctx.schedule(ctx.now + p.timeoutUs, id);
    }
  }

  private answer(id: number, ctx: TrafficContext): void {
    this.fill(ctx, id, false);
    let v = sendCounted(ctx, this.outcomes);
    let ok = v !== 0 && ctx.ct.lastCtinfo === IP_CT_ESTABLISHED_REPLY;
    if (this.p.aaaa !== undefined) {
      const f = this.pool;
      this.fill(ctx, id, false);
      const pkt = ctx.pkt;
      pkt.src = f.a[id]!; pkt.sport = f.b[id]!; pkt.dport = f.c[id]!;
      const v2 = sendCounted(ctx, this.outcomes);
      if (v2 === 0) v = 0;
      ok = ok && v2 !== 0 && ctx.ct.lastCtinfo === IP_CT_ESTABLISHED_REPLY;
    }
    if (ok) {
      if (this.pool.attempt[id]! > 0) this.retriedOk++;
      this.outcomes.succeeded++;
      this.end(id);
      return;
    }
    // The answer found no entry: its query's entry was evicted (or expired). A stateful
    // firewall or NAT does not pass it to the client (no mapping), so the client times out.
    if (v !== 0) this.outcomes.broken++;
    this.pool.step[id] = TIMEOUT;
    ctx.schedule(ctx.now + this.pool.cRtt[id]! + this.p.timeoutUs, id);
  }

  private timeout(id: number, ctx: TrafficContext): void {
    const f = this.pool;
    const a = f.attempt[id]!;
    if (a >= this.p.retries) {
      this.outcomes.failed++;
      this.end(id);
      return;
    }
    f.attempt[id] = a + 1;
    this.query(id, ctx);
  }

  private end(id: number): void {
    this.closeFlow(this.pool.serial[id]!);
    this.pool.release(id);
  }
}
