import { IPPROTO_TCP, TH_ACK, TH_RST, TH_SYN } from '../conntrack/constants.js';
import type { Rng } from '../core/rng.js';
import type { Prefix, SourcePicker, SourceSpec } from './addresses.js';
import { familyOf, nthIn } from './addresses.js';
import { FlowPool } from './flow-pool.js';
import { BaseGenerator, FAIL_NEVER_ADMITTED, FAIL_TIMEOUT, sendCounted, type GeneratorInit, type TrafficContext } from './generator.js';
import { makeDelay, type DelaySampler } from './path.js';
import { Arrivals, type ArrivalKind, type RateSpec } from './rate.js';
import type { DelaySpec } from './schema-types.js';

export interface PortScanParams {
  rate: RateSpec;
  arrival: ArrivalKind;
  /**
   * The scanning host: the first address of a prefix; a list, a count or a botnet spreads the
   * probes over several scanners (one drawn per probe from the substream `sources`).
   */
  source: SourceSpec;
  /** Scanned addresses and ports: every (address, port) pair once per pass. */
  target: Prefix;
  ports: Int32Array;
  order: 'sequential' | 'random';
  /** Ports that answer SYN-ACK (the scanner then resets); others answer RST or nothing. */
  open: Int32Array;
  closed: 'rst' | 'silent';
  repeat: boolean;
  startUs: number;
  stopUs: number;
  clientRtt: DelaySpec;
  serverRtt: DelaySpec;
}

const ANSWER = 0, SCANNER_RST = 1;
const NEXT = -1;

/**
 * A SYN scan (nmap -sS) from one source: one SYN per (address, port), sequential or in a
 * scattered order (a full-cycle stride over the pairs). Open ports answer SYN-ACK and the
 * scanner resets (CLOSE, 10 s); closed ports answer RST (the entry is deleted, §4.6-12) or stay
 * silent (SYN_SENT, 120 s). Each probe is a started flow; it succeeds when answered.
 */
export class PortScan extends BaseGenerator {
  readonly kind = 'port-scan';
  private readonly p: PortScanParams;
  private readonly arrivals: Arrivals;
  private readonly cRtt: DelaySampler;
  private readonly sRtt: DelaySampler;
  private readonly pool = new FlowPool(64);
  private readonly openSet: Set<number>;
  private readonly n: number;
  private stride = 1;
  private offset = 0;
  private k = 0;
  /** Probes admitted whose answer is still to come. */
  private inFlight = 0;
  private readonly sport: number;
  /** The single scanner's address, or the picker and stream of several. */
  private readonly scanner: number;
  private readonly scanners: SourcePicker | undefined;
  private readonly scannerRng: Rng | undefined;

  constructor(init: GeneratorInit<PortScanParams>) {
    super(init);
    const p = init.params;
    this.p = { ...p, stopUs: Math.min(p.stopUs, init.endUs) };
    this.arrivals = new Arrivals(p.rate, p.arrival, p.startUs, this.p.stopUs, this.arng);
    this.cRtt = makeDelay(p.clientRtt);
    this.sRtt = makeDelay(p.serverRtt);
    this.openSet = new Set(p.open);
    const pk = this.picker('source', p.source);
    if (p.source.kind === 'prefix') {
      this.scanner = nthIn(p.source.prefix, 0, this.addrs);
    } else {
      this.scanner = 0;
      this.scanners = pk;
      this.scannerRng = this.substream('sources');
    }
    this.l3 = familyOf(p.target);
    this.n = Math.min(p.target.size * p.ports.length, 2 ** 31);
    this.sport = 32768 + this.rng.below(28232); // nmap keeps one source port per scan
    this.newPass();
  }

  /** A new order of the (address, port) pairs: a stride coprime to their number. */
  private newPass(): void {
    this.k = 0;
    if (this.p.order === 'sequential' || this.n < 3) { this.stride = 1; this.offset = 0; return; }
    const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
    let s = 1 + this.rng.below(this.n - 1);
    while (gcd(s, this.n) !== 1) s = 1 + this.rng.below(this.n - 1);
    this.stride = s;
    this.offset = this.rng.below(this.n);
  }

