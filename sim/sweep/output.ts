/**
 * What a sweep writes, and `ctsim merge`. A sweep directory holds:
 * - `cases.jsonl`: one line per case, in case order (index, key, policy, parameters, seed, run,
 *   the run id (as in the results store), the comparison metrics and the whole run summary, byte for byte the summary.json `ctsim run`
 *   writes for that case, minus its pretty-printing);
 * - `cases.csv`: one row per case: index, key, scenario, policy, seed, run, the parameters, the metrics;
 * - `sweep.json`: the sweep's name, the SHA-256 of its file, the number of cases in the whole
 *   sweep, and which shard this directory holds (null for the whole sweep).
 * Nothing in them depends on the machine, the number of workers or the time, so the merge of all
 * shards is byte-identical to the whole sweep run at once.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeToString } from 'fast-csv';
import { toJson } from '../io/format.js';
import { InputError } from '../io/errors.js';
import { AtomicDir } from '../io/files.js';
import { COMPARE_METRICS } from '../run/compare.js';
import type { CaseResult } from './run-case.js';
import type { Shard } from './shard.js';

export interface SweepManifest {
  name: string;
  sweep_sha256: string;
  cases_total: number;
  shard: { index: number; count: number } | null;
  cases: number;
}

/** Directory name of a whole sweep or of one shard under results/<name>/. */
export function sweepDirName(shard: Shard | { index: number; count: number } | null): string {
  return shard === null ? 'sweep' : `sweep-shard-${shard.index}-of-${shard.count}`;
}

async function casesCsv(lines: readonly string[]): Promise<string> {
  const recs = lines.map((l) => JSON.parse(l) as CaseResult);
  const params = recs.length > 0 ? Object.keys(recs[0]!.params) : [];
  // `id` (the run id of the case, as in the results store) is appended after the original columns
  const rows = recs.map((r) => [r.case, r.key, r.scenario, r.policy, r.seed, r.run, ...params.map((p) => JSON.stringify(r.params[p])), ...COMPARE_METRICS.map((m) => r.metrics[m]), r.id ?? '']);
  return writeToString(rows, { headers: ['case', 'key', 'scenario', 'policy', 'seed', 'run', ...params, ...COMPARE_METRICS, 'id'], includeEndRowDelimiter: true });
}

/** Writes a sweep (or shard) directory atomically. `lines` must be in case order. */
export async function writeSweepDir(dir: string, m: SweepManifest, lines: readonly string[]): Promise<void> {
  const w = new AtomicDir(dir, String(process.pid));
  try {
    w.write('cases.jsonl', lines.map((l) => l + '\n').join(''));
    w.write('cases.csv', await casesCsv(lines));
    w.write('sweep.json', toJson(m));
    w.commit();
  } finally {
    w.abort();
  }
}

/** Expands merge arguments: a shard directory, or a directory holding sweep-shard-* directories. */
export function shardDirs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (!existsSync(a) || !statSync(a).isDirectory()) throw new InputError(`${a}: not a directory (expected a sweep shard directory or a results/<sweep>/ directory)`);
    if (existsSync(join(a, 'sweep.json'))) { out.push(a); continue; }
    const subs = readdirSync(a).filter((d) => /^sweep-shard-\d+-of-\d+$/.test(d)).sort((x, y) => Number(/\d+/.exec(x)![0]) - Number(/\d+/.exec(y)![0]));
    if (subs.length === 0) throw new InputError(`${a}: no sweep.json and no sweep-shard-*-of-* directories in it`);
    out.push(...subs.map((d) => join(a, d)));
  }
  return out;
}

/**
 * Joins shard outputs into the whole sweep: every shard must come from the same sweep file
 * (same SHA-256 and case count) and every case must appear exactly once.
 */
export function mergeShards(dirs: readonly string[]): { manifest: SweepManifest; lines: string[] } {
  let first: SweepManifest | undefined;
  const byCase = new Map<number, { line: string; dir: string }>();
  for (const d of dirs) {
    const mf = join(d, 'sweep.json');
    const cf = join(d, 'cases.jsonl');
    if (!existsSync(mf) || !existsSync(cf)) throw new InputError(`${d}: not a sweep output (sweep.json or cases.jsonl missing)`);
    let m: SweepManifest;
    try { m = JSON.parse(readFileSync(mf, 'utf8')) as SweepManifest; } catch (e) { throw new InputError(`${mf}: unreadable: ${(e as Error).message}`); }
    if (first === undefined) first = m;
    else if (m.sweep_sha256 !== first.sweep_sha256 || m.cases_total !== first.cases_total || m.name !== first.name) {
      throw new InputError(`${d}: comes from a different sweep (${m.name}, ${m.sweep_sha256.slice(0, 12)}…, ${m.cases_total} cases) than ${dirs[0]} (${first.name}, ${first.sweep_sha256.slice(0, 12)}…, ${first.cases_total} cases)`);
    }
    const lines = readFileSync(cf, 'utf8').split('\n').filter((l) => l !== '');
    lines.forEach((line, i) => {
      const k = (JSON.parse(line) as { case: number }).case;
      if (!Number.isInteger(k)) throw new InputError(`${cf}:${i + 1}: no case index`);
      const prev = byCase.get(k);
      if (prev !== undefined && prev.line !== line) throw new InputError(`${cf}:${i + 1}: case ${k} is also in ${prev.dir} with a different result`);
      byCase.set(k, { line, dir: d });
    });
  }
  if (first === undefined) throw new InputError('merge: no shard directories given');
  const missing: number[] = [];
  for (let k = 0; k < first.cases_total; k++) if (!byCase.has(k)) missing.push(k);
  if (missing.length > 0) {
    throw new InputError(`merge: ${missing.length} of ${first.cases_total} cases are missing (cases ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', …' : ''}); merge the output of every shard`);
  }
  const lines = [...byCase.keys()].sort((a, b) => a - b).map((k) => byCase.get(k)!.line);
  return { manifest: { name: first.name, sweep_sha256: first.sweep_sha256, cases_total: first.cases_total, shard: null, cases: lines.length }, lines };
}
