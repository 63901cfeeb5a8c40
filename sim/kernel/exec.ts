/**
 * Child processes for the kernel harness: a synchronous `Exec` (injectable, so the pure parts
 * can be tested with a fake) and background processes (tcpdump, `conntrack -E`) that are
 * tracked so that an interrupt can stop every one of them by its pid.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

/** What a finished command gave back. `status` is null when it was killed or could not start. */
export interface ExecResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one command to completion (argv form, no shell). */
export type Exec = (cmd: string, args: readonly string[], opts?: { input?: string; timeoutMs?: number }) => ExecResult;

/** Default time limit of one synchronous command. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** The real `Exec`: `spawnSync` with a time limit (SIGKILL when exceeded). */
export const realExec: Exec = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, [...args], {
    input: opts.input, encoding: 'utf8', timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, killSignal: 'SIGKILL',
    maxBuffer: 256 * 1024 * 1024,
  });
  const err = r.error ? `${r.error.message}\n` : '';
  return { status: r.error ? null : r.status, stdout: r.stdout ?? '', stderr: err + (r.stderr ?? '') };
};

/** Runs a command and throws (with its stderr) unless it exits 0. Returns stdout. */
export function mustRun(exec: Exec, cmd: string, args: readonly string[], opts?: { input?: string; timeoutMs?: number }): string {
  const r = exec(cmd, args, opts);
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? 'signal/timeout'}): ${r.stderr.trim()}`);
  }
  return r.stdout;
}

const live = new Set<ChildProcess>();

/** A process running in the background with stdout and stderr sent to files. */
export class Background {
  private readonly child: ChildProcess;
  private exited: Promise<number | null>;

  constructor(cmd: string, args: readonly string[], stdoutPath: string, stderrPath: string) {
    const out = openSync(stdoutPath, 'w');
    const err = openSync(stderrPath, 'w');
    try {
      this.child = spawn(cmd, [...args], { stdio: ['ignore', out, err] });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    live.add(this.child);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => { live.delete(this.child); resolve(code); });
      this.child.once('error', () => { live.delete(this.child); resolve(null); });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Waits for the process to end by itself, at most `ms` (then SIGKILL). */
  async wait(ms: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), ms); });
    const res = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (res === 'timeout') {
      this.kill('SIGKILL');
      return this.exited;
    }
    return res;
  }

  /** Sends `signal`, then waits up to `ms` for the exit (SIGKILL after that). */
  async stop(signal: NodeJS.Signals = 'SIGINT', ms = 5000): Promise<number | null> {
    this.kill(signal);
    return this.wait(ms);
  }

  private kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined) {
      try { process.kill(this.child.pid, signal); } catch { /* already gone */ }
    }
  }
}

/** SIGKILLs every background process still running (synchronous: safe in an exit handler). */
export function killAllBackground(): void {
  for (const c of live) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try { process.kill(c.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }
  live.clear();
}

/** Sleeps `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
