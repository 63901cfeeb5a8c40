import test from 'ava';
import { createConntrack } from '../sim/conntrack/create.js';
import { Pkt } from '../sim/conntrack/packet.js';
import { IPS_ASSURED } from '../sim/conntrack/constants.js';
import { TCP_CONNTRACK_ESTABLISHED, TCP_CONNTRACK_TIME_WAIT } from '../sim/conntrack/proto-tcp.js';
import { GcWorker } from '../sim/conntrack/gc.js';
import { ip, send, tcp, udp } from '../sim/conntrack/testing.js';
import { RngStreams } from '../sim/core/rng.js';
import { loadScenario } from '../sim/scenario/load.js';
import { GENERATORS } from '../sim/traffic/registry.js';
import { Simulation } from '../sim/run/simulation.js';
import { runSummary } from '../sim/run/summary.js';
import { POLICIES, installPolicies } from './index.js';
import type { Conntrack } from '../sim/conntrack/conntrack.js';

const SRV = ip(10, 9, 9, 9);
const S = 1_000_000;
const HZ = 250;

/** A conntrack with one bucket (every entry is in the window) and the given policies installed. */
function setup(max: number, specs: { name: string; [k: string]: unknown }[], alive: (slot: number) => boolean = () => true) {
  const ct = createConntrack({ hz: HZ, seed: 4, sysctl: { nf_conntrack_max: max, nf_conntrack_buckets: 512 } });
  ct.table.resetBuckets(1);
  const events: { at: number; index: number; arg: number }[] = [];
  // validate parameters through the policies' own schemas, as a scenario would
  const resolved = specs.map((s) => {
    const issues: { path: string; message: string }[] = [];
    const { name, ...params } = s;
    const v = POLICIES[name]!.schema.validate(params, ['policies', 0], issues as never);
    if (issues.length) throw new Error(JSON.stringify(issues));
    return { name, ...(v as object) };
  });
  const streams = new RngStreams(1, 0);
  const pols = installPolicies(resolved, POLICIES, {
    ct, rng: (n) => streams.get(n), now: () => ct.nowUs,
    schedule: (index, at, arg) => events.push({ at, index, arg }), endpointsAlive: alive,
  });
  return { ct, pols, events };
}

const p = new Pkt();
/** Opens a TCP connection from client host h (complete: ESTABLISHED ASSURED). */
function est(ct: Conntrack, at: number, h: number) {
  const c = ip(10, 0, 0, h);
  send(ct, at, tcp(p, c, 1000 + h, SRV, 80, 'S', 100, 0));
  send(ct, at, tcp(p, SRV, 80, c, 1000 + h, 'SA', 500, 101));
  send(ct, at, tcp(p, c, 1000 + h, SRV, 80, 'A', 101, 501));
  return ct.lastSlot;
}
function synOnly(ct: Conntrack, at: number, h: number) {
  send(ct, at, tcp(p, ip(10, 0, 1, h), 2000 + h, SRV, 80, 'S', 100, 0));
  return ct.lastSlot;
}
function timeWait(ct: Conntrack, at: number, h: number) {
  const slot = est(ct, at, h);
  const c = ip(10, 0, 0, h);
  send(ct, at, tcp(p, c, 1000 + h, SRV, 80, 'FA', 101, 501));
  send(ct, at, tcp(p, SRV, 80, c, 1000 + h, 'FA', 501, 102));
  send(ct, at, tcp(p, c, 1000 + h, SRV, 80, 'A', 102, 502));
  return slot;
}
/** Whether the connection from client host h (est/timeWait: 10.0.0.h, synOnly: 10.0.1.h) is still in the table. */
const hasEst = (ct: Conntrack, h: number) => ct.find(ip(10, 0, 0, h), SRV, (((1000 + h) << 16) | 80) | 0, (4 << 8) | 6) >= 0;
const hasSyn = (ct: Conntrack, h: number) => ct.find(ip(10, 0, 1, h), SRV, (((2000 + h) << 16) | 80) | 0, (4 << 8) | 6) >= 0;

test('none: a full table drops the new flow and evicts nothing', (t) => {
  const { ct } = setup(2, [{ name: 'none' }]);
  synOnly(ct, 0, 1); synOnly(ct, 0, 2);
  t.is(send(ct, S, tcp(p, ip(10, 5, 5, 5), 9, SRV, 80, 'S')), 0);
  t.is(ct.stats.drop, 1);
  t.is(ct.stats.early_drop + ct.stats.evicted_policy, 0);
});

