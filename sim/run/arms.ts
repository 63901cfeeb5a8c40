import { POLICIES, type PolicyKind } from '../../policies/index.js';
import type { PolicyArm } from './compare.js';
import type { PolicySpec, Scenario } from '../scenario/scenario.js';
import type { Issue } from '../scenario/schema-dsl.js';
import { closest } from '../scenario/suggest.js';
import { InputError } from '../io/errors.js';

/**
 * Parses `--policies kernel,l4-aware,soft-timeout+keepalive` into arms. A policy's parameters
 * come from the scenario's `policy_params` entry for it, else its `policies` entry of the same
 * name, else the policy's defaults.
 */
export function parseArms(text: string, sc: Scenario, kinds: Readonly<Record<string, PolicyKind>> = POLICIES): PolicyArm[] {
  const arms: PolicyArm[] = [];
  for (const label of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const policies: PolicySpec[] = [];
    for (const name of label.split('+')) {
      const kind = kinds[name];
      if (!kind) {
        const hint = closest(name, Object.keys(kinds));
        throw new InputError(`--policies: unknown policy "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; known: ${Object.keys(kinds).join(', ')}`);
      }
      const fromScenario = (sc.policy_params as Record<string, PolicySpec | undefined>)[name] ?? sc.policies.find((p) => p.name === name);
      if (fromScenario) { policies.push(fromScenario); continue; }
      const issues: Issue[] = [];
      const v = kind.schema.validate({}, ['policies', name], issues);
      if (issues.length > 0 || v === undefined) {
        throw new InputError(issues.map((i) => `--policies: policy "${name}" needs parameters in the scenario's policies list: ${i.path}: ${i.message}`));
      }
      policies.push({ name, ...(v as object) });
    }
    arms.push({ label, policies });
  }
  if (arms.length === 0) throw new InputError('--policies: expected a comma-separated list of policies, e.g. kernel,l4-aware');
  return arms;
}
