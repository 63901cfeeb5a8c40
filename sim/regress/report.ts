/**
 * The report of `ctsim regress` as a terminal table and as Markdown (for a pull-request
 * comment). Both list, per case, the metrics that moved (metric, baseline, current, change,
 * tolerance, verdict), then trajectory-fingerprint changes apart, then the input changes
 * against the baseline as context. The terminal form ends with `regress: N passed, M failed`.
 */
import { isAbsolute, relative } from 'node:path';
import type { MetricValue } from './tolerance.js';
import type { CaseResult, DiffRow, RegressReport, RowStatus } from './regress.js';

/** Rows shown per case (the rest are counted). */
export const MAX_ROWS = 30;
const MAX_INPUT_ROWS = 10;

const RANK: Record<RowStatus, number> = { regression: 0, missing: 1, changed: 2, within: 3, ignored: 4, new: 5 };
const STATUS_TEXT: Record<RowStatus, string> = {
  regression: 'REGRESSION', missing: 'MISSING', changed: 'changed', within: 'within tolerance', ignored: 'ignored', new: 'new metric',
};

/** A path relative to `cwd` when it lies below it, else as given. */
function shortPath(p: string, cwd: string): string {
  const r = relative(cwd, p);
  return r === '' || r.startsWith('..') || isAbsolute(r) ? p : r;
}

export function formatValue(v: MetricValue | undefined): string {
  if (v === undefined) return '(none)';
  if (v === null) return 'null';
  if (typeof v === 'number') return String(v);
  return typeof v === 'string' ? v : String(v);
}

/** `+12 (+3.4%)`, or '' when not both numbers. */
export function formatChange(b: MetricValue | undefined, c: MetricValue | undefined): string {
  if (typeof b !== 'number' || typeof c !== 'number') return '';
  const d = c - b;
  const ds = `${d >= 0 ? '+' : ''}${Number(d.toPrecision(6))}`;
  if (b === 0) return ds;
  const pct = (d / Math.abs(b)) * 100;
  return `${ds} (${pct >= 0 ? '+' : ''}${Math.abs(pct) >= 10 ? pct.toFixed(0) : pct.toPrecision(2)}%)`;
}

/** Outcomes first: the figures a policy change is about, then the table, then the details. */
const GROUPS = ['classes.', 'table.', 'entries_admitted.', 'assured_evicted.', 'generators.', 'evictions.', 'policies.', 'conntrack_S.'];
const group = (metric: string): number => {
  const i = GROUPS.findIndex((g) => metric.startsWith(g));
  return i < 0 ? GROUPS.length : i;
};
export const sortRows = (rows: readonly DiffRow[]): DiffRow[] => [...rows].sort((a, b) => RANK[a.status] - RANK[b.status] || group(a.metric) - group(b.metric));

function table(head: string[], rows: string[][], rightAlign: ReadonlySet<number> = new Set()): string[] {
  const w = head.map((_, i) => Math.max(...[head, ...rows].map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((x, i) => (rightAlign.has(i) ? x.padStart(w[i]!) : x.padEnd(w[i]!))).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)];
}

function caseSummary(c: CaseResult, update: boolean): { result: string; metrics: string; fingerprint: string } {
  const n = (s: RowStatus) => c.rows.filter((r) => r.status === s).length;
  let metrics: string;
  if (update) {
    metrics = c.result === 'created' ? `${c.metrics} metrics` : `${n('changed')} of ${c.metrics} changed`;
  } else if (c.fingerprint.baseline === null) {
    metrics = 'no baseline';
  } else {
    const parts = [`${n('regression') + n('missing')} regressed`];
    if (n('within') > 0) parts.push(`${n('within')} within tolerance`);
    if (n('ignored') > 0) parts.push(`${n('ignored')} ignored`);
    if (n('new') > 0) parts.push(`${n('new')} new`);
    metrics = `${parts.join(', ')} (of ${c.metrics})`;
  }
  const fp = c.fingerprint.baseline === null ? c.fingerprint.current
    : c.fingerprint.changed ? `CHANGED${c.fingerprint.fails ? '' : ' (reported only)'}` : 'same';
  const result = c.result === 'fail' ? 'FAIL' : c.result;
  return { result, metrics, fingerprint: fp };
}

function title(r: RegressReport): string {
  return r.mode === 'update' ? `ctsim regress --update: ${r.cases.length} case(s) of ${r.suite}` : `ctsim regress: ${r.cases.length} case(s) of ${r.suite}`;
}

