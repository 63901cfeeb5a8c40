/**
 * Variant arms (`variants:` in a scenario, `ctsim compare --arms`): the scenario an arm runs.
 * A variant replaces the ruleset and the policies and merges sysctls and kernel options over
 * the scenario's; everything else (seed, duration, traffic, routes) is the scenario's own, so
 * every arm sees identical traffic (same seed and run index → same generator substreams).
 */
import type { PolicySpec, Scenario, Variant } from '../scenario/scenario.js';

/** What an arm needs to build its scenario: its policies and, for a variant arm, the variant's name. */
export interface ArmSpec {
  policies: PolicySpec[];
  /** Name of a `variants:` entry of the scenario; absent: the scenario itself. */
  variant?: string;
}

/** The variant of the scenario named `name` (throws when there is none: arms are checked when parsed). */
export function findVariant(sc: Scenario, name: string): Variant {
  const v = sc.variants?.find((x) => x.name === name);
  if (v === undefined) throw new RangeError(`scenario ${sc.name} has no variant "${name}"`);
  return v;
}

/**
 * The scenario one arm runs: the variant's overrides applied (ruleset replaced, sysctl and
 * kernel merged key by key), the arm's policies installed, and no `variants` list (it does not
 * determine the run, so it stays out of run ids).
 */
export function armScenario(sc: Scenario, arm: ArmSpec): Scenario {
  const { variants: _all, ...base } = sc;
  if (arm.variant === undefined) return { ...base, policies: arm.policies };
  const v = findVariant(sc, arm.variant);
  return {
    ...base,
    kernel: { ...sc.kernel, ...(v.kernel ?? {}) } as Scenario['kernel'],
    sysctl: { ...sc.sysctl, ...(v.sysctl ?? {}) },
    ...(v.ruleset !== undefined ? { ruleset: v.ruleset } : {}),
    policies: arm.policies,
  };
}

/** A variant's overrides in one line each, for outputs: `sysctl.nf_conntrack_max=262144`, `ruleset: 3 rules (syn-limit.nft)`. */
export function describeVariant(v: Variant): string[] {
  const out: string[] = [];
  if (v.ruleset !== undefined) {
    const src = JSON.parse(JSON.stringify(v.ruleset)) as string;
    out.push(`ruleset: ${v.ruleset.rules.length} rule${v.ruleset.rules.length === 1 ? '' : 's'}${/[\n{]/.test(src) ? ' (inline)' : ` (${src})`}`);
  }
  for (const [k, x] of Object.entries(v.sysctl ?? {})) out.push(`sysctl.${k}=${x}`);
  for (const [k, x] of Object.entries(v.kernel ?? {})) out.push(`kernel.${k}=${typeof x === 'string' ? x : JSON.stringify(x)}`);
  if (v.policies !== undefined) out.push(`policies: ${v.policies.map((p) => p.name).join('+') || 'none'}`);
  return out;
}
