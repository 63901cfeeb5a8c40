/**
 * `ctsim kernel-diff` without commander: select cases, check the host (skip with exit 77 when
 * root, Linux, conntrack or a tool is missing), find HZ, run the cases one after another and
 * report. Every effect goes through `KernelDiffDeps`, so the skip path is unit-tested.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { EXIT_OK, EXIT_SKIP, InputError } from '../io/errors.js';
import type { CaseResult } from './case-types.js';
import { ALL_CASES, selectCases } from './cases.js';
import { realExec, type Exec } from './exec.js';
import { emergencyCleanup, runCase } from './harness.js';
import { removeStaleLabs } from './lab.js';
import { kernelMajorMinor } from './parse.js';
import { detectHz, preflight, realHostProbe, type HostProbe, type HzInfo } from './preflight.js';
import { markdownTable, runExitCode, textReport, type RunInfo } from './report.js';
import { GlobalSysctlGuard, type SysctlFs } from './sysctl-guard.js';

/** Options of one run. */
export interface KernelDiffOptions {
  /** Case names or prefixes; empty = all. */
  cases: readonly string[];
  json?: boolean;
  /** Directory for each case's capture, logs and observations. */
  keep?: string;
  /** Copy each case's capture and `conntrack -S` output to `<keepCapture>/<case>.pcap` and `<case>.conntrack-S.txt`. */
  keepCapture?: string;
  /** Print only the list of cases. */
  list?: boolean;
}

/** Everything the run touches. */
export interface KernelDiffDeps {
  probe: HostProbe;
  exec: Exec;
  sysctlFs: SysctlFs;
  detectHz(): Promise<HzInfo | undefined>;
  /** `uname -r`. */
  release: string;
  ctsimVersion: string;
  stdout(s: string): void;
  stderr(s: string): void;
}

/** The real host's dependencies. */
export function realDeps(ctsimVersion: string): KernelDiffDeps {
  const base = '/proc/sys/net/netfilter/';
  return {
    probe: realHostProbe(),
    exec: realExec,
    sysctlFs: {
      read: (name) => readFileSync(base + name, 'utf8').trim(),
      write: (name, value) => writeFileSync(base + name, `${value}\n`),
    },
    detectHz: () => detectHz(),
    release: release(),
    ctsimVersion,
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  };
}

/** Runs the selected cases; returns the exit code (0 pass, 1 a case failed, 77 skipped). Throws InputError for an unknown case. */
export async function runKernelDiff(o: KernelDiffOptions, d: KernelDiffDeps): Promise<number> {
  const { cases, unknown } = selectCases(o.cases);
  if (unknown.length > 0) {
    throw new InputError(`kernel-diff: unknown case ${unknown.map((u) => `"${u}"`).join(', ')}; cases: ${ALL_CASES.map((c) => c.name).join(', ')}`);
  }
  if (o.list) {
    d.stdout(o.json ? JSON.stringify(cases.map((c) => ({ name: c.name, title: c.title, reference: c.reference })), null, 2) + '\n'
      : cases.map((c) => `${c.name.padEnd(26)} ${c.title}\n`).join(''));
    return EXIT_OK;
  }
  const pre = preflight(d.probe);
  if (pre.missing.length > 0) {
    d.stderr(`ctsim kernel-diff: skipped (exit ${EXIT_SKIP}):\n${pre.missing.map((m) => `  - ${m}\n`).join('')}`);
    return EXIT_SKIP;
  }
  const hz = await d.detectHz();
  if (!hz) {
    d.stderr(`ctsim kernel-diff: skipped (exit ${EXIT_SKIP}): cannot determine the kernel's HZ (no /proc/config.gz, no /boot/config-${d.release}, no /proc/timer_list)\n`);
    return EXIT_SKIP;
  }
  const version = kernelMajorMinor(d.release) ?? '6.12';
  const guard = new GlobalSysctlGuard(d.sysctlFs);
  const info: RunInfo = {
    kernel: d.release, hz: hz.hz, hzHow: hz.how, ctsimVersion: d.ctsimVersion,
    max: guard.get('nf_conntrack_max'), buckets: guard.get('nf_conntrack_buckets'),
  };
  for (const n of removeStaleLabs(d.exec, pre.tools.ip)) d.stderr(`kernel-diff: removed stale namespace ${n}\n`);
  const log = (line: string): void => d.stderr(`kernel-diff: ${line}\n`);
  log(`Linux ${d.release}, HZ=${hz.hz} (${hz.how}); initial namespace tracks ${guard.initCount()}; ` +
    `nf_conntrack_max=${info.max} nf_conntrack_buckets=${info.buckets}`);
  const results: CaseResult[] = [];
  let serial = 0;
  for (const c of cases) {
    log(`${c.name}: running (about ${c.expectSeconds} s)`);
    const r = await runCase(c, { exec: d.exec, tools: pre.tools, guard, keepDir: o.keep, captureDir: o.keepCapture, log, hz: hz.hz, version }, serial++);
    log(`${c.name}: ${r.verdict}${r.reason ? ` — ${r.reason}` : ''} (${r.seconds} s)`);
    results.push(r);
  }
  for (const p of guard.restore()) log(`warning: ${p}`);
  if (o.json) d.stdout(JSON.stringify({ ...info, results }, null, 2) + '\n');
  else d.stdout(`${textReport(results, info)}\n${markdownTable(results, info)}`);
  if (cases.length > 0 && results.every((r) => r.verdict === 'skipped')) return EXIT_SKIP;
  return runExitCode(results);
}

/**
 * Installs SIGINT/SIGTERM/SIGHUP and exit handlers that stop children, remove namespaces and
 * restore the global sysctls. Returns a function that removes them again.
 */
export function installCleanupHandlers(stderr: (s: string) => void): () => void {
  const onSignal = (sig: NodeJS.Signals): void => {
    stderr(`\nkernel-diff: ${sig}: cleaning up\n`);
    for (const p of emergencyCleanup()) stderr(`kernel-diff: warning: ${p}\n`);
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  const onExit = (): void => { emergencyCleanup(); };
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of sigs) process.on(s, onSignal);
  process.on('exit', onExit);
  return () => {
    for (const s of sigs) process.off(s, onSignal);
    process.off('exit', onExit);
  };
}
