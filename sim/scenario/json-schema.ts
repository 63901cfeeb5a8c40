/**
 * The JSON Schema (draft 2020-12) of scenario files, generated from the scenario schema so that
 * editors validate and autocomplete exactly what the loader accepts.
 */
import { type ScenarioRegistry, buildScenarioSchema } from './scenario.js';

/** The `$id` of the generated schema; scenario files refer to it with `$schema:`. */
export const SCENARIO_SCHEMA_ID = 'scenario.schema.json';

/** The scenario JSON Schema for the given generators and policies, as a plain JSON object. */
export function scenarioJsonSchema(registry: ScenarioRegistry): Record<string, unknown> {
  const body = buildScenarioSchema(registry).toJsonSchema();
  const properties = {
    $schema: { type: 'string', description: 'path or URL of this JSON Schema, for editors (ignored by ctsim)' },
    ...(body['properties'] as Record<string, unknown>),
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SCENARIO_SCHEMA_ID,
    title: 'ctsim scenario',
    ...body,
    properties,
  };
}
