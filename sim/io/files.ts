import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { InputError } from './errors.js';

/**
 * Temporary names carry the writing process's pid: `.ctsim-tmp-<pid>-<final name>`. A later
 * run in the same folder removes those whose process is gone (see {@link removeStaleTemps}).
 */
const TMP_PREFIX = '.ctsim-tmp-';
const TMP_RE = /^\.ctsim-tmp-(\d+)-/;

/** Temporary files and folders this process is writing now (removed on a signal). */
const ACTIVE = new Set<string>();

/** The file writer; tests replace it to simulate a full disk (ENOSPC) or another failure. */
let writeImpl: (path: string, content: string | Uint8Array) => void = (p, c) => writeFileSync(p, c);

/** For tests: replace the low-level file writer (undefined restores the real one). */
export function setFileWriterForTests(w?: (path: string, content: string | Uint8Array) => void): void {
  writeImpl = w ?? ((p, c) => writeFileSync(p, c));
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to someone else). */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes `.ctsim-tmp-<pid>-*` entries in `dir` whose process no longer runs (left by a run that
 * was killed with SIGKILL or lost power). Returns the removed paths.
 */
export function removeStaleTemps(dir: string): string[] {
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  const removed: string[] = [];
  for (const n of names) {
    const m = TMP_RE.exec(n);
    if (!m || alive(Number(m[1]))) continue;
    const p = join(dir, n);
    try { rmSync(p, { recursive: true, force: true }); removed.push(p); } catch { /* someone else's problem */ }
  }
  return removed;
}

/** Removes every temporary file and folder this process is writing; returns their paths (for signal handlers). */
export function removeActiveTemps(): string[] {
  const out = [...ACTIVE];
  for (const p of out) { try { rmSync(p, { recursive: true, force: true }); } catch { /* best effort */ } }
  ACTIVE.clear();
  return out;
}

/** Creates `dir` and its missing parents; returns the topmost folder it created (undefined if it existed). */
function mkdirs(dir: string): string | undefined {
  // One level at a time, not { recursive: true }: that loops forever where mkdir keeps failing
  // with ENOENT (under /proc), and its errors name the wrong folder.
  const missing: string[] = [];
  let d = resolve(dir);
  while (!existsSync(d)) {
    missing.push(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  if (existsSync(d) && !statSync(d).isDirectory()) {
    throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR', syscall: 'mkdir', path: d });
  }
  for (const m of missing.reverse()) mkdirSync(m);
  return missing[0];
}

/** Removes the folders from `from` up to `top` (both included) while they are empty. */
function removeEmptyUpTo(from: string, top: string | undefined): void {
  if (top === undefined) return;
  let d = resolve(from);
  const t = resolve(top);
  for (;;) {
    try { if (readdirSync(d).length > 0) return; rmdirSync(d); } catch { return; }
    if (d === t) return;
    const up = dirname(d);
    if (up === d || relative(t, up).startsWith('..')) return;
    d = up;
  }
}

/**
 * The folder `root/seg1/seg2/…` for results. Each segment must be a plain name (no separator, no
 * NUL, not "." or ".."), so the result always lies inside `root`, whatever a scenario calls itself.
 */
export function resultsPath(root: string, ...segments: string[]): string {
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || /[/\\\0]/.test(s)) {
      throw new InputError(`results folder name "${s.replace(/\0/g, '\\0')}" is not a plain name (it would leave ${root}); use letters, digits, ".", "_" and "-"`);
    }
  }
  const p = join(root, ...segments);
  const rel = relative(resolve(root), resolve(p));
  if (rel.startsWith('..') || isAbsolute(rel)) throw new InputError(`results folder ${p} lies outside ${root}`);
  return p;
}

/**
 * Writes a whole results directory atomically: the caller fills a temporary sibling directory,
 * which is renamed into place only when everything is written. An interrupted or failed run
 * leaves no half-written directory under the final name: the temporary sibling and any parent
 * folder this writer created are removed on failure (`abort`) or on a signal
 * ({@link removeActiveTemps}); one left by a killed process is removed by the next writer in
 * the same folder.
 */
export class AtomicDir {
  readonly tmp: string;
  private done = false;
  private readonly createdTop: string | undefined;

  constructor(readonly finalPath: string, token: string = String(process.pid)) {
    const parent = dirname(finalPath);
    if (existsSync(parent) && !statSync(parent).isDirectory()) {
      throw new InputError(`${parent}: is a file, not a folder; choose another --out`);
    }
    this.createdTop = mkdirs(parent);
    removeStaleTemps(parent);
    const tok = token === String(process.pid) ? token : `${process.pid}-${token}`;
    this.tmp = join(parent, `${TMP_PREFIX}${tok}-${basename(finalPath)}`);
    rmSync(this.tmp, { recursive: true, force: true });
    ACTIVE.add(this.tmp);
    try {
      mkdirSync(this.tmp, { recursive: true });
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  /** Path of a file inside the (temporary) directory. */
  path(name: string): string {
    return join(this.tmp, name);
  }

  write(name: string, content: string | Uint8Array): void {
    const p = this.path(name);
    mkdirs(dirname(p));
    writeImpl(p, content);
  }

  /** Moves the directory into place, replacing an older one of the same name. */
  commit(): void {
    rmSync(this.finalPath, { recursive: true, force: true });
    renameSync(this.tmp, this.finalPath);
    ACTIVE.delete(this.tmp);
    this.done = true;
  }

  /** Removes the temporary directory and the parents this writer created (safe to call after commit). */
  abort(): void {
    if (this.done) return;
    rmSync(this.tmp, { recursive: true, force: true });
    ACTIVE.delete(this.tmp);
    removeEmptyUpTo(dirname(this.finalPath), this.createdTop);
  }
}

/** Writes one file atomically (temporary name in the same directory, then rename); a failure leaves nothing behind. */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const parent = dirname(path);
  if (existsSync(parent) && !statSync(parent).isDirectory()) throw new InputError(`${parent}: is a file, not a folder; choose another path for ${basename(path)}`);
  const top = mkdirs(parent);
  removeStaleTemps(parent);
  const tmp = join(parent, `${TMP_PREFIX}${process.pid}-${basename(path)}`);
  ACTIVE.add(tmp);
  try {
    writeImpl(tmp, content);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    removeEmptyUpTo(parent, top);
    throw e;
  } finally {
    ACTIVE.delete(tmp);
  }
}

/** Reads a user-named file, turning a missing, unreadable or non-file path into an InputError. */
export function readInputFile(path: string, what: string): Buffer {
  if (path.includes('\0')) throw new InputError(`${path.replace(/\0/g, '\\0')}: a ${what} path cannot contain a NUL byte`);
  if (!existsSync(path)) throw new InputError(`${path}: ${what} not found`);
  if (statSync(path).isDirectory()) throw new InputError(`${path}: is a folder; expected a ${what}`);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InputError(`${path}: cannot read ${what}: ${(e as Error).message}`);
  }
}
