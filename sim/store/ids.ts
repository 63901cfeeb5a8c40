/**
 * Result ids and run records: what determines a result, hashed.
 *
 * A run id is readable and unique: `<scenario>-s<seed>-r<run>-<hash>`, where `<hash>` is the
 * first 10 hex digits of the SHA-256 of everything that determines the run's result: the
 * resolved scenario (minus `runs` and `description`, which do not change a run), the run index,
 * the ctsim version, and the SHA-256 of every user policy module and input file (captures,
 * rulesets) it uses. The same inputs give the same id wherever the run comes from (`ctsim run`,
 * an arm of `ctsim compare`, a sweep case), so the store keeps one row per distinct run.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { POLICIES } from '../../policies/index.js';
import type { Scenario } from '../scenario/scenario.js';
import { isPolicyPath, policyPathsIn } from '../io/user-policy.js';

export const sha256 = (x: string | Uint8Array): string => createHash('sha256').update(x).digest('hex');
const short = (h: string): string => h.slice(0, 10);

/** A file a result depends on, by content. */
export interface FileHash {
  /** What it is: `policy <name>`, or the scenario field holding it (`traffic[3].file`). */
  role: string;
  path: string;
  sha256: string;
}

/**
 * Input files held by a resolved scenario: values that carry their path and bytes (a capture
 * file) or a ruleset loaded from a file (its text), found anywhere in the scenario, variants too.
 */
export function inputFiles(sc: Scenario): FileHash[] {
  const out: FileHash[] = [];
  const visit = (v: unknown, at: string): void => {
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return;
    const o = v as Record<string, unknown>;
    if (typeof o['path'] === 'string' && o['bytes'] instanceof Uint8Array) {
      out.push({ role: at, path: o['path'], sha256: sha256(o['bytes']) });
      return;
    }
    // a ruleset read from a file prints as its path alone: its text is what the result depends on
    const src = o['source'] as { text?: unknown; file?: unknown; inline?: unknown } | undefined;
    if (src !== undefined && src !== null && typeof src === 'object' && src.inline === false && typeof src.text === 'string' && typeof src.file === 'string') {
      out.push({ role: at, path: src.file, sha256: sha256(src.text) });
      return;
    }
    if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${at}[${i}]`));
    else for (const [k, x] of Object.entries(o)) visit(x, at === '' ? k : `${at}.${k}`);
  };
  visit(sc, '');
  return out;
}

/**
 * The user policy modules (`--policy FILE`, or paths named in the scenario file) that the given
 * policy names refer to, with their content hashes. Built-in policies are part of ctsim.
 */
export function policyModules(names: readonly string[], policyFiles: readonly string[], scenarioPath?: string): FileHash[] {
  const byName = new Map<string, string>();
  for (const f of policyFiles) {
    byName.set(f, resolve(f));
    byName.set(basename(f).replace(/\.m?js$/, ''), resolve(f));
  }
  if (scenarioPath !== undefined && existsSync(scenarioPath)) {
    for (const { name, path } of policyPathsIn(readFileSync(scenarioPath, 'utf8'), scenarioPath)) if (!byName.has(name)) byName.set(name, resolve(path));
  }
  const out: FileHash[] = [];
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n) || (Object.hasOwn(POLICIES, n) && !byName.has(n))) continue;
    seen.add(n);
    const p = byName.get(n) ?? (isPolicyPath(n) ? resolve(n) : undefined);
    if (p === undefined || !existsSync(p)) continue;
    out.push({ role: `policy ${n}`, path: p, sha256: sha256(readFileSync(p)) });
  }
  return out;
}

/** The part of a resolved scenario that determines one run's result (as stable JSON). */
export function determiningJson(sc: Scenario): string {
  // `variants` only shape the comparisons that run them (comparisonId adds those it uses)
  const { runs: _runs, description: _d, variants: _v, ...rest } = sc as Scenario & { description?: string };
  return JSON.stringify(rest);
}

/** The id of one run of `sc` (policies as installed) with the given input files. */
export function runId(sc: Scenario, run: number, version: string, files: readonly FileHash[]): string {
  const h = sha256(JSON.stringify({ scenario: determiningJson(sc), run, ctsim: version, files: files.map((f) => f.sha256) }));
  return `${sc.name}-s${sc.seed}-r${run}-${short(h)}`;
}

/** The id of a comparison: scenario, seed, the arms (labels and policies), the number of runs. */
export function comparisonId(sc: Scenario, arms: readonly { label: string; policies: unknown }[], runs: number, version: string, files: readonly FileHash[], baseline?: string): string {
  // the baseline arm shapes the paired differences; the default (the first arm) leaves the id as it was
  const b = baseline === undefined || baseline === arms[0]?.label ? {} : { baseline };
  // the scenario variants the arms run (none: the id is what it was before variants existed)
  const used = (sc.variants ?? []).filter((v) => arms.some((a) => (a as { variant?: string }).variant === v.name));
  const v = used.length === 0 ? {} : { variants: used };
  const h = sha256(JSON.stringify({ scenario: determiningJson(sc), arms, runs, ctsim: version, files: files.map((f) => f.sha256), ...b, ...v }));
  return `${sc.name}-compare-s${sc.seed}-${short(h)}`;
}

/** Where the machine and the dependencies stand (recorded in manifests; not part of ids). */
export function environment(root: string, version: string) {
  const lock = join(root, 'package-lock.json');
  return {
    ctsim_version: version,
    node_version: process.version,
    platform: `${process.platform}-${process.arch}`,
    lock_sha256: existsSync(lock) ? sha256(readFileSync(lock)) : null,
  };
}
export type Environment = ReturnType<typeof environment>;
