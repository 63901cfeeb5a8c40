import test from 'ava';
import { createConntrack } from './create.js';
import { Pkt } from './packet.js';
import { send, tcp, udp, ip } from './testing.js';
import { IPPROTO_TCP, IPPROTO_UDP } from './constants.js';

const A = ip(10, 0, 0, 1);
const B = ip(10, 0, 0, 2);
const HZ = 250;

function ct0(listener = false) {
  return createConntrack({ hz: HZ, seed: 2, eventListener: listener, sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024 } });
}

test('§7 a TCP timeout policy replaces the netns defaults for the entries that carry it; unset fields keep the defaults', (t) => {
  const ct = ct0();
  const pol = ct.addTimeoutPolicy('short-est', 'tcp', { established: 100 });
  ct.timeoutPolicyFor = (p) => (p.proto === IPPROTO_TCP && p.dport === 22 ? pol : 0);
  const p = new Pkt();
  for (const port of [22, 80]) {
    send(ct, 0, tcp(p, A, 40000, B, port, 'S', 1000, 0));
    const slot = ct.lastSlot;
    t.is(ct.table.timeoutOf(slot), 120 * HZ, 'SYN_SENT: unset in the policy, so the default 120 s');
    send(ct, 0, tcp(p, B, port, A, 40000, 'SA', 5000, 1001));
    send(ct, 0, tcp(p, A, 40000, B, port, 'A', 1001, 5001));
    t.is(ct.table.timeoutOf(slot), (port === 22 ? 100 : 432000) * HZ);
  }
});

test('§7 a UDP timeout policy: unreplied and replied values', (t) => {
  const ct = ct0();
  const pol = ct.addTimeoutPolicy('dns', 'udp', { unreplied: 5 });
  ct.timeoutPolicyFor = (p) => (p.proto === IPPROTO_UDP ? pol : 0);
  const p = new Pkt();
  send(ct, 0, udp(p, A, 5000, B, 53));
  t.is(ct.table.timeoutOf(ct.lastSlot), 5 * HZ);
});

test('§7 unknown fields are rejected with the known names', (t) => {
  const ct = ct0();
  const e = t.throws(() => ct.addTimeoutPolicy('x', 'udp', { established: 5 }));
  t.regex(e!.message, /udp has no timeout "established".*unreplied, replied/);
});

test('§10 memory: 256 B per entry without extensions, 384 B with an event listener (ecache 16+32 → kmalloc-128), +timeout ext within the same 128', (t) => {
  const a = ct0(false);
  t.is(a.entryBytes, 256);
  const b = ct0(true);
  t.is(b.entryBytes, 384);
  const pol = a.addTimeoutPolicy('p', 'udp', { unreplied: 5 });
  a.timeoutPolicyFor = () => pol;
  const p = new Pkt();
  send(a, 0, udp(p, A, 5000, B, 53));
  t.is(a.kernelBytes(), 1024 * 8 + 256 + 128, 'one entry with the timeout extension: 256 + kmalloc-128');
});
