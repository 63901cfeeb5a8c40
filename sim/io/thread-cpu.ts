/**
 * CPU time of the calling thread (user + system), from Linux's /proc/thread-self/stat, for
 * `ctsim sweep --timings`: unlike wall time it barely moves when other jobs share the cores, so
 * per-case costs can be compared between runs on a busy machine. null where the file is missing
 * (not Linux) or unreadable. Resolution: one clock tick (10 ms at the usual USER_HZ of 100).
 */
import { readFileSync } from 'node:fs';

const TICK_MS = 10;

export function threadCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // fields after the command name (which may hold spaces, so split after its closing paren):
    // state is field 3, utime field 14, stime field 15
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]);
    return Number.isFinite(ticks) ? ticks * TICK_MS : null;
  } catch {
    return null;
  }
}