test('l4-aware: a TCP closing entry goes before an unassured one, which goes before an idle assured one', (t) => {
  const { ct } = setup(3, [{ name: 'l4-aware' }]);
  est(ct, 0, 1);
  synOnly(ct, S, 2);
  const w = timeWait(ct, 2 * S, 3);
  t.is(ct.tcp.stateOf(w), TCP_CONNTRACK_TIME_WAIT);
  t.truthy(ct.table.statusOf(w) & IPS_ASSURED, 'TIME_WAIT entries are assured: the kernel would never early-drop them');
  send(ct, 3 * S, tcp(p, ip(10, 7, 0, 1), 7, SRV, 80, 'S'));
  t.false(hasEst(ct, 3), 'the TIME_WAIT entry went first');
  t.true(hasSyn(ct, 2) && hasEst(ct, 1));
  send(ct, 3 * S, tcp(p, ip(10, 7, 0, 2), 7, SRV, 80, 'S'));
  t.is(ct.stats.evicted_policy, 2);
  t.true(hasEst(ct, 1), 'the established entry survives while unassured ones exist');
  t.false(hasSyn(ct, 2));
});

test('l4-aware (as the paper proposes) never evicts an ASSURED established entry: the new flow is dropped; l4-aware-evict-assured takes the longest idle one', (t) => {
  const d = setup(2, [{ name: 'l4-aware' }]);
  est(d.ct, 0, 1); est(d.ct, S, 2);
  t.is(send(d.ct, 6 * S, tcp(p, ip(10, 7, 0, 1), 7, SRV, 80, 'S')), 0);
  t.is(d.ct.stats.drop, 1);
  t.is(d.ct.stats.evicted_policy, 0);
  t.true(hasEst(d.ct, 1) && hasEst(d.ct, 2));
  const a = setup(2, [{ name: 'l4-aware-evict-assured' }]);
  est(a.ct, 0, 1); est(a.ct, S, 2);
  send(a.ct, 5 * S, tcp(p, ip(10, 0, 0, 2), 1002, SRV, 80, 'A', 101, 501)); // connection 2 active again
  send(a.ct, 6 * S, tcp(p, ip(10, 7, 0, 1), 7, SRV, 80, 'S'));
  t.false(hasEst(a.ct, 1));
  t.true(hasEst(a.ct, 2));
  const b = setup(2, [{ name: 'l4-aware-evict-assured', evict_assured: false }]);
  est(b.ct, 0, 1); est(b.ct, 0, 2);
  t.is(send(b.ct, S, tcp(p, ip(10, 7, 0, 1), 7, SRV, 80, 'S')), 0);
  t.is(b.ct.stats.drop, 1);
});

test('lru evicts the longest idle entry whatever its state; random picks from the window by its own substream', (t) => {
  const a = setup(2, [{ name: 'lru' }]);
  est(a.ct, 0, 1);
  synOnly(a.ct, S, 2);
  send(a.ct, 2 * S, tcp(p, ip(10, 7, 0, 1), 7, SRV, 80, 'S'));
  t.false(hasEst(a.ct, 1), 'the assured entry idle longest is the victim');
  t.true(hasSyn(a.ct, 2));
  const r1 = setup(4, [{ name: 'random' }]);
  const r2 = setup(4, [{ name: 'random' }]);
  for (const r of [r1, r2]) { for (let h = 1; h <= 4; h++) synOnly(r.ct, 0, h); send(r.ct, S, tcp(p, ip(10, 7, 0, 1), 7, SRV, 80, 'S')); }
  const gone = (ct: Conntrack) => [1, 2, 3, 4].filter((h) => !hasSyn(ct, h));
  t.is(gone(r1.ct).length, 1, 'one victim');
  t.deepEqual(gone(r1.ct), gone(r2.ct), 'same seed, same victim');
  t.is(r1.ct.stats.evicted_policy, 1);
});

test('soft-timeout: at the threshold the gc evicts entries idle past their soft timeout, not below it', (t) => {
  const { ct } = setup(4, [{ name: 'soft-timeout', threshold: 0.75, soft: { tcp_established: 100 } }]);
  const gc = new GcWorker(ct, 1e9);
  est(ct, 0, 1); est(ct, 0, 2);
  gc.run(200 * S);
  t.true(hasEst(ct, 1) && hasEst(ct, 2), '2 of 4 is below 75%: no soft eviction');
  est(ct, 200 * S, 3);
  gc.run(201 * S);
  // chains are head-inserted, so the gc meets connection 2 before connection 1
  t.false(hasEst(ct, 2), 'idle 201 s > soft 100 s at 3 of 4');
  t.true(hasEst(ct, 1), 'after the first eviction the table is below 75% again');
  t.true(hasEst(ct, 3));
  t.is(ct.stats.evicted_policy, 1);
});

