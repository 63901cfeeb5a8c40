/**
 * CLI error classes and exit codes (documented in `ctsim --help` and the README):
 * 0 ok, 1 run failed (a bug, a crash inside a user policy, an I/O failure), 2 bad input
 * (scenario, capture, flag), 77 skipped (kernel-diff without root).
 */
export const EXIT_OK = 0;
export const EXIT_RUN_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_SKIP = 77;

/** Bad input: each line is one problem, already naming the file and the path in it. */
export class InputError extends Error {
  readonly lines: readonly string[];
  constructor(lines: string | readonly string[]) {
    const l = typeof lines === 'string' ? [lines] : lines;
    super(l.join('\n'));
    this.name = 'InputError';
    this.lines = l;
  }
}

/** Ends a command with a given exit code after it printed its own report (no message added). */
export class ExitWith extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = 'ExitWith';
  }
}
