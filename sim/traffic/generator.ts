import { afterSend } from './nat-view.js';
import { Rng } from '../core/rng.js';
import type { GeneratorEntry } from '../scenario/scenario.js';
import type { Conntrack } from '../conntrack/conntrack.js';
import type { Pkt } from '../conntrack/packet.js';
import type { Arrivals } from './rate.js';

/**
 * What a traffic generator sees of the simulation. Packets are sent through the firewall (the
 * conntrack model) at the current time; generators schedule their own future events (one
 * pending event per active flow, or one for a flood's next packet), never one per future packet.
 */
export interface TrafficContext {
  /** Current simulated time, µs. */
  readonly now: number;
  /** Schedules this generator's `fire(arg)` at absolute time `at` (µs, ≥ now). */
  schedule(at: number, arg: number): void;
  /** Passes a packet through conntrack at `now`; returns NF_ACCEPT (1) or NF_DROP (0). */
  send(pkt: Pkt): number;
  /** The firewall's conntrack (read-only use: lastCtinfo / lastSlot after `send`). */
  readonly ct: Conntrack;
  /** The shared scratch packet (no allocation per packet). */
  readonly pkt: Pkt;
}

/** Outcome counters every generator keeps, per flow class. */
export class FlowOutcomes {
  /** Flows (connections, queries) started. */
  started = 0;
  /** Flows that completed as intended. */
  succeeded = 0;
  /** Flows that gave up (all retries dropped, or refused). */
  failed = 0;
  /** Packets sent, and of those dropped by conntrack. */
  packets = 0;
  dropped = 0;
  /** Flows whose entry was gone when a packet of the established flow came (NAT mapping lost). */
  broken = 0;
  /** Time (µs) of the first dropped packet, or -1. */
  firstDropUs = -1;
}

export interface Generator {
  /** Position in the scenario's traffic list. */
  readonly index: number;
  readonly kind: string;
  readonly label: string;
  /** CLASS_LEGIT or CLASS_ATTACK. */
  readonly cls: number;
  readonly outcomes: FlowOutcomes;
  /** Schedules the first event(s). */
  start(ctx: TrafficContext): void;
  /** Handles one of this generator's events. */
  fire(arg: number, ctx: TrafficContext): void;
  /** Whether both endpoints of one of its flows (the flow id it put in `pkt.flow`) would answer a probe now. */
  endpointsAlive?(flow: number): boolean;
}

/** What a generator factory receives. */
export interface GeneratorInit<P> {
  index: number;
  params: P;
  label: string;
  cls: number;
  /** The generator's own random substream. */
  rng: Rng;
  /** Simulation end (µs): generators stop starting flows after it. */
  endUs: number;
}

/** Sends a packet and keeps the per-generator counters. */
export function sendCounted(ctx: TrafficContext, out: FlowOutcomes): number {
  out.packets++;
  const v = ctx.send(ctx.pkt);
  afterSend(ctx.pkt);
  if (v === 0) {
    out.dropped++;
    if (out.firstDropUs < 0) out.firstDropUs = ctx.now;
  }
  return v;
}

/** A generator kind: its scenario schema and a factory from the validated spec. */
export interface GeneratorKind extends GeneratorEntry {
  create(spec: Record<string, unknown>, init: Omit<GeneratorInit<unknown>, 'params'>): Generator;
}

/**
 * What every built-in generator shares: identity, outcome counters, its random stream, the
 * packet header (class, owner, flow serial), and which flows are still alive (for probes).
 */
export abstract class BaseGenerator implements Generator {
  abstract readonly kind: string;
  readonly outcomes = new FlowOutcomes();
  readonly index: number;
  readonly label: string;
  readonly cls: number;
  /** The generator's stream: reactions (loss, answer delays, later sizes). */
  protected readonly rng: Rng;
  /**
   * A child of the generator's own stream (`<key>#arrivals`) for everything drawn when a flow
   * arrives (times, addresses, ports, sizes fixed at arrival): the same flows arrive whatever
   * the firewall does to them, so policies are compared on common random numbers.
   */
  protected readonly arng: Rng;
  protected readonly endUs: number;
  /** alive[serial] = 1 while the flow's endpoints exist and its connection is open. */
  private alive = new Uint8Array(256);
  /** Flow serials handed out so far. */
  protected serials = 0;

  constructor(init: Omit<GeneratorInit<unknown>, 'params'>) {
    this.index = init.index;
    this.label = init.label;
    this.cls = init.cls;
    this.rng = init.rng;
    this.arng = new Rng(`${init.rng.key}#arrivals`);
    this.endUs = init.endUs;
  }

  abstract start(ctx: TrafficContext): void;
  abstract fire(arg: number, ctx: TrafficContext): void;

  /** A new flow serial, marked alive. */
  protected openFlow(): number {
    const s = this.serials++;
    if (s >= this.alive.length) { const a = new Uint8Array(this.alive.length * 2); a.set(this.alive); this.alive = a; }
    this.alive[s] = 1;
    return s;
  }

  /** The flow's endpoints no longer answer for it (closed, vanished, reset). */
  protected closeFlow(serial: number): void {
    if (serial >= 0 && serial < this.serials) this.alive[serial] = 0;
  }

  endpointsAlive(flow: number): boolean {
    return flow >= 0 && flow < this.serials && this.alive[flow] === 1;
  }

  /** Resets the scratch packet and fills the header fields every packet of this generator has. */
  protected head(ctx: TrafficContext, proto: number, flow: number): Pkt {
    const p = ctx.pkt.reset();
    p.proto = proto;
    p.cls = this.cls;
    p.owner = this.index + 1;
    p.flow = flow;
    return p;
  }
}

/** Event argument of an arrival generator's next-arrival event (flow ids are ≥ 0). */
export const NEXT_ARRIVAL = -1;

/**
 * A generator whose flows arrive by an arrival process: one pending next-arrival event, plus one
 * pending event per open flow, whose argument is the flow id. Subclasses open a flow (and send
 * its first packet) in `arrive`, and advance a flow in `step`; the next arrival is scheduled
 * after the new flow's own events.
 */
export abstract class ArrivalGenerator extends BaseGenerator {
  protected abstract readonly arrivals: Arrivals;

  start(ctx: TrafficContext): void {
    const t = this.arrivals.first();
    if (t >= 0) ctx.schedule(Math.max(t, ctx.now), NEXT_ARRIVAL);
  }

  fire(arg: number, ctx: TrafficContext): void {
    if (arg !== NEXT_ARRIVAL) return this.step(arg, ctx);
    this.arrive(ctx);
    const next = this.arrivals.next(ctx.now);
    if (next >= 0) ctx.schedule(next, NEXT_ARRIVAL);
  }

  /** Opens a new flow at `ctx.now`. */
  protected abstract arrive(ctx: TrafficContext): void;
  /** One event of flow `id`. */
  protected abstract step(id: number, ctx: TrafficContext): void;
}
