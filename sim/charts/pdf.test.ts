import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import type { ChartData } from './data.js';
import { renderSvg, svgToPdf } from './render.js';
import { chartSpecs } from './specs.js';

const d: ChartData = {
  kind: 'compare', scenario: 'pdf', seed: 1, runs: 1,
  timeline: { end_s: 20, attacks: [{ label: 'flood', start_s: 5, stop_s: 10 }] },
  arms: ['kernel', 'lru'].map((policy) => ({
    policy, nf_conntrack_max: 100, columns: ['time_s', 'count', 'legit_dropped', 'attack_dropped', 'drop', 'early_drop'],
    rows: Array.from({ length: 21 }, (_, t) => [t, Math.min(100, t * 10), 0, t > 10 ? 3 : 0, 0, 0]),
    evictions: {}, lifetimes: { bounds_s: [1, 2], legit: [1, 0, 0] }, classes: {}, generators: [],
  })),
};

/** The text of every (Flate-compressed) stream of a PDF, decompressed. */
function streams(pdf: Buffer): string {
  const s = pdf.toString('latin1');
  let out = '';
  for (let at = s.indexOf('stream\n'); at >= 0; at = s.indexOf('stream\n', at + 1)) {
    const end = s.indexOf('endstream', at);
    try { out += inflateSync(pdf.subarray(at + 7, end)).toString('latin1'); } catch { /* not Flate */ }
  }
  return out;
}

test('a chart as PDF: one page of the SVG\'s size, vector drawing, DejaVu Sans embedded, byte-identical twice', async (t) => {
  const svg = await renderSvg(chartSpecs(d).occupancy!);
  const w = Number(/^<svg[^>]*\swidth="([\d.]+)"/.exec(svg)![1]), h = Number(/^<svg[^>]*\sheight="([\d.]+)"/.exec(svg)![1]);
  const a = await svgToPdf(svg);
  const b = await svgToPdf(svg);
  t.is(a.subarray(0, 5).toString(), '%PDF-');
  t.true(a.equals(b), 'deterministic bytes');
  const text = a.toString('latin1');
  t.is((text.match(/\/Type \/Page\b/g) ?? []).length, 1);
  t.regex(text, new RegExp(`/MediaBox \\[0 0 ${w * 0.75} ${h * 0.75}\\]`), '1 px = 0.75 pt');
  t.regex(text, /\/BaseFont \/[A-Z]{6}\+DejaVuSans\b/);
  t.regex(text, /\/BaseFont \/[A-Z]{6}\+DejaVuSans-Bold\b/);
  const ops = streams(a);
  t.regex(ops, /\n[\d.]+ [\d.]+ l\n/, 'line segments (paths)');
  // the attack window's fill (#d62728) and the policies' line colours (#4c78a8, #f58518)
  t.true(ops.includes('0.8392156862745098 0.15294117647058825 0.1568627450980392 scn'), 'attack window shading');
  t.true(ops.includes('0.2980392156862745 0.47058823529411764 0.6588235294117647 SCN'), 'kernel line');
  t.true(ops.includes('0.9607843137254902 0.5215686274509804 0.09411764705882353 SCN'), 'lru line');
  t.false(/\/Subtype \/Image/.test(text), 'no raster image inside');
});

test('ctsim run --pdf writes charts/<name>.pdf next to the SVG and PNG; without --pdf none', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ctsim-pdf-'));
  const f = join(dir, 'p.yaml');
  writeFileSync(f, 'name: p\nduration: 10s\ntraffic:\n  - { kind: tcp-clients, rate: 20 }\n  - { kind: syn-flood, rate: 50, start: 2s, stop: 6s }\n');
  const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
  const run = (out: string, extra: string[]) => spawnSync(process.execPath, [cli, 'run', f, '--out', join(dir, out), '--quiet', ...extra], { encoding: 'utf8' });
  // the run folder is s1-r0-<hash of the inputs>
  const runDir = (d: string) => join(d, readdirSync(d).find((n) => n.startsWith('s1-r0-'))!);
  const a = run('a', ['--pdf']);
  t.is(a.status, 0, a.stderr);
  for (const name of ['occupancy', 'drops', 'lifetimes']) {
    const pdf = join(runDir(join(dir, 'a', 'p')), 'charts', `${name}.pdf`);
    t.true(existsSync(pdf), name);
    t.is(readFileSync(pdf).subarray(0, 5).toString(), '%PDF-');
  }
  const b = run('b', []);
  t.is(b.status, 0, b.stderr);
  t.true(existsSync(join(runDir(join(dir, 'b', 'p')), 'charts', 'occupancy.png')));
  t.false(existsSync(join(runDir(join(dir, 'b', 'p')), 'charts', 'occupancy.pdf')));
});
