import { POLICIES, type PolicyKind } from '../../policies/index.js';
import type { PolicyArm } from './compare.js';
import type { PolicySpec, Scenario } from '../scenario/scenario.js';
import type { Issue } from '../scenario/schema-dsl.js';
import { closest } from '../scenario/suggest.js';
import { InputError } from '../io/errors.js';

/** A policy stack `a+b+c` as specs (parameters: see {@link parseArms}); `flag` names the option in messages. */
function policyStack(label: string, sc: Scenario, kinds: Readonly<Record<string, PolicyKind>>, flag: string, variantPolicies?: readonly PolicySpec[]): PolicySpec[] {
  const policies: PolicySpec[] = [];
  for (const name of label.split('+')) {
    const kind = kinds[name];
    if (!kind) {
      const hint = closest(name, Object.keys(kinds));
      throw new InputError(`${flag}: unknown policy "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; known: ${Object.keys(kinds).join(', ')}`);
    }
    const fromScenario = (sc.policy_params as Record<string, PolicySpec | undefined>)[name]
      ?? variantPolicies?.find((p) => p.name === name) ?? sc.policies.find((p) => p.name === name);
    if (fromScenario) { policies.push(fromScenario); continue; }
    const issues: Issue[] = [];
    const v = kind.schema.validate({}, ['policies', name], issues);
    if (issues.length > 0 || v === undefined) {
      throw new InputError(issues.map((i) => `${flag}: policy "${name}" needs parameters in the scenario's policies list: ${i.path}: ${i.message}`));
    }
    policies.push({ name, ...(v as object) });
  }
  return policies;
}

const items = (text: string): string[] => text.split(',').map((s) => s.trim()).filter((s) => s !== '');

/**
 * Parses `--policies kernel,l4-aware,soft-timeout+keepalive` into arms. A policy's parameters
 * come from the scenario's `policy_params` entry for it, else its `policies` entry of the same
 * name, else the policy's defaults.
 */
export function parseArms(text: string, sc: Scenario, kinds: Readonly<Record<string, PolicyKind>> = POLICIES): PolicyArm[] {
  const arms = items(text).map((label) => ({ label, policies: policyStack(label, sc, kinds, '--policies') }));
  if (arms.length === 0) throw new InputError('--policies: expected a comma-separated list of policies, e.g. kernel,l4-aware');
  return arms;
}

/**
 * Parses `--arms bigger-table,kernel,bigger-table:soft-timeout`: each item is a variant of the
 * scenario (`variants:`; it runs its own policies, else the scenario's), a policy stack as in
 * `--policies` (on the scenario itself), or `VARIANT:POLICIES` (the variant with that stack
 * instead). The label of each arm is the item as written.
 */
export function parseVariantArms(text: string, sc: Scenario, kinds: Readonly<Record<string, PolicyKind>> = POLICIES): PolicyArm[] {
  const variants = (sc.variants ?? []).map((v) => v.name);
  const unknownVariant = (name: string, also: readonly string[]): InputError => {
    const known = [...variants, ...also];
    const hint = closest(name, known);
    return new InputError(`--arms: unknown arm "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; an arm is a variant of ${sc.name} ` +
      `(${variants.length > 0 ? variants.join(', ') : 'it has none: add a variants: list to the scenario'}), a policy stack such as kernel or l4-aware+keepalive, or VARIANT:POLICIES`);
  };
  const arms: PolicyArm[] = [];
  for (const label of items(text)) {
    const colon = label.indexOf(':');
    if (colon >= 0) {
      const name = label.slice(0, colon);
      const v = sc.variants?.find((x) => x.name === name);
      if (v === undefined) throw unknownVariant(name, []);
      arms.push({ label, variant: name, policies: policyStack(label.slice(colon + 1), sc, kinds, `--arms ${label}`, v.policies) });
      continue;
    }
    const v = sc.variants?.find((x) => x.name === label);
    if (v !== undefined) { arms.push({ label, variant: label, policies: v.policies ?? sc.policies }); continue; }
    if (label.split('+').every((n) => kinds[n] !== undefined)) { arms.push({ label, policies: policyStack(label, sc, kinds, '--arms') }); continue; }
    const bad = label.split('+').find((n) => kinds[n] === undefined)!;
    throw unknownVariant(label.includes('+') ? bad : label, Object.keys(kinds));
  }
  if (arms.length === 0) throw new InputError('--arms: expected a comma-separated list of variants or policies, e.g. kernel,bigger-table');
  return arms;
}

/**
 * The arms of `ctsim compare`: `--policies` arms first, then `--arms` ones; at least one of the
 * two options, and every label once (it names the arm in every output).
 */
export function parseCompareArms(o: { policies?: string | undefined; arms?: string | undefined }, sc: Scenario, kinds: Readonly<Record<string, PolicyKind>> = POLICIES): PolicyArm[] {
  if (o.policies === undefined && o.arms === undefined) {
    const v = (sc.variants ?? []).map((x) => x.name);
    throw new InputError(`expected --policies LIST and/or --arms LIST (e.g. --policies kernel,l4-aware${v.length > 0 ? ` --arms ${v.join(',')}` : ''})`);
  }
  const arms = [...(o.policies === undefined ? [] : parseArms(o.policies, sc, kinds)), ...(o.arms === undefined ? [] : parseVariantArms(o.arms, sc, kinds))];
  const seen = new Set<string>();
  for (const a of arms) {
    if (seen.has(a.label)) throw new InputError(`${o.arms === undefined ? '--policies' : '--arms'}: "${a.label}" is given twice; each arm once`);
    seen.add(a.label);
  }
  return arms;
}
