import test from 'ava';
import { AddrInterner } from './addr.js';
import { createConntrack } from './create.js';
import { formatEntry, listEntries, stateKey, summariseStates } from './listing.js';
import { Pkt } from './packet.js';
import { icmpEcho, ip, send, tcp, udp } from './testing.js';

const A = ip(10, 0, 0, 1);
const B = ip(10, 0, 0, 2);
const S = 1_000_000;

const mk = () => createConntrack({ seed: 7, sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024 } });

test('TCP SYN_SENT line: padded protocol, remaining seconds rounded down, [UNREPLIED] between the tuples', (t) => {
  const ct = mk();
  const p = new Pkt();
  send(ct, 0, tcp(p, A, 40000, B, 80, 'S'));
  ct.setNow(2.5 * S); // 117.5 s left → 117
  const lines = listEntries(ct, new AddrInterner());
  t.deepEqual(lines, [
    'tcp      6 117 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=80 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40000 mark=0 use=1',
  ]);
  t.deepEqual(summariseStates(ct), { 'tcp SYN_SENT UNREPLIED': 1 });
});

test('TCP handshake: ESTABLISHED with [ASSURED] after the reply tuple; key "tcp ESTABLISHED ASSURED"', (t) => {
  const ct = mk();
  const p = new Pkt();
  send(ct, 0, tcp(p, A, 40000, B, 80, 'S', 1000));
  send(ct, 1000, tcp(p, B, 80, A, 40000, 'SA', 5000, 1001));
  send(ct, 2000, tcp(p, A, 40000, B, 80, 'A', 1001, 5001));
  t.is(ct.lastSlot >= 0, true);
  t.is(formatEntry(ct, ct.lastSlot, new AddrInterner()),
    'tcp      6 432000 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=80 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40000 [ASSURED] mark=0 use=1');
  t.is(stateKey(ct, ct.lastSlot), 'tcp ESTABLISHED ASSURED');
});

test('UDP: no state; "udp - UNREPLIED", "udp -" after a reply, "udp - ASSURED" once a stream', (t) => {
  const ct = mk();
  const p = new Pkt();
  send(ct, 0, udp(p, A, 5353, B, 53));
  t.deepEqual(summariseStates(ct), { 'udp - UNREPLIED': 1 });
  send(ct, 1000, udp(p, B, 53, A, 5353));
  t.deepEqual(summariseStates(ct), { 'udp -': 1 });
  t.is(listEntries(ct, new AddrInterner())[0],
    'udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=5353 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5353 mark=0 use=1');
  send(ct, 3 * S, udp(p, A, 5353, B, 53));
  t.deepEqual(summariseStates(ct), { 'udp - ASSURED': 1 });
  t.regex(listEntries(ct, new AddrInterner())[0]!, /^udp {6}17 120 .* \[ASSURED\] mark=0 use=1$/);
});

test('ICMP echo: type/code/id fields, reply type inverted; IPv6 addresses through the interner', (t) => {
  const ct = mk();
  const p = new Pkt();
  send(ct, 0, icmpEcho(p, A, B, 1234));
  const interner = new AddrInterner();
  t.deepEqual(listEntries(ct, interner), [
    'icmp     1 30 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=1234 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=1234 mark=0 use=1',
  ]);
  t.deepEqual(summariseStates(ct), { 'icmp - UNREPLIED': 1 });

  const ct6 = mk();
  const a6 = interner.internText('2001:db8::1');
  const b6 = interner.internText('2001:db8::2');
  udp(p, a6, 1000, b6, 2000).l3 = 6;
  send(ct6, 0, p);
  t.deepEqual(listEntries(ct6, interner), [
    'udp      17 30 src=2001:db8::1 dst=2001:db8::2 sport=1000 dport=2000 [UNREPLIED] src=2001:db8::2 dst=2001:db8::1 sport=2000 dport=1000 mark=0 use=1',
  ]);
});

test('other protocols: "unknown  N" lines and "unknown(N) -" keys; gre by name; keys sorted', (t) => {
  const ct = mk();
  const p = new Pkt();
  p.reset(); p.proto = 132; p.src = A; p.dst = B; p.len = 60;
  send(ct, 0, p);
  p.reset(); p.proto = 47; p.src = A; p.dst = B; p.len = 60;
  send(ct, 0, p);
  send(ct, 0, udp(p, A, 1, B, 2));
  t.deepEqual(Object.keys(summariseStates(ct)), ['gre - UNREPLIED', 'udp - UNREPLIED', 'unknown(132) - UNREPLIED']);
  const lines = listEntries(ct, new AddrInterner());
  t.true(lines.includes('unknown  132 600 src=10.0.0.1 dst=10.0.0.2 sport=0 dport=0 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=0 dport=0 mark=0 use=1'));
  t.true(lines.some((l) => l.startsWith('gre      47 30 src=10.0.0.1 dst=10.0.0.2 srckey=0x0 dstkey=0x0 [UNREPLIED]')));
});

test('expired entries are not listed and not reaped by listing (count still includes them)', (t) => {
  const ct = mk();
  const p = new Pkt();
  send(ct, 0, udp(p, A, 1, B, 2));
  send(ct, 20 * S, udp(p, A, 3, B, 4));
  ct.setNow(31 * S);
  t.deepEqual(summariseStates(ct), { 'udp - UNREPLIED': 1 });
  t.is(listEntries(ct, new AddrInterner()).length, 1);
  t.is(ct.count, 2, 'listing does not reap');
});

test('each entry is listed once even when both nodes share a bucket', (t) => {
  const ct = createConntrack({ seed: 1, sysctl: { nf_conntrack_max: 64, nf_conntrack_buckets: 1 } });
  const p = new Pkt();
  for (let i = 0; i < 10; i++) send(ct, 0, udp(p, A, 1000 + i, B, 53));
  t.is(listEntries(ct, new AddrInterner()).length, 10);
  t.deepEqual(summariseStates(ct), { 'udp - UNREPLIED': 10 });
});
