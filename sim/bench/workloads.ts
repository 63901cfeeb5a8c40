/**
 * The standard benchmark workloads of `ctsim bench`, each run in-process and timed with
 * performance.now() (a benchmark, not model code: the model itself never reads a clock).
 *
 * - `syn-flood`: the conntrack core (Conntrack.packetIn + GcWorker, the full model: TCP tracker,
 *   early_drop, chain-length limit, counters) under a spoofed SYN flood at steady state against a
 *   full table. The table is prefilled through the same packet path, then flooded.
 * - `syn-flood-sim`: the same traffic through the whole simulation (scenario, syn-flood
 *   generator, event queue, metrics observer), prefilled by a slower flood of the same kind.
 * - `mixed`: web clients, DNS, idle TCP and UDP NAT flows through the whole simulation, holding
 *   about `entries` live entries at steady state.
 * - `nat`: the conntrack core with an SNAT rule to a 256-address pool (the NAT core of sim/nat
 *   on the rule path), holding `entries` live SNATed entries under a flood of new inside flows;
 *   reports the NAT table's bytes per entry separately from the flood's.
 * - `hold`: the bare event queue on the hold model (benchHoldModel).
 * - `bound`: the bare hot path of the flood in the plain chained layout (bound.ts), the yardstick
 *   every other workload's rate is divided by (ratios measured side by side survive machine load).
 *
 * Every workload reports the model's counters as well, so repetitions can be checked to have
 * simulated exactly the same thing.
 */
import { createConntrack, parseKernelVersion } from '../conntrack/create.js';
import { GcWorker } from '../conntrack/gc.js';
import { Pkt } from '../conntrack/packet.js';
import { IPPROTO_TCP, TH_SYN } from '../conntrack/constants.js';
import { benchHoldModel } from '../core/bench-queue.js';
import { Rng, RngStreams } from '../core/rng.js';
import { setupNat } from '../nat/setup.js';
import { loadRuleset } from '../rules/ruleset.js';
import { loadScenario, formatIssue } from '../scenario/load.js';
import { Simulation, type Registries } from '../run/simulation.js';
import { GENERATORS } from '../traffic/registry.js';
import { POLICIES } from '../../policies/index.js';
import { slotLayout } from './memory-guard.js';
import { runBound } from './bound.js';

