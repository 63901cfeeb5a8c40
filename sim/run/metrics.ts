import type { Conntrack, ConntrackObserver } from '../conntrack/conntrack.js';
import { IPS_ASSURED } from '../conntrack/constants.js';
import { CLASS_NAMES, REASON_EARLY_DROP, REASON_NAMES, REASON_TCP_REOPEN, REASON_TCP_RST } from '../conntrack/stats.js';
import type { Generator } from '../traffic/generator.js';

/** Lifetime histogram bucket upper bounds, seconds (the last bucket is open). */
export const LIFETIME_BOUNDS_S = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 86400] as const;

/**
 * Collects what a run reports: evictions by reason and class, entry lifetimes by class, and
 * one sample row per interval. It observes conntrack (destroyed entries) and reads counters.
 */
export class Metrics implements ConntrackObserver {
  /** evictions[reason][class] */
  readonly evictions: number[][] = REASON_NAMES.map(() => CLASS_NAMES.map(() => 0));
  /** lifetimes[class][bucket] of destroyed confirmed entries. */
  readonly lifetimes: number[][] = CLASS_NAMES.map(() => new Array<number>(LIFETIME_BOUNDS_S.length + 1).fill(0));
  readonly rows: number[][] = [];
  /** Entries confirmed, per class (attack entries admitted = confirmed[attack]). */
  readonly confirmedByClass: number[] = CLASS_NAMES.map(() => 0);
  /** ASSURED entries removed for a reason other than their timeout, per class. */
  readonly assuredEvicted: number[] = CLASS_NAMES.map(() => 0);
  private prev: number[] = [];
  private prevFlows: number[] = [];

  /** LIFETIME_BOUNDS_S in jiffies: lifetime / hz > bound ⇔ lifetime (jiffies) > bound × hz, exactly. */
  private readonly boundsJ: Float64Array;

  constructor(private readonly ct: Conntrack, private readonly gens: readonly Generator[]) {
    this.boundsJ = Float64Array.from(LIFETIME_BOUNDS_S, (b) => b * ct.hz);
  }

  /** Lifetime histogram bucket of `lifeJ` jiffies: the first bound ≥ it (binary search), or the open last bucket. */
  lifetimeBucket(lifeJ: number): number {
    const bj = this.boundsJ;
    let lo = 0, hi = bj.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (lifeJ > bj[mid]!) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  confirmed(slot: number): void {
    this.confirmedByClass[this.ct.clsOf(slot)]!++;
  }

  destroyed(slot: number, reason: number): void {
    const cls = this.ct.clsOf(slot);
    this.evictions[reason]![cls]!++;
    if (reason >= REASON_EARLY_DROP && reason !== REASON_TCP_RST && reason !== REASON_TCP_REOPEN && (this.ct.table.statusOf(slot) & IPS_ASSURED) !== 0) {
      this.assuredEvicted[cls]!++;
    }
    this.lifetimes[cls]![this.lifetimeBucket((this.ct.now32 - this.ct.bornOf(slot)) | 0)]!++;
  }

  /** Column names of the sample rows (timeseries.csv). */
  static readonly COLUMNS = [
    'time_s', 'count', 'fill', 'new', 'drop', 'early_drop', 'gc_early_drop', 'timeouts', 'invalid',
    'legit_packets', 'legit_dropped', 'attack_packets', 'attack_dropped', 'kernel_bytes',
    // legitimate flow outcomes in the interval: started, succeeded, failed, and failed by reason
    'legit_started', 'legit_succeeded', 'legit_failed', 'legit_failed_never_admitted', 'legit_failed_dropped',
    'legit_failed_broken', 'legit_failed_reset', 'legit_failed_timeout',
    'nat_port_util',
  ] as const;

  /** Highest SNAT port utilisation over (NAT address, destination, protocol) keys now (docs/nat.md §6); 0 without NAT. */
  natUtil: (() => number) | undefined;

  /** Takes one sample at the current time. Rates are per interval (differences of counters). */
  sample(timeUs: number): void {
    const ct = this.ct;
    const st = ct.stats;
    let lp = 0, ld = 0, ap = 0, ad = 0;
    let ls = 0, lok = 0, lf = 0;
    const why = [0, 0, 0, 0, 0];
    for (const g of this.gens) {
      const o = g.outcomes;
      if (g.cls === 2) { ap += o.packets; ad += o.dropped; continue; }
      lp += o.packets; ld += o.dropped;
      ls += o.started; lok += o.succeeded; lf += o.failed;
      for (let i = 0; i < why.length; i++) why[i]! += o.failedBy[i]!;
    }
    const cum = [
      st.allocated, st.drop, st.early_drop, st.gc_early_drop,
      st.reaped_lookup + st.reaped_gc + st.reaped_early_drop, st.invalid, lp, ld, ap, ad,
    ];
    const flows = [ls, lok, lf, ...why];
    const d = cum.map((v, i) => v - (this.prev[i] ?? 0));
    const df = flows.map((v, i) => v - (this.prevFlows[i] ?? 0));
    this.prev = cum;
    this.prevFlows = flows;
    const bytes = ct.kernelBytes();
    this.rows.push([
      timeUs / 1e6, ct.count, ct.max > 0 ? Math.round((ct.count / ct.max) * 1e6) / 1e6 : 0,
      ...d, bytes, ...df, this.natUtil === undefined ? 0 : Math.round(this.natUtil() * 1e6) / 1e6,
    ]);
  }
}
