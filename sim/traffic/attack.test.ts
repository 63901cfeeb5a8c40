import test from 'ava';
import { summariseStates } from '../conntrack/listing.js';
import { Harness } from './harness.js';

const run = (kind: string, params: Record<string, unknown>, untilS = 8) => {
  const h = new Harness({ memory: 1 << 30, endUs: 600e6, record: true });
  const g = h.add(kind, params);
  h.run(untilS * 1e6);
  return { h, g, states: summariseStates(h.ct) };
};
const ten = { rate: { shape: 'constant', rate: 10 }, stop: '1s' };

test('syn-flood: one SYN_SENT entry per SYN; a closed port (RST) leaves none; SYN-ACK leaves SYN_RECV', (t) => {
  t.deepEqual(run('syn-flood', ten).states, { 'tcp SYN_SENT UNREPLIED': 10 });
  t.deepEqual(run('syn-flood', { ...ten, server: 'rst' }).states, {});
  t.deepEqual(run('syn-flood', { ...ten, server: 'syn-ack' }).states, { 'tcp SYN_RECV': 10 });
});

test('syn-flood: unanswered SYN_SENT entries expire after 120 s; retransmitted SYNs do not renew them', (t) => {
  const r = run('syn-flood', { ...ten, syn_retries: 3 }, 100);
  t.is(r.g.outcomes.packets, 40);
  t.deepEqual(r.states, { 'tcp SYN_SENT UNREPLIED': 10 });
  r.h.run(125e6);
  t.deepEqual(summariseStates(r.h.ct), {});
  // each retransmission repeats the tuple and sequence number at rto, 2·rto, 4·rto
  const first = r.h.packets(0).filter((p) => p[2] === r.h.packets(0)[0]![2] && p[3] === r.h.packets(0)[0]![3]);
  t.deepEqual(first.map((p) => p[0]! / 1e6), [0, 1, 3, 7]);
  t.true(first.every((p) => p[7] === first[0]![7]));
});

test('syn-flood: botnet sources, a port list, and a spoofed source is never alive', (t) => {
  const r = run('syn-flood', { rate: 2000, stop: '2s', sources: { botnet: 50, within: '100.64.0.0/10' }, port: [80, 443] });
  const srcs = new Set(r.h.packets(0).map((p) => p[2]));
  const ports = new Set(r.h.packets(0).map((p) => p[5]));
  t.true(srcs.size <= 50 && srcs.size > 40);
  t.deepEqual([...ports].sort(), [443, 80]);
  t.false(r.g.endpointsAlive!(0));
  const l = run('syn-flood', { rate: 100, stop: '1s', sources: ['198.51.100.7', '203.0.113.0/30'] });
  t.true(l.h.packets(0).every((p) => p[2] === ((198 << 24) | (51 << 16) | (100 << 8) | 7) || (p[2]! >>> 2) === (((203 << 24) | (113 << 8)) >>> 2)));
});

test('port-scan: every port once per pass; open ports CLOSE after the scanner\'s RST, closed ones RST or SYN_SENT', (t) => {
  const r = run('port-scan', { rate: 100, ports: '1-20', open: [5, 7] });
  const ports = r.h.packets(0).filter((p) => p[6] === 2).map((p) => p[5]);
  t.deepEqual([...ports].sort((a, b) => a! - b!), Array.from({ length: 20 }, (_, i) => i + 1));
  t.notDeepEqual(ports, [...ports].sort((a, b) => a! - b!), 'scattered order');
  t.deepEqual(r.states, { 'tcp CLOSE': 2 });
  t.deepEqual(run('port-scan', { rate: 100, ports: '1-20', open: [5, 7], closed: 'silent' }).states, { 'tcp CLOSE': 2, 'tcp SYN_SENT UNREPLIED': 18 });
  const rep = run('port-scan', { rate: 100, ports: '1-20', target: '192.0.2.0/31', repeat: true, order: 'sequential' }, 1);
  t.is(rep.g.outcomes.started, 101);
});
