import { afterSend } from './nat-view.js';
import { Rng } from '../core/rng.js';
import { AddrInterner } from '../conntrack/addr.js';
import { familyOf, SourcePicker, type Prefix, type SourceSpec } from './addresses.js';
import type { ClientFlowSpec } from './flow-pool.js';
import type { GeneratorEntry } from '../scenario/scenario.js';
import { NF_REJECT, type Conntrack } from '../conntrack/conntrack.js';
import type { Pkt } from '../conntrack/packet.js';
import type { Arrivals } from './rate.js';
import { LatencyRecorder } from '../core/latency.js';

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
  /** Passes a packet through the firewall at `now`; returns NF_ACCEPT (1), NF_DROP (0), or NF_STOLEN (2): consumed by SYNPROXY, which answered it (docs/synproxy.md §9). */
  send(pkt: Pkt): number;
  /** The firewall's conntrack (read-only use: lastCtinfo / lastSlot after `send`). */
  readonly ct: Conntrack;
  /** The shared scratch packet (no allocation per packet). */
  readonly pkt: Pkt;
}

/** Why a flow failed (indices into `FlowOutcomes.failedBy`, names in FAIL_REASONS). */
export const FAIL_NEVER_ADMITTED = 0;
export const FAIL_DROPPED = 1;
export const FAIL_BROKEN = 2;
export const FAIL_RESET = 3;
export const FAIL_TIMEOUT = 4;
/**
 * never_admitted: every attempt's first packet was dropped by the firewall (no entry, ever);
 * dropped: admitted, but a later packet of the flow was dropped or found its entry gone before
 * the flow was established (e.g. the SYN_SENT entry evicted before the SYN-ACK);
 * broken: an established flow lost its entry (its NAT mapping); reset: refused by the peer;
 * timeout: the application gave up although the firewall passed its packets (lost answers, a
 * silent server).
 */
export const FAIL_REASONS = ['never_admitted', 'dropped', 'broken', 'reset', 'timeout'] as const;

/** Flow phases, per flow serial (see BaseGenerator). */
export const PHASE_ENDED = 0, PHASE_ADMITTING = 1, PHASE_IN_PROGRESS = 2;

/**
 * Outcome counters every generator keeps, per flow class. Every started flow ends in exactly
 * one outcome: succeeded, failed (with one reason), or unfinished when the run ended (still
 * being admitted, or in progress normally): started = succeeded + failed + unfinished.
 */
export class FlowOutcomes {
  /** Flows (connections, queries) started. */
  started = 0;
  /** Flows that completed as intended. */
  succeeded = 0;
  /** Flows that failed, = the sum of `failedBy`. */
  failed = 0;
  /** failed, by reason (FAIL_REASONS order). */
  readonly failedBy = new Float64Array(FAIL_REASONS.length);
  /** Flows still open when the run ended: not yet admitted (e.g. retrying their SYN), and admitted. Set at the end of the run. */
  unfinishedAdmitting = 0;
  unfinishedInProgress = 0;
  /** Packets sent, and of those dropped by conntrack. */
  packets = 0;
  dropped = 0;
  /** Failed flows whose reason is `broken` (an established flow lost its entry / NAT mapping); a subset of `failed`. */
  get broken(): number { return this.failedBy[FAIL_BROKEN]!; }
  /**
   * Events where a packet of an admitted flow found its entry gone, whatever the flow's outcome
   * (a DNS answer that lost its entry may still succeed on a retry).
   */
  entryLost = 0;
  /** Time (µs) of the first dropped packet, or -1. */
  firstDropUs = -1;
  /** Connection setup (first SYN to established, client's view), DNS resolution (first query to answer, retries included), request completion (first SYN to last response); null for generators without one. */
  setup: LatencyRecorder | null = null;
  resolve: LatencyRecorder | null = null;
  completion: LatencyRecorder | null = null;
  /**
   * untracked_when_full (docs/rules.md §9): flows that had a packet passed untracked at a full
   * table, and of those the ones that then failed or succeeded.
   */
  untrackedFullFlows = 0;
  untrackedFullFailed = 0;
  untrackedFullSucceeded = 0;
  private uf = new Uint8Array(0);
  /** Marks flow serial `flow` as having had a packet passed untracked at a full table. */
  markUntrackedFull(flow: number): void {
    if (flow >= this.uf.length) { const a = new Uint8Array(Math.max(256, 2 * (flow + 1))); a.set(this.uf); this.uf = a; }
    if (this.uf[flow] === 0) { this.uf[flow] = 1; this.untrackedFullFlows++; }
  }
  /** Whether flow serial `flow` had a packet passed untracked at a full table. */
  untrackedFullOf(flow: number): boolean {
    return flow >= 0 && flow < this.uf.length && this.uf[flow] === 1;
  }
  /** Counts one failure. */
  fail(reason: number): void {
    this.failed++;
    this.failedBy[reason]!++;
  }
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
  /** At the end of the run: counts the flows still open into `outcomes.unfinished*`. */
  finish?(): void;
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
  /** The run's IPv6 address interner, shared by all generators (a private one if absent). */
  addrs?: AddrInterner;
}

