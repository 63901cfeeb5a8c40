/**
 * Reads a results folder for the HTML report: a run folder (summary.json + timeseries.csv), a
 * comparison folder (comparison.json), or a folder holding such folders (results/<scenario>/ or
 * results/). Bad input (no results found, unreadable JSON) is an InputError.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { InputError } from '../io/errors.js';
import type { Comparison } from '../run/compare.js';
import type { RunSummary } from '../run/summary.js';
import { compareChartData, parseTimeseriesCsv, runChartData, type ChartData, type ScenarioTimes } from '../charts/data.js';

export interface Manifest {
  ctsim_version?: string;
  scenario?: string;
  scenario_sha256?: string;
  seed?: number;
  run?: number;
  runs?: number;
  policies?: string[];
  argv?: string[];
  resolved_scenario?: Record<string, unknown>;
  /** The scenario in user terms (what `ctsim validate --resolved` prints). */
  resolved?: Record<string, unknown>;
}

export type ReportSection =
  | { kind: 'run'; dir: string; name: string; manifest: Manifest | null; summary: RunSummary; data: ChartData }
  | { kind: 'compare'; dir: string; name: string; manifest: Manifest | null; comparison: Comparison; data: ChartData };

/** The duration and generators of a manifest's resolved scenario (attack windows), if it has one. */
function scenarioTimes(m: Manifest | null): ScenarioTimes | undefined {
  const sc = m?.resolved_scenario;
  if (!sc || typeof sc['duration'] !== 'number' || !Array.isArray(sc['traffic'])) return undefined;
  return sc as unknown as ScenarioTimes;
}

function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new InputError(`${path}: cannot read results: ${(e as Error).message}`);
  }
}

function loadOne(dir: string, root: string): ReportSection | null {
  const name = relative(root, dir) || basename(dir);
  const manifest = existsSync(join(dir, 'manifest.json')) ? readJson<Manifest>(join(dir, 'manifest.json')) : null;
  if (existsSync(join(dir, 'comparison.json'))) {
    const comparison = readJson<Comparison>(join(dir, 'comparison.json'));
    if (!Array.isArray(comparison.arms) || comparison.arms.some((a) => a.sample === undefined)) {
      throw new InputError(`${join(dir, 'comparison.json')}: no time series in this comparison (written by an older ctsim); run ctsim compare again`);
    }
    return { kind: 'compare', dir, name, manifest, comparison, data: compareChartData(comparison, scenarioTimes(manifest)) };
  }
  if (existsSync(join(dir, 'summary.json')) && existsSync(join(dir, 'timeseries.csv'))) {
    const summary = readJson<RunSummary>(join(dir, 'summary.json'));
    const { columns, rows } = parseTimeseriesCsv(readFileSync(join(dir, 'timeseries.csv'), 'utf8'));
    return { kind: 'run', dir, name, manifest, summary, data: runChartData(summary, rows, columns, scenarioTimes(manifest)) };
  }
  return null;
}

/** Every result under `dir` (itself, or its sub-folders two levels down): comparisons first, then runs by name. */
export function loadResults(dir: string): ReportSection[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`${dir}: results folder not found`);
  const self = loadOne(dir, join(dir, '..'));
  if (self) return [self];
  const found: ReportSection[] = [];
  const visit = (d: string, depth: number): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      const sub = join(d, e.name);
      const s = loadOne(sub, dir);
      if (s) found.push(s);
      else if (depth < 2) visit(sub, depth + 1);
    }
  };
  visit(dir, 1);
  if (found.length === 0) throw new InputError(`${dir}: no results here (expected summary.json + timeseries.csv of a run, or comparison.json, in it or in its sub-folders)`);
  return [...found.filter((s) => s.kind === 'compare'), ...found.filter((s) => s.kind === 'run')];
}
