import { CLASS_ATTACK, CLASS_LEGIT, CONNTRACK_S_KEYS, CLASS_NAMES, REASON_NAMES, REASON_NAT_EVICT, type CtStats } from '../conntrack/stats.js';
import { FAIL_REASONS, FlowOutcomes } from '../traffic/generator.js';
import { latencySummary } from '../core/latency.js';
import { LIFETIME_BOUNDS_S } from './metrics.js';
import type { Simulation } from './simulation.js';
import { natSummary } from '../nat/report.js';
import { statefulSummary } from '../rules/stateful.js';
import type { Ruleset } from '../rules/types.js';

const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;
const secs = (us: number): number | null => (us < 0 ? null : r6(us / 1e6));

/** What the headline success rate divides by (README: "Outcomes"). */
export const SUCCESS_RATE_DENOMINATOR = 'succeeded + failed + unfinished.admitting';

/**
 * Outcome figures of a set of flows (one generator, or one class): every started flow is in
 * exactly one of succeeded, failed (by reason) and unfinished (by phase).
 */
export function outcomeSummary(o: FlowOutcomes) {
  const ended = o.succeeded + o.failed;
  const unfinished = o.unfinishedAdmitting + o.unfinishedInProgress;
  const denom = ended + o.unfinishedAdmitting;
  return {
    started: o.started,
    succeeded: o.succeeded,
    failed: o.failed,
    failed_by: Object.fromEntries(FAIL_REASONS.map((r, i) => [r, o.failedBy[i]!])) as Record<(typeof FAIL_REASONS)[number], number>,
    unfinished: { total: unfinished, admitting: o.unfinishedAdmitting, in_progress: o.unfinishedInProgress },
    /**
     * Succeeded / (succeeded + failed + unfinished.admitting): flows still being admitted at the
     * end (e.g. retrying their SYN) count as not (yet) successful; flows admitted and running
     * normally at the end are left out.
     */
    success_rate: denom > 0 ? r6(o.succeeded / denom) : null,
    /** Succeeded / (succeeded + failed): the flows that ended only. */
    success_rate_ended: ended > 0 ? r6(o.succeeded / ended) : null,
    /** Failed flows whose reason is broken (= failed_by.broken). */
    broken: o.broken,
    /** Packets of admitted flows that found their entry gone (a flow may recover, e.g. a DNS retry). */
    entry_lost: o.entryLost,
    packets: o.packets,
    dropped: o.dropped,
    first_drop_s: secs(o.firstDropUs),
    ...(o.setup ? { setup_time: latencySummary(o.setup) } : {}),
    ...(o.resolve ? { resolution_time: latencySummary(o.resolve) } : {}),
    ...(o.completion ? { completion_time: latencySummary(o.completion) } : {}),
  };
}

function addOutcomes(into: FlowOutcomes, o: FlowOutcomes): void {
  into.started += o.started; into.succeeded += o.succeeded; into.failed += o.failed;
  for (let i = 0; i < FAIL_REASONS.length; i++) into.failedBy[i]! += o.failedBy[i]!;
  into.unfinishedAdmitting += o.unfinishedAdmitting; into.unfinishedInProgress += o.unfinishedInProgress;
  into.packets += o.packets; into.dropped += o.dropped; into.entryLost += o.entryLost;
  if (o.firstDropUs >= 0 && (into.firstDropUs < 0 || o.firstDropUs < into.firstDropUs)) into.firstDropUs = o.firstDropUs;
}

/** `conntrack -S` counters by kernel name. */
export function conntrackS(st: CtStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of CONNTRACK_S_KEYS) out[k] = st[k];
  return out;
}

/** The simulator's own breakdown counters (everything in CtStats not in `conntrack -S`). */
export function modelCounters(st: CtStats): Record<string, number> {
  const out: Record<string, number> = {};
  const skip = new Set<string>(CONNTRACK_S_KEYS);
  for (const [k, v] of Object.entries(st)) if (!skip.has(k) && typeof v === 'number') out[k] = v;
  return out;
}

/** Lookups answered only after a re-send, summed over DNS-like generators (the A/AAAA race's symptom). */
function natGeneratorCounters(sim: Simulation): Record<string, number> {
  let retried = 0;
  for (const g of sim.gens) retried += (g as { retriedOk?: number }).retriedOk ?? 0;
  return { lookups_answered_after_resend: retried };
}

function stateful(ct: Simulation['ct']) {
  const s = statefulSummary(ct);
  return s === undefined ? {} : { rules_state: s };
}

/**
 * The `rules` block of summary.json: per rule (file order) where it is, its text, the packets
 * and bytes it matched, and the packets it dropped or rejected by traffic class (`drops` of the
 * ruleset, `id * 3 + class`; zeros for rulesets that cannot drop).
 */
export function rulesSummary(rs: Ruleset) {
  const drops = (rs as Ruleset & { drops?: Float64Array }).drops;
  const dropped = (id: number, cls: number): number => drops?.[id * 3 + cls] ?? 0;
  return rs.rules.map((r) => ({
    id: r.id,
    family: r.family ?? 'ip',
    table: r.table,
    chain: r.chain,
    hook: r.hook,
    line: r.line,
    text: r.text,
    packets: rs.packets[r.id]!,
    bytes: rs.bytes[r.id]!,
    drops: { legit: dropped(r.id, CLASS_LEGIT), attack: dropped(r.id, CLASS_ATTACK) },
  }));
}