/** IPv6 header (40 bytes) minus IPv4 header (20 bytes). */
export const IPV6_EXTRA_HEADER_BYTES = 20;

/**
 * Sends a packet and keeps the per-generator counters.
 *
 * Built-in generators set `pkt.len` as the IPv4 packet's length (20-byte header). For an IPv6
 * packet (`l3` = 6) this adds the 20 bytes by which IPv6's 40-byte header is longer, and 20 more
 * for an ICMPv6 error, whose embedded packet starts with an IPv6 header too; the length is put
 * back after the send, so a generator may send the same scratch packet again. `lenIsIPv4` false
 * (captures): `pkt.len` already is the packet's own length.
 */
export function sendCounted(ctx: TrafficContext, out: FlowOutcomes, lenIsIPv4 = true): number {
  out.packets++;
  const pkt = ctx.pkt;
  const extra = lenIsIPv4 && pkt.l3 === 6 ? (pkt.innerValid ? 2 * IPV6_EXTRA_HEADER_BYTES : IPV6_EXTRA_HEADER_BYTES) : 0;
  pkt.len += extra;
  const flow = pkt.flow;
  const v = ctx.send(pkt);
  pkt.len -= extra;
  if (flow >= 0 && ctx.ct.lastUntrackedFull) out.markUntrackedFull(flow);
  afterSend(pkt);
  if (v === 0) {
    out.dropped++;
    if (out.firstDropUs < 0) out.firstDropUs = ctx.now;
  }
  return v;
}

/**
 * Whether the packet just sent (verdict 0) was refused by a `reject` rule whose RST / ICMP
 * error reached the sender (docs/rules.md §8.8): the client learns of it at once (TCP: ECONNREFUSED
 * / ECONNRESET, UDP: ECONNREFUSED on a connected socket) instead of retrying or timing out.
 */