export function finalLine(r: RegressReport): string {
  if (r.mode === 'update') {
    const k = (x: CaseResult['result']) => r.cases.filter((c) => c.result === x).length;
    return `regress: ${k('updated') + k('created')} updated, ${k('unchanged')} unchanged`;
  }
  return `regress: ${r.passed} passed, ${r.failed} failed`;
}

/** Trajectory notes: what a fingerprint change (or its absence) means for a case. */
function fpNote(c: CaseResult, update: boolean): string | undefined {
  if (c.fingerprint.baseline === null) return undefined;
  const movedRows = c.rows.filter((r) => r.status !== 'new').length;
  if (c.fingerprint.changed && movedRows === 0) return update ? 'the trajectory changed although no metric moved' : 'the behaviour changed although every metric agrees with the baseline';
  if (!c.fingerprint.changed && movedRows > 0) return 'the trajectory is identical: the metric change comes from how metrics are computed or reported, not from the simulated behaviour';
  return undefined;
}

/** The report for a terminal or a CI log. */
export function formatText(r: RegressReport, cwd = process.cwd()): string {
  const update = r.mode === 'update';
  const rel = (p: string) => shortPath(p, cwd);
  const out: string[] = [title({ ...r, suite: rel(r.suite) }), ''];
  const timed = r.cases.some((c) => c.wallMs !== undefined);
  out.push(...table(['case', 'result', 'metrics', 'fingerprint', ...(timed ? ['time'] : [])], r.cases.map((c) => {
    const s = caseSummary(c, update);
    return [c.name, s.result, s.metrics, s.fingerprint, ...(timed ? [c.wallMs === undefined ? '' : `${(c.wallMs / 1000).toFixed(1)} s`] : [])];
  }), new Set(timed ? [4] : [])));

  const moved = r.cases.filter((c) => c.rows.length > 0);
  if (moved.length > 0) {
    out.push('', update ? 'Metrics changed by this update' : 'Metric differences (metric, baseline, current value, change, tolerance)');
    const rows: string[][] = [];
    for (const c of moved) {
      const sorted = sortRows(c.rows);
      for (const row of sorted.slice(0, MAX_ROWS)) {
        rows.push([c.name, row.metric, formatValue(row.baseline), formatValue(row.current), formatChange(row.baseline, row.current), row.tolerance, STATUS_TEXT[row.status]]);
      }
      if (sorted.length > MAX_ROWS) rows.push([c.name, `… ${sorted.length - MAX_ROWS} more`, '', '', '', '', '']);
    }
    out.push(...table(['case', 'metric', 'baseline', 'current', 'change', 'tolerance', 'status'], rows, new Set([2, 3, 4])));
  }

  const fps = r.cases.filter((c) => c.fingerprint.changed || fpNote(c, update) !== undefined);
  if (fps.length > 0) {
    out.push('', 'Trajectory fingerprints (a hash over every packet verdict and entry removal, in order)');
    for (const c of fps) {
      const f = c.fingerprint;
      if (f.changed) out.push(`${c.name}: ${f.baseline} (${f.baselineEvents} events) → ${f.current} (${f.currentEvents} events)${f.fails ? '' : update ? ' [baseline rewritten]' : ' [reported only: fingerprint: report]'}`);
      const note = fpNote(c, update);
      if (note) out.push(`${c.name}: ${note}`);
      if (f.explain) for (const l of f.explain) out.push(`  ${l}`);
      else if (f.changed && !update) out.push('  (run with --explain to locate the first diverging event)');
    }
  }

  const inputs = r.cases.filter((c) => c.inputChanges.length > 0);
  if (inputs.length > 0) {
    out.push('', 'Inputs that differ from the baseline\'s (resolved scenario)');
    for (const c of inputs) {
      for (const ic of c.inputChanges.slice(0, MAX_INPUT_ROWS)) out.push(`${c.name}: ${ic.path}: ${formatValue(ic.baseline)} → ${formatValue(ic.current)}`);
      if (c.inputChanges.length > MAX_INPUT_ROWS) out.push(`${c.name}: … ${c.inputChanges.length - MAX_INPUT_ROWS} more`);
    }
  }

  const problems = r.cases.flatMap((c) => c.problems.map((p) => `${c.name}: ${p}`));
  if (problems.length > 0) out.push('', ...problems);
  if (r.orphans.length > 0) out.push('', `Baselines no case names (delete them if the case is gone): ${r.orphans.map(rel).join(', ')}`);
  if (update) {
    const written = r.cases.filter((c) => c.result === 'updated' || c.result === 'created');
    if (written.length > 0) out.push('', `Wrote ${written.map((c) => rel(c.baselineFile)).join(', ')}`);
  } else if (r.failed > 0) {
    out.push('', 'If the change is intended, rewrite the baselines with `ctsim regress --update` and commit them with the change.');
  }
  out.push('', finalLine(r));
  return out.join('\n') + '\n';
}

