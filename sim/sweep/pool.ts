/**
 * Runs sweep cases on a pool of worker threads (or serially in this thread with one worker).
 * Cases go to whichever worker is free next; results are kept by case index, so the output
 * order (and bytes) do not depend on the number of workers or on timing.
 */
import { Worker } from 'node:worker_threads';
import { InputError, UserPolicyError } from '../io/errors.js';
import { hookTimeoutMessage, newHookMonitor, watchHooks } from '../io/hook-watchdog.js';
import { POLICIES } from '../../policies/index.js';
import { caseRegistries, runCase, type CaseEnv } from './run-case.js';
import { threadCpuMs } from '../io/thread-cpu.js';
import { yieldToSignals } from '../io/interrupt.js';
import type { SweepCase } from './sweep-file.js';

/** A case sent to a worker. */
export interface CaseJob {
  c: SweepCase;
  key: string;
  file: string;
  /** The case's run id (see sim/store/ids.ts), its scenario name and seed. */
  id?: string;
  scenario?: string;
  seed?: number;
  policyLabel?: string;
  /** `--timings`: the worker also reports the case's thread CPU time. */
  cpu?: boolean;
}

/**
 * A worker's answer: the result line, or the error (bad input, a user policy's fault or a
 * failure); or, under the hook watchdog, the description of a user policy it created.
 */
export type CaseReply = { index: number; line: string; cpuMs?: number | null; startupCpuMs?: number | null } | { index: number; error: { input: boolean; policy?: boolean; lines: string[] } }
  | { policy: { id: number; who: string } };

/**
 * Per-case wall times for `ctsim sweep --timings` (the clock is the caller's: nothing here reads
 * one). A case's time runs from its dispatch to its reply, as the main thread sees them, so a
 * worker's first case includes the worker's start-up (loading its modules and registries).
 */
export interface PoolTiming {
  clock: () => number;
  /** `cpuMs`: the case's thread CPU time; `startupCpuMs` (a worker's first case only): the CPU
   * time its thread spent before the case (loading modules and registries). */
  onCase: (job: CaseJob, worker: number, start: number, end: number, cpuMs: number | null, startupCpuMs?: number | null) => void;
}

/**
 * Runs `jobs` on `workers` threads; returns the result lines in the order of `jobs`.
 * `onDone` is called after each case (progress), with the finished case's key.
 */
export async function runPool(jobs: readonly CaseJob[], workers: number, env: CaseEnv, onDone?: (done: number, total: number, key: string) => void, onLine?: (job: CaseJob, line: string) => void, timing?: PoolTiming): Promise<string[]> {
  const out = new Array<string>(jobs.length);
  if (jobs.length === 0) return out;
  // a user policy module: cases always run on workers, each under the hook watchdog
  // (--hook-timeout), so that a hook that never returns cannot hang the sweep
  const reg = await caseRegistries(env);
  const watched = Object.keys(reg.policies).some((n) => !(n in POLICIES));
  if (!watched && (workers <= 1 || jobs.length <= 1)) {
    for (const [i, j] of jobs.entries()) {
      const t0 = timing?.clock();
      const c0 = timing ? threadCpuMs() : null;
      out[i] = runCase(j.c, j.key, j.file, reg, j.id);
      const c1 = timing ? threadCpuMs() : null;
      if (timing) timing.onCase(j, 0, t0!, timing.clock(), c0 === null || c1 === null ? null : c1 - c0);
      onLine?.(j, out[i]!); onDone?.(i + 1, jobs.length, j.key);
      // between cases: a SIGINT/SIGTERM is handled now (not after the whole sweep), and the
      // results-store writes of the cases done so far make progress (an interrupted sweep resumes)
      if (i + 1 < jobs.length) await yieldToSignals();
    }
    return out;
  }
  const pos = new Map(jobs.map((j, i) => [j.c.index, i]));
  const n = Math.max(1, Math.min(workers, jobs.length));
  const pool: Worker[] = [];
  const stops: (() => void)[] = [];
  let next = 0, done = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (e: Error): void => { if (!failed) { failed = true; reject(e); } };
      const current = new Map<Worker, CaseJob>();
      const sent = new Map<Worker, number>();
      const feed = (w: Worker): void => {
        if (next < jobs.length) {
          current.set(w, jobs[next]!);
          if (timing) sent.set(w, timing.clock());
          w.postMessage(timing ? { ...jobs[next++]!, cpu: true } : jobs[next++]!);
        }
      };
      for (let i = 0; i < n; i++) {
        const workerNo = i;
        const monitor = watched ? newHookMonitor() : undefined;
        const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: { ...env, ...(monitor ? { monitor } : {}) } });
        pool.push(w);
        const who = new Map<number, string>();
        if (monitor) {
          stops.push(watchHooks(monitor, (id) => who.get(id), (name, hook) => {
            const j = current.get(w);
            fail(new UserPolicyError(hookTimeoutMessage(name, hook, `the sweep was stopped in case ${j?.c.index ?? '?'} (${j?.key ?? '?'}) and its results were not written` +
              ' (cases that finished are kept in the results store: the sweep run again resumes)')));
            void w.terminate();
          }));
        }
        w.on('message', (r: CaseReply) => {
          if ('policy' in r) { who.set(r.policy.id, r.policy.who); return; }
          if ('error' in r) {
            fail(r.error.input ? new InputError(r.error.lines) : r.error.policy ? new UserPolicyError(r.error.lines.join('\n'))
              : new Error(`sweep case ${r.index} failed in a worker:\n${r.error.lines.join('\n')}`));
            return;
          }
          const at = pos.get(r.index)!;
          out[at] = r.line;
          if (timing) timing.onCase(jobs[at]!, workerNo, sent.get(w)!, timing.clock(), r.cpuMs ?? null, r.startupCpuMs);
          onLine?.(jobs[at]!, r.line);
          done++;
          onDone?.(done, jobs.length, jobs[at]!.key);
          if (done === jobs.length) resolve();
          else feed(w);
        });
        w.on('error', (e) => fail(e));
        w.on('exit', (code) => { if (code !== 0 && done < jobs.length) fail(new Error(`sweep worker exited with code ${code}`)); });
        feed(w);
      }
    });
  } finally {
    for (const stop of stops) stop();
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return out;
}
