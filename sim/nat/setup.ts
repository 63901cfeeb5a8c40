import type { AddrInterner } from '../conntrack/addr.js';
import type { Conntrack } from '../conntrack/conntrack.js';
import type { RngStreams } from '../core/rng.js';
import type { Routes, Ruleset } from '../rules/types.js';
import { Nat } from './nat.js';
import { RulesetDecider } from './ruleset-decider.js';

/** What turns NAT and the CPU race on for a conntrack instance. */
export interface NatSetup {
  version: readonly [number, number];
  /** A ruleset (cloned per run by the caller when shared); undefined: no NAT hook registered. */
  ruleset?: Ruleset | undefined;
  routes?: Routes | undefined;
  /** CPUs and confirm delay (µs) of the race model (docs/nat.md §3.3); 1 CPU = no race. */
  cpus?: number;
  confirmDelayUs?: number;
  /** The interner of the packets' IPv6 ids (replay): lets IPv6 packets be routed and IPv6 NAT addresses map. */
  interner?: AddrInterner;
}

/**
 * Installs the NAT core on `ct` when a ruleset is given or more than one CPU is modelled, and
 * returns it (undefined otherwise: the plain conntrack path, unchanged). Random draws come from
 * the substreams `nat/random` (`get_random_u16()`) and `nat/cpu` (which CPU a packet is on).
 */
export function setupNat(ct: Conntrack, s: NatSetup, streams: RngStreams): Nat | undefined {
  const cpus = s.cpus ?? 1;
  // a ruleset without type nat chains (filter only) registers no NAT hook
  const natRules = s.ruleset !== undefined && s.ruleset.hasNatChains();
  if (!natRules && cpus <= 1) return undefined;
  const rnd = streams.get('nat/random');
  const numgen = streams.get('nat/numgen');
  const decider = !natRules || s.ruleset === undefined ? undefined : new RulesetDecider(s.ruleset, s.routes, () => numgen.int32() >>> 0);
  if (decider !== undefined && s.interner !== undefined) decider.bindInterner(s.interner);
  const nat = new Nat(ct, {
    version: s.version,
    randomU16: () => rnd.below(65536),
    decider,
    sysctl: ct.sys,
    bysourceSeed: streams.get('nat/bysource-key').int32(),
  });
  if (cpus > 1) {
    const cpu = streams.get('nat/cpu');
    ct.enableRace(cpus, s.confirmDelayUs ?? 0, () => cpu.uniform());
  }
  return nat;
}
