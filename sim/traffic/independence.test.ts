import test from 'ava';
import { Harness } from './harness.js';

const SUBJECTS: [string, Record<string, unknown>][] = [
  ['tcp-clients', { rate: 50, stop: '20s', requests: { dist: 'uniform', min: 1, max: 4 }, client_rtt: { dist: 'lognormal', median: 20, p95: 80 }, misbehave: { vanish: 0.1, ignore_fin: 0.1 } }],
  ['udp-request-response', { rate: 200, stop: '20s', loss: 0.1 }],
  ['idle-nat-flows', { flows: 50, idle: { dist: 'exponential', mean: 5 } }],
  ['icmp', { rate: 20, stop: '20s', loss: 0.2 }],
  ['syn-flood', { rate: { shape: 'on-off', rate: 500, on: '2s', off: '3s' }, server: 'syn-ack' }],
];
const OTHERS: [string, Record<string, unknown>][] = [
  ['udp-request-response', { mode: 'stream', rate: 30, stop: '20s' }],
  ['syn-flood', { rate: 300, stop: '15s', syn_retries: 2 }],
];

/** Packets of the labelled subject, alone or between other generators. */
function packetsOf(kind: string, params: Record<string, unknown>, before: boolean, after: boolean): number[][] {
  const h = new Harness({ record: true, endUs: 30e6 });
  if (before) OTHERS.forEach(([k, p], i) => h.add(k, p, { label: `before-${i}` }));
  const g = h.add(kind, params, { label: 'subject' });
  if (after) OTHERS.forEach(([k, p], i) => h.add(k, p, { label: `after-${i}` }));
  h.run();
  return h.packets(g.index);
}

for (const [kind, params] of SUBJECTS) {
  test(`adding generators before or after does not change a ${kind}'s packets`, (t) => {
    const alone = packetsOf(kind, params, false, false);
    t.true(alone.length > 100);
    t.deepEqual(packetsOf(kind, params, true, false), alone);
    t.deepEqual(packetsOf(kind, params, false, true), alone);
    t.deepEqual(packetsOf(kind, params, true, true), alone);
  });
}

test('unlabelled generators keep their packets when others are appended (stream traffic/<index>/<kind>)', (t) => {
  const run = (extra: boolean) => {
    const h = new Harness({ record: true, endUs: 10e6 });
    h.add('tcp-clients', { rate: 20 });
    if (extra) h.add('syn-flood', { rate: 1000 });
    h.run();
    return h.packets(0);
  };
  t.deepEqual(run(true), run(false));
});

test('a different seed changes the packets', (t) => {
  const run = (seed: number) => {
    const h = new Harness({ record: true, endUs: 5e6, seed });
    h.add('tcp-clients', { rate: 20 }, { label: 'w' });
    h.run();
    return h.packets(0);
  };
  t.notDeepEqual(run(1), run(2));
  t.deepEqual(run(3), run(3));
});
