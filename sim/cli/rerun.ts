/**
 * `ctsim run MANIFEST`: repeats a recorded run from what its manifest.json keeps (the scenario
 * text as written, every override, the user policy modules and input files by hash, the ctsim
 * version and lock file hash) and checks the outputs byte for byte against the recorded hashes.
 * A changed input is named before anything runs; a differing output is named after (exit 2).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { POLICIES, type PolicyKind } from '../../policies/index.js';
import { formatIssue, loadScenario } from '../scenario/load.js';
import { environment, sha256 } from '../store/ids.js';
import { resultsRoot, type RunManifest } from '../store/results.js';
import { GENERATORS } from '../traffic/registry.js';
import { ctsimVersion, packageRoot } from '../io/scenario-files.js';
import { toJson } from '../io/format.js';
import { InputError } from '../io/errors.js';
import { readInputFile } from '../io/files.js';
import { runScenario, type SimOptions } from './run-command.js';
import { loadUserPolicy } from '../io/user-policy.js';

export interface RerunReport {
  id: string;
  reproduced: boolean;
  files: number;
  differing: string[];
  environment_changes: string[];
  dir: string | null;
}

/** What differs between the recorded inputs and the current ones (empty when nothing does). */
export function changedInputs(m: RunManifest, where: string): string[] {
  const out: string[] = [];
  const v = ctsimVersion();
  if (m.ctsim_version !== v) out.push(`ctsim version: the run was made by ctsim ${m.ctsim_version}, this is ${v}`);
  const env = environment(packageRoot(), v);
  if (m.environment?.lock_sha256 && env.lock_sha256 && m.environment.lock_sha256 !== env.lock_sha256) {
    out.push(`package-lock.json: dependencies differ from the run's (lock file SHA-256 ${m.environment.lock_sha256.slice(0, 12)}… then, ${env.lock_sha256.slice(0, 12)}… now)`);
  }
  for (const f of [...(m.policy_modules ?? []), ...(m.input_files ?? [])]) {
    if (!existsSync(f.path)) { out.push(`${f.role}: ${f.path} is gone`); continue; }
    const h = sha256(readFileSync(f.path));
    if (h !== f.sha256) out.push(`${f.role}: ${f.path} changed since the run (SHA-256 ${f.sha256.slice(0, 12)}… then, ${h.slice(0, 12)}… now)`);
  }
  if (m.scenario_file && sha256(m.scenario_file.text) !== m.scenario_file.sha256) out.push(`${where}: scenario_file.text does not match its sha256 (the manifest was edited)`);
  return out;
}

export async function rerunManifest(file: string, o: SimOptions): Promise<RerunReport> {
  const text = readInputFile(file, 'manifest').toString('utf8');
  let m: RunManifest;
  try { m = JSON.parse(text) as RunManifest; } catch (e) { throw new InputError(`${file}: not JSON: ${(e as Error).message}`); }
  if (m.kind !== 'run' || typeof m.id !== 'string') throw new InputError(`${file}: not the manifest of a run (comparisons and sweeps are repeated with ctsim compare / ctsim sweep)`);
  if (!m.scenario_file) throw new InputError(`${file}: the manifest does not keep the scenario text (a built-in scenario given by name before ctsim kept it?); run the scenario again`);
  const changed = changedInputs(m, file);
  if (changed.length > 0) throw new InputError([`${file}: cannot reproduce ${m.id}: its inputs changed:`, ...changed.map((c) => `  ${c}`)]);
  const envNow = environment(packageRoot(), ctsimVersion());
  const envChanges: string[] = [];
  if (m.environment.node_version !== envNow.node_version) envChanges.push(`Node ${m.environment.node_version} then, ${envNow.node_version} now`);
  if (m.environment.platform !== envNow.platform) envChanges.push(`platform ${m.environment.platform} then, ${envNow.platform} now`);

  const sf = m.scenario_file;
  if (!existsSync(sf.path)) envChanges.push(`${sf.path} is gone (the recorded text was used)`);
  else if (sha256(readFileSync(sf.path, 'utf8')) !== sf.sha256) envChanges.push(`${sf.path} changed since the run (the recorded text was used)`);
  const policies: Record<string, PolicyKind> = { ...POLICIES };
  for (const p of m.policy_modules ?? []) policies[p.role.replace(/^policy /, '')] = await loadUserPolicy(p.path);
  const reg = { generators: GENERATORS, policies };
  const r = loadScenario(m.scenario_file.text, m.scenario_file.path, reg, m.sets ?? []);
  if (!r.ok) throw new InputError([`${file}: the recorded scenario no longer validates:`, ...r.issues.map(formatIssue)]);
  const keep = o.out !== undefined;
  const out = keep ? resultsRoot(o.out) : mkdtempSync(join(tmpdir(), 'ctsim-rerun-'));
  try {
    const [res] = await runScenario(r.scenario, process.argv.slice(2), { ...o, out, force: true, charts: (m as { charts?: boolean }).charts !== false, store: keep && o.store !== false },
      reg, { path: m.scenario_file.path, text: m.scenario_file.text, sets: m.sets ?? [], policyFiles: (m.policy_modules ?? []).map((p) => p.path) }, { run: m.run, store: false });
    if (!res) throw new InputError(`${file}: run ${m.run} is not a run of the recorded scenario (runs: ${r.scenario.runs})`);
    const now = JSON.parse(readFileSync(join(res.dir, 'manifest.json'), 'utf8')) as RunManifest;
    const differing: string[] = [];
    if (now.id !== m.id) differing.push(`id: ${now.id} now, ${m.id} then`);
    for (const [name, h] of Object.entries(m.outputs ?? {})) if (now.outputs[name] !== h) differing.push(name);
    for (const name of Object.keys(now.outputs)) if (!(name in (m.outputs ?? {}))) differing.push(`${name} (new)`);
    const report: RerunReport = { id: m.id, reproduced: differing.length === 0, files: Object.keys(m.outputs ?? {}).length, differing, environment_changes: envChanges, dir: keep ? res.dir : null };
    if (differing.length > 0) {
      throw new InputError([`${file}: re-running ${m.id} did not reproduce it: ${differing.join(', ')} differ`,
        ...(envChanges.length > 0 ? [`  environment changes: ${envChanges.join('; ')}`] : ['  inputs, ctsim version and lock file are unchanged: please report this as a determinism bug'])]);
    }
    if (o.json) process.stdout.write(toJson(report));
    else if (!o.quiet) {
      process.stdout.write(`reproduced ${m.id} byte for byte: ${report.files} files (${Object.keys(m.outputs).slice(0, 4).join(', ')}${report.files > 4 ? ', …' : ''})${envChanges.length > 0 ? ` despite ${envChanges.join('; ')}` : ''}${keep ? ` → ${res.dir}` : ''}\n`);
    }
    return report;
  } finally {
    if (!keep) rmSync(out, { recursive: true, force: true });
  }
}
