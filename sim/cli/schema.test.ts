import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scenarioJsonSchema } from '../scenario/json-schema.js';
import { packageRoot, SCENARIO_REGISTRY } from '../io/scenario-files.js';
import { toJson } from '../io/format.js';

test('the committed scenarios/scenario.schema.json is what `ctsim schema` generates (run it after changing a schema)', (t) => {
  const committed = readFileSync(join(packageRoot(), 'scenarios', 'scenario.schema.json'), 'utf8');
  t.is(committed, toJson(scenarioJsonSchema(SCENARIO_REGISTRY)));
});
