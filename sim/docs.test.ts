/**
 * The project is self-contained: nothing points at files outside the repository, and every
 * "§N" / "§N.M" a source or test cites exists in docs/model.md (citations of other documents,
 * e.g. "docs/nat.md §2", are left to those documents).
 */
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageRoot } from './io/scenario-files.js';

const root = packageRoot();
const SKIP = new Set(['node_modules', 'dist', 'results', '.git']);
const TEXT = /\.(ts|mjs|js|md|sh|yaml|yml|json|ipynb)$|^run$/;

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) files(p, out);
    else if (TEXT.test(name) && st.size < 2_000_000) out.push(p);
  }
  return out;
}
const all = ['README.md', 'docs', 'sim', 'policies', 'scripts', 'scenarios', 'notebooks', '.ci', '.github']
  .map((p) => join(root, p))
  .flatMap((p) => { try { return statSync(p).isDirectory() ? files(p) : [p]; } catch { return []; } });

// The research notes the model was transcribed from live outside the repository; the pattern is
// assembled so that this file does not match itself (`git grep` for the folder finds nothing).
const OUTSIDE = new RegExp(['(\\.\\./|/work/)shar' + 'ed/', 'shared' + '/reference', 'linux-conntrack' + '\\.md', 'performance' + '-notes'].join('|'));

test('no file refers to material outside the repository (the research notes folder)', (t) => {
  t.true(all.length > 100);
  const bad: string[] = [];
  for (const f of all) {
    readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
      if (OUTSIDE.test(line)) bad.push(`${relative(root, f)}:${i + 1}: ${line.trim()}`);
    });
  }
  t.deepEqual(bad, []);
});

test('every § cited in sim/ and policies/ exists in docs/model.md', (t) => {
  const model = readFileSync(join(root, 'docs', 'model.md'), 'utf8');
  const sections = new Set<string>();
  for (const m of model.matchAll(/^#{2,3} (\d+(?:\.\d+)?)\.? /gm)) sections.add(m[1]!);
  t.true(sections.has('4.6') && sections.has('9.3') && sections.has('11.3'));
  const missing: string[] = [];
  let cited = 0;
  for (const f of all.filter((p) => /\/(sim|policies)\/.*\.ts$/.test(p))) {
    readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
      if (/[\w-]+\.md §/.test(line) && !/model\.md §/.test(line)) return; // another document's sections
      for (const m of line.matchAll(/§(\d+)(?:\.(\d+))?/g)) {
        cited++;
        const s = m[2] === undefined ? m[1]! : `${m[1]}.${m[2]}`;
        if (!sections.has(s)) missing.push(`${relative(root, f)}:${i + 1}: §${s}`);
      }
    });
  }
  t.true(cited > 200, `${cited} citations`);
  t.deepEqual(missing, []);
});
