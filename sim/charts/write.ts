/**
 * Writes the charts of a run or a comparison into a results directory: for each chart
 * `charts/<name>.vl.json` (the Vega-Lite spec, data inlined), `charts/<name>.svg` and
 * `charts/<name>.png`. Loaded lazily by `ctsim run` / `ctsim compare` (it pulls in vega).
 */
import type { Comparison } from '../run/compare.js';
import type { RunSummary } from '../run/summary.js';
import { compareChartData, runChartData, type ChartData } from './data.js';
import { renderAll } from './render.js';
import { chartSpecs } from './specs.js';
import { natPortsSpec } from './nat.js';

/** Where the files go: a function writing one file relative to the results directory. */
export type WriteFile = (name: string, content: string | Uint8Array) => void;

export const CHARTS_DIR = 'charts';

/** Renders every chart of `d` and writes it; returns the chart names written. */
export async function writeCharts(write: WriteFile, d: ChartData): Promise<string[]> {
  const rendered = await renderAll(chartSpecs(d));
  for (const c of rendered) {
    write(`${CHARTS_DIR}/${c.name}.vl.json`, JSON.stringify(c.spec, null, 1) + '\n');
    write(`${CHARTS_DIR}/${c.name}.svg`, c.svg);
    write(`${CHARTS_DIR}/${c.name}.png`, c.png);
  }
  return rendered.map((c) => c.name);
}

export async function writeRunCharts(write: WriteFile, summary: RunSummary, rows: readonly (readonly number[])[], columns: readonly string[]): Promise<string[]> {
  const names = await writeCharts(write, runChartData(summary, rows, columns));
  if ('nat' in summary) {
    // runs with NAT: SNAT port utilisation and drops (docs/nat.md §6)
    const spec = natPortsSpec('NAT ports and drops', `${summary.scenario}, seed ${summary.seed}, run ${summary.run}`, [{ label: summary.scenario, columns, rows }]);
    for (const c of await renderAll({ 'nat-ports': spec })) {
      write(`${CHARTS_DIR}/${c.name}.vl.json`, JSON.stringify(c.spec, null, 1) + '\n');
      write(`${CHARTS_DIR}/${c.name}.svg`, c.svg);
      write(`${CHARTS_DIR}/${c.name}.png`, c.png);
      names.push(c.name);
    }
  }
  return names;
}

export async function writeCompareCharts(write: WriteFile, c: Comparison): Promise<string[]> {
  return writeCharts(write, compareChartData(c));
}