test('soft-timeout at allocation: overdue entries of the window go first, else the kernel early_drop', (t) => {
  const { ct } = setup(2, [{ name: 'soft-timeout', soft: { tcp_established: 100 } }]);
  est(ct, 0, 1);
  synOnly(ct, 150 * S, 2);
  send(ct, 150 * S, tcp(p, ip(10, 7, 0, 1), 7, SRV, 80, 'S'));
  t.false(hasEst(ct, 1), 'idle 150 s > soft 100 s');
  t.true(hasSyn(ct, 2));
  send(ct, 151 * S, tcp(p, ip(10, 7, 0, 2), 7, SRV, 80, 'S'));
  t.true(ct.stats.early_drop >= 1, 'nothing overdue: the kernel early_drop takes the unassured entries');
});

test("adaptive-timeout: pf's scaling (end − states)/(end − start) with integer truncation, expiry at or above end", (t) => {
  const { ct } = setup(10, [{ name: 'adaptive-timeout', start: 0.6, end: 1.2 }]);
  const gc = new GcWorker(ct, 1e9);
  // 8 UDP entries with 30 s timeouts; start = 6, end = 12 entries → factor (12 − 8)/(12 − 6) = 2/3 → 20 s
  for (let h = 0; h < 8; h++) send(ct, 0, udp(p, ip(10, 3, 0, h), 5000, SRV, 53));
  gc.run(19 * S);
  t.is(ct.count, 8, 'idle 19 s < 20 s');
  gc.run(20 * S);
  t.is(ct.count, 7, 'one goes at 20 s; then 7 entries scale 30 s by 5/6 = 25 s');
  gc.run(25 * S);
  t.is(ct.count, 6, 'at 6 = adaptive.start no scaling applies any more');
  gc.run(29 * S);
  t.is(ct.count, 6);
  gc.run(31 * S);
  t.is(ct.count, 0, 'the plain 30 s timeout');
});

test('threshold-timeout: above N% the named set replaces the state timeout of matching flows', (t) => {
  const { ct } = setup(4, [{ name: 'threshold-timeout', above: 0.5, proto: 'tcp', dport: 80, timeouts: { established: 600 } }]);
  const e1 = est(ct, 0, 1);
  t.is(ct.table.timeoutOf(e1), 432000 * HZ, '1 of 4 is not above 50%');
  est(ct, 0, 2);
  const e3 = est(ct, 0, 3);
  t.is(ct.table.timeoutOf(e3), 600 * HZ);
});

test('ct-timeout-above: the paper\'s CT --timeout above N%: attached at creation when more than N% are in use (boundary), kept for life, with the timeout extension', (t) => {
  // max 4, above 0.5: limit floor(4 · 0.5) = 2 entries; a new entry gets the policy when more than 2 exist before it
  const { ct, pols } = setup(4, [{ name: 'ct-timeout-above', above: 0.5, proto: 'tcp', dport: 80, timeouts: { established: 600 } }]);
  const e1 = est(ct, 0, 1);
  const e2 = est(ct, 0, 2);
  const e3 = est(ct, 0, 3); // 2 before it: not above
  t.is(ct.table.timeoutOf(e1), 432000 * HZ);
  t.is(ct.table.timeoutOf(e3), 432000 * HZ, '2 of 4 entries before it: not above 50%');
  t.is(ct.kernelBytes(), ct.table.nbuckets * 8 + 3 * 256);
  const e4 = est(ct, 0, 4); // 3 before it: above
  t.is(ct.table.timeoutOf(e4), 600 * HZ);
  t.is(ct.kernelBytes(), ct.table.nbuckets * 8 + 4 * 256 + 128, 'the fourth carries the timeout extension (kmalloc-128)');
  t.deepEqual(pols[0]!.counters!(), { policies_attached: 1 });
  // the occupancy falls: the attached policy stays; old entries keep the defaults on refresh
  ct.destroy(e2, 0); ct.destroy(e3, 0);
  send(ct, S, tcp(p, ip(10, 0, 0, 4), 1004, SRV, 80, 'A', 101, 501));
  t.is(ct.remaining(e4), 600 * HZ);
  send(ct, S, tcp(p, ip(10, 0, 0, 1), 1001, SRV, 80, 'A', 101, 501));
  t.is(ct.remaining(e1), 432000 * HZ);
});

test('threshold-timeout is not attached at creation: it rewrites refreshes while above, old entries included, and stops below', (t) => {
  const { ct } = setup(4, [{ name: 'threshold-timeout', above: 0.5, proto: 'tcp', dport: 80, timeouts: { established: 600 } }]);
  const e1 = est(ct, 0, 1);
  est(ct, 0, 2);
  const e3 = est(ct, 0, 3);
  send(ct, S, tcp(p, ip(10, 0, 0, 1), 1001, SRV, 80, 'A', 101, 501));
  t.is(ct.remaining(e1), 600 * HZ, 'an old entry switches too while the table is above');
  ct.destroy(e3, 0);
  send(ct, 2 * S, tcp(p, ip(10, 0, 0, 1), 1001, SRV, 80, 'A', 101, 501));
  t.is(ct.remaining(e1), 432000 * HZ, 'back to the default below');
  t.is(ct.kernelBytes(), ct.table.nbuckets * 8 + 2 * 256, 'no extension');
});

