import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createConntrack } from './create.js';
import { Pkt } from './packet.js';
import { send, udp, ip } from './testing.js';
import { CT_EXT_HELPER, CT_EXT_LABELS, CT_EXT_NAT, CT_EXT_SEQADJ, CT_EXT_SYNPROXY, CT_EXT_TIMEOUT, entryKernelBytes } from './sizing.js';
import { REASON_TIMEOUT_GC } from './stats.js';
import { POLICIES } from '../../policies/index.js';
import { GENERATORS } from '../traffic/registry.js';
import { loadScenario, formatIssue } from '../scenario/load.js';
import { Simulation } from '../run/simulation.js';
import { runSummary } from '../run/summary.js';
import { Metrics } from '../run/metrics.js';

const A = ip(10, 0, 0, 1);
const B = ip(10, 0, 0, 2);
const BUCKETS = 1024;
const none = { acct: false, ecache: false, tstamp: false, timeout: false };

function ct0(sysctl: Record<string, number> = {}) {
  return createConntrack({ hz: 250, seed: 2, eventListener: false, sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: BUCKETS, ...sysctl } });
}

// §10.2 payloads: acct 32, ecache 32, tstamp 16, timeout 8, nat 8, seqadj 24, synproxy 12 (→16 aligned), helper 56, labels 16; header 16;
// the area is max(total, 128) rounded up to a kmalloc class (128, 192, 256, …); the slab object is 256.
test('§10.2 each extension alone: 256 B slab + one kmalloc-128 area', (t) => {
  t.is(entryKernelBytes(none), 256);
  for (const k of ['acct', 'ecache', 'tstamp', 'timeout', 'nat', 'seqadj', 'synproxy', 'helper', 'labels']) {
    t.is(entryKernelBytes({ ...none, [k]: true }), 256 + 128, k);
  }
});

test('§10.2 extensions together cross kmalloc classes: 136 B → 192, 168 B → 192, 224 B → 256', (t) => {
  // 16 + 32 + 32 + 16 + 8 + 8 + 24 = 136
  t.is(entryKernelBytes({ acct: true, ecache: true, tstamp: true, timeout: true, nat: true, seqadj: true }), 256 + 192);
  // 16 + 56 + 32 + 32 + 16 + 16 = 168
  t.is(entryKernelBytes({ ...none, helper: true, acct: true, ecache: true, tstamp: true, labels: true }), 256 + 192);
  // everything: 16 + 32 + 32 + 16 + 8 + 8 + 24 + 16 + 56 + 16 = 224
  t.is(entryKernelBytes({ acct: true, ecache: true, tstamp: true, timeout: true, nat: true, seqadj: true, synproxy: true, helper: true, labels: true }), 256 + 256);
  // just under and at 128: 16 + 32 + 32 + 16 + 8 + 8 + 16 (labels) = 128 stays in kmalloc-128
  t.is(entryKernelBytes({ acct: true, ecache: true, tstamp: true, timeout: true, nat: true, labels: true }), 256 + 128);
});

for (const [name, bit] of [['timeout', CT_EXT_TIMEOUT], ['nat', CT_EXT_NAT], ['seqadj', CT_EXT_SEQADJ], ['synproxy', CT_EXT_SYNPROXY], ['helper', CT_EXT_HELPER], ['labels', CT_EXT_LABELS]] as const) {
  test(`§10.3 kernel_bytes and its peak count the ${name} extension of an entry, and give it back when the entry goes`, (t) => {
    const ct = ct0();
    const p = new Pkt();
    send(ct, 0, udp(p, A, 5000, B, 53));
    const slot = ct.lastSlot;
    t.is(ct.kernelBytes(), BUCKETS * 8 + 256);
    ct.addExtension(slot, bit);
    t.is(ct.kernelBytes(), BUCKETS * 8 + 256 + 128);
    ct.addExtension(slot, bit); // idempotent
    t.is(ct.kernelBytes(), BUCKETS * 8 + 256 + 128);
    t.is(ct.peakKernelBytes, BUCKETS * 8 + 256 + 128);
    ct.destroy(slot, REASON_TIMEOUT_GC);
    t.is(ct.kernelBytes(), BUCKETS * 8);
    t.is(ct.peakKernelBytes, BUCKETS * 8 + 256 + 128);
  });
}

test('§10.3 with acct, timestamps and events on, a timeout extension shares the same area; a NAT + seqadj + helper one moves to kmalloc-192', (t) => {
  const ct = ct0({ nf_conntrack_acct: 1, nf_conntrack_timestamp: 1, nf_conntrack_events: 1 });
  t.is(ct.entryBytes, 256 + 128); // 16 + 32 + 16 + 32 = 96 → 128
  const p = new Pkt();
  send(ct, 0, udp(p, A, 5000, B, 53));
  const slot = ct.lastSlot;
  ct.addExtension(slot, CT_EXT_TIMEOUT); // 104 → 128
  t.is(ct.kernelBytes(), BUCKETS * 8 + 256 + 128);
  ct.addExtension(slot, CT_EXT_NAT); // 112
  ct.addExtension(slot, CT_EXT_SEQADJ); // 136 → 192
  t.is(ct.kernelBytes(), BUCKETS * 8 + 256 + 192);
  ct.addExtension(slot, CT_EXT_HELPER); // 192 → 192
  t.is(ct.kernelBytes(), BUCKETS * 8 + 256 + 192);
  ct.addExtension(slot, CT_EXT_LABELS); // 208 → 256
  t.is(ct.kernelBytes(), BUCKETS * 8 + 256 + 256);
});

test('kernel_bytes_peak of a timeout-policy run includes the timeout extension: it is the highest kernel_bytes of its time series', (t) => {
  const REG = { generators: GENERATORS, policies: POLICIES };
  const text = readFileSync(fileURLToPath(new URL('../../../scenarios/idle-nat-flows.yaml', import.meta.url)), 'utf8');
  const r = loadScenario(text, 'idle-nat-flows.yaml', REG, ['duration=20m']);
  if (!r.ok) throw new Error(r.issues.map(formatIssue).join('\n'));
  const peaks = [];
  for (const policies of [[{ name: 'kernel' }], [{ name: 'timeout-policy', rules: [{ name: 'pg', proto: 'tcp', dport: 5432, timeouts: { established: 3600 } }] }]]) {
    const sim = new Simulation({ ...r.scenario, policies: policies as never }, 0, REG);
    sim.runToEnd();
    const s = runSummary(sim);
    const kb = Metrics.COLUMNS.indexOf('kernel_bytes');
    const col = sim.metrics.rows.map((row) => row[kb]!);
    t.true(s.table.kernel_bytes_peak >= Math.max(...col));
    t.true(s.table.kernel_bytes_peak >= s.table.nf_conntrack_buckets * 8 + s.table.peak_count * s.table.bytes_per_entry);
    peaks.push(s.table.kernel_bytes_peak);
  }
  t.true(peaks[1]! > peaks[0]!, `timeout-policy peak ${peaks[1]} > kernel peak ${peaks[0]}`);
});
