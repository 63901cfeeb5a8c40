/**
 * The worker side of the user-policy sandbox (see sandbox.ts): loads the policy modules, runs one
 * simulation (a `run` or one arm of a `compare`) and posts the result. Every hook call is
 * announced in the shared monitor so that the main thread's watchdog can stop a hook that never
 * returns.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InputError, UserPolicyError } from '../io/errors.js';
import { registriesFor } from '../io/scenario-files.js';
import { setHookMonitor, setPolicyCreatedListener } from '../io/user-policy.js';
import { armMetrics, armRunDetailed, type PolicyArm } from '../run/compare.js';
import { Simulation } from '../run/simulation.js';
import { runSummary } from '../run/summary.js';
import { loadSuite, runRegress } from '../regress/regress.js';
import { performance } from 'node:perf_hooks';
import type { Scenario } from '../scenario/scenario.js';

export interface SandboxTask {
  kind: 'run' | 'arm' | 'regress';
  sc?: Scenario;
  run?: number;
  arm?: PolicyArm;
  /** kind 'regress': the suite file and the options of runRegress that travel (no callbacks). */
  suite?: string;
  regress?: { update: boolean; explain: boolean; only: string[] };
  policyFiles: string[];
  scenarioPaths: string[];
  monitor: SharedArrayBuffer;
}

const port = parentPort!;
const task = workerData as SandboxTask;

async function main(): Promise<void> {
  setHookMonitor(new Int32Array(task.monitor));
  setPolicyCreatedListener((id, who) => port.postMessage({ type: 'policy', id, who }));
  const reg = await registriesFor(task.policyFiles, task.scenarioPaths);
  if (task.kind === 'regress') {
    // the whole suite in this worker; progress goes to the main thread's bar
    const report = runRegress(loadSuite(task.suite!), reg, {
      ...task.regress!, clock: () => performance.now(),
      onCase: (name, i, n) => port.postMessage({ type: 'case', name, i, n }),
      onTick: (t, end) => port.postMessage({ type: 'tick', t, end }),
      onCaseDone: (name, i, n, simUs) => port.postMessage({ type: 'caseDone', name, i, n, simUs }),
    });
    port.postMessage({ type: 'done', report });
  } else if (task.kind === 'run') {
    const sim = new Simulation(task.sc!, task.run!, reg);
    sim.runToEnd();
    const summary = runSummary(sim);
    port.postMessage({ type: 'done', summary, rows: sim.metrics.rows, metrics: armMetrics(sim, summary) });
  } else {
    port.postMessage({ type: 'done', arm: armRunDetailed(task.sc!, task.arm!, task.run!, reg) });
  }
}

main().catch((e: unknown) => {
  const err = e as Error;
  port.postMessage({
    type: 'error', policy: e instanceof UserPolicyError, input: e instanceof InputError,
    lines: e instanceof InputError ? [...e.lines] : [err.message], stack: err.stack ?? '',
  });
});
