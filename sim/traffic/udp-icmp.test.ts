import test from 'ava';
import { summariseStates } from '../conntrack/listing.js';
import { Harness } from './harness.js';

const ten = { rate: { shape: 'constant', rate: 10 }, stop: '1s' };
const run = (kind: string, params: Record<string, unknown>, untilS = 8) => {
  const h = new Harness({ memory: 1 << 30, endUs: 600e6 });
  const g = h.add(kind, params);
  h.run(untilS * 1e6);
  return { h, g, states: summariseStates(h.ct) };
};

test('DNS-like queries: replied, never ASSURED (early-droppable), all answered', (t) => {
  const { g, states } = run('udp-request-response', ten);
  t.deepEqual(states, { 'udp -': 10 });
  t.like(g.outcomes, { started: 10, succeeded: 10, packets: 20 });
});

test('lost queries are re-sent after the timeout, then fail', (t) => {
  const { g } = run('udp-request-response', { ...ten, loss: 1, timeout: '1s', retries: 2 });
  t.like(g.outcomes, { started: 10, failed: 10, packets: 30 });
});

test('one-way UDP stays UNREPLIED; long streams become ASSURED', (t) => {
  t.deepEqual(run('udp-request-response', { ...ten, mode: 'one-way', flow_duration: 5 }).states, { 'udp - UNREPLIED': 10 });
  const s = run('udp-request-response', { ...ten, mode: 'stream', flow_duration: 30 }, 10);
  t.deepEqual(s.states, { 'udp - ASSURED': 10 });
  s.h.run(60e6);
  t.like(s.g.outcomes, { succeeded: 10, broken: 0 });
});

test('ICMP echo: one entry per echo id, replied, never ASSURED', (t) => {
  const { g, states } = run('icmp', ten);
  t.deepEqual(states, { 'icmp -': 10 });
  t.like(g.outcomes, { succeeded: 10, packets: 80 });
});

test('ICMP errors carrying a live flow\'s header are RELATED, make no entry of their own', (t) => {
  for (const mode of ['unreachable', 'time-exceeded']) {
    const { h, g, states } = run('icmp', { ...ten, mode });
    t.is(h.ct.stats.related, 10);
    t.deepEqual(states, { 'udp - UNREPLIED': 10 });
    t.like(g.outcomes, { succeeded: 10, broken: 0 });
  }
});

test('an ICMP error whose flow is gone is not RELATED: broken', (t) => {
  const { h, g } = run('icmp', { ...ten, mode: 'unreachable', server_rtt: '40s' }, 80);
  t.is(h.ct.stats.related, 0);
  t.like(g.outcomes, { broken: 10, failed: 10 });
});
