/**
 * The self-contained HTML report: the scenario, the metrics table and interactive charts
 * (vega-embed with tooltips, legend selection, zoom). Vega, Vega-Lite and vega-embed are inlined
 * from node_modules, so the page works offline and can be mailed or attached as one file.
 * `reportHtml` is pure (given the scripts' text); `vendorScripts` reads them.
 */
import { stringify } from 'yaml';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHART_NAMES, chartSpecs, type VlSpec } from '../charts/specs.js';
import { COMPARE_METRICS } from '../run/compare.js';
import type { ReportSection } from './load.js';

export interface VendorScript {
  name: string;
  version: string;
  text: string;
}

/** The browser builds of vega, vega-lite and vega-embed (in load order). */
export function vendorScripts(): VendorScript[] {
  const files: [string, string][] = [['vega', 'vega.min.js'], ['vega-lite', 'vega-lite.min.js'], ['vega-embed', 'vega-embed.min.js']];
  return files.map(([pkg, file]) => {
    const buildDir = dirname(fileURLToPath(import.meta.resolve(pkg)));
    const version = (JSON.parse(readFileSync(join(buildDir, '..', 'package.json'), 'utf8')) as { version: string }).version;
    return { name: pkg, version, text: readFileSync(join(buildDir, file), 'utf8') };
  });
}

const esc = (s: unknown): string => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** JSON safe inside a <script> element. */
const scriptJson = (x: unknown): string => JSON.stringify(x).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

/** Script text safe inside a <script> element. */
const scriptText = (s: string): string => s.replace(/^\/\/# sourceMappingURL=.*$/gm, '').replace(/<\/script/gi, '<\\/script').replace(/<!--/g, '<\\!--');

const num = (x: number | null | undefined, digits = 0): string =>
  x === null || x === undefined ? '–' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (x: number | null | undefined, digits = 2): string => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(digits)}%`);
const secs = (us: unknown): string => (typeof us === 'number' ? `${us / 1e6} s` : esc(us));

function table(head: string[], rows: string[][], cls = ''): string {
  return `<table class="${cls}"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th>${c}</th>` : `<td>${c}</td>`)).join('')}</tr>`).join('') + '</tbody></table>';
}

/** Long arrays (e.g. an expanded port range) shortened for display. */
function shorten(x: unknown): unknown {
  // a typed array serialised by JSON.stringify is an object with keys "0", "1", …
  if (x && typeof x === 'object' && !Array.isArray(x) && Object.keys(x).length > 12 && Object.keys(x).every((k) => /^\d+$/.test(k))) x = Object.values(x);
  if (Array.isArray(x)) return x.length > 12 ? [...x.slice(0, 6).map(shorten), `… ${x.length - 8} more …`, ...x.slice(-2).map(shorten)] : x.map(shorten);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, shorten(v)]));
  return x;
}

function describeValue(v: unknown): string {
  if (v === undefined || v === null) return '–';
  if (typeof v === 'object') return esc(JSON.stringify(shorten(v)));
  return esc(v);
}

function bytes(x: unknown): string {
  if (typeof x !== 'number') return describeValue(x);
  for (const [u, n] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) if (x >= n && x % n === 0) return `${x / n} ${u}`;
  return `${x} B`;
}

/** A rate as written in scenarios: a number, or a shape. */
function rate(x: unknown): string {
  if (x === undefined || x === null) return '–';
  if (typeof x === 'object') {
    const r = x as Record<string, unknown>;
    if (r['shape'] === 'number') return esc(r['rate']);
    if (r['shape'] === 'ramp') return `ramp ${esc(r['from'])} → ${esc(r['to'])} over ${secs(r['over'])}`;
  }
  return describeValue(x);
}

