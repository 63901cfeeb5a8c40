/**
 * Small helpers shared by the notebooks (Deno kernel): show a Vega-Lite spec as an SVG output
 * (rendered headlessly like `ctsim run`'s charts, so it shows on any notebook viewer), and show
 * Markdown.
 */
import { renderSvg } from '../sim/charts/render.ts';
import { CONFIG, VEGA_LITE_SCHEMA, type VlSpec } from '../sim/charts/specs.ts';

declare const Deno: { jupyter: { display(bundle: Record<string, unknown>, o: { raw: boolean }): Promise<void> } };

/** Renders a Vega-Lite spec and displays it (the project's chart style is applied when missing). */
export async function show(spec: VlSpec, alt = 'chart'): Promise<void> {
  const full = { $schema: VEGA_LITE_SCHEMA, config: CONFIG, ...spec };
  const svg = await renderSvg(full);
  await Deno.jupyter.display({ 'image/svg+xml': svg, 'text/plain': `[${alt}]` }, { raw: true });
}

/** Displays Markdown. */
export async function md(text: string): Promise<void> {
  await Deno.jupyter.display({ 'text/markdown': text, 'text/plain': text }, { raw: true });
}

/** A Markdown table from rows of cells. */
export function mdTable(head: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const line = (r: readonly unknown[]) => `| ${r.map((x) => String(x)).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export const pct = (x: number | null | undefined, d = 1): string => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(d)}%`);

/**
 * Runs one SQL statement on the results store (`results/ctsim.duckdb`, DuckDB) and returns the
 * rows as objects (BIGINT columns come back as strings: cast with `::INT` or `::DOUBLE`). The
 * store is opened read-only and closed again, so ctsim can write to it between cells.
 */
export async function query(sql: string, results = '../results'): Promise<Record<string, unknown>[]> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const inst = await DuckDBInstance.create(`${results}/ctsim.duckdb`, { access_mode: 'READ_ONLY' });
  const conn = await inst.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJson();
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}
