/**
 * What `ctsim kernel-diff` needs from the host, and how it finds the kernel's HZ. Checks go
 * through an injected `HostProbe` so the skip path (not root, not Linux, a tool missing) is
 * testable without the real host.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { delimiter, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { nearestHz, parseConfigHz, parseTimerListJiffies } from './parse.js';

/** A program the harness runs, and the Debian package that provides it. */
export interface Tool {
  name: string;
  pkg: string;
}

/** Programs the harness runs (the packages are what CI installs with apt-get). */
export const TOOLS: readonly Tool[] = [
  { name: 'ip', pkg: 'iproute2' },
  { name: 'nft', pkg: 'nftables' },
  { name: 'conntrack', pkg: 'conntrack' },
  { name: 'tcpdump', pkg: 'tcpdump' },
  { name: 'python3', pkg: 'python3' },
];

/** What preflight looks at (the real host, or a fake in tests). */
export interface HostProbe {
  platform: string;
  /** Effective uid, undefined where there is none (Windows). */
  uid: number | undefined;
  /** Absolute path of an executable, or undefined. */
  which(tool: string): string | undefined;
  exists(path: string): boolean;
  /** True when this process is in the initial network namespace. */
  inInitNetns(): boolean;
}

/** The result of preflight: tool paths when everything is there, else the reasons to skip. */
export interface Preflight {
  missing: string[];
  tools: Record<string, string>;
}

/** Checks the host; `missing` lists one human-readable reason per problem. */
export function preflight(p: HostProbe): Preflight {
  const missing: string[] = [];
  const tools: Record<string, string> = {};
  if (p.platform !== 'linux') {
    missing.push(`needs Linux (this is ${p.platform})`);
    return { missing, tools };
  }
  if (p.uid !== 0) missing.push(`needs root (running as uid ${p.uid ?? '?'}): namespaces, nftables and global sysctls`);
  const absent: Tool[] = [];
  for (const t of TOOLS) {
    const path = p.which(t.name);
    if (path === undefined) absent.push(t);
    else tools[t.name] = path;
  }
  if (absent.length > 0) {
    missing.push(`missing tools: ${absent.map((t) => t.name).join(', ')} (apt-get install -y ${absent.map((t) => t.pkg).join(' ')})`);
  }
  if (!p.exists('/proc/sys/net/netfilter/nf_conntrack_count')) {
    missing.push('the kernel has no conntrack (/proc/sys/net/netfilter/nf_conntrack_count is absent)');
  }
  if (!p.exists('/var/run/netns') && !p.exists('/run')) missing.push('no /run for network namespace handles');
  if (p.uid === 0 && !p.inInitNetns()) missing.push('must run in the initial network namespace (global sysctls live there)');
  return { missing, tools };
}

/** Directories searched besides $PATH (root's tools live in sbin). */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The probe of the real host. */
export function realHostProbe(): HostProbe {
  return {
    platform: process.platform,
    uid: typeof process.geteuid === 'function' ? process.geteuid() : undefined,
    which(tool: string): string | undefined {
      const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...EXTRA_DIRS];
      for (const d of dirs) {
        const f = join(d, tool);
        try { accessSync(f, constants.X_OK); return f; } catch { /* next */ }
      }
      return undefined;
    },
    exists: (path: string) => existsSync(path),
    inInitNetns(): boolean {
      // The global conntrack sysctls are writable (0644) only in the initial namespace; other
      // namespaces see them read-only (0444). /proc/1/ns/net may be unreadable in sandboxes.
      try { return (statSync('/proc/sys/net/netfilter/nf_conntrack_buckets').mode & 0o200) !== 0; } catch { return false; }
    },
  };
}

/** HZ and how it was found. */
export interface HzInfo {
  hz: number;
  how: string;
}

/**
 * Finds the kernel's HZ: CONFIG_HZ from /proc/config.gz, else from /boot/config-<release>,
 * else measured by counting jiffies in /proc/timer_list over about one second (rounded to the
 * nearest of 100/250/300/1000). `getconf CLK_TCK` is USER_HZ (always 100), not HZ.
 */
export async function detectHz(read: (path: string) => Buffer | undefined = tryRead,
  sleepMs: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))): Promise<HzInfo | undefined> {
  const gz = read('/proc/config.gz');
  if (gz) {
    try {
      const hz = parseConfigHz(gunzipSync(gz).toString('utf8'));
      if (hz) return { hz, how: 'CONFIG_HZ in /proc/config.gz' };
    } catch { /* fall through */ }
  }
  const boot = `/boot/config-${release()}`;
  const cfg = read(boot);
  if (cfg) {
    const hz = parseConfigHz(cfg.toString('utf8'));
    if (hz) return { hz, how: `CONFIG_HZ in ${boot}` };
  }
  const j0 = jiffiesNow(read);
  const t0 = process.hrtime.bigint();
  if (j0 === undefined) return undefined;
  await sleepMs(1000);
  const j1 = jiffiesNow(read);
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  if (j1 === undefined || dt <= 0) return undefined;
  const measured = (j1 - j0) / dt;
  return { hz: nearestHz(measured), how: `measured ${measured.toFixed(1)} jiffies/s in /proc/timer_list` };
}

function jiffiesNow(read: (path: string) => Buffer | undefined): number | undefined {
  const t = read('/proc/timer_list');
  return t ? parseTimerListJiffies(t.toString('utf8')) : undefined;
}

function tryRead(path: string): Buffer | undefined {
  try { return readFileSync(path); } catch { return undefined; }
}
