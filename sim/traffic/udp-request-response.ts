import { clientPacket, fillFromServer } from './nat-view.js';
import { IP_CT_ESTABLISHED_REPLY, IP_CT_UNTRACKED } from '../conntrack/conntrack.js';
import { IPPROTO_UDP } from '../conntrack/constants.js';
import { makeMicrosSampler, type Distribution } from '../core/distributions.js';
import type { Rng } from '../core/rng.js';
import type { Prefix, SourceSpec } from './addresses.js';
import { FlowPool, openClientFlow, type ClientFlowSpec } from './flow-pool.js';
import { ArrivalGenerator, FAIL_BROKEN, FAIL_DROPPED, FAIL_NEVER_ADMITTED, FAIL_RESET, FAIL_TIMEOUT, rejected, sendCounted, type GeneratorInit, type TrafficContext } from './generator.js';
import { LatencyRecorder } from '../core/latency.js';
import { makeDelay, type DelaySampler } from './path.js';
import { Arrivals, type ArrivalKind, type RateSpec } from './rate.js';
import type { DelaySpec } from './schema-types.js';

export interface UdpRequestResponseParams {
  rate: RateSpec;
  arrival: ArrivalKind;
  clients: SourceSpec;
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
/** Bits of `beh`: a query was dropped by the firewall; an answer found its entry gone. */
const QUERY_DROPPED = 1, ANSWER_LOST = 2;

/**
 * DNS-like request/response over UDP: each query comes from a fresh ephemeral port (a new
 * conntrack entry), the server answers after a delay unless the query is lost; a client whose
 * query or answer does not arrive re-sends after a timeout, `retries` times (glibc's resolver:
 * 5 s, 2 attempts). Entries stay unassured (§5.1), so they are early-droppable.
 *
 * Outcomes: a lookup is being admitted until one of its queries gets through the firewall. It
 * succeeds when an answer reaches the client; when its last attempt times out it fails
 * `never_admitted` (every query dropped), `broken` (an answer found its entry gone: the NAT
 * mapping was lost), `dropped` (a query was dropped after an earlier one got through), or
 * `timeout` (the server lost it). Resolution time is first query to answer at the client,
 * retries and their timeouts included.
 */
export class UdpRequestResponse extends ArrivalGenerator {
  readonly kind = 'udp-request-response';
  private readonly p: UdpRequestResponseParams;
  private readonly ends: ClientFlowSpec;
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
    this.ends = this.clientFlows(this.p.clients, this.p.server, this.p.port);
    this.arrivals = new Arrivals(this.p.rate, this.p.arrival, this.p.startUs, this.p.stopUs, this.arng);
    this.delay = makeMicrosSampler(this.p.answerDelay, 1000);
    this.cRtt = makeDelay(this.p.clientRtt);
    this.sRtt = makeDelay(this.p.serverRtt);
    this.outcomes.resolve = new LatencyRecorder();
  }

  protected step(id: number, ctx: TrafficContext): void {
    const step = this.pool.step[id];
    if (step === QUERY) this.query(id, ctx);
    else if (step === ANSWER) this.answer(id, ctx);
    else this.timeout(id, ctx);
  }

  protected arrive(ctx: TrafficContext): void {
    const rng = this.arng, f = this.pool;
    const id = openClientFlow(f, this.ends, rng);
    f.startUs[id] = ctx.now;
    f.cRtt[id] = this.cRtt(rng);
    f.sRtt[id] = this.sRtt(rng);
    f.serial[id] = this.openFlow();
    this.flowStarted(f.serial[id]!);
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
    if (v === 0 && rejected(ctx)) {
      // an ICMP port/host unreachable from a reject rule: the resolver's recv fails at once
      this.flowFailed(f.serial[id]!, FAIL_RESET);
      this.end(id);
      return;
    }
    if (v !== 0) this.flowAdmitted(f.serial[id]!);
    else f.beh[id] = f.beh[id]! | QUERY_DROPPED;
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
    const f = this.pool;
    // an answer matched to its query's entry, or untracked (notrack: the firewall keeps no state to miss)
    let ok = v !== 0 && (ctx.ct.lastCtinfo === IP_CT_ESTABLISHED_REPLY || ctx.ct.lastCtinfo === IP_CT_UNTRACKED);
    if (this.p.aaaa !== undefined) {
      // the AAAA answer, to the port the AAAA query left from
      this.fill(ctx, id, false);
      const pkt = ctx.pkt;
      pkt.src = f.a[id]!; pkt.sport = f.b[id]!; pkt.dport = f.c[id]!;
      const v2 = sendCounted(ctx, this.outcomes);
      if (v2 === 0) v = 0;
      ok = ok && v2 !== 0 && (ctx.ct.lastCtinfo === IP_CT_ESTABLISHED_REPLY || ctx.ct.lastCtinfo === IP_CT_UNTRACKED);
    }
    if (ok) {
      if (f.attempt[id]! > 0) this.retriedOk++;
      // the answer reaches the client cr/2 from now; its first query left cr/2 before startUs
      this.outcomes.resolve!.record(ctx.now - f.startUs[id]! + f.cRtt[id]!);
      this.flowSucceeded(f.serial[id]!);
      this.end(id);
      return;
    }
    // The answer found no entry: its query's entry was evicted (or expired). A stateful
    // firewall or NAT does not pass it to the client (no mapping), so the client times out.
    if (v !== 0) { this.outcomes.entryLost++; f.beh[id] = f.beh[id]! | ANSWER_LOST; }
    this.pool.step[id] = TIMEOUT;
    ctx.schedule(ctx.now + this.pool.cRtt[id]! + this.p.timeoutUs, id);
  }

  private timeout(id: number, ctx: TrafficContext): void {
    const f = this.pool;
    const a = f.attempt[id]!;
    if (a >= this.p.retries) {
      const serial = f.serial[id]!, b = f.beh[id]!;
      this.flowFailed(serial, !this.wasAdmitted(serial) ? FAIL_NEVER_ADMITTED : (b & ANSWER_LOST) !== 0 ? FAIL_BROKEN : (b & QUERY_DROPPED) !== 0 ? FAIL_DROPPED : FAIL_TIMEOUT);
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