function scenarioHtml(s: ReportSection): string {
  const sc = s.manifest?.resolved_scenario;
  if (!sc) return '<p class="note">No manifest.json in this folder: the scenario is not known.</p>';
  const kernel = (sc['kernel'] ?? {}) as Record<string, unknown>;
  const sysctl = (sc['sysctl'] ?? {}) as Record<string, unknown>;
  const traffic = (sc['traffic'] ?? []) as Record<string, unknown>[];
  const policies = (sc['policies'] ?? []) as { name: string }[];
  const facts: [string, string][] = [
    ['description', esc(sc['description'] ?? '')],
    ['seed · runs', `${esc(sc['seed'])} · ${esc(s.kind === 'compare' ? s.comparison.runs : sc['runs'])}`],
    ['duration · sample interval', `${secs(sc['duration'])} · ${secs(sc['sample_interval'])}`],
    ['kernel', `${esc(kernel['version'])}, HZ ${esc(kernel['hz'])}, memory ${bytes(kernel['memory'])}${kernel['hashsize'] !== undefined ? `, hashsize ${esc(kernel['hashsize'])}` : ''}`],
    ['sysctl overrides', Object.keys(sysctl).length === 0 ? 'none' : Object.entries(sysctl).map(([k, v]) => `<code>${esc(k)}=${esc(v)}</code>`).join(' ')],
    ['policies', s.kind === 'compare' ? s.comparison.arms.map((a) => `<code>${esc(a.label)}</code>`).join(', ') : policies.map((p) => `<code>${esc(p.name)}</code>`).join(' + ') || 'none'],
    ['ctsim · scenario SHA-256', `${esc(s.manifest?.ctsim_version ?? '?')} · <code>${esc((s.manifest?.scenario_sha256 ?? '').slice(0, 16))}…</code>`],
  ];
  const known = new Set(['kind', 'label', 'class', 'rate', 'start', 'stop']);
  // manifests from this ctsim on carry the scenario in user terms (durations with units, addresses as text)
  const user = s.manifest?.resolved;
  const userTraffic = (user?.['traffic'] ?? null) as Record<string, unknown>[] | null;
  const plain = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v).replace(/"/g, '').replace(/,/g, ', ').replace(/:/g, ': '));
  const trafficRows = userTraffic ? userTraffic.map((t) => [
    esc(t['label'] ?? ''), `<code>${esc(t['kind'])}</code>`, esc(t['class'] ?? ''), esc(plain(t['rate'] ?? '–')), esc(t['start'] ?? '–'),
    t['stop'] === undefined || t['stop'] === '1000d' ? '–' : esc(t['stop']),
    `<span class="small">${esc(Object.entries(t).filter(([k]) => !known.has(k)).map(([k, v]) => `${k}: ${plain(shorten(v))}`).join('; '))}</span>`,
  ]) : traffic.map((t) => [
    esc(t['label'] ?? ''), `<code>${esc(t['kind'])}</code>`, esc(t['class'] ?? (t['kind'] === 'syn-flood' || t['kind'] === 'port-scan' ? 'attack' : 'legit')),
    rate(t['rate']), t['start'] !== undefined ? secs(t['start']) : '–', t['stop'] !== undefined && Number(t['stop']) < 8.64e13 ? secs(t['stop']) : '–',
    `<span class="small">${esc(Object.entries(t).filter(([k]) => !known.has(k)).map(([k, v]) => `${k}: ${JSON.stringify(shorten(v))}`).join('; '))}</span>`,
  ]);
  return `<table class="facts"><tbody>${facts.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</tbody></table>
<h3>Traffic</h3>
${table(['label', 'generator', 'class', 'rate', 'start', 'stop', 'parameters'], trafficRows, 'traffic')}
${user ? `<details><summary>Resolved scenario (as a scenario file: every default filled in; \`ctsim validate --resolved\` prints the same)</summary><pre>${esc(stringify(user, { lineWidth: 0 }))}</pre></details>` : `<details><summary>Resolved scenario (JSON; durations in µs; long lists shortened)</summary><pre>${esc(JSON.stringify(shorten(sc), null, 2))}</pre></details>`}`;
}

const METRIC_DOC: Record<string, string> = {
  legit_success_rate: 'legitimate flows that succeeded / (succeeded + failed + still being admitted at the end)',
  legit_success_rate_ended: 'legitimate flows that succeeded / (succeeded + failed): ended flows only',
  legit_never_admitted: 'legitimate flows that failed because every attempt was dropped',
  legit_unfinished_admitting: 'legitimate flows still being admitted (e.g. retrying their SYN) when the run ended',
  legit_setup_p50_ms: 'connection setup time, first SYN to established (client view), median, ms',
  legit_setup_p90_ms: 'connection setup time, 90th percentile, ms',
  legit_setup_p99_ms: 'connection setup time, 99th percentile, ms',
  legit_setup_max_ms: 'connection setup time, maximum, ms',
  legit_resolution_p50_ms: 'DNS resolution time (retries included), median, ms',
  legit_resolution_p99_ms: 'DNS resolution time (retries included), 99th percentile, ms',
  legit_completion_p50_ms: 'request completion time, first SYN to last response, median, ms',
  legit_completion_p99_ms: 'request completion time, 99th percentile, ms',
  legit_failed: 'legitimate flows that failed',
  legit_broken: 'established legitimate flows that lost their entry (broken NAT flows)',
  legit_dropped_packets: 'legitimate packets dropped',
  attack_entries_admitted: 'attack entries confirmed into the table',
  legit_assured_evicted: 'ASSURED legitimate entries removed before their timeout',
  time_to_first_drop_s: 'seconds until the first legitimate packet was dropped',
  recovery_s: 'seconds from the last attack packet until the table was below 95% of nf_conntrack_max',
  peak_count: 'most entries at once',
  peak_fill: 'peak count / nf_conntrack_max',
  kernel_bytes_peak: 'peak kernel memory (hash table + entries), bytes',
};

function metricsHtml(s: ReportSection): string {
  if (s.kind === 'compare') {
    const c = s.comparison;
    const fmt = (m: string, x: number | null): string => (m.startsWith('legit_success_rate') || m === 'peak_fill' ? pct(x, m === 'peak_fill' ? 1 : 2) : m.endsWith('_s') ? num(x, 2) : m.endsWith('_ms') ? num(x, 1) : num(x, 0));
    const rows = COMPARE_METRICS.map((m) => [
      `<span title="${esc(METRIC_DOC[m] ?? m)}">${esc(m)}</span>`,
      ...c.arms.map((a) => {
        const st = a.stats[m];
        return st.ci95 === null ? fmt(m, st.mean) : `${fmt(m, st.mean)} <span class="ci">± ${fmt(m, st.ci95)}</span>`;
      }),
    ]);
    const ci = (st: { mean: number | null; ci95: number | null }): string => (st.ci95 === null ? num(st.mean, 0) : `${num(st.mean, 0)} <span class="ci">± ${num(st.ci95, 0)}</span>`);
    // per arm with a ruleset: what each rule matched and dropped, by class (collateral damage)
    const rules = c.arms.filter((a) => a.rules !== undefined).map((a) => `<h3>Rules of <code>${esc(a.label)}</code></h3>
${table(['rule', 'packets', 'bytes', 'legit dropped', 'attack dropped'], a.rules!.map((r) => [
      `<code>${esc(`${r.table}/${r.chain}:${r.line}`)}</code> <span class="small">${esc(r.text)}</span>`, ci(r.packets), ci(r.bytes), ci(r.dropped_legit), ci(r.dropped_attack)]), 'metrics')}`).join('\n');
    const variants = c.arms.filter((a) => a.variant !== undefined).map((a) => `<li><code>${esc(a.label)}</code>: variant <code>${esc(a.variant)}</code> (${esc((a.overrides ?? []).join('; ') || 'no overrides')}), policies ${esc(a.policies.map((p) => p.name).join('+') || 'none')}</li>`);
    return `<p>Mean over ${c.runs} run(s) per ${variants.length > 0 ? 'arm' : 'policy'} on identical traffic${c.runs > 1 ? '; ± is the 95% confidence interval (Student t)' : ' (one run: no interval; use <code>--runs N</code>)'}. Hover a metric for its meaning.</p>
${variants.length > 0 ? `<ul class="small">${variants.join('')}</ul>\n` : ''}${table(['metric', ...c.arms.map((a) => `<code>${esc(a.label)}</code>`)], rows, 'metrics')}${rules === '' ? '' : `\n${rules}`}`;
  }
  const r = s.summary;
  const t = r.table;
  const facts: [string, string][] = [
    ['nf_conntrack_max · buckets', `${num(t.nf_conntrack_max)} · ${num(t.nf_conntrack_buckets)}`],
    ['peak · final count', `${num(t.peak_count)} (${pct(t.peak_fill, 1)}) · ${num(t.final_count)}`],
    ['table first full · first table-full drop', `${t.first_full_s === null ? 'never' : `${t.first_full_s} s`} · ${t.first_table_full_s === null ? 'never' : `${t.first_table_full_s} s`}`],
    ['kernel memory peak', `${num(t.kernel_bytes_peak)} bytes`],
    ['conntrack -S (non-zero)', Object.entries(r.conntrack_S).filter(([, v]) => v !== 0).map(([k, v]) => `<code>${esc(k)}=${num(v)}</code>`).join(' ') || 'all 0'],
  ];
  const cls = Object.entries(r.classes).map(([k, o]) => [esc(k), num(o.started), num(o.succeeded), num(o.failed), pct(o.success_rate), num(o.broken), `${num(o.dropped)} / ${num(o.packets)}`]);
  const gens = r.generators.map((g) => [esc(g.label), `<code>${esc(g.kind)}</code>`, esc(g.class ?? ''), num(g.started), pct(g.success_rate), num(g.broken), `${num(g.dropped)} / ${num(g.packets)}`]);
  return `<table class="facts"><tbody>${facts.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</tbody></table>
<h3>Outcomes by class</h3>
${table(['class', 'flows', 'succeeded', 'failed', 'success rate', 'broken', 'packets dropped'], cls, 'metrics')}
<h3>Outcomes by generator</h3>
${table(['generator', 'kind', 'class', 'flows', 'success rate', 'broken', 'packets dropped'], gens, 'metrics')}${r.rules === undefined ? '' : `
<h3>Rules</h3>
${table(['rule', 'packets', 'bytes', 'legit dropped', 'attack dropped'], r.rules.map((x) => [
    `<code>${esc(`${x.table}/${x.chain}:${x.line}`)}</code> <span class="small">${esc(x.text)}</span>`, num(x.packets), num(x.bytes), num(x.drops.legit), num(x.drops.attack)]), 'metrics')}`}`;
}

const CSS = `
body{font-family:"DejaVu Sans",system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3b57;color:#fff;padding:16px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;opacity:.85}
main{padding:8px 28px 40px;max-width:1500px}
section.result{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 20px 20px;margin:18px 0}
h2{font-size:19px;border-bottom:1px solid #eee;padding-bottom:6px}h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right;vertical-align:top}
thead th{background:#f0f3f6}tbody th{text-align:left;font-weight:normal;background:#fbfbfb}
table.facts td,table.traffic td{text-align:left}.small{font-size:11px;color:#555}.ci{color:#777;font-size:11px}
.charts{display:flex;flex-direction:column;gap:18px}.chart{border:1px solid #eee;padding:6px;background:#fff;min-height:60px;width:100%;box-sizing:border-box;overflow-x:auto}
.chart.failed{border-color:#d62728}.note{color:#777}pre{font-size:11px;max-height:400px;overflow:auto;background:#f6f6f6;padding:8px}
nav a{margin-right:14px;color:#1f3b57}code{font-size:12px}
`;

/** Vega-embed options and the render loop; exposes progress as window.ctsimReport (read by the browser test). */
const BOOT = `
(function () {
  var specs = JSON.parse(document.getElementById('ctsim-specs').textContent);
  var state = { total: specs.length, rendered: 0, failed: 0, errors: [], done: false };
  window.ctsimReport = state;
  var opts = { renderer: 'svg', actions: { export: true, source: true, compiled: false, editor: false }, tooltip: { theme: 'light' } };
  ${panelWidth.toString()}
  ${scalePanels.toString()}
  ${nextScale.toString()}
  /* a concatenated or faceted chart: draw, measure, and draw again with the panels scaled to fill the box (at most 4 draws) */
  function embedFitted(el, spec, k, tries, prevK, prevDrawn) {
    var scaled = k === 1 ? spec : scalePanels(spec, k);
    return vegaEmbed(el, scaled, opts).then(function (res) {
      var svg = el.querySelector('svg');
      var drawn = svg ? parseFloat(svg.getAttribute('width')) : NaN;
      var cs = getComputedStyle(el);
      var avail = el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
      var next = nextScale(k, panelWidth(scaled), drawn, avail, prevK, prevDrawn);
      el.setAttribute('data-fit', JSON.stringify({ avail: avail, drawn: drawn, scale: k }));
      if (tries <= 1 || Math.abs(drawn - avail) <= 4 || next === k) return res;
      res.finalize();
      return embedFitted(el, spec, next, tries - 1, k, drawn);
    });
  }
  var views = {};
  Promise.all(specs.map(function (c) {
    var el = document.getElementById(c.id);
    return (c.fit ? embedFitted(el, c.spec, 1, 4) : vegaEmbed(el, c.spec, opts)).then(function (res) {
      views[c.id] = res;
      el.setAttribute('data-rendered', 'true');
      state.rendered++;
      return res;
    }, function (err) {
      el.classList.add('failed');
      el.setAttribute('data-rendered', 'error');
      el.textContent = 'chart failed: ' + err;
      state.failed++;
      state.errors.push(c.id + ': ' + String(err));
      console.error('ctsim report: chart ' + c.id + ' failed', err);
    });
  })).then(function () {
    state.done = true;
    document.body.setAttribute('data-charts-done', 'true');
    /* when the window's width changes, fit the concatenated and faceted charts again (single views follow by themselves) */
    var lastWidth = document.documentElement.clientWidth, pending = false;
    window.addEventListener('resize', function () {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () {
        pending = false;
        var w = document.documentElement.clientWidth;
        if (w === lastWidth) return;
        lastWidth = w;
        specs.forEach(function (c) { if (c.fit && views[c.id]) refit(c); });
      });
    });
    /* one fit at a time per chart; a resize during a fit fits once more after it */
    var fitting = {};
    function refit(c) {
      if (fitting[c.id]) { fitting[c.id] = 2; return; }
      fitting[c.id] = 1;
      views[c.id].finalize();
      embedFitted(document.getElementById(c.id), c.spec, 1, 4).then(function (res) {
        views[c.id] = res;
        var again = fitting[c.id] === 2;
        fitting[c.id] = 0;
        if (again) refit(c);
      }, function (err) {
        fitting[c.id] = 0;
        console.error('ctsim report: chart ' + c.id + ' failed to fit', err);
      });
    }
  });
})();
`;

/** Whether a chart is concatenated or faceted (Vega-Lite cannot give it the container's width). */
export function isComposite(spec: VlSpec): boolean {
  return 'hconcat' in spec || 'vconcat' in spec || 'concat' in spec || 'facet' in spec;
}

/**
 * A chart at the page's full width: a single or layered view takes the container's width
 * (`width: "container"`, fitted with its axes and legend). Concatenated and faceted charts are
 * left as they are here and fitted when the page embeds them (`fit`: see `nextScale`).
 */
export function fullWidth(spec: VlSpec): VlSpec {
  if (typeof spec['width'] !== 'number' || isComposite(spec)) return spec;
  return { ...spec, width: 'container', autosize: { type: 'fit-x', contains: 'padding' } };
}

// The next three functions also run in the page: their source is inlined in the boot script, so
// they must stay self-contained (no imports, no helpers, plain JavaScript once compiled).

/**
 * The width of a chart's panels alone: summed along an hconcat, the widest of a vconcat, the
 * inner view of a facet (rows), a view's own `width`. Axes, legends, titles and spacing are not in it.
 */
export function panelWidth(spec: VlSpec): number {
  const h = spec['hconcat'] ?? spec['concat'];
  if (Array.isArray(h)) return h.reduce((sum: number, c: VlSpec) => sum + panelWidth(c), 0);
  const v = spec['vconcat'];
  if (Array.isArray(v)) return v.reduce((most: number, c: VlSpec) => Math.max(most, panelWidth(c)), 0);
  if (spec['facet'] !== undefined && spec['spec'] !== undefined) return panelWidth(spec['spec'] as VlSpec);
  return typeof spec['width'] === 'number' ? spec['width'] : 0;
}

/** The chart with every panel's width multiplied by `k` (rounded; at least 60 px). */
export function scalePanels(spec: VlSpec, k: number): VlSpec {
  const out: VlSpec = { ...spec };
  let composite = false;
  for (const key of ['hconcat', 'vconcat', 'concat']) {
    const list = spec[key];
    if (Array.isArray(list)) { composite = true; out[key] = list.map((c: VlSpec) => scalePanels(c, k)); }
  }
  if (spec['facet'] !== undefined && spec['spec'] !== undefined) { composite = true; out['spec'] = scalePanels(spec['spec'] as VlSpec, k); }
  if (!composite && typeof spec['width'] === 'number') out['width'] = Math.max(60, Math.round(spec['width'] * k));
  return out;
}

/**
 * The next panel scale for a chart drawn `drawn` px wide with its panels scaled by `k` (`panels`
 * px wide together at that scale), to make it `avail` px wide. The drawn width grows with the
 * panels while what is around them (axes, legends, spacing) keeps its size: from one draw the
 * slope is the panels' width; from two (`prevK`, `prevDrawn`) it is measured, which also holds
 * when another row of a vconcat becomes the widest. `k` again when it cannot tell.
 */
export function nextScale(k: number, panels: number, drawn: number, avail: number, prevK?: number, prevDrawn?: number): number {
  let slope = panels / k;
  if (prevK !== undefined && prevDrawn !== undefined && prevK !== k && prevDrawn !== drawn) slope = (drawn - prevDrawn) / (k - prevK);
  if (!(slope > 0) || !(drawn > 0) || !(avail > 0)) return k;
  const next = k + (avail - drawn) / slope;
  return next > 0 ? next : k;
}

export interface ReportOptions {
  /** Shown in the header (e.g. the folder the report was made from). */
  source: string;
  ctsimVersion: string;
}

/** The whole report page. */
export function reportHtml(sections: readonly ReportSection[], vendor: readonly VendorScript[], o: ReportOptions): string {
  const specs: { id: string; spec: VlSpec; fit?: true }[] = [];
  const body = sections.map((s, si) => {
    const all = chartSpecs(s.data, { interactive: true });
    const ids: string[] = [];
    for (const name of CHART_NAMES) {
      const spec = all[name];
      if (!spec) continue;
      const id = `chart-${si}-${name}`;
      specs.push(isComposite(spec) ? { id, spec, fit: true } : { id, spec: fullWidth(spec) });
      ids.push(`<div class="chart" id="${id}" data-chart="${esc(name)}"></div>`);
    }
    const title = s.kind === 'compare'
      ? `${esc(s.comparison.scenario)}: ${s.comparison.arms.length} policies compared (seed ${s.comparison.seed}, ${s.comparison.runs} run${s.comparison.runs === 1 ? '' : 's'})`
      : `${esc(s.summary.scenario)}: run ${s.summary.run} (seed ${s.summary.seed}, policy ${esc(s.data.arms[0]!.policy)})`;
    return `<section class="result" id="result-${si}">
<h2>${title} <span class="small">${esc(s.name)}</span></h2>
<h3>Scenario</h3>
${scenarioHtml(s)}
<h3>Metrics</h3>
${metricsHtml(s)}
<h3>Charts</h3>
<p class="small">Hover for values; click a policy in a legend to highlight it (shift-click for several); drag or scroll on a time axis to zoom, double-click to reset. Each chart's menu (⋯) exports SVG or PNG.</p>
<div class="charts">${ids.join('\n')}</div>
</section>`;
  }).join('\n');
  const nav = sections.length > 1 ? `<nav>${sections.map((s, i) => `<a href="#result-${i}">${esc(s.name)}</a>`).join('')}</nav>` : '';
  const scenarios = [...new Set(sections.map((s) => s.data.scenario))].join(', ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ctsim ${esc(o.ctsimVersion)}">
<title>ctsim report: ${esc(scenarios)}</title>
<style>${CSS}</style>
${vendor.map((v) => `<!-- ${esc(v.name)} ${esc(v.version)} (inlined so the report works offline) -->\n<script>${scriptText(v.text)}</script>`).join('\n')}
</head>
<body>
<header><h1>ctsim report: ${esc(scenarios)}</h1><p>${sections.length} result${sections.length === 1 ? '' : 's'} from <code>${esc(o.source)}</code> · ctsim ${esc(o.ctsimVersion)} · vega ${esc(vendor.find((v) => v.name === 'vega')?.version ?? '?')}, vega-lite ${esc(vendor.find((v) => v.name === 'vega-lite')?.version ?? '?')}</p></header>
<main>
${nav}
${body}
</main>
<script type="application/json" id="ctsim-specs">${scriptJson(specs)}</script>
<script>${BOOT}</script>
</body>
</html>
`;
}
