/**
 * `ctsim bench`: runs each standard workload several times, each repetition in its own Node
 * process, interleaved round-robin (workload A, B, C, A, B, C, …) so load drifts on a shared
 * machine hit every workload alike, and reports the median with the spread (min–max). The
 * `bound` workload (the bare hot path, bound.ts) runs in every round, and every workload's rate
 * is also reported as its ratio to bound's in the same round (median and range of those ratios).
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SIZES, modelBytesPerEntry, runWorkload, type BenchSizes, type WorkloadName, type WorkloadSample } from './workloads.js';

/** Median and spread of one figure over the repetitions. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** One workload's report (the JSON keys the issue asks for are top-level: medians). */
export interface WorkloadReport {
  packetsPerSecond: number;
  eventsPerSecond: number;
  simSecondsPerWallSecond: number;
  bytesPerEntry: number;
  peakRssBytes: number;
  liveEntries: number;
  repetitions: number;
  spread: { packetsPerSecond: Spread; eventsPerSecond: Spread; simSecondsPerWallSecond: Spread; bytesPerEntry: Spread; peakRssBytes: Spread };
  /** Median wall seconds of the timed window and of the untimed setup (prefill, warm-up). */
  seconds: number;
  setupSeconds: number;
  packets: number;
  events: number;
  /** Model counters at the end of the run (the same in every repetition, else `deterministic` is false). */
  check: Record<string, number>;
  deterministic: boolean;
  /**
   * Rate relative to the `bound` workload (packets/s, events/s for `hold`, over bound's
   * packets/s), from repetitions of the same round (each round runs every workload once,
   * interleaved): the median and range of the per-round ratios. Absent when bound did not run.
   */
  ratioToBound?: Spread;
}

export interface BenchReport {
  node: string;
  cpu: string;
  cores: number;
  loadavg: number[];
  sizes: BenchSizes;
  /** Typed-array bytes the model allocates per slot and per live entry of the flood table. */
  model: ReturnType<typeof modelBytesPerEntry>;
  workloads: Partial<Record<WorkloadName, WorkloadReport>>;
  goals: { name: string; target: string; measured: number; met: boolean }[];
}

export interface BenchOptions {
  workloads: readonly WorkloadName[];
  sizes: BenchSizes;
  repetitions: number;
  /** Run repetitions in this process instead of child processes (tests; peak RSS is then shared). */
  inProcess?: boolean;
  /** Extra node flags for the child processes (e.g. --cpu-prof). */
  nodeFlags?: readonly string[];
  /** Called after each repetition (progress). */
  onSample?: (s: WorkloadSample, rep: number) => void;
}

function childPath(): string {
  return fileURLToPath(new URL('./child.js', import.meta.url));
}

/** Runs one repetition in a fresh `node --expose-gc` process. */
function runChild(workload: WorkloadName, sizes: BenchSizes, nodeFlags: readonly string[]): Promise<WorkloadSample> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', ...nodeFlags, childPath(), JSON.stringify({ workload, sizes })], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString('utf8'); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString('utf8'); });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`bench ${workload}: child exited with ${code}\n${err}`));
      try { resolve(JSON.parse(out.trim().split('\n').pop()!) as WorkloadSample); } catch (e) { reject(new Error(`bench ${workload}: unreadable child output: ${out}${err}`)); }
    });
  });
}

export function spread(xs: readonly number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  return { median, min: s[0]!, max: s[n - 1]! };
}

function report(samples: WorkloadSample[]): WorkloadReport {
  const f = (k: 'packetsPerSecond' | 'eventsPerSecond' | 'simSecondsPerWallSecond' | 'bytesPerEntry' | 'peakRssBytes') => spread(samples.map((s) => s[k]));
  const sp = { packetsPerSecond: f('packetsPerSecond'), eventsPerSecond: f('eventsPerSecond'), simSecondsPerWallSecond: f('simSecondsPerWallSecond'), bytesPerEntry: f('bytesPerEntry'), peakRssBytes: f('peakRssBytes') };
  const first = samples[0]!;
  const same = samples.every((s) => JSON.stringify(s.check) === JSON.stringify(first.check));
  return {
    packetsPerSecond: sp.packetsPerSecond.median, eventsPerSecond: sp.eventsPerSecond.median,
    simSecondsPerWallSecond: sp.simSecondsPerWallSecond.median, bytesPerEntry: sp.bytesPerEntry.median,
    peakRssBytes: sp.peakRssBytes.median, liveEntries: first.liveEntries, repetitions: samples.length, spread: sp,
    seconds: spread(samples.map((s) => s.seconds)).median, setupSeconds: spread(samples.map((s) => s.setupSeconds)).median,
    packets: first.packets, events: first.events, check: first.check, deterministic: same,
  };
}

/** A workload's headline rate: events/s for the bare event queue, packets/s otherwise. */
export function rateOf(workload: string, s: { packetsPerSecond: number; eventsPerSecond: number }): number {
  return workload === 'hold' ? s.eventsPerSecond : s.packetsPerSecond;
}

/**
 * Per-round ratios of each workload's rate to `bound`'s (round r of workload w over round r of
 * bound, both measured within the same interleaved round), then their median and range.
 */
export function ratiosToBound(samples: ReadonlyMap<WorkloadName, readonly WorkloadSample[]>): Map<WorkloadName, Spread> {
  const out = new Map<WorkloadName, Spread>();
  const bound = samples.get('bound');
  if (bound === undefined || bound.length === 0) return out;
  for (const [w, ss] of samples) {
    const n = Math.min(ss.length, bound.length);
    const r: number[] = [];
    for (let i = 0; i < n; i++) r.push(rateOf(w, ss[i]!) / bound[i]!.packetsPerSecond);
    if (r.length > 0) out.set(w, spread(r));
  }
  return out;
}