export const WORKLOADS = ['bound', 'syn-flood', 'syn-flood-sim', 'mixed', 'nat', 'hold'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

/** Sizes of a bench run. */
export interface BenchSizes {
  /** Live entries (nf_conntrack_max for the floods). @defaultValue 1,000,000 */
  entries: number;
  /** Hash buckets for the floods. @defaultValue 1,048,576 */
  buckets: number;
  /** Timed flood packets (syn-flood); syn-flood-sim times `packets` / 2, nat `packets` / 10. @defaultValue 5,000,000 */
  packets: number;
  /** Simulated seconds timed at steady state in `mixed`. @defaultValue 30 */
  mixedSeconds: number;
  /** Pending events and timed operations of the hold model. @defaultValue 100,000 and 5,000,000 */
  pending: number;
  holdOps: number;
  seed: number;
}

export const DEFAULT_SIZES: BenchSizes = {
  entries: 1_000_000, buckets: 1_048_576, packets: 5_000_000, mixedSeconds: 30, pending: 100_000, holdOps: 5_000_000, seed: 1,
};

/** What one repetition of one workload measured. */
export interface WorkloadSample {
  workload: WorkloadName;
  /** Packets through conntrack per wall second in the timed window (0 for hold). */
  packetsPerSecond: number;
  /** Events dispatched per wall second in the timed window. */
  eventsPerSecond: number;
  /** Simulated seconds per wall second in the timed window. */
  simSecondsPerWallSecond: number;
  /** (heap used + external/arrayBuffers growth) / live entries, after a full GC. */
  bytesPerEntry: number;
  liveEntries: number;
  /** Timed window (wall seconds) and untimed setup (prefill, warm-up). */
  seconds: number;
  setupSeconds: number;
  packets: number;
  events: number;
  /** Peak resident set size of the process, bytes (per process: run workloads in their own process). */
  peakRssBytes: number;
  /** Model counters at the end (identical across repetitions: the run is deterministic). */
  check: Record<string, number>;
}

const gcNow = (): void => { (globalThis as { gc?: () => void }).gc?.(); };
function heapBytes(): number {
  gcNow();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}
const peakRss = (): number => process.resourceUsage().maxRSS * 1024;

const REGISTRIES: Registries = { generators: GENERATORS, policies: POLICIES };

/** SYN_SENT timeout (s) of a 6.x kernel: prefilled entries' remaining lives spread over it. */
const SYN_SENT_S = 120;

/**
 * The spoofed-SYN driver of the core floods (`syn-flood`, `nat`): each SYN comes from
 * srcBase | (random & srcMask) and a random port to dst:dport, with a random ISN (three draws
 * per SYN, in that order), at `spacing` µs; the gc worker runs at its own times in between.
 */
class SynFlood {
  now = 0;
  gcRuns = 0;
  private readonly gc: GcWorker;
  private readonly rng: Rng;
  private readonly pkt = new Pkt();
  private nextGc: number;

  constructor(private readonly ct: ReturnType<typeof createConntrack>, rngName: string, private readonly srcBase: number,
    private readonly srcMask: number, private readonly dst: number, private readonly dport: number, private readonly cls: number) {
    this.gc = new GcWorker(ct, 8192);
    this.rng = new Rng(rngName);
    this.nextGc = this.gc.firstRunUs();
  }

  /** Sends `n` SYNs, `spacing` µs apart. */
  send(n: number, spacing: number): void {
    const { ct, rng, pkt, gc } = this;
    for (let i = 0; i < n; i++) {
      this.now += spacing;
      while (this.nextGc <= this.now) { this.nextGc = gc.run(this.nextGc); this.gcRuns++; }
      pkt.reset();
      pkt.proto = IPPROTO_TCP;
      pkt.cls = this.cls;
      pkt.src = this.srcBase | (rng.int32() & this.srcMask);
      pkt.sport = 1024 + ((rng.uniform() * 64512) | 0);
      pkt.dst = this.dst;
      pkt.dport = this.dport;
      pkt.tcpFlags = TH_SYN;
      pkt.seq = rng.int32() >>> 0;
      pkt.win = 64240;
      pkt.len = 60;
      ct.setNow(this.now);
      ct.packetIn(pkt);
    }
  }
}

/**
 * The core flood. Table: nf_conntrack_max = `entries`, nf_conntrack_buckets = `buckets`
 * (default 1,048,576, the power of two above 1 M: buckets ≈ max, like a host sized by
 * `hashsize=1048576` with nf_conntrack_max lowered to 1 M); kernel 6.12, HZ 250, gc at 8192
 * buckets/ms. Prefill: `entries` spoofed SYNs spaced evenly over 120 s (the SYN_SENT timeout),
 * so the table is full at 120 s with remaining lives uniform in (0, 120 s], as if a flood had
 * filled it; the gc worker runs at its own times throughout. Timed: `packets` spoofed SYNs at
 * 1 µs spacing (1 M SYN/s simulated) after an untimed warm-up of min(packets/5, 1 M).
 * Every timed SYN misses, finds the table full, early-drops and inserts.
 */
export function benchSynFlood(z: BenchSizes): WorkloadSample {
  const h0 = heapBytes();
  const t0 = performance.now();
  const ct = createConntrack({ version: '6.12', hz: 250, seed: z.seed, sysctl: { nf_conntrack_max: z.entries, nf_conntrack_buckets: z.buckets } });
  const f = new SynFlood(ct, `ctsim/bench/syn-flood/${z.seed}`, 0, -1, 0xc000020a | 0, 80, 2);
  const flood = (n: number, spacing: number): void => f.send(n, spacing);
  const spacing = Math.max(1, Math.floor((SYN_SENT_S * 1e6) / z.entries));
  flood(z.entries, spacing);
  const live = ct.count;
  const bytes = heapBytes() - h0;
  flood(Math.min(Math.floor(z.packets / 5), 1_000_000), 1);
  const setup = (performance.now() - t0) / 1000;
  const simStart = f.now;
  const t1 = performance.now();
  flood(z.packets, 1);
  const seconds = (performance.now() - t1) / 1000;
  const st = ct.stats;
  return {
    workload: 'syn-flood', packetsPerSecond: z.packets / seconds, eventsPerSecond: z.packets / seconds,
    simSecondsPerWallSecond: (f.now - simStart) / 1e6 / seconds, bytesPerEntry: bytes / live, liveEntries: live,
    seconds, setupSeconds: setup, packets: z.packets, events: z.packets, peakRssBytes: peakRss(),
    check: {
      count: ct.count, allocated: st.allocated, early_drop: st.early_drop, drop: st.drop, chaintoolong: st.chaintoolong,
      reaped_lookup: st.reaped_lookup, reaped_early_drop: st.reaped_early_drop, reaped_gc: st.reaped_gc,
      gc_early_drop: st.gc_early_drop, gc_runs: f.gcRuns,
    },
  };
}

/** The SNAT rule of the `nat` workload: every inside source (10.0.0.0/8) to a 256-address pool. */
export const BENCH_NAT_RULESET = `table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr 10.0.0.0/8 snat to 198.51.100.0-198.51.100.255
  }
}
`;

/**
 * The conntrack core with NAT: the table of `syn-flood` (nf_conntrack_max = `entries`,
 * nf_conntrack_buckets = `buckets`, kernel 6.12, HZ 250, gc at 8192 buckets/ms) with the NAT
 * core installed from a ruleset ({@link BENCH_NAT_RULESET}: `snat to` a 256-address pool, ports
 * 1024–65535 by default), exactly as a scenario with that ruleset sets it up (setupNat, the rule
 * path's decider). Every packet is a TCP SYN of a new inside flow (a random host of 10.0.0.0/8, a
 * random port) to one server, 203.0.113.10:443, so every entry is SNATed: the postrouting rule
 * matches, get_unique_tuple picks a pool address and a free port, the REPLY tuple is rewritten,
 * the entry joins the bysource hash and holds a port of its (pool address, server, tcp) key.
 * The pool is wide enough that the port search does not fail: 256 addresses × 64,512 ports per
 * server, so 1 M entries use about 6 % of each key's ports (`check.exhausted` stays 0).
 *
 * Prefill: `entries` SYNs spaced evenly over 120 s, as in `syn-flood` (the table is full, the gc
 * has run throughout); bytes per entry = heap growth from before the model is built to the full
 * table / live entries, as for `syn-flood`, so the difference between the two is what NAT adds
 * per entry. Timed: `packets` / 10 SYNs at 1 µs spacing after an untimed warm-up of
 * min(packets / 50, 100,000): every one misses, finds the table full, early-drops (freeing the
 * victim's port) and inserts a new SNATed entry. (A tenth of the flood's packets: the NAT path
 * runs at about 0.13 of `bound`, and the prefill of 1 M SNATed entries alone takes seconds, so
 * this keeps a repetition near ten seconds at the default sizes.)
 */
export function benchNat(z: BenchSizes): WorkloadSample {
  const h0 = heapBytes();
  const t0 = performance.now();
  const version = '6.12';
  const ct = createConntrack({ version, hz: 250, seed: z.seed, sysctl: { nf_conntrack_max: z.entries, nf_conntrack_buckets: z.buckets } });
  const nat = setupNat(ct, { version: parseKernelVersion(version), ruleset: loadRuleset(BENCH_NAT_RULESET, 'bench-nat.nft', undefined) }, new RngStreams(z.seed, 0));
  if (nat === undefined) throw new Error('bench nat: the NAT core was not installed');
  // inside hosts of 10.0.0.0/8 to 203.0.113.10:443
  const f = new SynFlood(ct, `ctsim/bench/nat/${z.seed}`, 0x0a000000, 0x00ffffff, 0xcb00710a | 0, 443, 1);
  const flood = (n: number, spacing: number): void => f.send(n, spacing);
  const spacing = Math.max(1, Math.floor((SYN_SENT_S * 1e6) / z.entries));
  flood(z.entries, spacing);
  const live = ct.count;
  const bytes = heapBytes() - h0;
  flood(Math.min(Math.floor(z.packets / 50), 100_000), 1);
  const setup = (performance.now() - t0) / 1000;
  const packets = Math.max(1, Math.floor(z.packets / 10));
  const simStart = f.now;
  const t1 = performance.now();
  flood(packets, 1);
  const seconds = (performance.now() - t1) / 1000;
  const st = ct.stats, nc = nat.counters;
  return {
    workload: 'nat', packetsPerSecond: packets / seconds, eventsPerSecond: packets / seconds,
    simSecondsPerWallSecond: (f.now - simStart) / 1e6 / seconds, bytesPerEntry: bytes / live, liveEntries: live,
    seconds, setupSeconds: setup, packets, events: packets, peakRssBytes: peakRss(),
    check: {
      count: ct.count, allocated: st.allocated, early_drop: st.early_drop, drop: st.drop, insert_failed: st.insert_failed,
      reaped_lookup: st.reaped_lookup, reaped_gc: st.reaped_gc, gc_runs: f.gcRuns,
      mappings: nc.mappings, mappings_changed: nc.mappings_changed, exhausted: nc.exhausted, probes: nc.probes,
      bysource_reuse: nc.bysource_reuse, max_port_util_ppm: Math.round(nat.usage.maxUtilisation() * 1e6),
    },
  };
}

/** Loads an in-memory scenario (bench scenarios are built here, so a failure is a bug). */
function scenarioOf(yaml: string, name: string) {
  const r = loadScenario(yaml, `${name}.yaml`, REGISTRIES);
  if (!r.ok) throw new Error(`bench scenario ${name} is invalid:\n${r.issues.map(formatIssue).join('\n')}`);
  return r.scenario;
}

/**
 * Runs a Simulation to its end, timing the window from `fromUs` (simulated) to the end, with the
 * packet and event counts of that window. The window starts at the first progress slice
 * boundary ≥ fromUs (runToEnd reports 200 evenly spaced slices).
 */
function timedSimulation(sim: Simulation, fromUs: number, h0: number, t0: number): Omit<WorkloadSample, 'workload' | 'check'> {
  let tStart = -1, pStart = 0, eStart = 0, sStart = 0, bytes = 0, live = 0, setup = 0;
  const packets = (): number => sim.gens.reduce((a, g) => a + g.outcomes.packets, 0);
  sim.runToEnd((simUs, events) => {
    if (tStart < 0 && simUs >= fromUs) {
      live = sim.ct.count;
      bytes = heapBytes() - h0;
      pStart = packets(); eStart = events; sStart = simUs;
      setup = (performance.now() - t0) / 1000;
      tStart = performance.now();
    }
  });
  const seconds = (performance.now() - tStart) / 1000;
  const p = packets() - pStart, e = sim.sched.eventsDispatched - eStart;
  return {
    packetsPerSecond: p / seconds, eventsPerSecond: e / seconds, simSecondsPerWallSecond: (sim.endUs - sStart) / 1e6 / seconds,
    bytesPerEntry: bytes / live, liveEntries: live, seconds, setupSeconds: setup, packets: p, events: e, peakRssBytes: peakRss(),
  };
}

function simCheck(sim: Simulation): Record<string, number> {
  const st = sim.ct.stats;
  return {
    count: sim.ct.count, peak: sim.ct.peakCount, allocated: st.allocated, early_drop: st.early_drop, drop: st.drop,
    invalid: st.invalid, reaped_lookup: st.reaped_lookup, reaped_gc: st.reaped_gc, events: sim.sched.eventsDispatched,
  };
}

/**
 * The flood through the whole simulation: a `prefill` syn-flood at entries/120 s per second
 * (constant spacing) for 120 s fills the table, then `flood` sends packets/2 SYNs at
 * 1 M SYN/s (constant); the timed window is the flood's.
 */
export function benchSynFloodSim(z: BenchSizes): WorkloadSample {
  const floodUs = Math.max(1, Math.round(z.packets / 2)); // at 1 SYN/µs
  const fill = Math.ceil(z.entries / SYN_SENT_S) + 1;
  const yaml = `
name: bench-syn-flood-sim
duration: ${SYN_SENT_S * 1e6 + floodUs}us
sample_interval: 1s
seed: ${z.seed}
kernel: { version: "6.12", hz: 250 }
sysctl: { nf_conntrack_max: ${z.entries}, nf_conntrack_buckets: ${z.buckets} }
traffic:
  - { kind: syn-flood, label: prefill, rate: ${fill}, arrival: constant, stop: ${SYN_SENT_S}s }
  - { kind: syn-flood, label: flood, rate: 1000000, arrival: constant, start: ${SYN_SENT_S}s }
`;
  const h0 = heapBytes();
  const t0 = performance.now();
  const sim = new Simulation(scenarioOf(yaml, 'bench-syn-flood-sim'), 0, REGISTRIES);
  const r = timedSimulation(sim, SYN_SENT_S * 1e6, h0, t0);
  return { workload: 'syn-flood-sim', ...r, check: simCheck(sim) };
}

/**
 * Mixed traffic holding about `entries` live entries (scaled from the 1 M design below), table
 * nf_conntrack_max = 1.25 × entries, buckets = 2^⌈log2 entries⌉:
 * - idle TCP NAT flows: 45 % of entries (ESTABLISHED, idle gaps mean 300 s);
 * - idle UDP NAT flows: 15 % (ASSURED streams, gaps mean 20 s);
 * - web clients: entries/500 connections/s, hold 5 s, FIN close (TIME_WAIT 120 s holds ~25 %);
 * - DNS: entries/200 queries/s (30 s UDP timeout holds ~15 %).
 * The flows ramp up over 60 s; the timed window is the last `mixedSeconds` of a run lasting
 * 140 s + mixedSeconds (TIME_WAIT populations are at steady state after 125 s).
 */
export function benchMixed(z: BenchSizes): WorkloadSample {
  const n = z.entries;
  const buckets = 2 ** Math.ceil(Math.log2(Math.max(1024, n)));
  const warm = 140;
  const yaml = `
name: bench-mixed
duration: ${warm + z.mixedSeconds}s
sample_interval: 1s
seed: ${z.seed}
kernel: { version: "6.12", hz: 250 }
sysctl: { nf_conntrack_max: ${Math.ceil(n * 1.25)}, nf_conntrack_buckets: ${buckets} }
traffic:
  - { kind: idle-nat-flows, label: db, flows: ${Math.max(1, Math.round(n * 0.45))}, ramp: 60s, clients: 10.0.0.0/8, port: 5432, idle: { dist: exponential, mean: 300 } }
  - { kind: idle-nat-flows, label: vpn, protocol: udp, flows: ${Math.max(1, Math.round(n * 0.15))}, ramp: 60s, clients: 172.16.0.0/12, port: 51820, idle: { dist: exponential, mean: 20 } }
  - { kind: tcp-clients, label: web, rate: ${Math.max(1, Math.round(n / 500))}, clients: 100.64.0.0/10, hold: { dist: exponential, mean: 5 } }
  - { kind: udp-request-response, label: dns, rate: ${Math.max(1, Math.round(n / 200))}, clients: 192.168.0.0/16 }
`;
  const h0 = heapBytes();
  const t0 = performance.now();
  const sim = new Simulation(scenarioOf(yaml, 'bench-mixed'), 0, REGISTRIES);
  const r = timedSimulation(sim, warm * 1e6, h0, t0);
  return { workload: 'mixed', ...r, check: simCheck(sim) };
}

/** The bare event queue: hold model with `pending` events. */
export function benchHold(z: BenchSizes): WorkloadSample {
  const h0 = heapBytes();
  const r = benchHoldModel(z.pending, z.holdOps);
  const bytes = heapBytes() - h0;
  return {
    workload: 'hold', packetsPerSecond: 0, eventsPerSecond: r.eventsPerSecond, simSecondsPerWallSecond: 0,
    bytesPerEntry: bytes / z.pending, liveEntries: z.pending, seconds: r.seconds, setupSeconds: 0, packets: 0,
    events: r.ops, peakRssBytes: peakRss(), check: { pending: r.pending, ops: r.ops },
  };
}

/** The bare hot path (bound.ts) on the flood's table size and traffic. */
export function benchBound(z: BenchSizes): WorkloadSample {
  const r = runBound(z.entries, z.buckets, z.packets, z.seed);
  return {
    workload: 'bound', packetsPerSecond: r.packets / r.seconds, eventsPerSecond: r.packets / r.seconds,
    simSecondsPerWallSecond: r.simSeconds / r.seconds, bytesPerEntry: r.bytesPerEntry, liveEntries: r.liveEntries,
    seconds: r.seconds, setupSeconds: r.setupSeconds, packets: r.packets, events: r.packets, peakRssBytes: peakRss(), check: r.check,
  };
}

export function runWorkload(name: WorkloadName, z: BenchSizes): WorkloadSample {
  switch (name) {
    case 'bound': return benchBound(z);
    case 'syn-flood': return benchSynFlood(z);
    case 'syn-flood-sim': return benchSynFloodSim(z);
    case 'mixed': return benchMixed(z);
    case 'nat': return benchNat(z);
    case 'hold': return benchHold(z);
  }
}

/** The typed-array bytes per live entry the model allocates (precise, from the layout). */
export function modelBytesPerEntry(entries: number, buckets: number): { perSlot: number; perBucket: number; perEntry: number; bySection: Record<string, number> } {
  const L = slotLayout();
  return { perSlot: L.perSlot, perBucket: L.perBucket, perEntry: L.perSlot + (L.perBucket * buckets) / entries, bySection: L.bySection };
}
