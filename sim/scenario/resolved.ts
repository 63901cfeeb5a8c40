/**
 * A validated scenario written back in user terms: every default filled in, durations with units
 * (`"1m"`), sizes with units (`"24GiB"`), addresses and prefixes as text, rate shapes and ports as
 * a user writes them. Validating the result gives the same scenario again (tested on every
 * built-in scenario), so it can be saved as a scenario file of its own.
 */
import { stringify } from 'yaml';
import { buildScenarioSchema, type Scenario, type ScenarioRegistry } from './scenario.js';
import { toInput } from './schema-dsl.js';

/** The scenario as a plain object in input form (keys in schema order). */
export function resolvedInput(sc: Scenario, registry: ScenarioRegistry): Record<string, unknown> {
  // the loaded ruleset and the built route table print as what was written (their toJSON)
  const rules = JSON.parse(JSON.stringify({ ruleset: sc.ruleset, routes: sc.routes })) as Record<string, unknown>;
  return toInput(buildScenarioSchema(registry), { ...sc, ...rules } as never) as Record<string, unknown>;
}

/** The scenario as YAML a user could have written (with a header comment). */
export function resolvedYaml(sc: Scenario, registry: ScenarioRegistry, header?: string): string {
  const body = stringify(resolvedInput(sc, registry), { lineWidth: 0, flowCollectionPadding: true });
  return (header ? header.split('\n').map((l) => `# ${l}`.trimEnd()).join('\n') + '\n' : '') + body;
}
