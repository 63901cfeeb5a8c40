/**
 * Boundary tests of the gc worker (issue 17), against the rules of docs/model.md §3.2 computed
 * here: the early_drop flag survives a requeue with zero delay and is cleared by a non-zero one;
 * the sleep between cycles is clamped at both ends (per entry to ≥ GC_SCAN_INTERVAL_MIN, the
 * result to ≤ GC_SCAN_INTERVAL_MAX).
 */
import test from 'ava';
import { createConntrack } from './create.js';
import { GcWorker } from './gc.js';
import { Pkt } from './packet.js';
import { ip, send, tcp, udp } from './testing.js';

const B = ip(10, 0, 0, 2);
const S = 1_000_000;
const HZ = 250;
const JIFFY = S / HZ;

/** §3.2 steps 3–5 as written: the running mean over `visits` nodes that all have `remainingJ` left. */
function expectedDelayJiffies(visits: number, remainingJ: number, clampEntries = true): number {
  const r = clampEntries ? Math.min(Math.max(remainingJ, 1 * HZ), 300 * HZ) : remainingJ; // GC_SCAN_INTERVAL_MIN / _CLAMP
  let next = 60 * HZ; // GC_SCAN_INTERVAL_INIT
  let count = 100; // GC_SCAN_INITIAL_COUNT
  for (let i = 0; i < visits; i++) { count++; next += Math.trunc((r - next) / count); }
  const delay = Math.min(Math.max(next, 1 * HZ), 60 * HZ); // clamp to [MIN, MAX]
  const elapsed = 1; // the whole cycle runs at one instant here: max(now − start, 1 jiffy)
  return delay > elapsed ? delay - elapsed : 1;
}

test('§3.2 the sleep is clamped to GC_SCAN_INTERVAL_MAX: entries with 120 s left still give 60 s', (t) => {
  const ct = createConntrack({ hz: HZ, seed: 3, sysctl: { nf_conntrack_max: 4000, nf_conntrack_buckets: 4096 } });
  const p = new Pkt();
  for (let i = 0; i < 2000; i++) send(ct, 0, tcp(p, ip(10, 1, i >> 8, i & 255), 1000 + i, B, 80, 'S')); // SYN_SENT: 120 s
  const next = new GcWorker(ct, 1e9).run(0);
  const want = expectedDelayJiffies(4000, 120 * HZ);
  t.is(want, 60 * HZ - 1, 'the mean (≈117 s) is above the clamp');
  t.is(next, want * JIFFY);
});

test('§3.2 per-entry remaining time is clamped up to GC_SCAN_INTERVAL_MIN (1 s) before averaging', (t) => {
  const ct = createConntrack({ hz: HZ, seed: 3, sysctl: { nf_conntrack_max: 12000, nf_conntrack_buckets: 16384, nf_conntrack_udp_timeout: 2 } });
  const p = new Pkt();
  for (let i = 0; i < 5000; i++) send(ct, 0, udp(p, ip(10, 2, i >> 8, i & 255), 4000, B, 53)); // 2 s each
  const at = 1.5 * S; // 0.5 s = 125 jiffies left: counted as 250
  const next = new GcWorker(ct, 1e9).run(at);
  const want = expectedDelayJiffies(10000, 125);
  t.not(expectedDelayJiffies(10000, 125, false), want, 'without the per-entry clamp the delay would differ');
  // the integer steps of the running mean stall once |r − mean| < count: the kernel formula, kept
  t.is(next - at, want * JIFFY);
});

test('§3.2 step 6: a slice that ends on the time budget (delay 0) keeps the early_drop flag; the cycle end (delay > 0) clears it', (t) => {
  const ct = createConntrack({ hz: HZ, seed: 3, sysctl: { nf_conntrack_max: 1000, nf_conntrack_buckets: 262144 } });
  const p = new Pkt();
  for (let i = 0; i < 1000; i++) send(ct, 0, tcp(p, ip(10, 1, i >> 8, i & 255), 1000 + i, B, 80, 'S'));
  ct.gcEarlyDrop = true;
  const gc = new GcWorker(ct, 1000); // 1000 buckets per ms: one slice covers a few percent of the table
  let now = S;
  let next = gc.run(now);
  t.not(gc.nextBucket, 0, 'the slice ended on its time budget');
  t.true(ct.gcEarlyDrop, 'zero delay: the flag survives into the next slice');
  let slices = 1;
  while (gc.nextBucket !== 0 && slices < 1000) { now = next; next = gc.run(now); slices++; }
  t.is(gc.nextBucket, 0, 'the cycle completed');
  t.false(ct.gcEarlyDrop, 'the cycle end requeues with a non-zero delay, which clears the flag');
  t.true(next - now > 0);
});

test('§3.2 step 4.1: the 1-jiffy requeue after GC_SCAN_EXPIRED_MAX clears the flag', (t) => {
  const ct = createConntrack({ hz: HZ, seed: 3, sysctl: { nf_conntrack_max: 1000, nf_conntrack_buckets: 1024 } });
  const p = new Pkt();
  for (let i = 0; i < 1000; i++) send(ct, 0, tcp(p, ip(10, 1, i >> 8, i & 255), 1000 + i, B, 80, 'S'));
  ct.gcEarlyDrop = true;
  const at = 121 * S; // every SYN_SENT entry (120 s) has expired
  const next = new GcWorker(ct, 1e9).run(at);
  t.is(next, at + JIFFY);
  t.false(ct.gcEarlyDrop);
});
