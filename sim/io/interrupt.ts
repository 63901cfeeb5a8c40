/**
 * Clean stops on SIGINT and SIGTERM: the temporary results of the work in progress are removed,
 * the user is told what was lost, and the process exits 130 (SIGINT) or 143 (SIGTERM). Long
 * synchronous work (a simulation) yields to the event loop between slices ({@link yieldToSignals})
 * so that the handler can run.
 */
import { EXIT_SIGINT, EXIT_SIGTERM } from './errors.js';
import { removeActiveTemps } from './files.js';

let activity = '';
const done: string[] = [];

/** What the process is doing now, in words ("run 2 of mixed"): reported as lost on a signal. */
export function setActivity(what: string): void {
  activity = what;
}

/** A result that was completely written (reported as kept on a signal). */
export function noteWritten(path: string): void {
  done.push(path);
}

/** The message printed on a signal. */
export function interruptMessage(sig: NodeJS.Signals, removed: readonly string[]): string {
  const lost = activity !== '' ? `${activity} was not finished and nothing of it was written` : 'nothing was being written';
  const rm = removed.length > 0 ? `; removed ${removed.join(', ')}` : '';
  const kept = done.length > 0 ? `; complete results kept: ${done.join(', ')}` : '';
  return `ctsim: stopped by ${sig}: ${lost}${rm}${kept}`;
}

/** Installs the SIGINT/SIGTERM handlers (the CLI entry only); returns a function that removes them. */
export function installSignalHandlers(write: (s: string) => void = (s) => process.stderr.write(s),
  exit: (code: number) => void = (c) => process.exit(c)): () => void {
  const on = (sig: NodeJS.Signals): void => {
    const removed = removeActiveTemps();
    write(`\n${interruptMessage(sig, removed)}\n`);
    exit(sig === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM);
  };
  current = on;
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return () => { process.off('SIGINT', on); process.off('SIGTERM', on); current = undefined; };
}

let current: ((sig: NodeJS.Signals) => void) | undefined;

/**
 * Hands signals to a command with its own cleanup (kernel-diff restores sysctls and removes
 * namespaces); returns a function that takes them back.
 */
export function pauseSignalHandlers(): () => void {
  const h = current;
  if (!h) return () => undefined;
  process.off('SIGINT', h);
  process.off('SIGTERM', h);
  return () => { process.on('SIGINT', h); process.on('SIGTERM', h); };
}

/** Lets pending signal handlers run (between slices of a long synchronous computation). */
export function yieldToSignals(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
