import type { Rng } from '../sim/core/rng.js';
import type { Conntrack, PressureHooks } from '../sim/conntrack/conntrack.js';
import type { Pkt } from '../sim/conntrack/packet.js';
import type { ObjSchema } from '../sim/scenario/schema-dsl.js';

/**
 * A table-pressure policy (see policies/README.md). It is installed into one conntrack instance
 * at the start of a run and acts only through the hook points the core exposes (victim choice
 * when full, timeout at refresh, gc visit, timeout-set attachment), by returning decisions the
 * core applies and counts. It may also keep its own timed events
 * (keepalive probes) through the context. Its randomness comes from its own named substream.
 */
export interface Policy {
  readonly name: string;
  install(ctx: PolicyContext): void;
  /** Handles one of the policy's own events (scheduled with `ctx.schedule`). */
  fire?(arg: number): void;
  /** Policy-specific counters for the summary (e.g. probes sent). */
  counters?(): Record<string, number>;
}

/** The hooks one policy fills in; the stack composes every policy's hooks into the core's. */
export interface PolicyHooks extends PressureHooks {
  /** Attach a timeout set (index from `ct.addTimeoutPolicy`) to a new entry; 0 = none. */
  timeoutPolicyFor?: (pkt: Pkt) => number;
}

export interface PolicyContext {
  /** The conntrack instance. Policies read it; they change it only through hooks and the probe methods. */
  readonly ct: Conntrack;
  /** Where this policy installs its hooks. */
  readonly hooks: PolicyHooks;
  readonly rng: Rng;
  /** Current time, µs. */
  now(): number;
  /** Schedules this policy's `fire(arg)` at `atUs`. */
  schedule(atUs: number, arg: number): void;
  /** Whether both endpoints of the entry's flow would answer a probe now. */
  endpointsAlive(slot: number): boolean;
}

/** A policy kind: scenario schema for its parameters, and a factory. */
export interface PolicyKind {
  readonly summary: string;
  readonly schema: ObjSchema;
  create(params: Record<string, unknown>): Policy;
}
