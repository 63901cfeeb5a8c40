/**
 * Writes the charts of a run or a comparison into a results directory: for each chart
 * `charts/<name>.vl.json` (the Vega-Lite spec, data inlined), `charts/<name>.svg` and
 * `charts/<name>.png` (and `charts/<name>.pdf` when asked). Loaded lazily by `ctsim run` / `ctsim compare` (it pulls in vega).
 */
import type { Comparison } from '../run/compare.js';
import type { RunSummary } from '../run/summary.js';
import { compareChartData, runChartData, type ChartData, type ScenarioTimes } from './data.js';
import { renderAll } from './render.js';
import { chartSpecs } from './specs.js';
import { natPortsSpec } from './nat.js';

/** Where the files go: a function writing one file relative to the results directory. */
export type WriteFile = (name: string, content: string | Uint8Array) => void;

export const CHARTS_DIR = 'charts';

/** Which formats to write besides the spec, SVG and PNG. */
export interface ChartFormats {
  /** Also `charts/<name>.pdf` (vector). */
  pdf?: boolean;
}

/** Renders every chart of `d` and writes it; returns the chart names written. */
export async function writeCharts(write: WriteFile, d: ChartData, f: ChartFormats = {}): Promise<string[]> {
  return writeSpecs(write, chartSpecs(d), f);
}

async function writeSpecs(write: WriteFile, specs: Parameters<typeof renderAll>[0], f: ChartFormats): Promise<string[]> {
  const rendered = await renderAll(specs, 2, { pdf: f.pdf === true });
  for (const c of rendered) {
    write(`${CHARTS_DIR}/${c.name}.vl.json`, JSON.stringify(c.spec, null, 1) + '\n');
    write(`${CHARTS_DIR}/${c.name}.svg`, c.svg);
    write(`${CHARTS_DIR}/${c.name}.png`, c.png);
    if (c.pdf) write(`${CHARTS_DIR}/${c.name}.pdf`, c.pdf);
  }
  return rendered.map((c) => c.name);
}

/** `scenario` (optional): its attack windows are shaded and the time axis ends at its end. */
export async function writeRunCharts(write: WriteFile, summary: RunSummary, rows: readonly (readonly number[])[], columns: readonly string[], scenario?: ScenarioTimes, f: ChartFormats = {}): Promise<string[]> {
  const names = await writeCharts(write, runChartData(summary, rows, columns, scenario), f);
  if ('nat' in summary) {
    // runs with NAT: SNAT port utilisation and drops (docs/nat.md §6)
    const spec = natPortsSpec('NAT ports and drops', `${summary.scenario}, seed ${summary.seed}, run ${summary.run}`, [{ label: summary.scenario, columns, rows }]);
    names.push(...await writeSpecs(write, { 'nat-ports': spec }, f));
  }
  return names;
}

export async function writeCompareCharts(write: WriteFile, c: Comparison, scenario?: ScenarioTimes, f: ChartFormats = {}): Promise<string[]> {
  return writeCharts(write, compareChartData(c, scenario), f);
}