  start(ctx: TrafficContext): void {
    const t = this.arrivals.first();
    if (t >= 0) ctx.schedule(Math.max(t, ctx.now), NEXT);
  }

  override finish(): void {
    this.outcomes.unfinishedAdmitting = 0;
    this.outcomes.unfinishedInProgress = this.inFlight;
  }

  /** The scanner answers nothing but its own probes. */
  override endpointsAlive(): boolean {
    return false;
  }

  fire(arg: number, ctx: TrafficContext): void {
    if (arg !== NEXT) return this.answer(arg, ctx);
    const p = this.p, f = this.pool;
    const i = (this.offset + this.k * this.stride) % this.n;
    const port = p.ports[i % p.ports.length]!;
    const id = f.alloc();
    f.cAddr[id] = this.scanners ? this.scanners.next(this.scannerRng!) : this.scanner;
    f.cPort[id] = this.sport;
    f.sAddr[id] = nthIn(p.target, Math.floor(i / p.ports.length), this.addrs);
    f.sPort[id] = port;
    f.seqC[id] = this.rng.int32();
    f.serial[id] = this.serials++;
    f.cRtt[id] = this.cRtt(this.rng);
    this.outcomes.started++;
    this.tcp(ctx, id, true, TH_SYN, f.seqC[id]!, 0);
    const v = sendCounted(ctx, this.outcomes);
    const answered = this.openSet.has(port) || p.closed === 'rst';
    if (v !== 0 && answered) { f.step[id] = ANSWER; this.inFlight++; ctx.schedule(ctx.now + this.sRtt(this.rng), id); }
    else {
      // dropped by the firewall, or a silent port: the scanner's timeout ends the probe
      this.outcomes.fail(v === 0 ? FAIL_NEVER_ADMITTED : FAIL_TIMEOUT);
      f.release(id);
    }
    this.k++;
    if (this.k >= this.n) {
      if (!p.repeat) return;
      this.newPass();
    }
    const next = this.arrivals.next(ctx.now);
    if (next >= 0) ctx.schedule(next, NEXT);
  }

  private tcp(ctx: TrafficContext, id: number, fromScanner: boolean, flags: number, seq: number, ack: number): void {
    const f = this.pool;
    const pkt = this.head(ctx, IPPROTO_TCP, f.serial[id]!);
    if (fromScanner) { pkt.src = f.cAddr[id]!; pkt.sport = f.cPort[id]!; pkt.dst = f.sAddr[id]!; pkt.dport = f.sPort[id]!; }
    else { pkt.src = f.sAddr[id]!; pkt.sport = f.sPort[id]!; pkt.dst = f.cAddr[id]!; pkt.dport = f.cPort[id]!; }
    pkt.tcpFlags = flags;
    pkt.seq = seq >>> 0;
    pkt.ack = ack >>> 0;
    pkt.win = (flags & TH_RST) !== 0 ? 0 : 1024;
    pkt.len = 44;
  }

  private answer(id: number, ctx: TrafficContext): void {
    const f = this.pool;
    if (f.step[id] === SCANNER_RST) {
      this.tcp(ctx, id, true, TH_RST, f.seqC[id]! + 1, 0);
      sendCounted(ctx, this.outcomes);
      f.release(id);
      return;
    }
    const open = this.openSet.has(f.sPort[id]!);
    const seqS = this.rng.int32();
    this.tcp(ctx, id, false, open ? TH_SYN | TH_ACK : TH_RST | TH_ACK, open ? seqS : 0, f.seqC[id]! + 1);
    sendCounted(ctx, this.outcomes);
    this.inFlight--;
    this.outcomes.succeeded++;
    if (!open) { f.release(id); return; }
    f.step[id] = SCANNER_RST;
    ctx.schedule(ctx.now + f.cRtt[id]!, id);
  }
}
