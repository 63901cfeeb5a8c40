import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { main } from '../cli.js';
import { registerReport, writeReport } from '../cli/report-command.js';
import { renderSvg } from '../charts/render.js';
import { nextScale, panelWidth, scalePanels } from './html.js';

/** The one result folder under `parent` whose name starts with `prefix` (names end in a hash). */
function only(parent: string, prefix: string): string {
  const m = readdirSync(parent).filter((n) => n.startsWith(prefix));
  if (m.length !== 1) throw new Error(`expected one ${prefix}* folder in ${parent}, found ${m.join(', ') || 'none'}`);
  return join(parent, m[0]!);
}

const SCENARIO = `
name: rep
description: report test <with markup & "quotes">
duration: 60s
sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024 }
traffic:
  - { kind: tcp-clients, label: web, rate: 30 }
  - { kind: idle-nat-flows, label: nat, flows: 50, idle: { dist: exponential, mean: 20 } }
  - { kind: tcp-clients, label: bots, class: attack, rate: 80, hold: 0, misbehave: { vanish: 1 }, start: 5s, stop: 25s }
  - { kind: port-scan, label: scan, rate: 20, ports: 1-65535, start: 10s, stop: 20s }
policy_params:
  keepalive: { idle: 5s, interval: 2s, probes: 2 }
`;

async function quiet(argv: string[]): Promise<number> {
  const ow = process.stdout.write.bind(process.stdout), ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try { return await main(argv); } finally { process.stdout.write = ow; process.stderr.write = ew; }
}

/** A results folder with one comparison (2 runs, 2 policies) and one run, made once for all tests. */
const made = (async () => {
  const d = mkdtempSync(join(tmpdir(), 'ctsim-report-'));
  const f = join(d, 'rep.yaml');
  writeFileSync(f, SCENARIO);
  const out = join(d, 'results');
  if (await quiet(['compare', f, '--policies', 'kernel,keepalive', '--runs', '2', '--out', out, '--no-charts']) !== 0) throw new Error('compare failed');
  if (await quiet(['run', f, '--out', out]) !== 0) throw new Error('run failed');
  return out;
})();

test.serial('ctsim run writes charts/ (spec, SVG, PNG per chart); --no-charts does not', async (t) => {
  const out = await made;
  for (const name of ['occupancy', 'drops', 'evictions', 'success-rate', 'broken-flows', 'lifetimes', 'setup-time']) {
    for (const ext of ['vl.json', 'svg', 'png']) t.true(existsSync(join(only(join(out, 'rep'), 's1-r0-'), 'charts', `${name}.${ext}`)), `${name}.${ext}`);
  }
  t.false(existsSync(join(only(join(out, 'rep'), 'compare-s1-'), 'charts')));
  t.true(existsSync(join(only(join(out, 'rep'), 'compare-s1-'), 'manifest.json')));
});

