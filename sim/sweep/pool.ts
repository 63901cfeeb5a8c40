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
}

/**
 * A worker's answer: the result line, or the error (bad input, a user policy's fault or a
 * failure); or, under the hook watchdog, the description of a user policy it created.
 */
export type CaseReply = { index: number; line: string } | { index: number; error: { input: boolean; policy?: boolean; lines: string[] } }
  | { policy: { id: number; who: string } };

/**
 * Runs `jobs` on `workers` threads; returns the result lines in the order of `jobs`.
 * `onDone` is called after each case (progress), with the finished case's key.
 */
export async function runPool(jobs: readonly CaseJob[], workers: number, env: CaseEnv, onDone?: (done: number, total: number, key: string) => void, onLine?: (job: CaseJob, line: string) => void): Promise<string[]> {
  const out = new Array<string>(jobs.length);
  if (jobs.length === 0) return out;
  // a user policy module: cases always run on workers, each under the hook watchdog
  // (--hook-timeout), so that a hook that never returns cannot hang the sweep
  const reg = await caseRegistries(env);
  const watched = Object.keys(reg.policies).some((n) => !(n in POLICIES));
  if (!watched && (workers <= 1 || jobs.length <= 1)) {
    jobs.forEach((j, i) => { out[i] = runCase(j.c, j.key, j.file, reg, j.id); onLine?.(j, out[i]!); onDone?.(i + 1, jobs.length, j.key); });
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
      const feed = (w: Worker): void => {
        if (next < jobs.length) { current.set(w, jobs[next]!); w.postMessage(jobs[next++]!); }
      };
      for (let i = 0; i < n; i++) {
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
