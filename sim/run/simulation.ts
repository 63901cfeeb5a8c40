import { Conntrack, NF_DROP, NF_REJECT, NF_STOLEN } from '../conntrack/conntrack.js';
import { Synproxy } from '../synproxy/synproxy.js';
import { createConntrack } from '../conntrack/create.js';
import { GcWorker } from '../conntrack/gc.js';
import { Pkt } from '../conntrack/packet.js';
import { AddrInterner } from '../conntrack/addr.js';
import { CLASS_ATTACK, CLASS_LEGIT } from '../conntrack/stats.js';
import { RngStreams } from '../core/rng.js';
import { PRIO_GC, PRIO_PACKET, PRIO_SAMPLE, PRIO_URGENT, Scheduler } from '../core/scheduler.js';
import { applyAction, type ActionHost, type ActionRecord } from './actions.js';
import { RulesetDecider } from '../nat/ruleset-decider.js';
import type { RuleInfo } from '../rules/types.js';
import type { Scenario } from '../scenario/scenario.js';
import type { Generator, TrafficContext } from '../traffic/generator.js';
import type { GeneratorKind } from '../traffic/registry.js';
import { installPolicies, type Policy, type PolicyKind } from '../../policies/index.js';
import { Metrics } from './metrics.js';
import { FP_CHECKPOINT_EVERY, Fingerprint, type TraceRecorder } from './fingerprint.js';
import type { Nat } from '../nat/nat.js';
import { setupNat } from '../nat/setup.js';
import { setupRules, type RulesetPath } from '../rules/path.js';
import type { LoadedRuleset } from '../rules/ruleset.js';
import { parseKernelVersion } from '../conntrack/create.js';

const KIND_GC = 0;
const KIND_SAMPLE = 1;
/** An operator action (arg: its index in `scenario.actions`). */
const KIND_ACTION = 2;
/**
 * Operator actions run first at their microsecond (PRIO_URGENT): before the packets, the gc
 * worker and the sample of that instant, so a sysctl written at t applies to a packet at t and
 * the sample at t shows the table after the action (docs/model.md §14).
 */
const PRIO_ACTION = PRIO_URGENT;
const KIND_POLICY = 8;
const KIND_GEN = 16;
/** Policy events (keepalive probes) rank with the gc worker: after packets of the same instant. */
const PRIO_POLICY = PRIO_GC;

/** The generator and policy kinds a run may use (injected: the core does not import policies/). */
export interface Registries {
  generators: Readonly<Record<string, GeneratorKind>>;
  policies: Readonly<Record<string, PolicyKind>>;
}

/**
 * One run of a scenario: a conntrack instance, its gc worker, the traffic generators and the
 * sampler on one event clock. Pure: no I/O; `run()` returns everything the writers need.
 */
export class Simulation implements TrafficContext {
  readonly ct: Conntrack;
  readonly gc: GcWorker;
  readonly sched = new Scheduler();
  readonly gens: Generator[];
  readonly metrics: Metrics;
  readonly policies: Policy[];
  readonly pkt = new Pkt();
  /** IPv6 addresses of this run as int32 ids (generators and captures share it; listings format with it). */
  readonly addrs = new AddrInterner();
  /** The NAT core, when the scenario has a ruleset or models more than one CPU (docs/nat.md). */
  readonly nat: Nat | undefined;
  /** This run's copy of the scenario's ruleset (per-rule counters `packets`/`bytes`/`drops`), when it has one. */
  readonly ruleset: LoadedRuleset | undefined;
  /** The filter/raw rule path, when the ruleset has `type filter` chains (docs/rules.md §8). */
  readonly rulePath: RulesetPath | undefined;
  /** The SYNPROXY engine, when the ruleset has a `synproxy` statement (docs/synproxy.md). */
  readonly synproxy: Synproxy | undefined;
  readonly endUs: number;
  private readonly sampleUs: number;
  /** What each operator action did, in the order they ran (summary.json `actions`). */
  readonly actionLog: ActionRecord[] = [];
  /**
   * Every rule the run's NAT decisions can name, by reported id: the scenario ruleset's, then
   * those of each ruleset an action loaded, numbered on (summary.json `nat.rules`).
   */
  readonly ruleInfos: RuleInfo[] = [];
  private readonly actionHost: ActionHost = {
    replaceRuleset: (rs) => {
      const d = this.nat?.decider;
      if (!(d instanceof RulesetDecider)) throw new Error('a ruleset action needs the scenario\'s ruleset (NAT core)');
      const base = this.ruleInfos.length;
      for (const r of rs.rules) this.ruleInfos.push({ ...r, id: r.id + base });
      d.replaceRuleset(rs, base);
      // the filter/raw chains come from the new ruleset too (nft -f replaces every table)
      this.ct.rules = undefined;
      setupRules(this.ct, rs, this.scenario.routes, this.addrs);
      return base;
    },
  };

