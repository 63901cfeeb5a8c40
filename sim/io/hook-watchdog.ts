/**
 * The watchdog over user policy hooks running in a worker thread (the sandbox of `run`,
 * `compare`, `start` and `regress`, and the worker pool of `sweep`). The worker announces each
 * hook call in a shared Int32Array [hook id (0 = none), call sequence, policy id] (see
 * user-policy.ts setHookMonitor); the watchdog, in the main thread, polls it and calls `onStuck`
 * once when one call has stayed in progress longer than `LIMITS.hookSeconds` (--hook-timeout).
 * It reads the wall clock, so it lives in the shell's layer: it never touches a simulation, whose
 * results cannot depend on it.
 */
import { LIMITS } from './limits.js';
import { HOOK_NAMES } from './user-policy.js';

/** A new monitor buffer for one worker (pass it to the worker; it calls setHookMonitor). */
export const newHookMonitor = (): SharedArrayBuffer => new SharedArrayBuffer(3 * 4);

/**
 * Watches `monitor`; `onStuck(who, hook)` is called once (the caller ends the worker) with the
 * policy's description (from `whoOf`, by policy id) and the hook's name. Returns a function that
 * stops watching.
 */
export function watchHooks(monitor: SharedArrayBuffer, whoOf: (id: number) => string | undefined,
  onStuck: (who: string, hook: string) => void): () => void {
  const m = new Int32Array(monitor);
  const limitMs = LIMITS.hookSeconds * 1000;
  let lastSeq = -1;
  let since = performance.now();
  const timer = setInterval(() => {
    const hook = Atomics.load(m, 0);
    const seq = Atomics.load(m, 1);
    const now = performance.now();
    if (hook === 0 || seq !== lastSeq) { lastSeq = seq; since = now; return; }
    if (now - since > limitMs) {
      clearInterval(timer);
      onStuck(whoOf(Atomics.load(m, 2)) ?? 'a user policy', HOOK_NAMES[hook] ?? 'a hook');
    }
  }, Math.min(100, Math.max(10, limitMs / 10)));
  return () => clearInterval(timer);
}

/** The message of a hook stopped by the watchdog; `what` says what was stopped and lost. */
export const hookTimeoutMessage = (who: string, hook: string, what: string): string =>
  `${who}: ${hook} did not return within ${LIMITS.hookSeconds} s (the --hook-timeout limit); ${what}`;
