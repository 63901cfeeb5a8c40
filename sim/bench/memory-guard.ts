/**
 * The memory guard: how many bytes a scenario's conntrack table takes in this process, and a
 * check that fails at once (before any simulation) when that cannot fit in the memory available.
 *
 * The figure is measured, not hard-coded: `slotLayout()` builds two tiny `Conntrack` instances
 * that differ only in slot capacity (and two that differ only in bucket count) and sums the
 * `byteLength` of every typed array they own. The difference is the cost of one slot and of one
 * bucket head, so the estimate follows any layout change in sim/conntrack/ by itself.
 */
import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { createConntrack, resolveSysctls } from '../conntrack/create.js';
import type { Scenario } from '../scenario/scenario.js';
import { InputError } from '../io/errors.js';

/** Bytes per slot and per bucket of the model's typed arrays. */
export interface SlotLayout {
  /** Bytes per entry slot (table + side arrays + TCP store), allocated for `nf_conntrack_max` slots up front. */
  perSlot: number;
  /** Bytes per hash bucket (chain head). */
  perBucket: number;
  /** Bytes that do not scale with either (scratch buffers). */
  fixed: number;
  /** perSlot by owner: `table`, `tcp`, `side` (Conntrack's own per-slot arrays). */
  bySection: Record<string, number>;
}

/**
 * Sums the byteLength of typed arrays reachable as own properties of `o` (one level), by section;
 * several views of one buffer (TcpStore's int32 and byte views of its records) count once.
 */
function typedBytes(o: object): number {
  let n = 0;
  const seen = new Set<ArrayBufferLike>();
  for (const v of Object.values(o)) {
    if (!ArrayBuffer.isView(v) || seen.has(v.buffer)) continue;
    seen.add(v.buffer);
    n += v.byteLength;
  }
  return n;
}

function footprint(max: number, buckets: number): { table: number; tcp: number; side: number } {
  const ct = createConntrack({ sysctl: { nf_conntrack_max: max, nf_conntrack_buckets: buckets } });
  return { table: typedBytes(ct.table), tcp: typedBytes(ct.tcp), side: typedBytes(ct) };
}

let cached: SlotLayout | undefined;

/** The measured per-slot and per-bucket cost of the current model layout. */
export function slotLayout(): SlotLayout {
  if (cached) return cached;
  const a = footprint(1024, 1024), b = footprint(2048, 1024), c = footprint(1024, 2048);
  const sum = (x: { table: number; tcp: number; side: number }) => x.table + x.tcp + x.side;
  const perSlot = (sum(b) - sum(a)) / 1024;
  const perBucket = (sum(c) - sum(a)) / 1024;
  cached = {
    perSlot,
    perBucket,
    fixed: sum(a) - 1024 * perSlot - 1024 * perBucket,
    bySection: { table: (b.table - a.table) / 1024, side: (b.side - a.side) / 1024, tcp: (b.tcp - a.tcp) / 1024 },
  };
  return cached;
}

/** What a scenario's table costs, with the sizes it was computed from. */
export interface TableEstimate {
  /** Bytes of typed arrays for the table at its configured size. */
  bytes: number;
  nf_conntrack_max: number;
  nf_conntrack_buckets: number;
  perSlot: number;
  perBucket: number;
  /** nf_conntrack_max = 0 (unlimited): the table grows by doubling, so `bytes` is only its initial size. */
  unbounded: boolean;
}

/** Initial slot capacity of an unlimited table (Conntrack grows it by doubling). */
const UNLIMITED_INITIAL_SLOTS = 1024;

/**
 * Bytes the scenario's conntrack table allocates in the simulator: every slot of
 * `nf_conntrack_max` up front (typed arrays), plus the bucket heads. Sizing follows the kernel's
 * rule from `kernel.memory`/`hashsize` and the sysctls, exactly as the run resolves it.
 */
export function estimateTableBytes(sc: Pick<Scenario, 'kernel' | 'sysctl'>): TableEstimate {
  const s = resolveSysctls({
    version: sc.kernel.version, memory: sc.kernel.memory, sysctl: sc.sysctl,
    ...(sc.kernel.hashsize !== undefined ? { hashsize: sc.kernel.hashsize } : {}),
  });
  const L = slotLayout();
  const max = s.nf_conntrack_max;
  const slots = max === 0 ? UNLIMITED_INITIAL_SLOTS : max;
  const perBucket = Math.max(L.perBucket, bucketBytesWhenFull(L.perBucket, 2 * slots / s.nf_conntrack_buckets));
  return {
    bytes: Math.ceil(slots * L.perSlot + s.nf_conntrack_buckets * perBucket + L.fixed),
    nf_conntrack_max: max,
    nf_conntrack_buckets: s.nf_conntrack_buckets,
    perSlot: L.perSlot,
    perBucket,
    unbounded: max === 0,
  };
}

/** Nodes a bucket record holds itself; longer chains take a spill block (sim/conntrack/table.ts). */
const INLINE_NODES = 3;
/** Smallest spill block, in nodes. */
const SPILL_MIN = 8;
/** Bytes a bucket record takes without its spill area (count + three node ids). */
const BUCKET_RECORD = 16;

