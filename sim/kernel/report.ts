/**
 * Result formatting: the Markdown table for the README's "How faithful is the model" section
 * (case, kernel result, model result, verdict), a plain-text report with every check, and the
 * JSON document of `--json`.
 */
import type { CaseResult } from './case-types.js';

/** Facts printed above the table. */
export interface RunInfo {
  /** `uname -r`. */
  kernel: string;
  hz: number;
  hzHow: string;
  ctsimVersion: string;
  /** Default global values found before the run. */
  max?: number;
  buckets?: number;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The Markdown table (with a one-line heading naming the kernel and HZ). */
export function markdownTable(results: readonly CaseResult[], info: RunInfo): string {
  const lines = [
    `Kernel ${info.kernel}, HZ=${info.hz} (${info.hzHow}); ctsim ${info.ctsimVersion}.`,
    '',
    '| case | kernel | model | verdict |',
    '| --- | --- | --- | --- |',
  ];
  for (const r of results) {
    const verdict = r.verdict === 'pass' ? 'pass' : r.verdict === 'FAIL'
      ? `**FAIL**: ${r.checks.filter((c) => !c.pass).map((c) => c.name).join(', ')}`
      : `${r.verdict}: ${r.reason ?? ''}`;
    lines.push(`| ${cell(`\`${r.name}\` — ${r.title}`)} | ${cell(r.kernel || '-')} | ${cell(r.model || '-')} | ${cell(verdict)} |`);
  }
  return lines.join('\n') + '\n';
}

/** Every check of every case, readable in a terminal. */
export function textReport(results: readonly CaseResult[], info: RunInfo): string {
  const out: string[] = [`kernel-diff against Linux ${info.kernel}, HZ=${info.hz} (${info.hzHow})`, ''];
  for (const r of results) {
    out.push(`${r.verdict.toUpperCase().padEnd(7)} ${r.name} (${r.seconds} s) — ${r.title} [${r.reference}]`);
    if (r.reason) out.push(`        ${r.reason}`);
    for (const c of r.checks) {
      out.push(`  ${c.pass ? 'ok  ' : 'DIFF'} ${c.name}: kernel ${c.kernel} | model ${c.model}${c.detail ? ` (${c.detail})` : ''}`);
    }
  }
  const n = (v: CaseResult['verdict']): number => results.filter((r) => r.verdict === v).length;
  out.push('', `${n('pass')} passed, ${n('FAIL') + n('error')} failed, ${n('inconclusive')} inconclusive, ${n('skipped')} skipped`);
  return out.join('\n') + '\n';
}

/**
 * Exit code of a finished run: 0 when nothing failed (skips allowed only when some case ran;
 * an inconclusive case is reported but is no failure: the harness, not the model, fell short), 1 otherwise.
 */
export function runExitCode(results: readonly CaseResult[]): number {
  return results.some((r) => r.verdict === 'FAIL' || r.verdict === 'error') ? 1 : 0;
}
