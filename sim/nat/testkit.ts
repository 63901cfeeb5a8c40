/**
 * Test helpers for the NAT core: a small conntrack with NAT installed, a fixed-rule decider,
 * and scripted `get_random_u16()` draws. Not used by the simulator itself.
 */
import { Conntrack } from '../conntrack/conntrack.js';
import { createConntrack } from '../conntrack/create.js';
import type { Pkt } from '../conntrack/packet.js';
import { NF_INET_POST_ROUTING, NF_INET_PRE_ROUTING, type NatRange } from './constants.js';
import { Nat, NAT_NO_RULE, type NatDecider } from './nat.js';

/** A range literal. */
export function range(flags: number, minAddr: number, maxAddr: number, minProto = 0, maxProto = 0): NatRange {
  return { flags, minAddr, maxAddr, minProto, maxProto, baseProto: 0 };
}

/**
 * One SNAT rule (postrouting, for sources in `snatFrom`) and one DNAT rule (prerouting, for
 * destinations equal to `dnatTo`; `dnat` may be a function of the packet, e.g. to alternate
 * endpoints). Rule ids: SNAT 0, DNAT 1.
 */
export class FixedDecider implements NatDecider {
  snat: NatRange | undefined;
  snatFrom: (src: number) => boolean = () => true;
  masq = false;
  dnat: NatRange | ((pkt: Pkt) => NatRange) | undefined;
  dnatTo: number | undefined;
  decide(hook: number, pkt: Pkt, r: NatRange, out: { masq: boolean }): number {
    if (hook === NF_INET_POST_ROUTING && this.snat !== undefined && this.snatFrom(pkt.src)) {
      Object.assign(r, this.snat);
      out.masq = this.masq;
      return 0;
    }
    if (hook === NF_INET_PRE_ROUTING && this.dnat !== undefined && pkt.dst === this.dnatTo) {
      Object.assign(r, typeof this.dnat === 'function' ? this.dnat(pkt) : this.dnat);
      return 1;
    }
    return NAT_NO_RULE;
  }
}

/** Scripted 16-bit draws (then a counter from `next`, so no run depends on an ambient random source). */
export class Draws {
  private q: number[] = [];
  next = 0;
  calls = 0;
  push(...v: number[]): this { this.q.push(...v); return this; }
  draw = (): number => { this.calls++; return this.q.length > 0 ? this.q.shift()! : (this.next++ & 0xffff); };
}

export interface NatCtOptions {
  version?: string;
  max?: number;
  buckets?: number;
  decider?: NatDecider | undefined;
  draws?: Draws;
  sysctl?: Record<string, number>;
}

/** A conntrack instance with the NAT core installed. */
export function natCt(o: NatCtOptions = {}): { ct: Conntrack; nat: Nat; draws: Draws } {
  const version = o.version ?? '6.12';
  const ct = createConntrack({
    version, seed: 7,
    sysctl: { nf_conntrack_max: o.max ?? 65536, nf_conntrack_buckets: o.buckets ?? 16384, ...(o.sysctl ?? {}) },
  });
  const draws = o.draws ?? new Draws();
  const [maj, min] = version.split('.').map(Number) as [number, number];
  const nat = new Nat(ct, { version: [maj, min], randomU16: draws.draw, decider: o.decider, sysctl: ct.sys });
  return { ct, nat, draws };
}