test.serial('report: one self-contained page per folder, every chart of every result, nothing fetched from the network', async (t) => {
  const out = await made;
  const r = await writeReport(join(out, 'rep'));
  t.is(r.file, join(out, 'rep', 'report.html'));
  t.deepEqual(r.results.map((x) => [x.kind, x.name.replace(/-[0-9a-f]{10}$/, '')]), [['compare', 'compare-s1'], ['run', 's1-r0']]);
  const html = readFileSync(r.file, 'utf8');
  t.is((html.match(/<div class="chart" /g) ?? []).length, 8 + 7);
  // (t.true on .test(): a failing t.regex would print the whole 1 MB page)
  t.false(/<script[^>]+src=/.test(html), 'no external scripts');
  t.false(/<link[^>]+href=/.test(html), 'no external stylesheets');
  t.false(/sourceMappingURL/.test(html), 'no source map references');
  t.true(html.includes('report test &lt;with markup &amp; &quot;quotes&quot;&gt;'), 'scenario text is escaped');
  t.true(html.includes('legit_success_rate'), 'the metrics table');
  // the traffic table and the resolved scenario are in user terms (durations with units, addresses as text)
  t.true(html.includes('<td>5s</td><td>25s</td>'), 'bots start and stop as written');
  t.true(html.includes('Resolved scenario (as a scenario file'), 'resolved scenario as YAML');
  t.true(html.includes('clients: 10.1.0.0/16'), 'prefixes as text');
  t.true(html.length < 2_000_000, `the page stays small (${html.length} bytes): long lists such as an expanded port range are shortened`);
  const specs = JSON.parse(/<script type="application\/json" id="ctsim-specs">([\s\S]*?)<\/script>/.exec(html)![1]!) as { id: string; spec: Record<string, unknown> }[];
  t.is(specs.length, 15);
  // charts at the page's full width: single and layered views fit the container, concatenated
  // and faceted ones are marked to be fitted when embedded, and the chart boxes span the section
  t.true(/\.chart\{[^}]*width:100%/.test(html), 'chart boxes are full width');
  for (const { id, spec, fit } of specs as { id: string; spec: Record<string, unknown>; fit?: boolean }[]) {
    if ('hconcat' in spec || 'vconcat' in spec || 'facet' in spec) {
      t.true(fit, `${id}: fitted to the box when embedded`);
      continue;
    }
    t.is(fit, undefined, id);
    t.is(spec['width'], 'container', id);
    t.deepEqual(spec['autosize'], { type: 'fit-x', contains: 'padding' }, id);
  }
  t.deepEqual(specs.filter((x) => (x as { fit?: boolean }).fit).map((x) => x.id),
    ['chart-0-overview', 'chart-0-drops', 'chart-0-lifetimes', 'chart-0-setup-time', 'chart-1-drops', 'chart-1-setup-time']);
  // the page fits them with the same functions the next test checks (their source is inlined)
  for (const f of [panelWidth, scalePanels, nextScale]) t.true(html.includes(f.toString()), `${f.name} inlined in the page`);
  t.true(html.includes('embedFitted(el, c.spec, 1, 4)'), 'fitted charts are embedded through embedFitted');
  // the attack windows (bots 5–25 s, scan 10–20 s, from the manifest's scenario) are shaded
  for (const id of ['chart-0-occupancy', 'chart-1-occupancy']) {
    const layers = specs.find((x) => x.id === id)!.spec['layer'] as { name?: string; mark: { type: string }; data: { values: { attack: string; t0: number; t1: number }[] } }[];
    const shade = layers.find((l) => l.name === 'attack-windows');
    t.truthy(shade, `${id}: an attack-window layer`);
    t.is(shade!.mark.type, 'rect');
    t.is(layers.indexOf(shade!), 0, 'under the lines');
    t.deepEqual(shade!.data.values.map((v) => [v.attack, v.t0, v.t1]), [['bots', 5, 25], ['scan', 10, 20]]);
  }
  // a run folder alone, and -o
  const one = await writeReport(only(join(out, 'rep'), 's1-r0-'), join(out, 'one.html'));
  t.deepEqual(one.results.map((x) => x.kind), ['run']);
});

/** The drawn width of an SVG (its root element's width attribute). */
const svgWidth = (svg: string) => Number(/<svg[^>]* width="([\d.]+)"/.exec(svg)![1]);

/** What the page does to a concatenated or faceted chart: draw, measure, scale the panels, at most 4 draws. */
async function fitLikeThePage(spec: Record<string, unknown>, avail: number): Promise<{ drawn: number[]; k: number }> {
  let k = 1, prevK: number | undefined, prevDrawn: number | undefined;
  const drawn: number[] = [];
  for (let tries = 4; ; tries--) {
    const scaled = k === 1 ? spec : scalePanels(spec, k);
    const w = svgWidth(await renderSvg(scaled));
    drawn.push(w);
    const next = nextScale(k, panelWidth(scaled), w, avail, prevK, prevDrawn);
    if (tries <= 1 || Math.abs(w - avail) <= 4 || next === k) return { drawn, k };
    prevK = k; prevDrawn = w; k = next;
  }
}

