/**
 * CLI error classes and exit codes (documented in `ctsim --help` and the README):
 * 0 ok; 1 run failed (a bug, or an exception or bad value inside a user policy); 2 bad input or
 * environment (scenario, capture, flag, a file system error with its path, a limit); 77 skipped
 * (kernel-diff without root); 130/143 stopped by SIGINT/SIGTERM.
 */
export const EXIT_OK = 0;
export const EXIT_RUN_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_SKIP = 77;
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

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

/**
 * A user policy misbehaved: threw, returned a value the interface does not allow, wrote into the
 * table, or ran past the hook time limit. The message names the policy (module) and the hook.
 * Exit 1, without a stack trace unless --debug.
 */
export class UserPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserPolicyError';
  }
}

/** Ends a command with a given exit code after it printed its own report (no message added). */
export class ExitWith extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = 'ExitWith';
  }
}

/** What to do about an operating-system error, by errno code. */
const FS_HINTS: Readonly<Record<string, [string, string]>> = {
  ENOENT: ['no such file or folder', 'check the path'],
  EACCES: ['permission denied', 'choose a place you may read/write (e.g. --out) or change its permissions'],
  EPERM: ['operation not permitted', 'choose a place you may read/write (e.g. --out) or change its permissions'],
  EISDIR: ['is a folder, not a file', 'name a file'],
  ENOTDIR: ['part of this path is a file, not a folder', 'choose another --out (or --events, -o) path'],
  ENOSPC: ['no space left on the device', 'free some space or choose another --out; nothing half-written was left'],
  EDQUOT: ['disk quota exceeded', 'free some space or choose another --out; nothing half-written was left'],
  EROFS: ['read-only file system', 'choose a writable --out'],
  ENAMETOOLONG: ['name too long', 'use a shorter path or name'],
  ELOOP: ['too many symbolic links', 'check the path'],
  EMFILE: ['too many open files', 'raise the limit (ulimit -n) or run fewer workers'],
  ENFILE: ['too many open files in the system', 'retry when the system is less busy'],
  EEXIST: ['already exists', 'remove it or choose another path'],
  EBUSY: ['resource busy', 'retry, or choose another path'],
  ENOTEMPTY: ['folder not empty', 'remove it or choose another path'],
  EIO: ['input/output error', 'check the device'],
  EXDEV: ['cannot rename across file systems', 'choose --out on one file system'],
};

/**
 * A one-line message for an error the environment caused (a file system error with its path, a
 * NUL byte in a path), or undefined for anything else (a bug).
 */
export function environmentMessage(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  const x = e as NodeJS.ErrnoException;
  if (x.code === 'ERR_INVALID_ARG_VALUE' && /null bytes/.test(x.message)) {
    const m = /Received '([^']*)'/.exec(x.message);
    return `${m ? m[1] : 'a path'}: a path cannot contain a NUL byte; rename the scenario or file`;
  }
  if (typeof x.code !== 'string') return undefined;
  const hint = FS_HINTS[x.code];
  if (!hint) return undefined;
  const path = x.path ?? '';
  const dest = (x as { dest?: string }).dest;
  const where = path !== '' ? `${path}${dest ? ` → ${dest}` : ''}: ` : '';
  return `${where}${hint[0]} (${x.code}${x.syscall ? ` in ${x.syscall}` : ''}); ${hint[1]}`;
}