/**
 * Bytes per bucket of a full table with `k` nodes per bucket on average (two per entry), an
 * upper estimate: the bucket record plus the expected spill block — a chain of L > 3 nodes holds a
 * block of the power of two ≥ max(8, L) node ids — with L Poisson(k) distributed (a uniform hash),
 * half as much again for the smaller blocks a growing chain leaves on the free lists, and the
 * quarter the spill area grows by when it fills. Measured on tables filled by random SYNs: 21.0,
 * 74.2 and 158.1 B per bucket at k = 1.9, 8 and 16, against 24, 99 and 187 from this estimate.
 * Rounded up to whole bytes (printed in messages).
 */
export function bucketBytesWhenFull(initialPerBucket: number, k: number): number {
  if (!(k > 0)) return initialPerBucket;
  let words = 0;
  let logP = -k; // log P(L = 0)
  const top = Math.ceil(k + 12 * Math.sqrt(k) + 24);
  for (let len = 1; len <= top; len++) {
    logP += Math.log(k) - Math.log(len);
    if (len <= INLINE_NODES) continue;
    let cap = SPILL_MIN;
    while (cap < len) cap *= 2;
    words += Math.exp(logP) * cap;
  }
  return Math.ceil(BUCKET_RECORD + 4 * words * 1.5 * 1.25);
}

/**
 * Memory this process may still use, in bytes: the smaller of the kernel's MemAvailable and the
 * cgroup limit (minus what the process already holds). `CTSIM_MEMORY_AVAILABLE` (bytes) overrides it.
 */
export function availableMemory(): number {
  const env = process.env['CTSIM_MEMORY_AVAILABLE'];
  if (env !== undefined && env !== '' && Number.isFinite(Number(env))) return Number(env);
  let avail = freemem();
  try {
    const m = /^MemAvailable:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) avail = Number(m[1]) * 1024;
  } catch { /* not Linux: keep os.freemem() */ }
  const limit = cgroupLimit();
  if (limit !== undefined) avail = Math.min(avail, Math.max(0, limit - process.memoryUsage().rss));
  return avail;
}

function cgroupLimit(): number | undefined {
  const c = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  // Node reports 2^64-1 (or 0) when there is no limit
  if (c !== undefined && c > 0 && c < 2 ** 60) return c;
  for (const f of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const t = readFileSync(f, 'utf8').trim();
      if (t !== 'max' && Number(t) > 0 && Number(t) < 2 ** 60) return Number(t);
    } catch { /* no such file */ }
  }
  return undefined;
}

/** Headroom beyond the table a run needs (Node itself, generators' flow pools, metrics). */
export const RUN_OVERHEAD_BYTES = 256 * 1024 ** 2;

/** "1.84 GiB" */
export function formatBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = n;
  while (x >= 1024 && i < u.length - 1) { x /= 1024; i++; }
  return `${i === 0 ? x : x.toFixed(2)} ${u[i]}`;
}

/** The outcome of {@link checkTableMemory}: ok, or the message naming the figure needed. */
export type MemoryCheck = { ok: true; needed: number; available: number; estimate: TableEstimate } | { ok: false; needed: number; available: number; estimate: TableEstimate; message: string };

/**
 * Whether `copies` simultaneous runs of the scenario (sweep workers) fit in `available` bytes.
 * The message starts with `where` (the scenario file) and names the bytes needed and available.
 */
export function checkTableMemory(sc: Pick<Scenario, 'kernel' | 'sysctl'>, opts: { where: string; copies?: number; available?: number } ): MemoryCheck {
  const copies = opts.copies ?? 1;
  const est = estimateTableBytes(sc);
  const needed = copies * (est.bytes + RUN_OVERHEAD_BYTES);
  const available = opts.available ?? availableMemory();
  if (needed <= available) return { ok: true, needed, available, estimate: est };
  const per = `nf_conntrack_max ${est.nf_conntrack_max.toLocaleString('en-US')} × ${est.perSlot} B + ` +
    `${est.nf_conntrack_buckets.toLocaleString('en-US')} buckets × ${est.perBucket} B = ${formatBytes(est.bytes)}, plus ${formatBytes(RUN_OVERHEAD_BYTES)} per run`;
  const message = `${opts.where}: the conntrack table cannot fit in memory: it needs ${formatBytes(needed)} ` +
    `(${copies > 1 ? `${copies} concurrent runs × (` : ''}${per}${copies > 1 ? ')' : ''}) but ${formatBytes(available)} is available; ` +
    `lower sysctl.nf_conntrack_max${copies > 1 ? ' or --workers' : ''}, or run on a larger machine`;
  return { ok: false, needed, available, estimate: est, message };
}

/**
 * Throws the guard's message as bad input (exit 2) when the table cannot fit; what run, compare
 * and sweep call before simulating anything.
 */
export function assertTableFits(sc: Pick<Scenario, 'kernel' | 'sysctl'>, where: string, copies = 1, available?: number): void {
  const r = checkTableMemory(sc, { where, copies, ...(available !== undefined ? { available } : {}) });
  if (!r.ok) throw new InputError(r.message);
}
