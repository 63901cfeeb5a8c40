/**
 * `npm run dev`: the sources through ts-node's ESM loader with the swc transpiler (tsconfig.json
 * "ts-node": { "swc": true }) give byte-identical results to the built CLI. And the notebooks'
 * Deno kernel is not a dependency of the project (it is installed on demand by
 * scripts/setup-notebooks.sh from notebooks/kernels/deno/).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../io/scenario-files.js';

const root = packageRoot();

test('npm run dev (ts-node + swc, no build) writes the same summary.json as the built CLI', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'ctsim-dev-'));
  const args = ['run', 'syn-flood-vs-web', '--set', 'duration=12s', '--no-charts', '--quiet'];
  const dev = spawnSync(process.execPath, ['--import', './scripts/ts-node-register.mjs', 'sim/cli.ts', ...args, '--out', join(out, 'dev')],
    { cwd: root, encoding: 'utf8', timeout: 90_000 });
  t.is(dev.status, 0, dev.stderr);
  const built = spawnSync(process.execPath, ['dist/sim/cli.js', ...args, '--out', join(out, 'built')], { cwd: root, encoding: 'utf8' });
  t.is(built.status, 0, built.stderr);
  // one run folder each: s1-r0-<hash of the inputs>, the same hash for both
  const runDir = (d: string) => { const ds = readdirSync(join(out, d, 'syn-flood-vs-web')).filter((n) => n.startsWith('s1-r0-')); t.is(ds.length, 1); return join(out, d, 'syn-flood-vs-web', ds[0]!); };
  const summary = (d: string) => readFileSync(join(runDir(d), 'summary.json'), 'utf8');
  t.is(summary('dev'), summary('built'));
  const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { 'ts-node'?: { swc?: boolean } };
  t.true(tsconfig['ts-node']?.swc, 'ts-node transpiles with swc');
});

test('deno is not installed by npm ci: the notebook kernel has its own pinned package and lock', (t) => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  for (const k of ['dependencies', 'devDependencies', 'optionalDependencies']) t.false('deno' in (pkg[k] ?? {}), k);
  const kernel = JSON.parse(readFileSync(join(root, 'notebooks', 'kernels', 'deno', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  t.regex(kernel.dependencies.deno!, /^\d+\.\d+\.\d+$/, 'pinned');
  const lock = JSON.parse(readFileSync(join(root, 'notebooks', 'kernels', 'deno', 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  t.is(lock.packages['node_modules/deno']?.version, kernel.dependencies.deno);
});
