import test from 'ava';
import { IP_CT_NONE } from '../conntrack/conntrack.js';
import { TH_SYN } from '../conntrack/constants.js';
import type { Pkt } from '../conntrack/packet.js';
import { LATENCY_BOUNDS_MS, LatencyRecorder, latencyBucket, latencySummary, nearestRank } from '../core/latency.js';
import { Harness } from './harness.js';

/** A harness whose firewall drops the first `n` SYNs of the first connection (a full table, by hand). */
class DropFirstSyns extends Harness {
  private sport = -1;
  constructor(private n: number) { super({ memory: 1 << 30, endUs: 60e6 }); }
  override send(pkt: Pkt): number {
    if (pkt.tcpFlags === TH_SYN) {
      if (this.sport < 0) this.sport = pkt.sport;
      if (pkt.sport === this.sport && this.n > 0) { this.n--; this.ct.lastCtinfo = IP_CT_NONE; return 0; }
    }
    return super.send(pkt);
  }
}

const fixed = { rate: { shape: 'constant', rate: 2 }, stop: '1s', client_rtt: '40ms', server_rtt: '10ms', requests: 1, hold: 0 };

test('setup and completion times against a hand-computed case: SYN retries at 1 s and 3 s show', (t) => {
  // two connections; the first loses its first two SYNs: they go at t0, t0+1 s, t0+3 s (rto 1 s, doubling).
  // setup (client's view) = last SYN → SYN-ACK at the firewall (10 ms) + the client round trip (40 ms)
  //   + the retry wait: 3050 ms for the first, 50 ms for the second.
  // completion = first SYN → last response at the client = 2 server + 2 client round trips (100 ms) + wait.
  const h = new DropFirstSyns(2);
  const g = h.add('tcp-clients', fixed);
  h.run(20e6);
  t.like(g.outcomes, { started: 2, succeeded: 2, failed: 0 });
  const setup = latencySummary(g.outcomes.setup!);
  t.like(setup, { n: 2, p50_ms: 50, p90_ms: 3050, p99_ms: 3050, max_ms: 3050, mean_ms: 1550 });
  const done = latencySummary(g.outcomes.completion!);
  t.like(done, { n: 2, p50_ms: 100, max_ms: 3100 });
  // histogram: 50 ms ≤ 63.1 ms bucket; 3050 ms ≤ 3980 ms bucket
  t.is(setup.histogram.counts[LATENCY_BOUNDS_MS.indexOf(63.1)], 1);
  t.is(setup.histogram.counts[LATENCY_BOUNDS_MS.indexOf(3980)], 1);
});

test('three dropped SYNs: the retry at 7 s', (t) => {
  const h = new DropFirstSyns(3);
  const g = h.add('tcp-clients', fixed);
  h.run(20e6);
  t.is(latencySummary(g.outcomes.setup!).max_ms, 7050);
});

test('DNS resolution time: server round trip + answer delay + client round trip, a timeout and retry included', (t) => {
  const h = new Harness({ memory: 1 << 30, endUs: 60e6 });
  const g = h.add('udp-request-response', { rate: { shape: 'constant', rate: 4 }, stop: '1s', client_rtt: '20ms', server_rtt: '5ms', answer_delay: 3, loss: 0 });
  h.run(20e6);
  t.like(latencySummary(g.outcomes.resolve!), { n: 4, p50_ms: 28, max_ms: 28 });
  const h2 = new Harness({ memory: 1 << 30, endUs: 60e6 });
  const g2 = h2.add('udp-request-response', { rate: { shape: 'constant', rate: 4 }, stop: '1s', client_rtt: '20ms', server_rtt: '5ms', answer_delay: 3, loss: 0.5, timeout: '5s', retries: 3 });
  h2.run(40e6);
  const r = latencySummary(g2.outcomes.resolve!);
  // each answered lookup took 28 ms plus a whole number of 5 s timeouts
  const xs = Array.from(g2.outcomes.resolve!.sorted());
  t.true(xs.length > 0);
  for (const x of xs) t.is((x - 28_000) % 5_000_000, 0);
  t.is(r.n + g2.outcomes.failed, 4);
});

test('nearest-rank percentiles and log buckets', (t) => {
  const s = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  t.is(nearestRank(s, 50), 5);
  t.is(nearestRank(s, 90), 9);
  t.is(nearestRank(s, 99), 10);
  t.is(nearestRank(s, 100), 10);
  t.is(nearestRank(new Float64Array(0), 50), null);
  t.is(LATENCY_BOUNDS_MS[0], 0.1);
  t.is(LATENCY_BOUNDS_MS[5], 1);
  t.is(LATENCY_BOUNDS_MS[35], 1_000_000);
  // a value equal to a bound belongs to it; just above goes to the next
  t.is(latencyBucket(1000), 5);
  t.is(latencyBucket(1001), 6);
  t.is(latencyBucket(0), 0);
  t.is(latencyBucket(1e12), 36);
  const r = new LatencyRecorder();
  for (let i = 0; i < 1000; i++) r.record(i * 1000);
  t.is(r.n, 1000);
  t.is(Array.from(r.hist).reduce((a, b) => a + b, 0), 1000);
});
