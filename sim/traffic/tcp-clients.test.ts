import test from 'ava';
import { summariseStates } from '../conntrack/listing.js';
import { Harness } from './harness.js';

const ten = { rate: { shape: 'constant', rate: 10 }, stop: '1s', hold: 1 };
const run = (params: Record<string, unknown>, untilS = 8, sysctl: Record<string, number> = {}) => {
  const h = new Harness({ memory: 1 << 30, sysctl, endUs: 600e6, record: true });
  const g = h.add('tcp-clients', params);
  h.run(untilS * 1e6);
  return { h, g, states: summariseStates(h.ct) };
};

test('well-behaved connections end in TIME_WAIT, ASSURED, all succeeded', (t) => {
  const { g, states } = run(ten);
  t.deepEqual(states, { 'tcp TIME_WAIT ASSURED': 10 });
  t.like(g.outcomes, { started: 10, succeeded: 10, failed: 0, broken: 0, packets: 80 });
});

test('server-fin with several rounds and rst close', (t) => {
  t.deepEqual(run({ ...ten, close: 'server-fin', requests: 3 }).states, { 'tcp TIME_WAIT ASSURED': 10 });
  t.deepEqual(run({ ...ten, close: 'rst' }).states, { 'tcp CLOSE ASSURED': 10 });
});

test('a refusing server leaves no entry and fails the connections', (t) => {
  const { g, states } = run({ ...ten, server_mode: 'refuse' });
  t.deepEqual(states, {});
  t.like(g.outcomes, { started: 10, failed: 10 });
});

test('a peer ignoring the FIN leaves CLOSE_WAIT until its 60 s timeout', (t) => {
  const { h, states } = run({ ...ten, misbehave: { ignore_fin: 1 } });
  t.deepEqual(states, { 'tcp CLOSE_WAIT ASSURED': 10 });
  h.run(75e6);
  t.deepEqual(summariseStates(h.ct), {});
});

test('re-sending the FIN keeps the entry alive long after CLOSE_WAIT and LAST_ACK timeouts', (t) => {
  const { h } = run({ ...ten, misbehave: { fin_resend: 1 }, fin_resend: '20s' }, 300);
  const st = summariseStates(h.ct);
  t.is(Object.values(st).reduce((a, b) => a + b, 0), 10);
  t.true(Object.keys(st).every((k) => /LAST_ACK|CLOSE_WAIT/.test(k)), JSON.stringify(st));
});

test('half-open connections stay in SYN_RECV, then expire after 60 s', (t) => {
  const { h, states } = run({ ...ten, misbehave: { half_open: 1 } });
  t.deepEqual(states, { 'tcp SYN_RECV': 10 });
  h.run(70e6);
  t.deepEqual(summariseStates(h.ct), {});
});

test('vanishing peers leave ESTABLISHED ASSURED entries until the established timeout, and are dead for probes', (t) => {
  const { h, g, states } = run({ ...ten, misbehave: { vanish: 1 } }, 8, { nf_conntrack_tcp_timeout_established: 100 });
  t.deepEqual(states, { 'tcp ESTABLISHED ASSURED': 10 });
  t.false(g.endpointsAlive!(0));
  h.run(90e6);
  t.deepEqual(summariseStates(h.ct), { 'tcp ESTABLISHED ASSURED': 10 });
  h.run(110e6);
  t.deepEqual(summariseStates(h.ct), {});
});

test('open connections are alive for probes, closed ones are not', (t) => {
  const h = new Harness({ memory: 1 << 30 });
  const g = h.add('tcp-clients', { rate: { shape: 'constant', rate: 1 }, stop: '1s', hold: 10 });
  h.run(2e6);
  t.true(g.endpointsAlive!(0));
  h.run(20e6);
  t.false(g.endpointsAlive!(0));
  t.false(g.endpointsAlive!(1));
});

test('an out-of-window segment is INVALID and leaves the connection alone', (t) => {
  const { h, g, states } = run({ ...ten, misbehave: { out_of_window: 1 } });
  t.is(h.ct.stats.invalid, 10);
  t.deepEqual(states, { 'tcp TIME_WAIT ASSURED': 10 });
  t.is(g.outcomes.succeeded, 10);
});

test('a full table: SYNs retransmitted after 1, 2, 4 s (tcp_syn_retries), then the connection fails', (t) => {
  const h = new Harness({ memory: 1 << 30, sysctl: { nf_conntrack_max: 20 }, record: true });
  h.add('tcp-clients', { rate: { shape: 'constant', rate: 100 }, stop: '200ms', hold: 1000, misbehave: { vanish: 1 } });
  const g = h.add('tcp-clients', { rate: { shape: 'constant', rate: 1 }, start: '1s', stop: '1.5s', syn_retries: 3 });
  h.run(20e6);
  const times = h.packets(1).map((r) => r[0]! / 1e6);
  t.deepEqual(times, [1, 2, 4, 8]);
  t.true(h.packets(1).every((r) => r[10] === 0));
  t.like(g.outcomes, { started: 1, failed: 1, dropped: 4 });
});

test('a SYN_SENT entry evicted before the SYN-ACK: the client retransmits and gets through', (t) => {
  const h = new Harness({ memory: 1 << 30, sysctl: { nf_conntrack_max: 64, nf_conntrack_buckets: 1024 } });
  const web = h.add('tcp-clients', { rate: 50, stop: '30s', hold: 0.1, server_rtt: '200ms' });
  h.add('syn-flood', { rate: 5000, start: '5s', stop: '25s' });
  h.run(60e6);
  t.true(web.outcomes.succeeded > 0);
  t.true(web.outcomes.packets > 8 * web.outcomes.succeeded, 'retransmitted SYNs');
});

test('per-flow RTT from a distribution spaces the handshake', (t) => {
  const h = new Harness({ memory: 1 << 30, record: true });
  h.add('tcp-clients', { rate: { shape: 'constant', rate: 1 }, stop: '1s', client_rtt: { dist: 'uniform', min: 40, max: 60 }, server_rtt: '10ms' });
  h.run(2e6);
  const p = h.packets(0);
  t.is(p[1]![0]! - p[0]![0]!, 10_000); // SYN → SYN-ACK: server RTT
  const c = p[2]![0]! - p[1]![0]!; // SYN-ACK → ACK: client RTT
  t.true(c >= 40_000 && c < 60_000);
});
