/**
 * A sweep worker thread: receives cases, runs each in a fresh Simulation, posts back its
 * result line (or the error).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InputError, UserPolicyError } from '../io/errors.js';
import { setHookMonitor, setPolicyCreatedListener } from '../io/user-policy.js';
import { caseRegistries, runCase, type CaseEnv } from './run-case.js';
import type { CaseJob, CaseReply } from './pool.js';
import { threadCpuMs } from '../io/thread-cpu.js';

const env = workerData as CaseEnv & { monitor?: SharedArrayBuffer };
const port = parentPort!;
if (env.monitor) {
  // user policies: every hook call is announced to the main thread's watchdog (--hook-timeout)
  setHookMonitor(new Int32Array(env.monitor));
  setPolicyCreatedListener((id, who) => port.postMessage({ policy: { id, who } } satisfies CaseReply));
}
let first = true;
port.on('message', (job: CaseJob) => {
  caseRegistries(env)
    .then((reg) => {
      // --timings: this thread's CPU time for the case (and, on the first, for starting up)
      const c0 = job.cpu ? threadCpuMs() : null;
      const line = runCase(job.c, job.key, job.file, reg, job.id);
      const c1 = job.cpu ? threadCpuMs() : null;
      const cpu = job.cpu ? { cpuMs: c0 === null || c1 === null ? null : c1 - c0, ...(first ? { startupCpuMs: c0 } : {}) } : {};
      first = false;
      port.postMessage({ index: job.c.index, line, ...cpu } satisfies CaseReply);
    })
    .catch((e: unknown) => {
      const err = e instanceof InputError ? { input: true, lines: [...e.lines] }
        : e instanceof UserPolicyError ? { input: false, policy: true, lines: [e.message] }
          : { input: false, lines: [(e as Error).stack ?? String(e)] };
      port.postMessage({ index: job.c.index, error: err } satisfies CaseReply);
    });
});
