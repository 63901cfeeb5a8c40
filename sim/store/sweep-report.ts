/**
 * Writes the analysis of a sweep next to its cases: analysis.csv (mean, 95% CI, n per parameter
 * point, policy and metric), paired.csv (differences against the baseline policy, paired by
 * parameter point, seed and run), charts/<parameter>--<metric>.{vl.json,svg} and report.html
 * (self-contained: the charts are inline SVG).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeToString } from 'fast-csv';
import { InputError } from '../io/errors.js';
import { writeFileAtomic } from '../io/files.js';
import { analyseSweep, sweepChartSpec, SWEEP_CHART_METRICS } from './sweep-analysis.js';
import type { SweepCaseLine } from './results.js';

const esc = (s: unknown): string => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const fmt = (x: number | null): string => (x === null ? '–' : Math.abs(x) >= 100 ? x.toFixed(0) : Number(x.toPrecision(4)).toString());

/** Reads cases.jsonl of a sweep folder. */
export function readSweepLines(dir: string): { name: string; lines: SweepCaseLine[] } {
  const f = join(dir, 'cases.jsonl');
  if (!existsSync(f) || !existsSync(join(dir, 'sweep.json'))) throw new InputError(`${dir}: not a sweep folder (cases.jsonl and sweep.json expected)`);
  const name = (JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8')) as { name: string }).name;
  return { name, lines: readFileSync(f, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as SweepCaseLine) };
}

export async function writeSweepReport(dir: string, name: string, lines: readonly SweepCaseLine[], o: { baseline?: string; output?: string; charts?: boolean } = {}): Promise<{ file: string; charts: number; points: number; cases: number }> {
  if (lines.length === 0) throw new InputError(`${dir}: the sweep has no cases`);
  const a = analyseSweep(lines, o.baseline);
  if (o.baseline !== undefined && !a.policies.includes(o.baseline)) throw new InputError(`--baseline: "${o.baseline}" is not a policy of this sweep (${a.policies.join(', ')})`);
  const pcols = a.parameters;
  // the sweep's name is the last column (the identifying column, as in every CSV ctsim writes)
  writeFileAtomic(join(dir, 'analysis.csv'), await writeToString(a.stats.map((s) => [...pcols.map((p) => JSON.stringify(s.point[p])), s.policy, s.metric, s.mean, s.ci95, s.n, name]),
    { headers: [...pcols, 'policy', 'metric', 'mean', 'ci95', 'n', 'sweep'], includeEndRowDelimiter: true }));
  writeFileAtomic(join(dir, 'paired.csv'), await writeToString(a.paired.map((s) => [...pcols.map((p) => JSON.stringify(s.point[p])), s.policy, s.baseline, s.metric, s.mean, s.ci95, s.n, name]),
    { headers: [...pcols, 'policy', 'baseline', 'metric', 'mean_diff', 'ci95', 'n', 'sweep'], includeEndRowDelimiter: true }));
  const svgs: { title: string; svg: string }[] = [];
  if (o.charts !== false) {
    const { renderSvg } = await import('../charts/render.js');
    const { CONFIG, VEGA_LITE_SCHEMA } = await import('../charts/specs.js');
    for (const p of pcols) {
      for (const m of SWEEP_CHART_METRICS) {
        const spec = { $schema: VEGA_LITE_SCHEMA, config: CONFIG, ...sweepChartSpec(lines, p, m, a.policies) };
        const base = `charts/${p.replace(/[^\w.-]+/g, '_')}--${m}`;
        const svg = await renderSvg(spec);
        writeFileAtomic(join(dir, `${base}.vl.json`), JSON.stringify(spec, null, 2) + '\n');
        writeFileAtomic(join(dir, `${base}.svg`), svg);
        svgs.push({ title: `${m} against ${p}`, svg });
      }
    }
  }
  const points = new Set(a.stats.map((s) => JSON.stringify(s.point))).size;
  const head = [...pcols, 'policy'];
  const table = (metric: string, rows: typeof a.stats, diff: boolean): string =>
    `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}<th>${diff ? `Δ vs ${esc(a.baseline)}` : 'mean'} ± 95% CI</th><th>n</th></tr></thead><tbody>` +
    rows.filter((s) => s.metric === metric).map((s) => `<tr>${pcols.map((p) => `<td>${esc(JSON.stringify(s.point[p]))}</td>`).join('')}<td>${esc(s.policy)}</td><td>${fmt(s.mean)}${s.ci95 === null ? '' : ` ± ${fmt(s.ci95)}`}</td><td>${s.n}</td></tr>`).join('') + '</tbody></table>';
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ctsim sweep ${esc(name)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th{background:#f4f4f4}.chart{margin:1em 0}</style></head><body>
<h1>Sweep ${esc(name)}</h1>
<p>${a.cases} cases: ${points} parameter point(s) × ${a.policies.length} policies (${a.policies.map(esc).join(', ')}); swept: ${pcols.map((p) => `<code>${esc(p)}</code>`).join(', ') || 'nothing'}. Means over seeds and runs with 95% confidence intervals (Student t); differences are paired with the baseline <code>${esc(a.baseline)}</code> on the same parameter point, seed and run (identical traffic). Every metric is in <code>analysis.csv</code> and <code>paired.csv</code>.</p>
<h2>Charts</h2>
${svgs.map((s) => `<div class="chart" title="${esc(s.title)}">${s.svg}</div>`).join('\n')}
${SWEEP_CHART_METRICS.map((m) => `<h2>${esc(m)}</h2>${table(m, a.stats, false)}${a.policies.length > 1 ? `<h3>paired difference against ${esc(a.baseline)}</h3>${table(m, a.paired, true)}` : ''}`).join('\n')}
</body></html>
`;
  const file = o.output ?? join(dir, 'report.html');
  writeFileAtomic(file, html);
  return { file, charts: svgs.length, points, cases: a.cases };
}
