/**
 * Packet lengths of IPv6 flows: generators state their lengths as IPv4 packets (20-byte header);
 * `sendCounted` adds the 20 bytes by which the IPv6 header (40 bytes, RFC 8200) is longer, and
 * 20 more for an ICMPv6 error, whose embedded packet starts with an IPv6 header too. IPv4
 * lengths do not change.
 */
import test from 'ava';
import type { Pkt } from '../conntrack/packet.js';
import { Harness } from './harness.js';

/** A harness that keeps every packet's length (Pkt.len as the firewall saw it), per generator. */
class LenHarness extends Harness {
  readonly lens: number[] = [];
  readonly l3s: number[] = [];
  override send(pkt: Pkt): number {
    this.lens.push(pkt.len);
    this.l3s.push(pkt.l3);
    return super.send(pkt);
  }
}

const ten = { rate: { shape: 'constant', rate: 10 }, stop: '2s' };

function lengths(kind: string, params: Record<string, unknown>): { lens: number[]; l3s: number[] } {
  const h = new LenHarness({ memory: 1 << 30, endUs: 60e6 });
  h.add(kind, params);
  h.run(10e6);
  return { lens: h.lens, l3s: h.l3s };
}

/** The same flows with IPv4 and with IPv6 addresses (hosts from counts: same draws in both). */
const CASES: [string, Record<string, unknown>, Record<string, unknown>][] = [
  ['tcp-clients', { clients: { count: 5, within: '10.1.0.0/24' }, server: '192.0.2.10', hold: 1 },
    { clients: { count: 5, within: '2001:db8:1::/64' }, server: '2001:db8::10', hold: 1 }],
  ['udp-request-response', { clients: { count: 5, within: '10.2.0.0/24' }, server: '192.0.2.53' },
    { clients: { count: 5, within: '2001:db8:2::/64' }, server: '2001:db8::53' }],
  ['idle-nat-flows', { flows: 5, ramp: '1s', idle: { dist: 'constant', value: 2 }, clients: { count: 5, within: '10.3.0.0/24' }, server: '192.0.2.30' },
    { flows: 5, ramp: '1s', idle: { dist: 'constant', value: 2 }, clients: { count: 5, within: '2001:db8:3::/64' }, server: '2001:db8::30' }],
  ['icmp', { clients: { count: 5, within: '10.4.0.0/24' }, server: '192.0.2.40' },
    { clients: { count: 5, within: '2001:db8:4::/64' }, server: '2001:db8::40' }],
  ['syn-flood', { sources: { count: 50, within: '10.5.0.0/16' }, target: '192.0.2.50' },
    { sources: { count: 50, within: '2001:db8:bad::/48' }, target: '2001:db8::50' }],
  ['port-scan', { source: '10.6.0.1', target: '192.0.2.60', ports: '1-40', open: 22 },
    { source: '2001:db8:66::1', target: '2001:db8::60', ports: '1-40', open: 22 }],
];

for (const [kind, v4, v6] of CASES) {
  test(`${kind}: every IPv6 packet is 20 bytes longer than the same IPv4 packet (40- vs 20-byte header)`, (t) => {
    const base = kind === 'idle-nat-flows' ? {} : ten; // opens a fixed number of flows, no rate
    const a = lengths(kind, { ...base, ...v4 });
    const b = lengths(kind, { ...base, ...v6 });
    t.true(a.lens.length > 10, `${a.lens.length} packets`);
    t.is(b.lens.length, a.lens.length, 'the same packets');
    t.true(a.l3s.every((x) => x === 4));
    t.true(b.l3s.every((x) => x === 6));
    for (let i = 0; i < a.lens.length; i++) t.is(b.lens[i]! - a.lens[i]!, 20, `packet ${i}`);
    const sum = (l: number[]) => l.reduce((s, x) => s + x, 0);
    t.is(sum(b.lens) - sum(a.lens), 20 * a.lens.length);
  });
}

test('absolute sizes: a TCP SYN with the clients\' options (32-byte TCP header) is 52 bytes on IPv4, 72 on IPv6; an echo request with 56 data bytes 84 / 104', (t) => {
  // 20 or 40 (IP header) + 32 (TCP header with timestamps); 20 or 40 + 8 (ICMP) + 56 (data)
  t.is(lengths('tcp-clients', { ...ten, clients: '10.1.0.0/24', server: '192.0.2.10' }).lens[0], 20 + 32);
  t.is(lengths('tcp-clients', { ...ten, clients: '2001:db8:1::/64', server: '2001:db8::10' }).lens[0], 40 + 32);
  t.is(lengths('icmp', { ...ten, clients: '10.4.0.0/24', server: '192.0.2.40' }).lens[0], 20 + 8 + 56);
  t.is(lengths('icmp', { ...ten, clients: '2001:db8:4::/64', server: '2001:db8::40' }).lens[0], 40 + 8 + 56);
});

test('an ICMPv6 error carries an IPv6 header of its own and one in the embedded packet: 40 bytes more than the ICMP error', (t) => {
  for (const mode of ['unreachable', 'time-exceeded']) {
    const a = lengths('icmp', { ...ten, mode, clients: { count: 5, within: '10.4.0.0/24' }, server: '192.0.2.40', router: '192.0.2.254' });
    const b = lengths('icmp', { ...ten, mode, clients: { count: 5, within: '2001:db8:4::/64' }, server: '2001:db8::40', router: '2001:db8:ffff::1' });
    t.is(b.lens.length, a.lens.length);
    // requests (UDP probes, 60 bytes on IPv4) alternate with the errors (56 bytes: 20 + 8 + the probe's 20 + 8)
    const diffs = new Set(a.lens.map((x, i) => `${x}:${b.lens[i]! - x}`));
    t.deepEqual([...diffs].sort(), ['56:40', '60:20'], mode);
  }
});
