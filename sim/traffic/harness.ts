/**
 * A small driver for generator tests: real conntrack (`createConntrack`), its gc worker and one
 * Scheduler, like the Simulation but without metrics or policies. Generators are built from
 * scenario-style parameters through their real schemas (defaults included), and every packet
 * each generator sends can be recorded. Not used by the simulator itself.
 */
import { NF_ACCEPT, NF_DROP, NF_REJECT, type Conntrack } from '../conntrack/conntrack.js';
import { createConntrack, type ConntrackSetup } from '../conntrack/create.js';
import { GcWorker } from '../conntrack/gc.js';
import { Pkt } from '../conntrack/packet.js';
import { AddrInterner } from '../conntrack/addr.js';
import { CLASS_ATTACK, CLASS_LEGIT } from '../conntrack/stats.js';
import { RngStreams } from '../core/rng.js';
import { PRIO_GC, PRIO_PACKET, Scheduler } from '../core/scheduler.js';
import { formatPath, type Issue } from '../scenario/schema-dsl.js';
import type { Generator, TrafficContext } from './generator.js';
import { GENERATORS } from './registry.js';
import { Synproxy, type SynproxyInfo } from '../synproxy/synproxy.js';
import { SynproxyPath } from '../synproxy/path.js';

const KIND_GC = 0;
const KIND_GEN = 16;

/** Packet fields recorded per packet: time, proto, src, sport, dst, dport, flags, seq, ack, dataLen, verdict. */
export const RECORD_WIDTH = 11;

export interface HarnessOptions extends ConntrackSetup {
  /** Run end (µs): generators stop starting flows after it. @defaultValue 60 s */
  endUs?: number;
  /** Record every packet per generator. @defaultValue false */
  record?: boolean;
  /** Run the gc worker. @defaultValue true */
  gc?: boolean;
  /**
   * Put SYNPROXY in front of `port` with the selftest's rule shape (sim/synproxy/path.ts);
   * packets to `port` come from the client side. Needs `nf_conntrack_tcp_loose: 0`.
   */
  synproxy?: { info: SynproxyInfo; port: number };
}

export class Harness implements TrafficContext {
  readonly ct: Conntrack;
  readonly sched = new Scheduler();
  readonly pkt = new Pkt();
  /** IPv6 address ids of this harness's generators. */
  readonly addrs = new AddrInterner();
  readonly gens: Generator[] = [];
  /** Recorded packets per generator, RECORD_WIDTH numbers each. */
  readonly log: number[][] = [];
  readonly endUs: number;
  private readonly streams: RngStreams;
  private readonly gc: GcWorker | undefined;
  private current = 0;
  private started = false;
  /** The SYNPROXY path, when `synproxy` was given. */
  readonly proxy: SynproxyPath | undefined;

  constructor(private readonly opts: HarnessOptions = {}) {
    this.ct = createConntrack({ eventListener: false, ...opts });
    this.streams = new RngStreams(opts.seed ?? 1, opts.run ?? 0);
    this.endUs = opts.endUs ?? 60_000_000;
    this.gc = opts.gc === false ? undefined : new GcWorker(this.ct, 8192);
    const sp = opts.synproxy;
    this.proxy = sp === undefined ? undefined
      : new SynproxyPath(this.ct, new Synproxy(this.ct, this.streams.get('synproxy/cookie-secret')), sp.info, sp.port);
  }

  /**
   * Adds a generator of `kind` with scenario parameters (validated by its schema; throws listing
   * the issues). Its stream is `traffic/<label>` when labelled, else `traffic/<index>/<kind>`.
   */
  add(kind: string, params: Record<string, unknown>, o: { label?: string; cls?: 'legit' | 'attack' } = {}): Generator {
    const k = GENERATORS[kind];
    if (!k) throw new Error(`unknown generator kind ${kind}`);
    const issues: Issue[] = [];
    const index = this.gens.length;
    let spec = k.schema.validate(params, ['traffic', index], issues);
    if (spec !== undefined && k.check && !k.check(spec as Record<string, unknown>, ['traffic', index], issues)) spec = undefined;
    if (spec === undefined) throw new Error(issues.map((i) => `${i.path || formatPath(i.at)}: ${i.message}`).join('\n'));
    const cls = (o.cls ?? k.defaultClass) === 'attack' ? CLASS_ATTACK : CLASS_LEGIT;
    const stream = o.label !== undefined ? `traffic/${o.label}` : `traffic/${index}/${kind}`;
    const g = k.create(spec as Record<string, unknown>, {
      index, label: o.label ?? `${kind}#${index}`, cls, rng: this.streams.get(stream), endUs: this.endUs, addrs: this.addrs,
    });
    this.gens.push(g);
    this.log.push([]);
    return g;
  }

  get now(): number {
    return this.sched.now;
  }

  schedule(at: number, arg: number): void {
    this.sched.schedule(at, PRIO_PACKET, KIND_GEN + this.current, arg);
  }

  send(pkt: Pkt): number {
    this.ct.setNow(this.sched.now);
    const r = this.proxy === undefined ? this.ct.packetIn(pkt) : this.proxy.packet(pkt, pkt.dport === this.proxy.port);
    // NF_STOLEN (2): consumed by SYNPROXY (docs/synproxy.md §9)
    const v = r === NF_DROP || r === NF_REJECT ? 0 : r === NF_ACCEPT ? 1 : r;
    if (this.opts.record) {
      this.log[this.current]!.push(this.sched.now, pkt.proto, pkt.src, pkt.sport, pkt.dst, pkt.dport,
        pkt.tcpFlags, pkt.seq, pkt.ack, pkt.dataLen, v);
    }
    return v;
  }

  /** Runs to `untilUs` (default: the run end), starting the generators on the first call. */
  run(untilUs = this.endUs): this {
    const s = this.sched;
    if (!this.started) {
      this.started = true;
      if (this.gc) s.schedule(this.gc.firstRunUs(), PRIO_GC, KIND_GC, 0);
      for (const g of this.gens) {
        this.current = g.index;
        g.start(this);
      }
    }
    s.runUntil(untilUs, (kind, arg) => {
      if (kind >= KIND_GEN) {
        this.current = kind - KIND_GEN;
        this.gens[this.current]!.fire(arg, this);
      } else {
        s.schedule(this.gc!.run(s.now), PRIO_GC, KIND_GC, 0);
      }
    });
    this.ct.setNow(untilUs);
    return this;
  }

  /** Recorded packets of generator `i` as rows of RECORD_WIDTH numbers. */
  packets(i: number): number[][] {
    const l = this.log[i]!, out: number[][] = [];
    for (let k = 0; k < l.length; k += RECORD_WIDTH) out.push(l.slice(k, k + RECORD_WIDTH));
    return out;
  }
}
