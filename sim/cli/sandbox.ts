/**
 * The user-policy sandbox: when a run uses a user policy module, the simulation runs in a worker
 * thread and this (main) thread watches it. Every hook call of a user policy is announced in a
 * shared Int32Array [hook id, call sequence, policy id]; a call that stays in progress longer than
 * `LIMITS.hookSeconds` (--hook-timeout) ends the worker, and the run fails (exit 1) naming the
 * policy and the hook. Built-in policies never come here: they run in the main thread as before,
 * and the results are byte-identical either way (the worker runs the same code).
 */
import { Worker } from 'node:worker_threads';
import { InputError, UserPolicyError } from '../io/errors.js';
import { hookTimeoutMessage, newHookMonitor, watchHooks } from '../io/hook-watchdog.js';
import type { armRunDetailed, CompareMetric, PolicyArm } from '../run/compare.js';
import type { RunSummary } from '../run/summary.js';
import type { RegressOptions, RegressReport } from '../regress/regress.js';
import type { Scenario } from '../scenario/scenario.js';
import { POLICIES } from '../../policies/index.js';
import type { SandboxTask } from './sandbox-worker.js';

/** Whether a list of policy names includes one that is not built in (a user module). */
export const usesUserPolicy = (names: readonly string[]): boolean => names.some((n) => !(n in POLICIES));

type Done = { type: 'done'; report?: RegressReport; summary?: RunSummary; rows?: number[][]; metrics?: Record<CompareMetric, number | null>; arm?: ReturnType<typeof armRunDetailed> };

function inWorker(task: Omit<SandboxTask, 'monitor'>, onOther?: (msg: { type: string } & Record<string, unknown>) => void,
  lost = 'the run was stopped and nothing was written'): Promise<Done> {
  const monitor = newHookMonitor();
  const who = new Map<number, string>();
  return new Promise<Done>((resolve, reject) => {
    const w = new Worker(new URL('./sandbox-worker.js', import.meta.url), { workerData: { ...task, monitor } });
    let settled = false;
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      stop();
      f();
    };
    const stop = watchHooks(monitor, (id) => who.get(id), (name, hook) => {
      void w.terminate();
      finish(() => reject(new UserPolicyError(hookTimeoutMessage(name, hook, lost))));
    });
    w.on('message', (msg: { type: string } & Record<string, unknown>) => {
      if (msg.type === 'policy') who.set(msg['id'] as number, msg['who'] as string);
      else if (msg.type === 'done') finish(() => resolve(msg as unknown as Done));
      else if (msg.type === 'error') {
        const lines = msg['lines'] as string[];
        const e = msg['input'] ? new InputError(lines) : msg['policy'] ? new UserPolicyError(lines.join('\n')) : new Error(lines.join('\n'));
        if (!msg['input']) e.stack = msg['stack'] as string;
        void w.terminate();
        finish(() => reject(e));
      } else onOther?.(msg);
    });
    w.on('error', (e) => finish(() => reject(e)));
    w.on('exit', (code) => finish(() => reject(new Error(`the simulation worker exited with code ${code} before finishing`))));
  });
}

/** One run of a scenario in the sandbox: its summary and sample rows. */
export async function sandboxRun(sc: Scenario, run: number, policyFiles: readonly string[], scenarioPaths: readonly string[]): Promise<{ summary: RunSummary; rows: number[][]; metrics: Record<CompareMetric, number | null> }> {
  const d = await inWorker({ kind: 'run', sc, run, policyFiles: [...policyFiles], scenarioPaths: [...scenarioPaths] });
  return { summary: d.summary!, rows: d.rows!, metrics: d.metrics! };
}

/** One run of one compare arm in the sandbox. */
export async function sandboxArm(sc: Scenario, arm: PolicyArm, run: number, policyFiles: readonly string[], scenarioPaths: readonly string[]):
  Promise<ReturnType<typeof armRunDetailed>> {
  const d = await inWorker({ kind: 'arm', sc, run, arm, policyFiles: [...policyFiles], scenarioPaths: [...scenarioPaths] });
  return d.arm!;
}

/**
 * `ctsim regress` with a user policy module: the whole suite runs in one worker under the hook
 * watchdog; the progress callbacks of `o` are called here. Baselines (--update) are written by
 * the worker once every case ran, as in this thread.
 */
export async function sandboxRegress(suiteFile: string, o: RegressOptions, policyFiles: readonly string[], scenarioPaths: readonly string[]): Promise<RegressReport> {
  const d = await inWorker({
    kind: 'regress', suite: suiteFile, regress: { update: o.update === true, explain: o.explain === true, only: [...(o.only ?? [])] },
    policyFiles: [...policyFiles], scenarioPaths: [...scenarioPaths],
  }, (msg) => {
    if (msg.type === 'case') o.onCase?.(msg['name'] as string, msg['i'] as number, msg['n'] as number);
    else if (msg.type === 'tick') o.onTick?.(msg['t'] as number, msg['end'] as number);
    else if (msg.type === 'caseDone') o.onCaseDone?.(msg['name'] as string, msg['i'] as number, msg['n'] as number, msg['simUs'] as number);
  }, 'the regression suite was stopped and no baseline was written');
  return d.report!;
}