/** The issue's goals, checked against the medians (only for the full default sizes). */
function goals(w: BenchReport['workloads'], model: BenchReport['model']): BenchReport['goals'] {
  const g: BenchReport['goals'] = [];
  if (w['syn-flood']) g.push({ name: 'syn-flood packets/s (one core, full model, 1 M entries)', target: '>= 1,500,000', measured: Math.round(w['syn-flood'].packetsPerSecond), met: w['syn-flood'].packetsPerSecond >= 1_500_000 });
  const rf = w['syn-flood']?.ratioToBound;
  if (rf) g.push({ name: 'syn-flood / bound (median of per-round ratios)', target: '>= 1.0', measured: Math.round(rf.median * 1000) / 1000, met: rf.median >= 1 });
  if (w['syn-flood-sim']) g.push({ name: 'syn-flood-sim packets/s (whole simulation)', target: '>= 1,000,000', measured: Math.round(w['syn-flood-sim'].packetsPerSecond), met: w['syn-flood-sim'].packetsPerSecond >= 1_000_000 });
  if (w.mixed) g.push({ name: 'mixed packets/s (~1 M live entries)', target: '>= 1,500,000', measured: Math.round(w.mixed.packetsPerSecond), met: w.mixed.packetsPerSecond >= 1_500_000 });
  if (w.hold) g.push({ name: 'hold model events/s (100,000 pending)', target: '>= 3,000,000', measured: Math.round(w.hold.eventsPerSecond), met: w.hold.eventsPerSecond >= 3_000_000 });
  if (w['syn-flood']) g.push({ name: 'bytes per live IPv4 entry (syn-flood heap growth)', target: '<= 128', measured: Math.round(w['syn-flood'].bytesPerEntry * 10) / 10, met: w['syn-flood'].bytesPerEntry <= 128 });
  g.push({ name: 'model typed-array bytes per entry (slot + bucket share)', target: '<= 128', measured: Math.round(model.perEntry * 10) / 10, met: model.perEntry <= 128 });
  return g;
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  // the yardstick runs in every round, first, so every workload has its ratio to it
  const list: readonly WorkloadName[] = o.workloads.includes('bound') ? o.workloads : ['bound', ...o.workloads];
  const samples = new Map<WorkloadName, WorkloadSample[]>(list.map((w) => [w, []]));
  for (let rep = 0; rep < o.repetitions; rep++) {
    for (const w of list) {
      const s = o.inProcess ? runWorkload(w, o.sizes) : await runChild(w, o.sizes, o.nodeFlags ?? []);
      samples.get(w)!.push(s);
      o.onSample?.(s, rep);
    }
  }
  const workloads: BenchReport['workloads'] = {};
  const ratios = ratiosToBound(samples);
  for (const [w, s] of samples) {
    const rep = report(s);
    const r = ratios.get(w);
    if (r !== undefined) rep.ratioToBound = r;
    workloads[w] = rep;
  }
  const model = modelBytesPerEntry(o.sizes.entries, o.sizes.buckets);
  const cpu = cpus();
  return {
    node: process.version, cpu: cpu[0]?.model ?? 'unknown', cores: cpu.length, loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    sizes: o.sizes, model, workloads, goals: goals(workloads, model),
  };
}

export { DEFAULT_SIZES };

const n0 = (x: number): string => Math.round(x).toLocaleString('en-US');
const mib = (b: number): string => `${(b / 1024 ** 2).toFixed(0)} MiB`;

/** The report as a terminal table. */
export function formatBench(r: BenchReport): string {
  const lines = [`ctsim bench: Node ${r.node}, ${r.cores} × ${r.cpu}, load ${r.loadavg.join(' ')}; median (min–max) of ${Object.values(r.workloads)[0]?.repetitions ?? 0} repetitions, each in its own process`];
  for (const [name, w] of Object.entries(r.workloads)) {
    const s = w.spread;
    const rb = w.ratioToBound;
    const ratio = rb === undefined ? '' : `; ${rb.median.toFixed(3)} × bound (${rb.min.toFixed(3)}–${rb.max.toFixed(3)})`;
    const rate = name === 'hold'
      ? `${n0(w.eventsPerSecond)} events/s (${n0(s.eventsPerSecond.min)}–${n0(s.eventsPerSecond.max)})`
      : `${n0(w.packetsPerSecond)} packets/s (${n0(s.packetsPerSecond.min)}–${n0(s.packetsPerSecond.max)}), ${n0(w.eventsPerSecond)} events/s, ${w.simSecondsPerWallSecond.toFixed(2)} sim s/wall s`;
    lines.push(`  ${name.padEnd(14)} ${rate}; ${w.bytesPerEntry.toFixed(1)} B/entry over ${n0(w.liveEntries)} live; peak RSS ${mib(w.peakRssBytes)}${ratio}${w.deterministic ? '' : '; REPETITIONS DIFFER'}`);
  }
  lines.push(`  model layout: ${r.model.perSlot} B/slot (${Object.entries(r.model.bySection).map(([k, v]) => `${k} ${v}`).join(', ')}) + ${r.model.perBucket} B/bucket = ${r.model.perEntry.toFixed(1)} B per entry of the flood table`);
  // ratios (and other figures below 10) keep their decimals; rates are rounded with separators
  for (const g of r.goals) lines.push(`  goal ${g.met ? 'met    ' : 'NOT met'}  ${g.name}: ${Math.abs(g.measured) < 10 ? String(g.measured) : n0(g.measured)} (target ${g.target})`);
  return lines.join('\n') + '\n';
}