test('keepalive: an idle established entry is probed; live endpoints refresh it, dead ones are evicted after K probes', (t) => {
  let live = true;
  const { ct, pols, events } = setup(8, [{ name: 'keepalive', idle: '60s', interval: '10s', probes: 2, rtt: '50ms' }], () => live);
  const gc = new GcWorker(ct, 1e9);
  const e = est(ct, 0, 1);
  const kp = pols[0]!;
  gc.run(61 * S);
  t.is(events.length, 1);
  ct.setNow(events[0]!.at);
  kp.fire!(events[0]!.arg);
  t.is(ct.idle(e), 0, 'refreshed by the answer');
  t.is(ct.tcp.stateOf(e), TCP_CONNTRACK_ESTABLISHED);
  live = false;
  gc.run(125 * S);
  ct.setNow(events[1]!.at); kp.fire!(events[1]!.arg);
  t.true(hasEst(ct, 1), 'one silent probe: probe again');
  ct.setNow(events[2]!.at); kp.fire!(events[2]!.arg);
  t.false(hasEst(ct, 1), 'second silent probe: evicted');
  t.is(ct.stats.evicted_probe, 1);
  t.deepEqual(kp.counters!(), { probes_sent: 6, probe_answers: 2, probe_evictions: 1 });
});

test('timeout-policy: ct timeout objects attach by protocol and port', (t) => {
  const { ct } = setup(8, [{ name: 'timeout-policy', rules: [{ name: 'ssh', proto: 'tcp', dport: 22, timeouts: { established: 7200 } }] }]);
  const c = ip(10, 0, 0, 1);
  send(ct, 0, tcp(p, c, 1000, SRV, 22, 'S', 100, 0));
  send(ct, 0, tcp(p, SRV, 22, c, 1000, 'SA', 500, 101));
  send(ct, 0, tcp(p, c, 1000, SRV, 22, 'A', 101, 501));
  t.is(ct.table.timeoutOf(ct.lastSlot), 7200 * HZ);
  const e = est(ct, 0, 2);
  t.is(ct.table.timeoutOf(e), 432000 * HZ);
});

test('composition: victim choosers chain in order (soft-timeout, then l4-aware instead of the kernel)', (t) => {
  const { ct } = setup(2, [{ name: 'soft-timeout', soft: { tcp_established: 100 } }, { name: 'l4-aware', evict_assured: true }]);
  est(ct, 0, 1);
  est(ct, 10 * S, 2);
  send(ct, 50 * S, tcp(p, ip(10, 7, 0, 1), 7, SRV, 80, 'S'));
  t.is(ct.stats.early_drop, 0, 'the kernel early_drop never ran');
  t.false(hasEst(ct, 1), 'no entry overdue: l4-aware took the longest idle assured entry');
  t.true(hasEst(ct, 2));
});

test('composition: timeout hooks apply in order; a gc visit evicts if any policy says so', (t) => {
  const { ct } = setup(4, [
    { name: 'threshold-timeout', above: 0, timeouts: { established: 600 } },
    { name: 'soft-timeout', threshold: 0.25, soft: { tcp_established: 30 } },
  ]);
  const e = est(ct, 0, 1);
  t.is(ct.table.timeoutOf(e), 600 * HZ);
  new GcWorker(ct, 1e9).run(31 * S);
  t.false(hasEst(ct, 1));
});

test('the kernel policy alone gives the same bytes as no policy layer at all', (t) => {
  const text = `
name: k
duration: 30s
sysctl: { nf_conntrack_max: 4096, nf_conntrack_buckets: 4096 }
traffic:
  - { kind: tcp-clients, rate: 50 }
  - { kind: udp-request-response, rate: 100 }
  - { kind: syn-flood, rate: 400, start: 5s }
`;
  const reg = { generators: GENERATORS, policies: POLICIES };
  const r = loadScenario(text, 'k.yaml', reg);
  if (!r.ok) return t.fail(JSON.stringify(r.issues));
  const withKernel = new Simulation(r.scenario, 0, reg);
  const bare = new Simulation({ ...r.scenario, policies: [] }, 0, reg);
  withKernel.runToEnd();
  bare.runToEnd();
  const strip = (s: ReturnType<typeof runSummary>) => JSON.stringify({ ...s, policies: undefined });
  t.true(withKernel.ct.stats.early_drop > 0, 'the scenario does put the table under pressure');
  t.is(strip(runSummary(withKernel)), strip(runSummary(bare)));
  t.deepEqual(withKernel.metrics.rows, bare.metrics.rows);
});
