import { KERNEL_EARLY_DROP, type Conntrack } from '../sim/conntrack/conntrack.js';
import type { Pkt } from '../sim/conntrack/packet.js';
import type { Rng } from '../sim/core/rng.js';
import type { Policy, PolicyHooks, PolicyKind } from './policy.js';

/** What the simulation offers a stack of policies. */
export interface StackEnv {
  ct: Conntrack;
  rng: (name: string) => Rng;
  now(): number;
  /** Schedules policy `index`'s `fire(arg)` at `atUs`. */
  schedule(index: number, atUs: number, arg: number): void;
  endpointsAlive(slot: number): boolean;
}

/**
 * Installs policies in order and composes their hooks into the core's:
 * - victim choice: each policy's chooser in order; the first that names victims (n > 0) or
 *   refuses (0) decides; KERNEL_EARLY_DROP passes on to the next, and after the last the
 *   kernel's early_drop runs;
 * - timeouts: applied in order, each seeing the previous one's result;
 * - gc visits: the entry is evicted if any policy says so (first wins);
 * - timeout-set attachment: the first non-zero answer.
 * With no hooks installed (the `kernel` policy alone) the core runs exactly as without policies.
 */
export function installPolicies(specs: readonly { name: string; [k: string]: unknown }[], kinds: Readonly<Record<string, PolicyKind>>, env: StackEnv): Policy[] {
  const all: { p: Policy; h: PolicyHooks }[] = [];
  specs.forEach((spec, index) => {
    const kind = kinds[spec.name];
    if (!kind) throw new RangeError(`unknown policy ${spec.name}`);
    const p = kind.create(spec);
    const h: PolicyHooks = {};
    p.install({
      ct: env.ct, hooks: h, rng: env.rng(`policy/${index}/${spec.name}`),
      now: env.now, schedule: (at, arg) => env.schedule(index, at, arg), endpointsAlive: env.endpointsAlive,
    });
    all.push({ p, h });
  });
  const choosers = all.map((x) => x.h.chooseVictims).filter((f) => f !== undefined);
  const timeouts = all.map((x) => x.h.timeout).filter((f) => f !== undefined);
  const visits = all.map((x) => x.h.gcVisit).filter((f) => f !== undefined);
  const attach = all.map((x) => x.h.timeoutPolicyFor).filter((f) => f !== undefined);
  const ct = env.ct;
  if (choosers.length === 1) ct.hooks.chooseVictims = choosers[0]!;
  else if (choosers.length > 1) {
    ct.hooks.chooseVictims = (b: number, out: Int32Array) => {
      for (const f of choosers) {
        const n = f(b, out);
        if (n !== KERNEL_EARLY_DROP) return n;
      }
      return KERNEL_EARLY_DROP;
    };
  }
  if (timeouts.length === 1) ct.hooks.timeout = timeouts[0]!;
  else if (timeouts.length > 1) ct.hooks.timeout = (s: number, t: number) => timeouts.reduce((acc, f) => f(s, acc), t);
  if (visits.length === 1) ct.hooks.gcVisit = visits[0]!;
  else if (visits.length > 1) ct.hooks.gcVisit = (s: number) => visits.some((f) => f(s));
  if (attach.length === 1) ct.timeoutPolicyFor = attach[0]!;
  else if (attach.length > 1) {
    ct.timeoutPolicyFor = (pkt: Pkt) => {
      for (const f of attach) { const i = f(pkt); if (i !== 0) return i; }
      return 0;
    };
  }
  return all.map((x) => x.p);
}
