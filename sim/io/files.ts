import { mkdirSync, renameSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { InputError } from './errors.js';

/**
 * Writes a whole results directory atomically: the caller fills a temporary sibling directory,
 * which is renamed into place only when everything is written. An interrupted or failed run
 * leaves no half-written directory under the final name (at most a `.ctsim-tmp-*` sibling,
 * removed on failure and ignored by git).
 */
export class AtomicDir {
  readonly tmp: string;
  private done = false;

  constructor(readonly finalPath: string, token: string) {
    mkdirSync(dirname(finalPath), { recursive: true });
    this.tmp = join(dirname(finalPath), `.ctsim-tmp-${basename(finalPath)}-${token}`);
    rmSync(this.tmp, { recursive: true, force: true });
    mkdirSync(this.tmp, { recursive: true });
  }

  /** Path of a file inside the (temporary) directory. */
  path(name: string): string {
    return join(this.tmp, name);
  }

  write(name: string, content: string | Uint8Array): void {
    const p = this.path(name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }

  /** Moves the directory into place, replacing an older one of the same name. */
  commit(): void {
    rmSync(this.finalPath, { recursive: true, force: true });
    renameSync(this.tmp, this.finalPath);
    this.done = true;
  }

  /** Removes the temporary directory (safe to call after commit). */
  abort(): void {
    if (!this.done) rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** Writes one file atomically (temporary name in the same directory, then rename). */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.ctsim-tmp-${basename(path)}-${process.pid}`);
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** Reads a user-named file, turning a missing or unreadable file into an InputError. */
export function readInputFile(path: string, what: string): Buffer {
  if (!existsSync(path)) throw new InputError(`${path}: ${what} not found`);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InputError(`${path}: cannot read ${what}: ${(e as Error).message}`);
  }
}