  constructor(readonly scenario: Scenario, readonly run: number, reg: Registries) {
    const sc = scenario;
    const streams = new RngStreams(sc.seed, run);
    this.ct = createConntrack({
      version: sc.kernel.version, hz: sc.kernel.hz, memory: sc.kernel.memory, sysctl: sc.sysctl,
      seed: sc.seed, run, eventListener: false,
      ...(sc.kernel.hashsize !== undefined ? { hashsize: sc.kernel.hashsize } : {}),
    });
    // one ruleset per run (its counters and rule state), shared by NAT and the filter path
    this.ruleset = sc.ruleset?.clone();
    this.nat = setupNat(this.ct, {
      version: parseKernelVersion(sc.kernel.version), ruleset: this.ruleset, routes: sc.routes,
      cpus: sc.kernel.cpus, confirmDelayUs: sc.kernel.confirm_delay,
    }, streams);
    if (sc.ruleset !== undefined) this.ruleInfos.push(...sc.ruleset.rules);
    // SYNPROXY (docs/synproxy.md): the engine with this run's cookie secret, before the ruleset binds
    if (this.ruleset?.rules.some((r) => /(^|\s)synproxy(\s|$)/.test(r.text))) {
      this.synproxy = new Synproxy(this.ct, streams.get('synproxy/cookie-secret'));
    }
    this.rulePath = setupRules(this.ct, this.ruleset, sc.routes);
    if (sc.kernel.untracked_when_full === true) {
      // the paper's error-handling proposal (docs/rules.md §9)
      this.ct.untrackedWhenFull = true;
      const d = this.nat?.decider as RulesetDecider | undefined;
      this.ct.natNeedsEntry = d !== undefined && d instanceof RulesetDecider ? (p) => d.needsEntry(p) : undefined;
    }
    this.gc = new GcWorker(this.ct, sc.kernel.gc_buckets_per_ms);
    this.endUs = sc.duration;
    this.sampleUs = sc.sample_interval;
    this.gens = sc.traffic.map((spec, index) => {
      const kind = reg.generators[spec.kind];
      if (!kind) throw new Error(`unknown generator kind ${spec.kind}`);
      const label = spec.label ?? `${spec.kind}#${index}`;
      return kind.create(spec, {
        index, label, cls: spec.class === 'attack' ? CLASS_ATTACK : CLASS_LEGIT,
        // a labelled generator's stream is named by its label, so inserting another generator
        // anywhere in the list leaves its draws unchanged (labels are unique, checked at load)
        rng: streams.get(spec.label !== undefined ? `traffic/label/${spec.label}` : `traffic/${index}/${spec.kind}`), endUs: this.endUs, addrs: this.addrs,
      });
    });
    this.policies = installPolicies(sc.policies, reg.policies, {
      ct: this.ct,
      rng: (name) => streams.get(name),
      now: () => this.sched.now,
      schedule: (index, at, arg) => this.sched.schedule(at, PRIO_POLICY, KIND_POLICY + index, arg),
      endpointsAlive: (slot) => this.endpointsAlive(slot),
    });
    this.metrics = new Metrics(this.ct, this.gens);
    const nat = this.nat;
    if (nat !== undefined) this.metrics.natUtil = () => nat.usage.maxUtilisation();
    // The metrics observe the table; destroyed entries also feed the trajectory fingerprint.
    const m = this.metrics;
    this.ct.observer = {
      confirmed: (slot) => m.confirmed(slot),
      destroyed: (slot, reason) => {
        this.fp.destroy(this.sched.now, slot, reason, this.ct.table);
        m.destroyed(slot, reason);
      },
    };
  }

  /**
   * The trajectory fingerprint: a 64-bit hash over every packet's verdict and every entry's
   * removal, in order (see fingerprint.ts). `fingerprint` is its hex form.
   */
  readonly fp = new Fingerprint(FP_CHECKPOINT_EVERY);
  get fingerprint(): string {
    return this.fp.hex();
  }
  /** Records fingerprinted events in the recorder's window while the run goes on (`ctsim regress --explain`). */
  recordEvents(rec: TraceRecorder): void {
    this.fp.recorder = rec;
  }