test.serial('report: concatenated and faceted charts (overview, drops, lifetimes, setup time) are drawn at the box width, not their panel widths', async (t) => {
  const out = await made;
  const html = readFileSync((await writeReport(join(out, 'rep'))).file, 'utf8');
  const specs = JSON.parse(/<script type="application\/json" id="ctsim-specs">([\s\S]*?)<\/script>/.exec(html)![1]!) as { id: string; spec: Record<string, unknown>; fit?: boolean }[];
  const fitted = specs.filter((x) => x.fit && x.id.startsWith('chart-0-'));
  t.is(fitted.length, 4);
  // the page's main column is 1500 px at most: a chart box is about 1350 px wide on a wide
  // screen, 1100 px in a 1280 px window (narrower than the overview's title the chart cannot be)
  for (const avail of [1350, 1100]) {
    for (const { id, spec } of fitted) {
      const r = await fitLikeThePage(spec, avail);
      t.true(Math.abs(r.drawn[0]! - avail) > 20, `${id}: at its own panel widths it is ${r.drawn[0]} px wide, not ${avail}`);
      t.true(Math.abs(r.drawn.at(-1)! - avail) <= 4, `${id} in ${avail} px: drawn ${r.drawn.join(' → ')} px (panels ×${r.k.toFixed(3)})`);
    }
  }
  // the overview's two rows both span the box: the lower row's panels grow with the upper row's
  const ov = fitted.find((x) => x.id === 'chart-0-overview')!.spec;
  const k = (await fitLikeThePage(ov, 1400)).k;
  const rows = (scalePanels(ov, k)['vconcat'] as Record<string, unknown>[]).map(panelWidth);
  t.true(rows[0]! > 1000 && rows[1]! > 900, `panel widths per row ${rows.join(', ')}`);
});

test.serial('report command: bad folder is bad input (exit 2); --help has an example', async (t) => {
  const program = new Command().exitOverride();
  registerReport(program);
  const d = mkdtempSync(join(tmpdir(), 'ctsim-report-empty-'));
  const ew = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await t.throwsAsync(program.parseAsync(['report', d], { from: 'user' }), { message: /no results here/ });
    await t.throwsAsync(program.parseAsync(['report', join(d, 'missing')], { from: 'user' }), { message: /not found/ });
  } finally {
    process.stderr.write = ew;
  }
  let help = '';
  program.configureOutput({ writeOut: (s) => { help += s; } });
  program.commands.forEach((c) => c.exitOverride().configureOutput({ writeOut: (s) => { help += s; } }));
  await t.throwsAsync(program.parseAsync(['report', '--help'], { from: 'user' }));
  t.regex(help, /Example/);
});

const CHROMIUM = process.env['CTSIM_CHROMIUM'] ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const inCi = process.env['CI'] === 'true';
if (!haveChromium && !inCi) console.log(`report.test: ${CHROMIUM} not found, the browser test is skipped (CI installs Debian's chromium)`);

