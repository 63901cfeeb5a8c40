/** Scenario files, built-in scenarios, user policy registries and the package root: shared by every command. */
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { POLICIES, type PolicyKind } from '../../policies/index.js';
import { loadUserPolicy, policyPathsIn } from './user-policy.js';
import { formatIssue, loadScenario } from '../scenario/load.js';
import type { Scenario, ScenarioRegistry } from '../scenario/scenario.js';
import { GENERATORS } from '../traffic/registry.js';
import type { Registries } from '../run/simulation.js';
import { InputError } from './errors.js';
import { readInputFile } from './files.js';

/** The repository (package) root, from this module's location (dist/sim/io/ or sim/io/). */
export function packageRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(d, 'package.json'))) return d;
    d = dirname(d);
  }
  throw new Error('ctsim: cannot find package.json above ' + fileURLToPath(import.meta.url));
}

export function ctsimVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** What scenario validation may name: the built-in generators and policies. */
export const SCENARIO_REGISTRY: ScenarioRegistry = { generators: GENERATORS, policies: POLICIES };
export const REGISTRIES: Registries = { generators: GENERATORS, policies: POLICIES };

/** Reads and validates a scenario file; bad input becomes an InputError listing every issue. */
export function loadScenarioFile(path: string, overrides: readonly string[], reg: Registries = REGISTRIES): Scenario {
  const text = readInputFile(path, 'scenario file').toString('utf8');
  const r = loadScenario(text, path, reg, overrides);
  if (!r.ok) throw new InputError(r.issues.map(formatIssue));
  const dups: string[] = [];
  const [maj, min] = r.scenario.kernel.version.split('.').map(Number) as [number, number];
  if (r.scenario.sysctl.nf_conntrack_max === 0 && maj * 1000 + min >= 6019) {
    dups.push(`${path}: sysctl.nf_conntrack_max: 0 (unlimited) is refused from v6.19 on (kernel.version is ${r.scenario.kernel.version}); the minimum is 1`);
  }
  const sc = r.scenario;
  if (dups.length > 0) throw new InputError(dups);
  return sc;
}

/**
 * The registries for a command: the built-in generators and policies plus user policy modules
 * named with `--policy FILE` (registered under the path as given and under the file's base
 * name) and those a scenario names by path.
 */
export async function registriesFor(policyFiles: readonly string[], scenarioPaths: readonly string[] = []): Promise<Registries> {
  const policies: Record<string, PolicyKind> = { ...POLICIES };
  for (const f of policyFiles) {
    const k = await loadUserPolicy(f);
    policies[f] = k;
    policies[basename(f).replace(/\.m?js$/, '')] = k;
  }
  for (const sp of scenarioPaths) {
    if (!existsSync(sp) || !statSync(sp).isFile()) continue;
    for (const { name, path, where } of policyPathsIn(readFileSync(sp, 'utf8'), sp)) {
      try {
        policies[name] ??= await loadUserPolicy(path);
      } catch (e) {
        // the reference is reported where it was made: file, line and path in the scenario
        if (e instanceof InputError) throw new InputError(e.lines.map((l) => `${where}: "${name}": ${l}`));
        throw e;
      }
    }
  }
  return { generators: GENERATORS, policies };
}

/** Built-in scenario files with their descriptions. */
export function builtinScenarios(): { name: string; path: string; description: string }[] {
  const dir = join(packageRoot(), 'scenarios');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.(ya?ml|json)$/.test(f) && !f.endsWith('.schema.json'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      const m = /^description:\s*(.+)$/m.exec(text);
      return { name: f.replace(/\.(ya?ml|json)$/, ''), path: join(dir, f), description: m ? m[1]!.replace(/^["']|["']$/g, '') : '' };
    });
}

/** Resolves a scenario argument: a path, or the name of a built-in scenario. */
export function resolveScenarioArg(arg: string): string {
  if (existsSync(arg)) return resolve(arg);
  const b = builtinScenarios().find((s) => s.name === arg);
  return b ? b.path : arg;
}
