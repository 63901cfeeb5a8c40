import { IP_CT_ESTABLISHED_REPLY, IP_CT_RELATED_REPLY } from '../conntrack/conntrack.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_UDP } from '../conntrack/constants.js';
import { ephemeralPort, randomIn, type Prefix, type SourcePicker, type SourceSpec } from './addresses.js';
import { FlowPool } from './flow-pool.js';
import { ArrivalGenerator, FAIL_BROKEN, FAIL_NEVER_ADMITTED, sendCounted, type GeneratorInit, type TrafficContext } from './generator.js';
import { makeDelay, type DelaySampler } from './path.js';
import { Arrivals, type ArrivalKind, type RateSpec } from './rate.js';
import type { DelaySpec } from './schema-types.js';

export interface IcmpParams {
  /**
   * `echo`: ping (`count` requests `interval` apart, each answered unless lost); `unreachable`:
   * a UDP probe to a closed port answered by ICMP port unreachable; `time-exceeded`: a
   * traceroute probe answered by ICMP time exceeded from a router on the path.
   */
  mode: 'echo' | 'unreachable' | 'time-exceeded';
  rate: RateSpec;
  arrival: ArrivalKind;
  clients: SourceSpec;
  server: Prefix;
  /** Router answering time-exceeded probes. */
  router: Prefix;
  /** Destination port of the UDP probes (traceroute's 33434). */
  port: number;
  startUs: number;
  stopUs: number;
  clientRtt: DelaySpec;
  serverRtt: DelaySpec;
  count: number;
  intervalUs: number;
  loss: number;
}

const ICMP_ECHOREPLY = 0, ICMP_DEST_UNREACH = 3, ICMP_PORT_UNREACH = 3, ICMP_ECHO = 8, ICMP_TIME_EXCEEDED = 11;
/** ICMPv6 (RFC 4443): the same messages under their own numbers. */
const ICMPV6_DEST_UNREACH = 1, ICMPV6_PORT_UNREACH = 4, ICMPV6_TIME_EXCEED = 3, ICMPV6_ECHO_REQUEST = 128, ICMPV6_ECHO_REPLY = 129;

/** The ICMP protocol and message numbers of one address family. */
interface IcmpNumbers { proto: number; echo: number; echoReply: number; unreach: number; portUnreach: number; timeExceeded: number }
const ICMP4: IcmpNumbers = { proto: IPPROTO_ICMP, echo: ICMP_ECHO, echoReply: ICMP_ECHOREPLY, unreach: ICMP_DEST_UNREACH, portUnreach: ICMP_PORT_UNREACH, timeExceeded: ICMP_TIME_EXCEEDED };
const ICMP6: IcmpNumbers = { proto: IPPROTO_ICMPV6, echo: ICMPV6_ECHO_REQUEST, echoReply: ICMPV6_ECHO_REPLY, unreach: ICMPV6_DEST_UNREACH, portUnreach: ICMPV6_PORT_UNREACH, timeExceeded: ICMPV6_TIME_EXCEED };
const REQUEST = 0, REPLY = 1;

/**
 * ICMP: echo request/reply flows (one entry per echo id, 30 s, never ASSURED, §6.1), and ICMP
 * errors whose embedded header is a live flow's packet (attached to its entry as RELATED, no
 * entry of their own). With IPv6 addresses the same flows are ICMPv6 (echo request 128 / reply
 * 129, destination unreachable 1 code 4, time exceeded 3), tracked as nf_conntrack_proto_icmpv6.c
 * does. A reply or error that finds no entry does not reach the client: the flow
 * counts as broken and failed.
 */
export class Icmp extends ArrivalGenerator {
  readonly kind = 'icmp';
  private readonly p: IcmpParams;
  protected readonly arrivals: Arrivals;
  private readonly cRtt: DelaySampler;
  private readonly sRtt: DelaySampler;
  private readonly pool = new FlowPool();
  private readonly clients: SourcePicker;
  private readonly n: IcmpNumbers;

  constructor(init: GeneratorInit<IcmpParams>) {
    super(init);
    const p = init.params;
    this.p = { ...p, stopUs: Math.min(p.stopUs, init.endUs) };
    this.clients = this.clientFlows(p.clients, p.server, p.port).clients;
    this.n = this.l3 === 6 ? ICMP6 : ICMP4;
    this.arrivals = new Arrivals(p.rate, p.arrival, p.startUs, this.p.stopUs, this.arng);
    this.cRtt = makeDelay(p.clientRtt);
    this.sRtt = makeDelay(p.serverRtt);
  }

