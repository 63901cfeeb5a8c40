/**
 * Policy thresholds at exactly their value and one entry past it (issue 17), expectations from
 * each policy's documented rule (policies/README.md):
 * - threshold-timeout applies while the count is *above* ⌊max × above⌋;
 * - adaptive-timeout (pf): no scaling at count ≤ ⌊max × start⌋, expiry at once at count ≥
 *   ⌊max × end⌋, in between timeout × (end − count)/(end − start), truncated, expired when idle ≥ it.
 */
import test from 'ava';
import { createConntrack } from '../sim/conntrack/create.js';
import { GcWorker } from '../sim/conntrack/gc.js';
import { Pkt } from '../sim/conntrack/packet.js';
import { ip, send, tcp, udp } from '../sim/conntrack/testing.js';
import { RngStreams } from '../sim/core/rng.js';
import type { Conntrack } from '../sim/conntrack/conntrack.js';
import { POLICIES, installPolicies } from './index.js';

const SRV = ip(10, 9, 9, 9);
const S = 1_000_000;
const HZ = 250;
const p = new Pkt();

function setup(max: number, spec: { name: string; [k: string]: unknown }): Conntrack {
  const ct = createConntrack({ hz: HZ, seed: 4, sysctl: { nf_conntrack_max: max, nf_conntrack_buckets: 512 } });
  const { name, ...params } = spec;
  const issues: unknown[] = [];
  const v = POLICIES[name]!.schema.validate(params, ['policies', 0], issues as never);
  if (issues.length) throw new Error(JSON.stringify(issues));
  const streams = new RngStreams(1, 0);
  installPolicies([{ name, ...(v as object) }], POLICIES, {
    ct, rng: (n) => streams.get(n), now: () => ct.nowUs, schedule: () => undefined, endpointsAlive: () => true,
  });
  return ct;
}

function est(ct: Conntrack, at: number, h: number): number {
  const c = ip(10, 0, 0, h);
  send(ct, at, tcp(p, c, 1000 + h, SRV, 80, 'S', 100, 0));
  send(ct, at, tcp(p, SRV, 80, c, 1000 + h, 'SA', 500, 101));
  send(ct, at, tcp(p, c, 1000 + h, SRV, 80, 'A', 101, 501));
  return ct.lastSlot;
}

test('threshold-timeout: at exactly ⌊max × above⌋ entries the rule does not apply; one more and it does', (t) => {
  // max 10, above 0.5 → limit 5: the 5th connection is at the limit, the 6th above it
  const ct = setup(10, { name: 'threshold-timeout', above: 0.5, proto: 'tcp', dport: 80, timeouts: { established: 600 } });
  const slots = [1, 2, 3, 4, 5, 6].map((h) => est(ct, 0, h));
  t.is(ct.count, 6);
  t.is(ct.table.timeoutOf(slots[4]!), 432000 * HZ, 'count 5 = limit: not above, the state timeout (5 days) stays');
  t.is(ct.table.timeoutOf(slots[5]!), 600 * HZ, 'count 6 > limit: the named set');
});

test('adaptive-timeout: at count = end every entry expires at once; at end − 1 the scaled timeout applies exactly', (t) => {
  // max 10, start 0.6 → 6, end 1.0 → 10; 10 UDP entries of 30 s at time 0
  const ct = setup(10, { name: 'adaptive-timeout', start: 0.6, end: 1.0 });
  for (let h = 0; h < 10; h++) send(ct, 0, udp(p, ip(10, 3, 0, h), 5000, SRV, 53));
  const gc = new GcWorker(ct, 1e9);
  gc.run(1 * S);
  // count 10 ≥ end: the first entry the gc meets goes; then 9: 30 s × (10 − 9)/(10 − 6) = 7.5 s
  t.is(ct.count, 9);
  const scaled9 = Math.floor((30 * HZ * (10 - 9)) / (10 - 6)); // jiffies
  t.is(scaled9, 1875);
  gc.run(Math.round(((scaled9 - 1) / HZ) * S));
  t.is(ct.count, 9, 'idle one jiffy short of 7.5 s: kept');
  gc.run(Math.round((scaled9 / HZ) * S));
  t.is(ct.count, 8, 'idle exactly 7.5 s: expired; then 8 entries scale to 15 s');
});

test('keepalive: probes at exactly ⌊max × above⌋ entries, not one entry below (count < limit skips)', (t) => {
  // policies/keepalive.ts gcVisit: `if (probing.has(slot) || ct.count < limit) return false` with
  // limit = ⌊max × above⌋, i.e. it probes while count ≥ ⌊max × above⌋ (at the threshold too,
  // unlike threshold-timeout, which needs count > ⌊max × above⌋).
  // max 10, above 0.45 → ⌊4.5⌋ = 4; idle 2 s = 500 jiffies at HZ 250.
  const max = 10, above = 0.45, limit = 4, idleJ = 2 * HZ;
  const mk = (n: number): { ct: Conntrack; slots: number[]; probes: number[] } => {
    const ct = createConntrack({ hz: HZ, seed: 4, sysctl: { nf_conntrack_max: max, nf_conntrack_buckets: 512 } });
    const issues: unknown[] = [];
    const v = POLICIES['keepalive']!.schema.validate({ above, idle: '2s', rtt: '50ms' }, ['policies', 0], issues as never);
    if (issues.length) throw new Error(JSON.stringify(issues));
    const streams = new RngStreams(1, 0);
    const probes: number[] = [];
    installPolicies([{ name: 'keepalive', ...(v as object) }], POLICIES, {
      ct, rng: (s) => streams.get(s), now: () => ct.nowUs, schedule: (_i: number, at: number) => { probes.push(at); }, endpointsAlive: () => true,
    });
    const slots: number[] = [];
    for (let h = 1; h <= n; h++) slots.push(est(ct, 0, h));
    return { ct, slots, probes };
  };
  const at = mk(limit);
  t.is(at.ct.count, 4);
  at.ct.setNow(Math.round((idleJ / HZ) * S));
  t.is(at.ct.idle(at.slots[0]!), idleJ, 'idle exactly `idle`');
  t.false(at.ct.hooks.gcVisit!(at.slots[0]!), 'the hook never evicts by itself');
  t.deepEqual(at.probes, [2 * S + 50_000], 'count 4 = limit: probed, answer awaited for rtt');
  const below = mk(limit - 1);
  t.is(below.ct.count, 3);
  below.ct.setNow(Math.round((idleJ / HZ) * S));
  t.false(below.ct.hooks.gcVisit!(below.slots[0]!));
  t.deepEqual(below.probes, [], 'count 3 = limit − 1: not probed');
  // and at the limit, one jiffy short of `idle`: not probed either
  const short = mk(limit);
  short.ct.setNow(Math.round(((idleJ - 1) / HZ) * S));
  t.is(short.ct.idle(short.slots[0]!), idleJ - 1);
  short.ct.hooks.gcVisit!(short.slots[0]!);
  t.deepEqual(short.probes, []);
});