(haveChromium || inCi ? test.serial : test.serial.skip)('browser: the report opens in headless Chromium, every chart renders, tooltips work, the console shows no error', async (t) => {
  t.true(haveChromium, `${CHROMIUM} not found: install Debian's chromium (CI must)`);
  if (!haveChromium) return;
  const out = await made;
  const { file } = await writeReport(join(out, 'rep'));
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console.error: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url()); });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    await page.waitForFunction(() => (window as unknown as { ctsimReport?: { done: boolean } }).ctsimReport?.done === true, null, { timeout: 30_000 });
    const state = await page.evaluate(() => (window as unknown as { ctsimReport: { total: number; rendered: number; failed: number; errors: string[] } }).ctsimReport);
    t.is(state.failed, 0, state.errors.join('\n'));
    t.is(state.rendered, 15);
    t.is(state.total, 15);
    const charts = await page.$$eval('div.chart', (els) => els.map((el) => {
      const svg = el.querySelector('svg');
      const box = svg?.getBoundingClientRect();
      return {
        id: el.id, rendered: el.getAttribute('data-rendered'),
        width: box?.width ?? 0, height: box?.height ?? 0,
        avail: el.clientWidth - parseFloat(getComputedStyle(el).paddingLeft) - parseFloat(getComputedStyle(el).paddingRight),
        marks: el.querySelectorAll('svg .mark-line path, svg .mark-rect path, svg .mark-symbol path, svg .mark-rule line, svg .mark-text text').length,
      };
    }));
    t.is(charts.length, 15);
    // the boxes span the section, so their width does not depend on what is drawn in them
    t.is(new Set(charts.map((c) => Math.round(c.avail))).size, 1, 'every chart box has the same width');
    t.true(charts[0]!.avail > 1100, `boxes ${charts[0]!.avail} px wide in a 1400 px window`);
    for (const c of charts) {
      t.is(c.rendered, 'true', c.id);
      t.true(c.width > 100 && c.height > 50, `${c.id}: drawn with a size (${c.width}×${c.height})`);
      // every chart spans its box: single views through width "container", concatenated and
      // faceted ones fitted by the page (within a few pixels)
      t.true(Math.abs(c.width - c.avail) <= 6, `${c.id}: ${c.width} px wide in a ${c.avail} px box`);
      t.true(c.marks > 0, `${c.id}: has marks`);
    }
    // a narrower window: the fitted charts are fitted again, the single ones follow by themselves
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.waitForFunction(() => [...document.querySelectorAll('div.chart')].every((el) => {
      const svg = el.querySelector('svg'), cs = getComputedStyle(el);
      const avail = el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
      return svg !== null && avail < 1100 && Math.abs(svg.getBoundingClientRect().width - avail) <= 6;
    }), null, { timeout: 20_000 });
    t.pass('after a resize to 1100 px every chart spans its box again');
    // a tooltip: hover a point of the comparison's success-rate chart
    const bar = page.locator('#chart-0-success-rate svg .mark-symbol path').first();
    await bar.hover({ force: true });
    await page.waitForSelector('#vg-tooltip-element.visible', { timeout: 5000 });
    t.regex(await page.locator('#vg-tooltip-element').innerText(), /policy/);
    t.deepEqual(problems, [], 'no console error');
    t.deepEqual(requests, [], 'no network request');
  } finally {
    await browser.close();
  }
});

test.serial('report: a comparison with a variant arm lists the variant and its rules\' counters; a run with a ruleset its rules', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'ctsim-report-rules-'));
  const f = join(d, 'reprules.yaml');
  writeFileSync(f, `name: reprules
duration: 10s
sysctl: { nf_conntrack_max: 4096 }
traffic:
  - { kind: syn-flood, label: flood, rate: 100, sources: 198.18.0.0/15, start: 1s, stop: 9s }
variants:
  - name: with-rules
    ruleset: |
      table ip nat {
        chain pre { type nat hook prerouting priority dstnat; ip saddr 198.18.0.0/15 counter accept; }
      }
`);
  const out = join(d, 'results');
  t.is(await quiet(['compare', f, '--policies', 'kernel', '--arms', 'with-rules', '--runs', '1', '--out', out, '--no-charts']), 0);
  const dir = only(join(out, 'reprules'), 'compare-s1-');
  t.is(await quiet(['report', dir]), 0);
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  t.regex(html, /<li><code>with-rules<\/code>: variant <code>with-rules<\/code> \(ruleset: 1 rule \(inline\)\), policies kernel<\/li>/);
  t.regex(html, /<h3>Rules of <code>with-rules<\/code><\/h3>/);
  t.regex(html, /<code>nat\/pre:10<\/code> <span class="small">ip saddr 198\.18\.0\.0\/15 counter accept<\/span><\/th><td>[1-9][\d,]*<\/td>/);
  t.notRegex(html, /Rules of <code>kernel<\/code>/);
});