  protected step(id: number, ctx: TrafficContext): void {
    if (this.pool.step[id] === REQUEST) this.request(id, ctx);
    else this.reply(id, ctx);
  }

  protected arrive(ctx: TrafficContext): void {
    const p = this.p, rng = this.arng, f = this.pool;
    const id = f.alloc();
    f.cAddr[id] = this.clients.next(rng);
    f.sAddr[id] = randomIn(p.server, rng, this.addrs);
    f.cPort[id] = p.mode === 'echo' ? rng.below(65536) : ephemeralPort(rng); // echo id or UDP source port
    f.sPort[id] = p.mode === 'time-exceeded' ? randomIn(p.router, rng, this.addrs) : 0; // the answering router
    f.cRtt[id] = this.cRtt(rng);
    f.sRtt[id] = this.sRtt(rng);
    f.serial[id] = this.openFlow();
    f.c[id] = p.mode === 'echo' ? p.count : 1;
    this.flowStarted(f.serial[id]!);
    this.request(id, ctx);
  }

  private request(id: number, ctx: TrafficContext): void {
    const p = this.p, f = this.pool, n = this.n;
    if (p.mode === 'echo') {
      const pkt = this.head(ctx, n.proto, f.serial[id]!);
      pkt.src = f.cAddr[id]!; pkt.dst = f.sAddr[id]!; pkt.sport = f.cPort[id]!; pkt.dport = n.echo << 8;
      pkt.len = 84;
    } else {
      const pkt = this.head(ctx, IPPROTO_UDP, f.serial[id]!);
      pkt.src = f.cAddr[id]!; pkt.sport = f.cPort[id]!; pkt.dst = f.sAddr[id]!; pkt.dport = p.port;
      pkt.len = 60;
    }
    const v = sendCounted(ctx, this.outcomes);
    f.t[id] = ctx.now;
    f.c[id]--;
    if (v === 0) f.a[id]++; // requests dropped by the firewall
    else this.flowAdmitted(f.serial[id]!);
    if (v !== 0 && (p.mode !== 'echo' || this.rng.uniform() >= p.loss)) {
      f.step[id] = REPLY;
      ctx.schedule(ctx.now + f.sRtt[id]!, id);
      return;
    }
    this.nextRequest(id, ctx);
  }

  private reply(id: number, ctx: TrafficContext): void {
    const p = this.p, f = this.pool, n = this.n;
    if (p.mode === 'echo') {
      const pkt = this.head(ctx, n.proto, f.serial[id]!);
      pkt.src = f.sAddr[id]!; pkt.dst = f.cAddr[id]!; pkt.sport = f.cPort[id]!; pkt.dport = n.echoReply << 8;
      pkt.len = 84;
    } else {
      // the error carries the probe's own header (as sent, not inverted)
      const pkt = this.head(ctx, n.proto, f.serial[id]!);
      const te = p.mode === 'time-exceeded';
      pkt.src = te ? f.sPort[id]! : f.sAddr[id]!;
      pkt.dst = f.cAddr[id]!;
      pkt.dport = te ? n.timeExceeded << 8 : (n.unreach << 8) | n.portUnreach;
      pkt.innerValid = true; pkt.innerProto = IPPROTO_UDP;
      pkt.innerSrc = f.cAddr[id]!; pkt.innerDst = f.sAddr[id]!; pkt.innerSport = f.cPort[id]!; pkt.innerDport = p.port;
      pkt.len = 56;
    }
    sendCounted(ctx, this.outcomes);
    const want = p.mode === 'echo' ? IP_CT_ESTABLISHED_REPLY : IP_CT_RELATED_REPLY;
    if (ctx.ct.lastCtinfo !== want) {
      this.outcomes.entryLost++;
      this.flowFailed(f.serial[id]!, FAIL_BROKEN);
      return this.end(id);
    }
    this.nextRequest(id, ctx);
  }

  private nextRequest(id: number, ctx: TrafficContext): void {
    const f = this.pool;
    if (f.c[id]! > 0) {
      f.step[id] = REQUEST;
      ctx.schedule(Math.max(ctx.now, f.t[id]! + this.p.intervalUs), id);
      return;
    }
    const sent = this.p.mode === 'echo' ? this.p.count : 1;
    if (f.a[id]! >= sent) this.flowFailed(f.serial[id]!, FAIL_NEVER_ADMITTED);
    else this.flowSucceeded(f.serial[id]!);
    this.end(id);
  }

  private end(id: number): void {
    this.closeFlow(this.pool.serial[id]!);
    this.pool.release(id);
  }
}