const md = (s: string): string => s.replace(/\|/g, '\\|');
const code = (s: string): string => (s === '' ? '' : '`' + s.replace(/`/g, "'") + '`');

/** The report as Markdown, ready for a pull-request comment. */
export function formatMarkdown(r: RegressReport, cwd = process.cwd()): string {
  const update = r.mode === 'update';
  const rel = (p: string) => shortPath(p, cwd);
  const icon = (c: CaseResult) => (c.result === 'fail' ? '❌' : c.result === 'pass' ? '✅' : '📝');
  const out: string[] = [];
  out.push(`### ${update ? 'ctsim regress --update' : 'ctsim regress'}: ${finalLine(r).replace(/^regress: /, '')}`, '');
  out.push(`Suite \`${rel(r.suite)}\`.`, '');
  out.push('| | case | metrics | fingerprint |', '|---|---|---|---|');
  for (const c of r.cases) {
    const s = caseSummary(c, update);
    out.push(`| ${icon(c)} | ${md(c.name)} | ${md(s.metrics)} | ${md(s.fingerprint)} |`);
  }
  const moved = r.cases.filter((c) => c.rows.length > 0);
  if (moved.length > 0) {
    out.push('', update ? '#### Metrics changed by this update' : '#### Metric differences', '');
    out.push('| case | metric | baseline | current | change | tolerance | status |', '|---|---|---:|---:|---:|---|---|');
    for (const c of moved) {
      const sorted = sortRows(c.rows);
      for (const row of sorted.slice(0, MAX_ROWS)) {
        const st = row.status === 'regression' || row.status === 'missing' ? `**${STATUS_TEXT[row.status]}**` : STATUS_TEXT[row.status];
        out.push(`| ${md(c.name)} | ${code(row.metric)} | ${md(formatValue(row.baseline))} | ${md(formatValue(row.current))} | ${md(formatChange(row.baseline, row.current))} | ${md(row.tolerance)} | ${st} |`);
      }
      if (sorted.length > MAX_ROWS) out.push(`| ${md(c.name)} | … ${sorted.length - MAX_ROWS} more | | | | | |`);
    }
  }
  const fps = r.cases.filter((c) => c.fingerprint.changed || fpNote(c, update) !== undefined);
  if (fps.length > 0) {
    out.push('', '#### Trajectory fingerprints', '', 'A hash over every packet verdict and entry removal, in order: it changes when the simulated behaviour changes, even if no metric does.', '');
    for (const c of fps) {
      const f = c.fingerprint;
      const note = fpNote(c, update);
      if (f.changed) out.push(`- **${md(c.name)}**: \`${f.baseline}\` (${f.baselineEvents} events) → \`${f.current}\` (${f.currentEvents} events)${f.fails || update ? '' : ' (reported only)'}${note ? `: ${note}` : ''}`);
      else if (note) out.push(`- **${md(c.name)}**: ${note}`);
      if (f.explain) out.push('', '  <details><summary>first divergence</summary>', '', '  ```', ...f.explain.map((l) => `  ${l}`), '  ```', '  </details>', '');
    }
  }
  const inputs = r.cases.filter((c) => c.inputChanges.length > 0);
  if (inputs.length > 0) {
    out.push('', '#### Inputs that differ from the baseline\'s', '', '| case | input | baseline | current |', '|---|---|---|---|');
    for (const c of inputs) {
      for (const ic of c.inputChanges.slice(0, MAX_INPUT_ROWS)) out.push(`| ${md(c.name)} | ${code(ic.path)} | ${md(formatValue(ic.baseline))} | ${md(formatValue(ic.current))} |`);
      if (c.inputChanges.length > MAX_INPUT_ROWS) out.push(`| ${md(c.name)} | … ${c.inputChanges.length - MAX_INPUT_ROWS} more | | |`);
    }
  }
  const problems = r.cases.flatMap((c) => c.problems.map((p) => `- ${md(c.name)}: ${md(p)}`));
  if (problems.length > 0) out.push('', ...problems);
  if (!update && r.failed > 0) out.push('', 'If the change is intended, run `ctsim regress --update` and commit the rewritten baselines with it.');
  return out.join('\n') + '\n';
}
