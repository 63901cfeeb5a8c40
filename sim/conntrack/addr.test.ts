import test from 'ava';
import { AddrInterner, formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './addr.js';

test('parseIPv4 / formatIPv4 use the wire value bits as int32', (t) => {
  t.is(parseIPv4('10.0.0.1'), 0x0a000001);
  t.is(parseIPv4('192.168.1.254'), (0xc0a801fe | 0));
  t.is(parseIPv4('255.255.255.255'), -1);
  t.is(parseIPv4('0.0.0.0'), 0);
  t.is(formatIPv4(-1), '255.255.255.255');
  t.is(formatIPv4(0xc0a801fe), '192.168.1.254');
  t.is(formatIPv4(parseIPv4('172.16.5.4')), '172.16.5.4');
  for (const bad of ['1.2.3', '256.1.1.1', '1.2.3.4.5', 'a.b.c.d', '1..2.3', ' 1.2.3.4', '1.2.3.-4']) {
    t.throws(() => parseIPv4(bad), { message: /invalid IPv4/ }, bad);
  }
});

test('formatIPv6 follows RFC 5952', (t) => {
  const f = (s: string): string => formatIPv6(parseIPv6(s));
  t.is(f('2001:0db8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  t.is(f('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1'); // tie: first run
  t.is(f('2001:0:0:1:0:0:0:1'), '2001:0:0:1::1'); // longest run
  t.is(f('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1'); // single zero group not compressed
  t.is(f('::'), '::');
  t.is(f('::1'), '::1');
  t.is(f('1::'), '1::');
  t.is(f('2001:DB8::A'), '2001:db8::a');
  t.is(f('fe80::1:0:0:0'), 'fe80::1:0:0:0');
  t.is(f('::ffff:192.0.2.1'), '::ffff:192.0.2.1');
  t.is(f('::ffff:c000:0201'), '::ffff:192.0.2.1');
  t.is(f('64:ff9b::192.0.2.33'), '64:ff9b::c000:221');
});

test('parseIPv6 rejects bad text', (t) => {
  for (const bad of ['1:2:3:4:5:6:7', '1::2::3', '12345::', 'g::1', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', '::1:2:3:4:5:6:7:8']) {
    t.throws(() => parseIPv6(bad), { message: /invalid IPv6/ }, bad);
  }
  t.deepEqual([...parseIPv6('1:2:3:4:5:6:7:8')], [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
  t.deepEqual([...parseIPv6('::1.2.3.4')], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
});

test('AddrInterner assigns ids from 1 in order of first appearance', (t) => {
  const a = new AddrInterner();
  t.is(a.size, 0);
  t.is(a.find(parseIPv6('2001:db8::1')), 0);
  t.is(a.internText('2001:db8::1'), 1);
  t.is(a.internText('2001:db8::2'), 2);
  t.is(a.internText('2001:db8::1'), 1);
  const buf = new Uint8Array(20);
  buf.set(parseIPv6('2001:db8::2'), 3);
  t.is(a.intern(buf, 3), 2);
  t.is(a.find(buf, 3), 2);
  t.is(a.size, 2);
  t.is(a.format(6, 1), '2001:db8::1');
  t.is(a.format(4, parseIPv4('10.1.2.3')), '10.1.2.3');
  t.deepEqual([...a.bytesOf(2)], [...parseIPv6('2001:db8::2')]);
  t.throws(() => a.bytesOf(3), { instanceOf: RangeError });
  t.throws(() => a.bytesOf(0), { instanceOf: RangeError });
  t.throws(() => a.format(5, 1), { instanceOf: RangeError });
});

test('AddrInterner grows and stays deterministic across instances', (t) => {
  const a = new AddrInterner(), b = new AddrInterner();
  const addr = (i: number): string => `2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::${i % 7}`;
  for (let i = 0; i < 5000; i++) t.is(a.internText(addr(i)), i + 1);
  for (let i = 0; i < 5000; i++) t.is(b.internText(addr(i)), i + 1);
  t.is(a.size, 5000);
  for (let i = 0; i < 5000; i += 97) {
    t.is(a.internText(addr(i)), i + 1);
    t.is(a.format(6, i + 1), formatIPv6(parseIPv6(addr(i))));
  }
  t.is(a.internText('::'), 5001); // all-zero address is a normal address, not "empty"
  t.is(a.find(new Uint8Array(16)), 5001);
});