/** The summary.json of one run: plain data, stable key order. */
export function runSummary(sim: Simulation) {
  const ct = sim.ct;
  const m = sim.metrics;
  const byClass: Record<string, FlowOutcomes> = {};
  for (const g of sim.gens) {
    const name = CLASS_NAMES[g.cls]!;
    byClass[name] ??= new FlowOutcomes();
    addOutcomes(byClass[name]!, g.outcomes);
  }
  const evictions: Record<string, Record<string, number>> = {};
  m.evictions.forEach((perClass, reason) => {
    const name = REASON_NAMES[reason]!;
    // reasons only NAT produces appear when they happened (keeps NAT-free summaries unchanged)
    if (reason === REASON_NAT_EVICT && perClass.every((n) => n === 0)) return;
    evictions[name] ??= { total: 0, none: 0, legit: 0, attack: 0 };
    perClass.forEach((n, c) => { evictions[name]![CLASS_NAMES[c]!]! += n; evictions[name]!.total! += n; });
  });
  const lifetimes: Record<string, number[]> = {};
  m.lifetimes.forEach((h, c) => { lifetimes[CLASS_NAMES[c]!] = h; });
  return {
    scenario: sim.scenario.name,
    seed: sim.scenario.seed,
    run: sim.run,
    duration_s: sim.endUs / 1e6,
    kernel: { version: sim.scenario.kernel.version, hz: ct.hz },
    table: {
      nf_conntrack_max: ct.max,
      nf_conntrack_buckets: ct.table.nbuckets,
      final_count: ct.count,
      peak_count: ct.peakCount,
      peak_fill: ct.max > 0 ? r6(ct.peakCount / ct.max) : null,
      /** First allocation that found the table full (early_drop or drop). */
      first_full_s: secs(ct.firstFullUs),
      /** First packet dropped because nothing could be evicted. */
      first_table_full_s: secs(ct.firstDropUs),
      bytes_per_entry: ct.entryBytes,
      kernel_bytes_final: ct.kernelBytes(),
      /** Highest kernel_bytes: bucket array + entries, each with every extension it carries (timeout, nat, …). */
      kernel_bytes_peak: ct.peakKernelBytes,
    },
    conntrack_S: conntrackS(ct.stats),
    model: modelCounters(ct.stats),
    evictions,
    entries_admitted: Object.fromEntries(CLASS_NAMES.map((c, i) => [c, m.confirmedByClass[i]!])),
    assured_evicted: Object.fromEntries(CLASS_NAMES.map((c, i) => [c, m.assuredEvicted[i]!])),
    /** What the outcome rates divide by (see docs/outcomes.md). */
    rates: { success_rate: `succeeded / (${SUCCESS_RATE_DENOMINATOR})`, success_rate_ended: 'succeeded / (succeeded + failed)' },
    classes: Object.fromEntries(Object.entries(byClass).map(([k, v]) => [k, outcomeSummary(v)])),
    generators: sim.gens.map((g) => ({ index: g.index, kind: g.kind, label: g.label, class: CLASS_NAMES[g.cls], ...outcomeSummary(g.outcomes) })),
    policies: sim.policies.map((p) => ({ name: p.name, ...(p.counters?.() ?? {}) })),
    // present only when the scenario has actions: what each did (docs/model.md §14)
    ...(sim.scenario.actions !== undefined ? { actions: sim.actionLog } : {}),
    // present only when the scenario has a ruleset or models more than one CPU (docs/nat.md §6)
    // /proc/net/stat/synproxy columns, when the ruleset has a synproxy statement (docs/synproxy.md §8)
    ...(sim.synproxy !== undefined ? { synproxy: { ...sim.synproxy.stats } } : {}),
    ...(sim.nat !== undefined ? { nat: natSummary(sim.nat, ct.stats, sim.ruleInfos, natGeneratorCounters(sim)) } : {}),
    // present only when the ruleset has stateful statements (docs/rules.md §20.4): what their
    // lists, sets and buckets hold at the end and their kernel memory, besides table.kernel_bytes_*
    ...stateful(ct),
    // present only with kernel.untracked_when_full: true (the paper's proposal, docs/rules.md §9)
    ...(sim.scenario.kernel.untracked_when_full === true ? { untracked_when_full: untrackedWhenFullSummary(sim) } : {}),
    // present only when the scenario (or the compared variant) has a ruleset: per-rule counters
    ...(sim.ruleset !== undefined ? { rules: rulesSummary(sim.ruleset) } : {}),
    lifetimes: { bounds_s: [...LIFETIME_BOUNDS_S], ...lifetimes },
    events_dispatched: sim.sched.eventsDispatched,
    /** Trajectory fingerprint: a hash over every packet verdict and entry removal, in order (sim/run/fingerprint.ts). */
    fingerprint: sim.fingerprint,
  };
}

export type RunSummary = ReturnType<typeof runSummary>;

/**
 * The untracked_when_full block: packets passed untracked at a full table, packets still dropped
 * because a NAT rule needed an entry, and the flows that had a packet passed this way (how many,
 * and how many of them then failed or succeeded), by traffic class.
 */
function untrackedWhenFullSummary(sim: Simulation) {
  const st = sim.ct.stats;
  const flows: Record<string, { flows: number; failed: number; succeeded: number }> = {};
  for (const g of sim.gens) {
    const c = CLASS_NAMES[g.cls]!;
    const f = flows[c] ??= { flows: 0, failed: 0, succeeded: 0 };
    f.flows += g.outcomes.untrackedFullFlows;
    f.failed += g.outcomes.untrackedFullFailed;
    f.succeeded += g.outcomes.untrackedFullSucceeded;
  }
  return { packets_passed: st.untracked_full, nat_drops: st.untracked_full_nat_drop, flows };
}
