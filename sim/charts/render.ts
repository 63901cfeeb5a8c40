/**
 * Headless rendering: Vega-Lite → Vega → SVG (vega's string renderer, no browser, no canvas)
 * → PNG (resvg). Heavy: load this module only when charts are made (`await import(...)`).
 *
 * Deterministic bytes: text is measured by vega's built-in estimator (no canvas), SVG clip and
 * gradient ids are reset before each render, and the PNG is drawn with DejaVu Sans loaded from
 * its font files only (no other system font can take part). DejaVu 2.37 is the last upstream
 * release, so every machine with fonts-dejavu-core draws the same pixels.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';
import type { VlSpec } from './specs.js';

const FONT_DIRS = ['/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/dejavu', '/usr/share/fonts/TTF'];
const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSans-Oblique.ttf'];

/** The DejaVu Sans files the PNG renderer uses (CTSIM_FONT_DIR overrides the search). */
export function fontFiles(): string[] {
  const dirs = process.env['CTSIM_FONT_DIR'] ? [process.env['CTSIM_FONT_DIR']] : FONT_DIRS;
  for (const d of dirs) {
    const files = FONT_FILES.map((f) => join(d, f)).filter((f) => existsSync(f));
    if (files.length > 0 && existsSync(join(d, FONT_FILES[0]!))) return files;
  }
  throw new Error(`charts: DejaVu Sans not found in ${dirs.join(', ')} (install the Debian package fonts-dejavu-core, or set CTSIM_FONT_DIR)`);
}

/** Compiles a Vega-Lite spec to a Vega spec (throws on an invalid spec). */
export function toVega(spec: VlSpec): vega.Spec {
  return vl.compile(spec as unknown as TopLevelSpec).spec;
}

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: VlSpec): Promise<string> {
  vega.resetSVGDefIds();
  const view = new vega.View(vega.parse(toVega(spec)), { renderer: 'none', logLevel: vega.Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

let fonts: string[] | undefined;

/** Rasterises an SVG to PNG at `scale` × its size (white background, DejaVu Sans). */
export function svgToPng(svg: string, scale = 2): Buffer {
  fonts ??= fontFiles();
  const r = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: false, fontFiles: fonts, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    shapeRendering: 2,
    textRendering: 1,
    imageRendering: 0,
  });
  return r.render().asPng();
}

/**
 * Converts an SVG (as vega writes it) to a one-page vector PDF of its size (1 px = 0.75 pt; pdfkit with
 * svg-to-pdfkit, loaded on first use), text in DejaVu Sans (embedded, subset). Deterministic
 * bytes: the creation date is fixed. Dash patterns with a zero length (vega's "solid" dash) are
 * dropped first: PDF dash arrays must be positive.
 */
export async function svgToPdf(svg: string): Promise<Buffer> {
  const [{ default: PDFDocument }, { default: SVGtoPDF }] = await Promise.all([import('pdfkit'), import('svg-to-pdfkit')]);
  fonts ??= fontFiles();
  const size = (attr: string): number => Number(new RegExp(`^<svg[^>]*\\s${attr}="([\\d.]+)"`).exec(svg)?.[1] ?? NaN);
  const w = size('width'), h = size('height');
  if (!(w > 0 && h > 0)) throw new Error('charts: the SVG has no width and height');
  const clean = svg.replace(/ stroke-dasharray="([^"]*)"/g, (m, list: string) => (list.split(/[\s,]+/).some((x) => Number(x) === 0) ? '' : m));
  // SVG pixels are 0.75 pt (CSS units): the page has the chart's physical size
  const doc = new PDFDocument({ size: [w * 0.75, h * 0.75], margin: 0, autoFirstPage: true, info: { CreationDate: new Date(0), Producer: 'ctsim', Creator: 'ctsim' } });
  const regular = fonts.find((f) => f.endsWith('DejaVuSans.ttf'))!;
  const bold = fonts.find((f) => f.endsWith('DejaVuSans-Bold.ttf')) ?? regular;
  doc.registerFont('DejaVu Sans', regular);
  doc.registerFont('DejaVu Sans Bold', bold);
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => { doc.on('end', () => resolve()); doc.on('error', reject); });
  SVGtoPDF(doc, clean, 0, 0, { width: w, height: h, fontCallback: (_family: string, isBold: boolean) => (isBold ? 'DejaVu Sans Bold' : 'DejaVu Sans') });
  doc.end();
  await done;
  return Buffer.concat(chunks);
}

export interface RenderedChart {
  name: string;
  spec: VlSpec;
  svg: string;
  png: Buffer;
  /** With `pdf: true` only. */
  pdf?: Buffer;
}

/** Renders several named specs (in name order given). */
export async function renderAll(specs: Readonly<Record<string, VlSpec | undefined>>, scale = 2, o: { pdf?: boolean } = {}): Promise<RenderedChart[]> {
  const out: RenderedChart[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    if (!spec) continue;
    const svg = await renderSvg(spec);
    out.push({ name, spec, svg, png: svgToPng(svg, scale), ...(o.pdf ? { pdf: await svgToPdf(svg) } : {}) });
  }
  return out;
}
