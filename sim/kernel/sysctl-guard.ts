/**
 * Changing the two global conntrack sysctls safely. `nf_conntrack_max` is one value for every
 * network namespace and `nf_conntrack_buckets` resizes the one hash table all namespaces share
 * (docs/model.md §1.1, §1.2), so the harness changes them only while the initial
 * namespace tracks nothing (its `nf_conntrack_count` is 0), remembers the first value it saw
 * and writes it back in `restore()` — which is synchronous and idempotent, so it can run from
 * a `finally`, a signal handler and an exit handler alike.
 */

/** The global sysctls the harness may change. */
export type GlobalSysctl = 'nf_conntrack_max' | 'nf_conntrack_buckets';

/** Access to /proc/sys/net/netfilter of the initial namespace (injected for tests). */
export interface SysctlFs {
  /** Reads `net.netfilter.<name>` (trimmed text). */
  read(name: string): string;
  /** Writes `net.netfilter.<name>`. */
  write(name: string, value: string): void;
}

/** Thrown when a global value may not be changed now. */
export class UnsafeSysctlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeSysctlError';
  }
}

/** Saves, changes and restores the global conntrack sysctls. */
export class GlobalSysctlGuard {
  /** Original values, in the order they were first changed. */
  private readonly saved = new Map<GlobalSysctl, string>();

  constructor(private readonly fs: SysctlFs) {}

  /** `nf_conntrack_count` of the initial namespace. */
  initCount(): number {
    const n = Number(this.fs.read('nf_conntrack_count'));
    if (!Number.isFinite(n)) throw new Error('cannot read net.netfilter.nf_conntrack_count');
    return n;
  }

  /** Current value of a global sysctl. */
  get(name: GlobalSysctl): number {
    return Number(this.fs.read(name));
  }

  /**
   * Sets a global sysctl. Throws `UnsafeSysctlError` (and changes nothing) unless the initial
   * namespace's count is 0. The value before the first change is kept for `restore()`.
   */
  set(name: GlobalSysctl, value: number): void {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name}: ${value} is not a positive integer`);
    const count = this.initCount();
    if (count !== 0) {
      throw new UnsafeSysctlError(`the initial network namespace tracks ${count} connection(s); not changing the global ${name}`);
    }
    const before = this.fs.read(name);
    if (!this.saved.has(name)) this.saved.set(name, before);
    if (before !== String(value)) this.fs.write(name, String(value));
  }

  /** True when some value differs from what was found. */
  get changed(): boolean {
    return this.saved.size > 0;
  }

  /**
   * Writes every saved value back (latest change first), whatever the count is now. Returns
   * the problems (empty when all went well); never throws. Calling it again does nothing.
   */
  restore(): string[] {
    const problems: string[] = [];
    for (const [name, value] of [...this.saved.entries()].reverse()) {
      try {
        if (this.fs.read(name) !== value) this.fs.write(name, value);
        this.saved.delete(name);
      } catch (e) {
        problems.push(`could not restore net.netfilter.${name}=${value}: ${(e as Error).message}`);
      }
    }
    return problems;
  }
}
