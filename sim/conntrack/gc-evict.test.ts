/**
 * §3.3 gc-time eviction (issue 17): with the early_drop flag set and the namespace at
 * ⌊max/100⌋×95 entries or more, the gc kills an entry if it is not ASSURED, or if it is TCP in
 * FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT or CLOSE (tcp_can_early_drop). Assured UDP and
 * ESTABLISHED TCP are refused; ICMP is never assured and always eligible. Each case: 99 assured
 * UDP fillers (never eligible) plus one target, max 100, then one full gc cycle.
 */
import test from 'ava';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPS_ASSURED } from './constants.js';
import type { Conntrack } from './conntrack.js';
import { createConntrack } from './create.js';
import { GcWorker } from './gc.js';
import { Pkt } from './packet.js';
import {
  TCP_CONNTRACK_CLOSE_WAIT, TCP_CONNTRACK_ESTABLISHED, TCP_CONNTRACK_FIN_WAIT, TCP_CONNTRACK_LAST_ACK,
  TCP_CONNTRACK_SYN_SENT, TCP_CONNTRACK_TIME_WAIT,
} from './proto-tcp-const.js';
import { icmpEcho, ip, send, tcp, udp } from './testing.js';

const C = ip(10, 0, 0, 1);
const S = ip(10, 0, 0, 2);
const SEC = 1_000_000;

function withFillers(): { ct: Conntrack; p: Pkt } {
  const ct = createConntrack({ hz: 250, seed: 5, sysctl: { nf_conntrack_max: 100, nf_conntrack_buckets: 1024 } });
  const p = new Pkt();
  for (let i = 0; i < 99; i++) {
    const c = ip(10, 3, 0, i + 1);
    send(ct, 0, udp(p, c, 5000, S, 53));
    send(ct, 100_000, udp(p, S, 53, c, 5000));
    send(ct, 3 * SEC, udp(p, c, 5000, S, 53)); // > 2 s after creation, after a reply: ASSURED (§5.1)
  }
  return { ct, p };
}

const TCP_STEPS: Record<string, [number, string, number, number][]> = {
  // [from client?, flags, seq, ack]
  established: [[1, 'S', 1000, 0], [0, 'SA', 5000, 1001], [1, 'A', 1001, 5001]],
  fin_wait: [[1, 'S', 1000, 0], [0, 'SA', 5000, 1001], [1, 'A', 1001, 5001], [1, 'FA', 1001, 5001]],
  close_wait: [[1, 'S', 1000, 0], [0, 'SA', 5000, 1001], [1, 'A', 1001, 5001], [1, 'FA', 1001, 5001], [0, 'A', 5001, 1002]],
  last_ack: [[1, 'S', 1000, 0], [0, 'SA', 5000, 1001], [1, 'A', 1001, 5001], [1, 'FA', 1001, 5001], [0, 'A', 5001, 1002], [0, 'FA', 5001, 1002]],
  time_wait: [[1, 'S', 1000, 0], [0, 'SA', 5000, 1001], [1, 'A', 1001, 5001], [1, 'FA', 1001, 5001], [0, 'A', 5001, 1002], [0, 'FA', 5001, 1002], [1, 'A', 1002, 5002]],
  syn_sent: [[1, 'S', 1000, 0]],
};

function tcpTarget(name: string): { ct: Conntrack; state: number; assured: boolean } {
  const { ct, p } = withFillers();
  let t = 4 * SEC;
  for (const [fromC, flags, seq, ack] of TCP_STEPS[name]!) {
    t += 1000;
    send(ct, t, fromC ? tcp(p, C, 40000, S, 80, flags, seq, ack) : tcp(p, S, 80, C, 40000, flags, seq, ack));
  }
  const slot = ct.find(C, S, ((40000 << 16) | 80) | 0, (4 << 8) | IPPROTO_TCP) >> 1; // find gives the ORIGINAL node: slot × 2
  return { ct, state: ct.tcp.stateOf(slot), assured: (ct.table.statusOf(slot) & IPS_ASSURED) !== 0 };
}

/** One full gc cycle with the flag raised; returns whether the target (the one non-filler) is gone. */
function gcEvicts(ct: Conntrack, find: () => number, at = 5 * SEC): boolean {
  t0check(ct);
  ct.gcEarlyDrop = true;
  const gc = new GcWorker(ct, 1e9);
  gc.run(at);
  return find() < 0;
}
function t0check(ct: Conntrack): void {
  if (ct.count !== 100) throw new Error(`setup: count ${ct.count}, expected 100`);
}

const CASES: [string, number, boolean, boolean][] = [
  // name, expected TCP state, expected ASSURED, evicted?
  ['established', TCP_CONNTRACK_ESTABLISHED, true, false],
  ['fin_wait', TCP_CONNTRACK_FIN_WAIT, true, true],
  ['close_wait', TCP_CONNTRACK_CLOSE_WAIT, true, true],
  ['last_ack', TCP_CONNTRACK_LAST_ACK, true, true],
  ['time_wait', TCP_CONNTRACK_TIME_WAIT, true, true],
  ['syn_sent', TCP_CONNTRACK_SYN_SENT, false, true],
];
for (const [name, state, assured, evicted] of CASES) {
  test(`§3.3 gc-time eviction: TCP ${name.toUpperCase()}${assured ? ' ASSURED' : ''} is ${evicted ? 'evicted' : 'kept'}`, (t) => {
    const r = tcpTarget(name);
    t.is(r.state, state, 'setup reached the state');
    t.is(r.assured, assured);
    t.is(gcEvicts(r.ct, () => r.ct.find(C, S, ((40000 << 16) | 80) | 0, (4 << 8) | IPPROTO_TCP)), evicted);
    t.is(r.ct.count, evicted ? 99 : 100, 'the assured UDP fillers are never eligible');
  });
}

test('§3.3 gc-time eviction: UDP not assured is evicted', (t) => {
  const a = withFillers();
  send(a.ct, 4 * SEC, udp(a.p, C, 6000, S, 53));
  t.true(gcEvicts(a.ct, () => a.ct.find(C, S, ((6000 << 16) | 53) | 0, (4 << 8) | IPPROTO_UDP)));
  t.is(a.ct.count, 99);
});

test('§3.3 gc-time eviction: UDP assured is kept (UDP has no can_early_drop)', (t) => {
  const b = withFillers();
  // one more filler-like flow: request at 3 s, reply, then a packet 2.5 s after creation → ASSURED
  send(b.ct, 3 * SEC, udp(b.p, C, 6000, S, 53));
  send(b.ct, 3.1 * SEC, udp(b.p, S, 53, C, 6000));
  send(b.ct, 5.5 * SEC, udp(b.p, C, 6000, S, 53));
  const slot = b.ct.find(C, S, ((6000 << 16) | 53) | 0, (4 << 8) | IPPROTO_UDP) >> 1;
  t.true((b.ct.table.statusOf(slot) & IPS_ASSURED) !== 0, 'setup: assured');
  t.false(gcEvicts(b.ct, () => b.ct.find(C, S, ((6000 << 16) | 53) | 0, (4 << 8) | IPPROTO_UDP), 6 * SEC));
  t.is(b.ct.count, 100, 'nothing is eligible: the table stays at 100');
});

test('§3.3 gc-time eviction: ICMP (never assured) is evicted', (t) => {
  const { ct, p } = withFillers();
  send(ct, 4 * SEC, icmpEcho(p, C, S, 77));
  t.true(gcEvicts(ct, () => ct.find(C, S, ((77 << 16) | (8 << 8)) | 0, (4 << 8) | IPPROTO_ICMP)));
  t.is(ct.count, 99);
});
