import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { POLICIES, type PolicyKind } from '../../policies/index.js';
import { loadUserPolicy, policyPathsIn } from './user-policy.js';
import { formatIssue, loadScenario } from '../scenario/load.js';
import type { Scenario, ScenarioRegistry } from '../scenario/scenario.js';
import { GENERATORS } from '../traffic/registry.js';
import type { Registries } from '../run/simulation.js';
import { InputError } from './errors.js';
import { readInputFile } from './io.js';

/** The repository (package) root, from this module's location (dist/sim/cli/ or sim/cli/). */
export function packageRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(d, 'package.json'))) return d;
    d = dirname(d);
  }
  throw new Error('ctsim: cannot find package.json above ' + fileURLToPath(import.meta.url));
}

/**
 * Where results go without `--out`: `results/` of the clone when ctsim runs from one (`npx ctsim`,
 * `npm link`, `node dist/sim/cli.js`), else `./results` in the current directory (an installed
 * package: never write inside node_modules).
 */
export function defaultResultsRoot(): string {
  const root = packageRoot();
  return root.split(sep).includes('node_modules') ? resolve('results') : join(root, 'results');
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
  const seen = new Map<string, number>();
  const dups: string[] = [];
  r.scenario.traffic.forEach((t, i) => {
    if (t.label === undefined) return;
    const j = seen.get(t.label);
    if (j !== undefined) dups.push(`${path}: traffic[${i}].label: "${t.label}" is already the label of traffic[${j}]; labels name random substreams and must be unique`);
    else seen.set(t.label, i);
  });
  const [maj, min] = r.scenario.kernel.version.split('.').map(Number) as [number, number];
  if (r.scenario.sysctl.nf_conntrack_max === 0 && maj * 1000 + min >= 6019) {
    dups.push(`${path}: sysctl.nf_conntrack_max: 0 (unlimited) is refused from v6.19 on (kernel.version is ${r.scenario.kernel.version}); the minimum is 1`);
  }
  if (dups.length > 0) throw new InputError(dups);
  return r.scenario;
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
    if (!existsSync(sp)) continue;
    for (const { name, path } of policyPathsIn(readFileSync(sp, 'utf8'), sp)) policies[name] ??= await loadUserPolicy(path);
  }
  return { generators: GENERATORS, policies };
}

/** Stable JSON: object keys in insertion order (our objects are built in a fixed order). */
export function toJson(x: unknown): string {
  return JSON.stringify(x, null, 2) + '\n';
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
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

/** Collects a repeatable option's values. */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
