import test from 'ava';
import { IPCT_DESTROY } from './constants.js';
import { createConntrack } from './create.js';
import { GcWorker } from './gc.js';
import { Pkt } from './packet.js';
import { checkTable, ip, send, tcp, udp } from './testing.js';

const A = ip(10, 0, 0, 1);
const B = ip(10, 0, 0, 2);
const S = 1_000_000;

function filled(n: number, max: number, hz = 250, buckets = 1024) {
  const ct = createConntrack({ hz, seed: 3, sysctl: { nf_conntrack_max: max, nf_conntrack_buckets: buckets } });
  const p = new Pkt();
  for (let i = 0; i < n; i++) send(ct, 0, tcp(p, ip(10, 1, i >> 8, i & 255), 1000 + (i % 50000), B, 80, 'S'));
  return ct;
}

test('§3.1 the first gc run is HZ jiffies after init', (t) => {
  const gc = new GcWorker(filled(0, 1000), 8192);
  t.is(gc.firstRunUs(), S);
});

test('§3.2 gc 95% mode: threshold ⌊max/100⌋×95, kills eligible entries until the count drops below it', (t) => {
  const ct = filled(990, 1000);
  ct.gcEarlyDrop = true;
  const gc = new GcWorker(ct, 1e9);
  gc.run(S);
  t.is(Math.floor(1000 / 100) * 95, 950);
  t.is(ct.count, 949, 'kills while count ≥ 950');
  t.is(ct.stats.gc_early_drop, 41);
  t.is(ct.stats.early_drop, 0, 'gc evictions are not counted in early_drop (§2.3)');
  t.false(ct.gcEarlyDrop, 'a non-zero delay clears the flag');
  checkTable(ct);
});

test('§3.2 the 95% threshold uses integer division first (max 1099 → 950, not 1044)', (t) => {
  const ct = filled(1000, 1099);
  ct.gcEarlyDrop = true;
  new GcWorker(ct, 1e9).run(S);
  t.is(ct.count, 949);
});

test('§3.2 without the flag nothing live is evicted, whatever the occupancy', (t) => {
  const ct = filled(1000, 1000);
  new GcWorker(ct, 1e9).run(S);
  t.is(ct.count, 1000);
});

test('§3.2 one invocation reaps at most GC_SCAN_EXPIRED_MAX + 1 entries, then requeues after 1 jiffy', (t) => {
  const ct = filled(1000, 1000, 250);
  const gc = new GcWorker(ct, 1e9);
  const at = 121 * S;
  const next = gc.run(at);
  t.is(ct.stats.reaped_gc, 257, '64000/250 = 256; the check is "expired > 256"');
  t.is(next, at + 4000, 'one jiffy at HZ=250');
  t.not(gc.nextBucket, 0);
  const ct1000 = filled(1000, 1000, 1000);
  new GcWorker(ct1000, 1e9).run(at);
  t.is(ct1000.stats.reaped_gc, 65, 'HZ=1000: 64 + 1');
});

test('§3.2 an idle table is rescanned after GC_SCAN_INTERVAL_MAX (60 s) minus the cycle time', (t) => {
  const ct = filled(0, 1000);
  const gc = new GcWorker(ct, 8192);
  const next = gc.run(S);
  t.is(next, S + 60 * S - 4000, 'delay = 60 s − max(elapsed, 1 jiffy)');
});

test('§3.2 the interval follows the mean remaining timeout, with a 100-entry bias at 60 s', (t) => {
  // 900 UDP entries with 30 s left: mean = (100×60 + 900×30)/1000 = 33 s
  const ct = createConntrack({ hz: 250, seed: 3, sysctl: { nf_conntrack_max: 2000, nf_conntrack_buckets: 2048 } });
  const p = new Pkt();
  for (let i = 0; i < 900; i++) send(ct, 0, udp(p, ip(10, 2, i >> 8, i & 255), 4000, B, 53));
  const gc = new GcWorker(ct, 1e9);
  const next = gc.run(0);
  // running mean with integer steps, in jiffies; allow the truncation drift of the kernel formula
  const delayS = next / S;
  t.true(delayS > 32 && delayS < 34, `delay ${delayS} s`);
});

test('§3.2 a slice ends after GC_SCAN_MAX_DURATION of scanning and the next slice follows at once', (t) => {
  const ct = filled(0, 262144, 250, 262144);
  const gc = new GcWorker(ct, 1000); // 1000 buckets per ms
  const next = gc.run(S);
  // msecs_to_jiffies(10) = 3 jiffies at HZ=250; the slice stops once jiffies pass start+3
  t.true(gc.nextBucket > 0);
  t.is(next, S + Math.ceil(gc.nextBucket * 1), 'requeued with delay 0 at the end of the slice');
  t.true(gc.nextBucket >= 12000 && gc.nextBucket <= 16001, `scanned ${gc.nextBucket} buckets`);
});

test('§3.4 DESTROY happens at reap time, not at expiry: gc lag', (t) => {
  const ct = createConntrack({ hz: 250, seed: 3, eventListener: true, sysctl: { nf_conntrack_max: 100, nf_conntrack_buckets: 512 } });
  const destroyedAt: number[] = [];
  ct.observer = { event: (_s, m) => { if (m === 1 << IPCT_DESTROY) destroyedAt.push(ct.nowUs); } };
  const p = new Pkt();
  send(ct, 0, udp(p, A, 1, B, 53));
  const gc = new GcWorker(ct, 1e9);
  let at = gc.firstRunUs();
  while (at < 120 * S) at = gc.run(at);
  t.is(destroyedAt.length, 1);
  t.true(destroyedAt[0]! > 30 * S, 'reaped after the 30 s expiry');
  t.true(destroyedAt[0]! <= 62 * S, 'within one gc interval');
  t.is(ct.count, 0);
});
