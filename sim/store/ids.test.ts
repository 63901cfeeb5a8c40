import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { POLICIES } from '../../policies/index.js';
import { GENERATORS } from '../traffic/registry.js';
import { loadScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/scenario.js';
import { inputFiles, runId, sha256 } from './ids.js';

const REG = { generators: GENERATORS, policies: POLICIES };
const RULES_A = 'table ip filter {\n  chain forward {\n    type filter hook forward priority filter; policy accept;\n    udp dport 53 counter accept\n  }\n}\n';
const RULES_B = RULES_A.replace('53', '54');

function scenarioWith(dir: string, rulesetField: string): Scenario {
  const f = join(dir, 's.yaml');
  const text = `name: s\nduration: 5s\nruleset: ${rulesetField}\ntraffic:\n  - kind: udp-request-response\n    rate: 10\n`;
  writeFileSync(f, text);
  const r = loadScenario(text, f, REG);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.scenario;
}

test('a ruleset file is an input by content: editing it changes the run id, the same text keeps it', (t) => {
  const d = mkdtempSync(join(tmpdir(), 'ctsim-ids-'));
  writeFileSync(join(d, 'fw.nft'), RULES_A);
  const a = scenarioWith(d, 'fw.nft');
  const files = inputFiles(a);
  t.deepEqual(files, [{ role: 'ruleset', path: join(d, 'fw.nft'), sha256: sha256(RULES_A) }]);
  const idA = runId(a, 0, '0', files);
  t.is(runId(scenarioWith(d, 'fw.nft'), 0, '0', inputFiles(scenarioWith(d, 'fw.nft'))), idA, 'same text, same id');
  writeFileSync(join(d, 'fw.nft'), RULES_B);
  const b = scenarioWith(d, 'fw.nft');
  t.not(runId(b, 0, '0', inputFiles(b)), idA, 'edited file, new id');
});

test('an inline ruleset is part of the scenario itself, not an input file', (t) => {
  const d = mkdtempSync(join(tmpdir(), 'ctsim-ids-'));
  const sc = scenarioWith(d, `|\n  ${RULES_A.trimEnd().split('\n').join('\n  ')}`);
  t.deepEqual(inputFiles(sc), []);
});