  /**
   * Whether both endpoints of an entry's flow would answer a probe: asks the generator that
   * created it; flows of generators that do not say are alive unless they are attack traffic
   * (spoofed sources never answer). Entries from captures count as alive.
   */
  endpointsAlive(slot: number): boolean {
    const owner = this.ct.ownerOf(slot);
    if (owner === 0) return true;
    const g = this.gens[owner - 1]!;
    return g.endpointsAlive ? g.endpointsAlive(this.ct.flowOf(slot)) : g.cls !== CLASS_ATTACK;
  }

  // TrafficContext
  get now(): number {
    return this.sched.now;
  }
  private current = 0;
  schedule(at: number, arg: number): void {
    this.sched.schedule(at, PRIO_PACKET, KIND_GEN + this.current, arg);
  }
  /** Time (µs) of the last attack-class packet sent, -1 if none. */
  lastAttackUs = -1;
  send(pkt: Pkt): number {
    pkt.owner = this.current + 1;
    if (pkt.cls === CLASS_ATTACK) this.lastAttackUs = this.sched.now;
    this.ct.setNow(this.sched.now);
    const v = this.ct.packetIn(pkt);
    const verdict = v === NF_DROP || v === NF_REJECT ? 0 : 1;
    this.fp.packet(this.sched.now, pkt, verdict, this.ct);
    // a packet the proxy consumed (NF_STOLEN): the generator continues with what it sent
    return v === NF_STOLEN ? NF_STOLEN : verdict;
  }

  /**
   * Runs to the scenario's end. `progress`, if given, is called 200 times along the way with the
   * simulated time reached and the events dispatched (for a progress bar); it cannot affect the
   * run, because the clock only stops at slice boundaries between events.
   */
  runToEnd(progress?: (simUs: number, events: number) => void): void {
    for (const t of this.slices(progress ? 200 : 1)) progress?.(t, this.sched.eventsDispatched);
  }

  /**
   * Runs to the scenario's end in `n` slices of simulated time, yielding the time reached after
   * each (the CLI yields to the event loop there, so a signal can stop it). Slicing cannot affect
   * the run: the clock only stops at slice boundaries between events.
   */
  /** The run's end: the clock at `endUs`, and every generator closes its flows' accounts. */
  private finish(): void {
    this.ct.setNow(this.endUs);
    for (const g of this.gens) g.finish?.();
  }

  *slices(n: number): IterableIterator<number> {
    const s = this.sched;
    s.schedule(this.gc.firstRunUs(), PRIO_GC, KIND_GC, 0);
    s.schedule(0, PRIO_SAMPLE, KIND_SAMPLE, 0);
    (this.scenario.actions ?? []).forEach((a, i) => s.schedule(a.at, PRIO_ACTION, KIND_ACTION, i));
    for (const g of this.gens) {
      this.current = g.index;
      g.start(this);
    }
    const dispatch = (kind: number, arg: number): void => {
      if (kind >= KIND_GEN) {
        this.current = kind - KIND_GEN;
        this.gens[this.current]!.fire(arg, this);
      } else if (kind >= KIND_POLICY) {
        this.policies[kind - KIND_POLICY]!.fire?.(arg);
      } else if (kind === KIND_GC) {
        s.schedule(this.gc.run(s.now), PRIO_GC, KIND_GC, 0);
      } else if (kind === KIND_ACTION) {
        this.ct.setNow(s.now);
        this.actionLog.push(applyAction(this.ct, this.scenario.actions![arg]!, this.addrs, this.actionHost));
      } else {
        this.metrics.sample(s.now);
        const next = s.now + this.sampleUs;
        if (next <= this.endUs) s.schedule(next, PRIO_SAMPLE, KIND_SAMPLE, 0);
      }
    };
    if (n <= 1) {
      s.runUntil(this.endUs, dispatch);
      this.finish();
      yield this.endUs;
      return;
    }
    const slice = Math.max(1, Math.floor(this.endUs / n));
    let t = 0;
    while (t < this.endUs) {
      t = Math.min(this.endUs, t + slice);
      s.runUntil(t, dispatch);
      if (t === this.endUs) this.finish();
      yield t;
    }
  }
}
