import { Command } from 'commander';
import { DEFAULT_SIZES, formatBench, runBench } from '../bench/bench.js';
import { WORKLOADS, type BenchSizes, type WorkloadName } from '../bench/workloads.js';
import { toJson } from '../io/format.js';
import { InputError } from '../io/errors.js';

function posInt(flag: string, v: string | undefined, def: number, min = 1): number {
  if (v === undefined) return def;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < min) throw new InputError(`${flag}: expected an integer ≥ ${min}, got "${v}"`);
  return n;
}

interface BenchFlags {
  json?: boolean;
  quiet?: boolean;
  seed?: string;
  workloads?: string;
  reps?: string;
  entries?: string;
  buckets?: string;
  packets?: string;
  mixedSeconds?: string;
  pending?: string;
  ops?: string;
  inProcess?: boolean;
  cpuProf?: string;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('benchmark the standard workloads: packets/s, simulated s per wall s, bytes per live entry, peak RSS')
    .option('--workloads <list>', `comma-separated, from ${WORKLOADS.join(', ')} (bound always runs)`, 'bound,syn-flood,syn-flood-sim,mixed,nat,hold')
    .option('--reps <n>', 'repetitions per workload (median and min–max reported)', '5')
    .option('--entries <n>', 'live entries (nf_conntrack_max of the floods)', String(DEFAULT_SIZES.entries))
    .option('--buckets <n>', 'hash buckets of the floods', String(DEFAULT_SIZES.buckets))
    .option('--packets <n>', 'timed SYNs of syn-flood (syn-flood-sim times half as many, nat a tenth)', String(DEFAULT_SIZES.packets))
    .option('--mixed-seconds <n>', 'simulated seconds timed at steady state in mixed', String(DEFAULT_SIZES.mixedSeconds))
    .option('--pending <n>', 'pending events of the hold model', String(DEFAULT_SIZES.pending))
    .option('--ops <n>', 'timed hold operations', String(DEFAULT_SIZES.holdOps))
    .option('--in-process', 'run repetitions in this process (no per-workload peak RSS; for tests)')
    .option('--cpu-prof <dir>', 'write a V8 CPU profile of every repetition to this directory (node --cpu-prof)')
    .addHelpText('after', `
Workloads:
  bound           the bare hot path of the flood (hash, chain walk with reaping, early_drop, insert,
                  gc; no TCP tracker) in the plain chained layout, on the same table and traffic:
                  the yardstick. It runs in every round, and every workload's rate is reported as
                  a ratio to bound's in the same round (median and range over the rounds)
  syn-flood       Conntrack.packetIn + the gc worker (the full conntrack model) under a spoofed SYN
                  flood against a full table (default 1,000,000 entries, 1,048,576 buckets)
  syn-flood-sim   the same flood through the whole simulation (generator, event queue, metrics)
  mixed           web, DNS and idle TCP/UDP NAT flows holding ~1,000,000 live entries
  nat             the conntrack core with an SNAT rule to a 256-address pool: a flood of new
                  inside flows (every entry SNATed) against a full table; its bytesPerEntry is
                  the NAT table's cost per entry (the flood's is syn-flood's)
  hold            the bare event queue, hold model with 100,000 pending events

Each repetition runs in its own process (node --expose-gc), interleaved round-robin.
The JSON has, per workload, packetsPerSecond, eventsPerSecond, simSecondsPerWallSecond,
bytesPerEntry and peakRssBytes (medians), ratioToBound {median, min, max}, with the spread and
the model counters. Judge a change by ratioToBound on a shared machine: absolute rates drift.

Examples:
  $ ctsim bench --json
  $ ctsim bench --workloads syn-flood --reps 9
  $ ctsim bench --workloads bound,syn-flood --reps 5
  $ ctsim bench --entries 4000000 --buckets 4194304 --workloads syn-flood
  $ ctsim bench --workloads nat --reps 1 --entries 200000 --buckets 262144 --packets 500000
  $ ctsim bench --workloads syn-flood --reps 1 --cpu-prof prof/`)
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<BenchFlags>();
      const workloads = (o.workloads ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
      for (const w of workloads) if (!(WORKLOADS as readonly string[]).includes(w)) throw new InputError(`--workloads: unknown workload "${w}"; known: ${WORKLOADS.join(', ')}`);
      if (workloads.length === 0) throw new InputError('--workloads: expected at least one workload');
      const sizes: BenchSizes = {
        entries: posInt('--entries', o.entries, DEFAULT_SIZES.entries, 16),
        buckets: posInt('--buckets', o.buckets, DEFAULT_SIZES.buckets),
        packets: posInt('--packets', o.packets, DEFAULT_SIZES.packets),
        mixedSeconds: posInt('--mixed-seconds', o.mixedSeconds, DEFAULT_SIZES.mixedSeconds),
        pending: posInt('--pending', o.pending, DEFAULT_SIZES.pending),
        holdOps: posInt('--ops', o.ops, DEFAULT_SIZES.holdOps),
        seed: posInt('--seed', o.seed, DEFAULT_SIZES.seed, 0),
      };
      const reps = posInt('--reps', o.reps, 5);
      const verbose = !o.json && !o.quiet && process.stderr.isTTY === true;
      const r = await runBench({
        workloads: workloads as WorkloadName[], sizes, repetitions: reps, inProcess: o.inProcess === true,
        nodeFlags: o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProf}`] : [],
        onSample: (s, rep) => {
          if (verbose) process.stderr.write(`bench ${s.workload} rep ${rep + 1}/${reps}: ${Math.round(s.workload === 'hold' ? s.eventsPerSecond : s.packetsPerSecond).toLocaleString('en-US')}/s\n`);
        },
      });
      if (o.json) process.stdout.write(toJson(r));
      else if (!o.quiet) process.stdout.write(formatBench(r));
    });
}
