/**
 * `ctsim regress --explain`: where do the baseline's and the current run's trajectories first
 * differ?
 *
 * A baseline stores only its final fingerprint and the fingerprints after every `every` events
 * (checkpoints), not the events themselves, and the code that produced it is gone. So explain
 * can say, exactly (up to hash collisions, ~2^-64 per checkpoint):
 *
 * - how many events both runs share (`agreedUpTo`: the last checkpoint that agrees), and the
 *   time and description of the last few shared events (recorded from the current run);
 * - the window of events (`from`..`to`) that contains the first diverging event;
 * - the current run's first events of that window, each with its running fingerprint.
 *
 * It cannot tell which event inside the window differs, or what the baseline did there: that
 * would need the old code. The window is at most `every` events long (the baseline's checkpoint
 * interval, a power of two ≥ 4096, grown so a baseline keeps ≤ 256 checkpoints).
 */
import { formatIPv4 } from '../conntrack/addr.js';
import { protoName } from '../conntrack/listing.js';
import { REASON_NAMES } from '../conntrack/stats.js';
import type { Scenario } from '../scenario/scenario.js';
import { Simulation, type Registries } from '../run/simulation.js';
import type { Baseline } from './baseline.js';
import { type Fingerprint, TraceRecorder, type TraceEvent } from '../run/fingerprint.js';

export interface Divergence {
  /** Events 1..agreedUpTo are the same in both runs (0: they differ from the first checkpoint window on). */
  agreedUpTo: number;
  /** The first diverging event is one of from..to (1-based, inclusive). */
  from: number;
  to: number;
  every: number;
}

/** Compares the baseline's checkpoints with a current run's; a string when they cannot be compared. */
export function locateDivergence(b: Baseline, fp: Fingerprint): Divergence | string {
  const every = b.checkpoints.every;
  const stride = every / fp.every;
  if (!Number.isInteger(stride) || stride < 1) return `the baseline's checkpoint interval (${every} events) is not a multiple of this version's (${fp.every}); run ctsim regress --update`;
  const bn = b.checkpoints.fingerprints.length;
  const cn = Math.floor(fp.checkpointCount / stride);
  const m = Math.min(bn, cn);
  let k = 0;
  while (k < m && b.checkpoints.fingerprints[k] === fp.checkpointHex((k + 1) * stride)) k++;
  const agreedUpTo = k * every;
  const last = Math.max(b.events, fp.count);
  return { agreedUpTo, from: agreedUpTo + 1, to: Math.min((k + 1) * every, Math.max(last, agreedUpTo + 1)), every };
}

const FLAGS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];
const CTINFO = ['ESTABLISHED', 'RELATED', 'NEW', 'ESTABLISHED_REPLY', 'RELATED_REPLY'];

function addr(l3: number, a: number): string {
  return l3 === 4 ? formatIPv4(a) : `ipv6#${a}`;
}

/** `tcp 10.0.0.1:40000 > 192.0.2.1:443` (ICMP: id and type/code). */
export function formatTuple(l3proto: number, src: number, dst: number, ports: number): string {
  const l3 = l3proto >> 8;
  const proto = l3proto & 0xff;
  const name = protoName(proto) ?? `proto ${proto}`;
  const sp = ports >>> 16;
  const dp = ports & 0xffff;
  if (proto === 1 || proto === 58) return `${name} ${addr(l3, src)} > ${addr(l3, dst)} id ${sp} type ${dp >> 8} code ${dp & 0xff}`;
  if (proto === 6 || proto === 17 || proto === 136) return `${name} ${addr(l3, src)}:${sp} > ${addr(l3, dst)}:${dp}`;
  return `${name} ${addr(l3, src)} > ${addr(l3, dst)}`;
}

/** One event, readably: `#40961 t=23.456790 s  packet web [SYN] accept NEW  entry tcp … > …`. */
export function formatEvent(e: TraceEvent, generatorLabels: readonly string[]): string {
  const t = `t=${(e.timeUs / 1e6).toFixed(6)} s`;
  const tuple = formatTuple(e.l3proto, e.src, e.dst, e.ports);
  if (e.kind === 'destroy') return `#${e.index} ${t}  destroy (${REASON_NAMES[e.reason] ?? e.reason})  entry ${tuple}`;
  const gen = e.owner > 0 ? (generatorLabels[e.owner - 1] ?? `generator ${e.owner - 1}`) : 'capture';
  const flags = e.tcpFlags !== 0 ? ` [${FLAGS.filter((_, i) => (e.tcpFlags & (1 << i)) !== 0).join(',')}]` : '';
  const verdict = e.verdict === 0 ? 'DROP' : 'accept';
  const ct = e.ctinfo >= 0 ? ` ${CTINFO[e.ctinfo] ?? e.ctinfo}` : ' (no entry)';
  return `#${e.index} ${t}  packet from ${gen}${flags}: ${verdict}${ct}  ${e.entry ? 'entry' : 'packet'} ${tuple}`;
}

export interface Explanation {
  divergence: Divergence;
  /** Time (s) of the last shared event, null when none is shared. */
  agreedTimeS: number | null;
  /** The last shared events (at most 3), formatted. */
  context: string[];
  /** The current run's first events of the window, formatted. */
  current: string[];
  /** Human-readable lines (what the report prints). */
  lines: string[];
}

/** Events of the window shown per case. */
export const EXPLAIN_EVENTS = 12;

/**
 * Re-runs the current code on the case's scenario, recording the events around the first
 * diverging checkpoint window, and describes them.
 */
export function explain(sc: Scenario, run: number, reg: Registries, b: Baseline, fp: Fingerprint): Explanation | string {
  const d = locateDivergence(b, fp);
  if (typeof d === 'string') return d;
  const sim = new Simulation(sc, run, reg);
  const rec = new TraceRecorder(Math.max(1, d.agreedUpTo - 2), d.to, 3 + EXPLAIN_EVENTS);
  sim.recordEvents(rec);
  sim.runToEnd();
  const labels = sim.gens.map((g) => g.label);
  const shared = rec.events.filter((e) => e.index <= d.agreedUpTo);
  const window = rec.events.filter((e) => e.index > d.agreedUpTo);
  const context = shared.map((e) => formatEvent(e, labels));
  const current = window.map((e) => formatEvent(e, labels));
  const lastShared = shared[shared.length - 1];
  const agreedTimeS = lastShared ? lastShared.timeUs / 1e6 : null;
  const lines: string[] = [];
  if (d.agreedUpTo === 0) {
    lines.push(`the trajectories differ within the first ${d.every} events (events 1..${d.to}); no checkpoint agrees.`);
  } else {
    lines.push(`the trajectories agree on events 1..${d.agreedUpTo} (up to t=${agreedTimeS?.toFixed(6)} s; checkpoint ${d.agreedUpTo / d.every} of ${b.checkpoints.fingerprints.length}, one every ${d.every} events);`);
    lines.push(`the first diverging event is one of events ${d.from}..${d.to}. Last shared events:`);
    for (const c of context) lines.push(`  = ${c}`);
  }
  if (current.length === 0) {
    lines.push(`the current run has no events there (it has ${fp.count} events, the baseline ${b.events}): the current trajectory stops before the baseline's.`);
  } else {
    lines.push(`current run, first events of that window (the baseline stores no events, only checkpoints, so which of these differs cannot be told):`);
    for (const c of current) lines.push(`  > ${c}`);
    const more = Math.min(d.to, fp.count) - d.from + 1 - window.length;
    if (more > 0) lines.push(`  … ${more} more events in the window`);
  }
  return { divergence: d, agreedTimeS, context, current, lines };
}