export function rejected(ctx: TrafficContext): boolean {
  return ctx.ct.lastVerdict === NF_REJECT;
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
  /** phase[serial]: PHASE_ADMITTING, PHASE_IN_PROGRESS, or PHASE_ENDED once its outcome is counted. */
  private phase = new Uint8Array(256);
  /** The run's IPv6 address interner (ids of IPv6 addresses in `Pkt.src`/`dst`). */
  protected readonly addrs: AddrInterner;
  /** Address family of this generator's packets (4 or 6), set by generators with IPv6 fields. */
  protected l3: 4 | 6 = 4;

  constructor(init: Omit<GeneratorInit<unknown>, 'params'>) {
    this.index = init.index;
    this.label = init.label;
    this.cls = init.cls;
    this.rng = init.rng;
    this.arng = new Rng(`${init.rng.key}#arrivals`);
    this.endUs = init.endUs;
    this.addrs = init.addrs ?? new AddrInterner();
  }

  /**
   * A named substream of the generator's stream for draws made once at construction (the hosts
   * of `clients: 500`), so they shift none of the per-flow draws.
   */
  protected substream(name: string): Rng {
    return new Rng(`${this.rng.key}#${name}`);
  }

  abstract start(ctx: TrafficContext): void;
  abstract fire(arg: number, ctx: TrafficContext): void;

  /**
   * A picker for an address field given as a source spec (`clients`, `source`): the hosts of a
   * count or botnet are drawn from the substream `hosts/<field>`. Sets the generator's address
   * family from it (the schema checks that all of a generator's addresses share one).
   */
  protected picker(field: string, spec: SourceSpec): SourcePicker {
    const pk = new SourcePicker(spec, this.substream(`hosts/${field}`), this.addrs);
    this.l3 = pk.family;
    return pk;
  }

  /** The endpoints of client → server flows: clients from a source spec, servers from a prefix. */
  protected clientFlows(clients: SourceSpec, server: Prefix, port: number): ClientFlowSpec {
    const c = this.picker('clients', clients);
    this.l3 = familyOf(server);
    return { clients: c, server, port, addrs: this.addrs };
  }

  /** A new flow serial, marked alive. */
  protected openFlow(): number {
    const s = this.serials++;
    if (s >= this.alive.length) {
      const a = new Uint8Array(this.alive.length * 2); a.set(this.alive); this.alive = a;
      const ph = new Uint8Array(a.length); ph.set(this.phase); this.phase = ph;
    }
    this.alive[s] = 1;
    return s;
  }

  /** Counts a flow started on `serial` (its first packet is still to be admitted). */
  protected flowStarted(serial: number): void {
    this.outcomes.started++;
    this.phase[serial] = PHASE_ADMITTING;
  }

  /** Another activity on an open flow (idle flows resuming): started, already admitted. */
  protected flowResumed(serial: number): void {
    this.outcomes.started++;
    this.phase[serial] = PHASE_IN_PROGRESS;
  }

  /** The flow's first packet got through (it has an entry): in progress. */
  protected flowAdmitted(serial: number): void {
    if (this.phase[serial] === PHASE_ADMITTING) this.phase[serial] = PHASE_IN_PROGRESS;
  }

  /** Whether the flow has an activity without an outcome yet. */
  protected isOpen(serial: number): boolean {
    return this.phase[serial] !== PHASE_ENDED;
  }

  /** Whether the flow's first packet ever got through. */
  protected wasAdmitted(serial: number): boolean {
    return this.phase[serial] === PHASE_IN_PROGRESS;
  }

  /** Counts the flow's outcome: succeeded. A second outcome for one flow is a bug. */
  protected flowSucceeded(serial: number): void {
    this.endPhase(serial);
    this.outcomes.succeeded++;
    if (this.outcomes.untrackedFullOf(serial)) this.outcomes.untrackedFullSucceeded++;
  }

  /** Counts the flow's outcome: failed for `reason` (FAIL_*). */
  protected flowFailed(serial: number, reason: number): void {
    this.endPhase(serial);
    this.outcomes.fail(reason);
    if (this.outcomes.untrackedFullOf(serial)) this.outcomes.untrackedFullFailed++;
  }

  private endPhase(serial: number): void {
    if (this.phase[serial] === PHASE_ENDED) throw new Error(`${this.label}: flow ${serial} got a second outcome`);
    this.phase[serial] = PHASE_ENDED;
  }

  /** Counts the flows without an outcome at the end of the run, by phase. */
  finish(): void {
    let adm = 0, prog = 0;
    for (let s = 0; s < this.serials; s++) {
      const ph = this.phase[s];
      if (ph === PHASE_ADMITTING) adm++;
      else if (ph === PHASE_IN_PROGRESS) prog++;
    }
    this.outcomes.unfinishedAdmitting = adm;
    this.outcomes.unfinishedInProgress = prog;
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
    p.l3 = this.l3;
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
