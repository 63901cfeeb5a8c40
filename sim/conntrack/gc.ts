import {
  GC_SCAN_INITIAL_COUNT, GC_SCAN_INTERVAL_CLAMP_S, GC_SCAN_INTERVAL_INIT_S, GC_SCAN_INTERVAL_MAX_S,
  GC_SCAN_INTERVAL_MIN_S, GC_SCAN_MAX_DURATION_MS, IPS_CONFIRMED, IPS_DYING, gcScanExpiredMax,
} from './constants.js';
import { jiffiesAt, jiffyStartMicros } from '../core/time.js';
import type { Conntrack } from './conntrack.js';
import { REASON_GC_95, REASON_POLICY } from './stats.js';

/**
 * The conntrack gc worker (§3.1–3.2, v6.1+ form): time-sliced scans of the whole table,
 * reaping expired entries, evicting in the 95% mode after an allocation failure, and
 * rescheduling itself after the average remaining timeout minus the cycle time.
 *
 * The kernel bounds one invocation by wall time (GC_SCAN_MAX_DURATION) and by
 * GC_SCAN_EXPIRED_MAX reaps. Wall time depends on the CPU, so the model takes the scan speed
 * as a parameter, `bucketsPerMs`, and lets simulated time pass at that speed while a slice
 * scans (the entries it meets are judged at that advancing time). The effects of a slice are
 * applied at once at its start event; packets arriving during the few ms a slice lasts are
 * processed at their own times, before or after it.
 * @see gc_worker (nf_conntrack_core.c)
 */
export class GcWorker {
  /** Bucket to resume from (0 = a new full cycle begins). */
  nextBucket = 0;
  /** Running mean of remaining timeouts (jiffies) and its weight. */
  avgTimeout = 0;
  count = 0;
  /** Jiffies at the start of the current full cycle. */
  startTime = 0;

  private readonly hz: number;
  private readonly usPerBucket: number;
  private readonly maxDuration: number;
  private readonly expiredMax: number;

  constructor(private readonly ct: Conntrack, bucketsPerMs: number) {
    this.hz = ct.hz;
    this.usPerBucket = 1000 / bucketsPerMs;
    // msecs_to_jiffies(10): rounds up to whole jiffies
    this.maxDuration = Math.ceil((GC_SCAN_MAX_DURATION_MS * this.hz) / 1000);
    this.expiredMax = gcScanExpiredMax(this.hz);
  }

  /** When the first invocation runs: HZ jiffies after init (§3.1). */
  firstRunUs(): number {
    return jiffyStartMicros(this.hz, this.hz);
  }

  /**
   * One invocation at time `nowUs`. Returns the µs time of the next invocation.
   */
  run(nowUs: number): number {
    const ct = this.ct;
    const tb = ct.table;
    const hz = this.hz;
    const st = ct.stats;
    st.gc_runs++;
    ct.setNow(nowUs);
    let i = this.nextBucket;
    const max95 = ct.gcEarlyDrop ? Math.floor(ct.max / 100) * 95 : 0;
    if (i === 0) {
      this.avgTimeout = GC_SCAN_INTERVAL_INIT_S * hz;
      this.count = GC_SCAN_INITIAL_COUNT;
      this.startTime = ct.now32;
    }
    let nextRun = this.avgTimeout;
    let count = this.count;
    const endTime = (ct.now32 + this.maxDuration) | 0;
    let expired = 0;
    let scanned = 0;
    const nb = tb.nbuckets;
    const lo = GC_SCAN_INTERVAL_MIN_S * hz;
    const hi = GC_SCAN_INTERVAL_CLAMP_S * hz;
    let endUs = nowUs;
    let delay: number;
    scan: {
      while (i < nb) {
        // the chain head first (storage position chainLength - 1, see table.ts); a deletion
        // moves the nodes above it down, so after one the walk finds its next node again
        let p = tb.chainLength(i) - 1;
        while (p >= 0) {
          const node = tb.at(i, p);
          const slot = node >> 1;
          let q = p - 1;
          if (q >= 0 && tb.at(i, q) >> 1 === slot) q--;
          const next = q >= 0 ? tb.at(i, q) : -1;
          if (expired > this.expiredMax) {
            this.nextBucket = i;
            this.avgTimeout = nextRun;
            this.count = count;
            const delta = (ct.now32 - this.startTime) | 0;
            delay = delta < GC_SCAN_INTERVAL_MAX_S * hz ? 1 : 0;
            break scan;
          }
          if (ct.isExpired(slot)) {
            ct.reapGc(slot, node, i);
            expired++;
            p = next < 0 ? -1 : tb.relocate(i, next, q);
            continue;
          }
          let r = ct.remaining(slot);
          r = r < lo ? lo : r > hi ? hi : r;
          count++;
          nextRun += Math.trunc((r - nextRun) / count);
          const visit = ct.hooks.gcVisit;
          if (visit !== undefined && visit(slot)) {
            st.evicted_policy++;
            ct.destroy(slot, REASON_POLICY, node, i);
            expired++;
            p = next < 0 ? -1 : tb.relocate(i, next, q);
            continue;
          }
          const s = tb.statusOf(slot);
          if (max95 !== 0 && (s & IPS_CONFIRMED) !== 0 && (s & IPS_DYING) === 0 && ct.count >= max95 && ct.gcCanEarlyDrop(slot)) {
            st.gc_early_drop++;
            ct.destroy(slot, REASON_GC_95, node, i);
            expired++;
            p = next < 0 ? -1 : tb.relocate(i, next, q);
            continue;
          }
          p = q;
        }
        i++;
        scanned++;
        endUs = nowUs + Math.ceil(scanned * this.usPerBucket);
        ct.setNow(endUs);
        if (((ct.now32 - endTime) | 0) > 0 && i < nb) {
          this.avgTimeout = nextRun;
          this.count = count;
          this.nextBucket = i;
          delay = 0;
          break scan;
        }
      }
      // full cycle done
      st.gc_cycles++;
      this.nextBucket = 0;
      nextRun = nextRun < lo ? lo : nextRun > GC_SCAN_INTERVAL_MAX_S * hz ? GC_SCAN_INTERVAL_MAX_S * hz : nextRun;
      let delta = (ct.now32 - this.startTime) | 0;
      if (delta < 1) delta = 1;
      delay = nextRun > delta ? nextRun - delta : 1;
    }
    if (delay !== 0) ct.gcEarlyDrop = false;
    const endJ = jiffiesAt(endUs, hz);
    const at = delay === 0 ? endUs : jiffyStartMicros(endJ + delay, hz);
    return at > nowUs ? at : nowUs + 1;
  }
}
