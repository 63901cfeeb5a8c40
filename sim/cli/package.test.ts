/**
 * The packed tarball installs into an empty folder without devDependencies and without a
 * TypeScript build, its `ctsim` command runs a built-in scenario, and its library entry imports
 * with type declarations. Packs the current dist/ (`npm pack --ignore-scripts`): run after tsc.
 *
 * Installs from npm's local cache first (`--offline`), then `--prefer-offline` (the registry is
 * asked only for what the cache lacks). When neither can reach a package (no cache, no network),
 * the test is skipped and says so; any other install failure fails it.
 */
import test from 'ava';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../io/scenario-files.js';

const root = packageRoot();
const work = mkdtempSync(join(tmpdir(), 'ctsim-pack-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function sh(cmd: string, args: string[], cwd: string, timeoutMs = 60_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, npm_config_update_notifier: 'false' } });
}

const pack = sh(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root);
const tarball = pack.status === 0 ? join(work, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename) : '';
const app = join(work, 'app');
let installSkip = '';
let install: SpawnSyncReturns<string> | undefined;
if (tarball) {
  spawnSync('mkdir', [app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'empty', version: '1.0.0', private: true }));
  for (const mode of ['--offline', '--prefer-offline']) {
    install = sh(npm, ['install', mode, '--no-audit', '--no-fund', '--omit=dev', tarball], app, 120_000);
    if (install.status === 0) break;
  }
  if (install!.status !== 0 && /ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET/.test(install!.stderr)) {
    installSkip = 'npm could reach neither its cache nor the registry for the dependencies';
    console.log(`package.test: ${installSkip}; the tarball install test is skipped`);
  }
}

test('npm pack gives a tarball with the built CLI, declarations, scenarios and LICENSE, and no tests', (t) => {
  t.is(pack.status, 0, pack.stderr);
  const files = (JSON.parse(pack.stdout) as { files: { path: string; mode: number }[] }[])[0]!.files;
  const byPath = new Map(files.map((f) => [f.path, f]));
  for (const p of ['dist/sim/cli.js', 'dist/sim/index.js', 'dist/sim/index.d.ts', 'LICENSE', 'README.md', 'scenarios/mixed.yaml', 'results/baselines/suite.yaml']) {
    t.true(byPath.has(p), p);
  }
  t.is(byPath.get('dist/sim/cli.js')!.mode & 0o111, 0o111, 'the CLI is executable in the tarball');
  t.deepEqual(files.filter((f) => /\.test\.(js|d\.ts)$|\.ts$/.test(f.path) && !f.path.endsWith('.d.ts')), []);
});

test('the built CLI starts with a shebang and has its exec bit (scripts/postbuild.mjs)', (t) => {
  const cli = join(root, 'dist', 'sim', 'cli.js');
  t.true(readFileSync(cli, 'utf8').startsWith('#!/usr/bin/env node\n'));
  t.is(statSync(cli).mode & 0o111, 0o111);
});

(installSkip ? test.skip : test)('the tarball installs into an empty folder and `ctsim run mixed` gives the same summary as the clone', (t) => {
  t.truthy(install, 'npm pack failed: ' + pack.stderr);
  t.is(install!.status, 0, install!.stderr);
  const nm = join(app, 'node_modules');
  t.false(existsSync(join(nm, 'typescript')), 'no devDependency installed');
  t.false(existsSync(join(nm, 'ava')));
  t.true(existsSync(join(nm, 'ctsim', 'dist', 'sim', 'index.d.ts')));
  const bin = join(nm, '.bin', process.platform === 'win32' ? 'ctsim.cmd' : 'ctsim');
  const args = ['run', 'mixed', '--set', 'duration=45s', '--no-charts', '--quiet'];
  // no --out: an installed package writes ./results, never inside node_modules
  const r = sh(bin, args, app);
  t.is(r.status, 0, r.stderr);
  // the run folder is s1-r0-<hash of the inputs>: the same in the clone and the installed package
  const only = (d: string) => { const ds = readdirSync(d).filter((n) => n.startsWith('s1-r0-')); t.is(ds.length, 1, d); return join(d, ds[0]!); };
  const runDir = only(join(app, 'results', 'mixed'));
  t.deepEqual(readdirSync(runDir).filter((f) => f.endsWith('.json')).sort(), ['manifest.json', 'metrics.json', 'summary.json']);
  t.false(existsSync(join(nm, 'ctsim', 'results', 'mixed')));
  const clone = sh(process.execPath, [join(root, 'dist', 'sim', 'cli.js'), ...args, '--out', join(work, 'clone')], root);
  t.is(clone.status, 0, clone.stderr);
  t.is(readFileSync(join(runDir, 'summary.json'), 'utf8'), readFileSync(join(only(join(work, 'clone', 'mixed')), 'summary.json'), 'utf8'));
  // the library entry, by package name, through `exports`
  const lib = sh(process.execPath, ['--input-type=module', '-e',
    "import { scenarioFromYaml, runScenarioInMemory } from 'ctsim'; import { readFileSync } from 'node:fs';" +
    "const p = JSON.parse(readFileSync('node_modules/ctsim/package.json', 'utf8'));" +
    "console.log(typeof scenarioFromYaml, typeof runScenarioInMemory, p.exports['.'].types);"], app);
  t.is(lib.status, 0, lib.stderr);
  t.is(lib.stdout.trim(), 'function function ./dist/sim/index.d.ts');
});
