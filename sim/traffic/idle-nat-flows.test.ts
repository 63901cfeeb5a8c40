import test from 'ava';
import { summariseStates } from '../conntrack/listing.js';
import { Harness } from './harness.js';

const setup = (params: Record<string, unknown>, sysctl: Record<string, number>) => {
  const h = new Harness({ memory: 1 << 30, sysctl, endUs: 1000e6 });
  const g = h.add('idle-nat-flows', { flows: 5, ramp: '1s', ...params });
  return { h, g };
};

test('TCP: ESTABLISHED ASSURED, then a resume after a gap longer than the timeout is broken and reconnects', (t) => {
  const { h, g } = setup({ idle: 100 }, { nf_conntrack_tcp_timeout_established: 60 });
  h.run(20e6);
  t.deepEqual(summariseStates(h.ct), { 'tcp ESTABLISHED ASSURED': 5 });
  t.like(g.outcomes, { started: 5, succeeded: 5, broken: 0 });
  h.run(115e6);
  t.is(g.outcomes.broken, 5);
  t.is(g.outcomes.failed, 5);
  // the stray segments' entries were removed by the far end's RST; the flows reconnected
  t.deepEqual(summariseStates(h.ct), { 'tcp ESTABLISHED ASSURED': 5 });
  t.is(g.outcomes.started, 15);
});

test('TCP: a gap shorter than the timeout resumes fine; keepalives save a long gap', (t) => {
  const a = setup({ idle: 50 }, { nf_conntrack_tcp_timeout_established: 60 });
  a.h.run(200e6);
  t.is(a.g.outcomes.broken, 0);
  t.true(a.g.outcomes.succeeded >= 15);
  const b = setup({ idle: 100, keepalive: '30s' }, { nf_conntrack_tcp_timeout_established: 60 });
  b.h.run(300e6);
  t.is(b.g.outcomes.broken, 0);
  t.true(b.g.outcomes.succeeded >= 10);
});

test('UDP: the first activity makes the entry ASSURED (120 s); a longer gap breaks the flow', (t) => {
  const ok = setup({ protocol: 'udp', idle: 100 }, {});
  ok.h.run(10e6);
  t.deepEqual(summariseStates(ok.h.ct), { 'udp - ASSURED': 5 });
  ok.h.run(400e6);
  t.is(ok.g.outcomes.broken, 0);
  const bad = setup({ protocol: 'udp', idle: 150 }, {});
  bad.h.run(170e6);
  t.is(bad.g.outcomes.broken, 5);
});

test('server pushes after the gap find no entry: broken too', (t) => {
  const { h, g } = setup({ idle: 100, server_resume: 1 }, { nf_conntrack_tcp_timeout_established: 60 });
  h.run(115e6);
  t.is(g.outcomes.broken, 5);
});

test('flows evicted under pressure count as broken when they resume', (t) => {
  // idle UDP flows are ASSURED and survive early_drop; unassured ones (gap right after 1 round) do not
  const h = new Harness({ memory: 1 << 30, sysctl: { nf_conntrack_max: 200, nf_conntrack_buckets: 1024 } });
  const g = h.add('idle-nat-flows', { protocol: 'udp', flows: 50, ramp: '1s', rounds: 1, idle: 20 });
  h.add('udp-request-response', { mode: 'one-way', rate: 500, start: '3s', stop: '20s', flow_duration: 0 });
  h.run(40e6);
  t.true(g.outcomes.broken > 0);
});
