import test from 'ava';
import { AddrInterner, parseIPv4, parseIPv6 } from '../conntrack/addr.js';
import { TH_ACK, TH_SYN } from '../conntrack/constants.js';
import { Malformed, Pkt } from '../conntrack/packet.js';
import { DECODE_FRAGMENT, DECODE_IP, DECODE_NON_IP, DECODE_TRUNCATED_LINK, decodeFrame } from './decode.js';
import { encodeArpRequest, encodeFrame, encodeNonIpFrame, encodePacket, FrameSpec, linkTypeOf } from './encode.js';

const ip = parseIPv4;
function dec(spec: FrameSpec, verify = false, interner = new AddrInterner()): { code: number; p: Pkt } {
  const p = new Pkt();
  const code = decodeFrame(linkTypeOf(spec.link), encodeFrame(spec), p, interner, { verifyChecksums: verify });
  return { code, p };
}
const raw = (data: Uint8Array, verify = false, lt = 101): { code: number; p: Pkt } => {
  const p = new Pkt();
  return { code: decodeFrame(lt, data, p, new AddrInterner(), { verifyChecksums: verify }), p };
};

test('Ethernet IPv4 TCP SYN with options: every field', (t) => {
  const { code, p } = dec({
    src: '10.0.0.1', dst: '192.168.1.2', sport: 40000, dport: 443, payloadLen: 7,
    tcp: { flags: TH_SYN | TH_ACK, seq: 0xfffffff0, ack: 0x80000001, win: 29200, mss: 1460, sackPerm: true, wscale: 7 },
  }, true);
  t.is(code, DECODE_IP);
  t.like(p, {
    l3: 4, proto: 6, src: ip('10.0.0.1'), dst: ip('192.168.1.2'), sport: 40000, dport: 443,
    len: 20 + 32 + 7, malformed: 0, tcpFlags: 0x12, seq: 0xfffffff0, ack: 0x80000001, win: 29200,
    dataLen: 7, optWscale: 7, optSackPerm: true, sackMax: -1, innerValid: false,
  });
});

test('TCP options: wscale clamp, SACK highest right edge with wrap, NOP/EOL and bad lengths', (t) => {
  t.is(dec({ src: '1.1.1.1', dst: '2.2.2.2', tcp: { wscale: 20 } }).p.optWscale, 14);
  const s = dec({ src: '1.1.1.1', dst: '2.2.2.2', tcp: { flags: TH_ACK, sack: [[0xfffffff0, 0xfffffffa], [0xfffffffa, 0x10], [5, 8]] } }).p;
  t.is(s.sackMax, 0x10);
  t.is(s.optWscale, -1);
  const opts = (rawOptions: number[]): Pkt => dec({ src: '1.1.1.1', dst: '2.2.2.2', tcp: { rawOptions } }).p;
  t.like(opts([1, 1, 3, 3, 5, 4, 2]), { optWscale: 5, optSackPerm: true });
  t.like(opts([1, 8, 1, 3, 3, 7]), { optWscale: -1, malformed: 0 }); // silly length 1 stops parsing
  t.like(opts([0, 3, 3, 7]), { optWscale: -1 }); // EOL
  t.like(opts([3, 3, 7, 5, 40]), { optWscale: 7, sackMax: -1 }); // partial SACK ignored
  t.like(opts([3, 4, 7, 0]), { optWscale: -1 }); // wrong wscale length
  t.like(opts([5, 9, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0]), { sackMax: -1 }); // SACK size not 2 + 8n
  t.like(opts([2, 4, 5, 0xb4, 4, 2]), { optSackPerm: true }); // MSS skipped
});

test('Ethernet padding is ignored (IP total length wins)', (t) => {
  const f = encodeFrame({ src: '10.0.0.1', dst: '10.0.0.2', udp: {}, sport: 53, dport: 5353 });
  t.is(f.length, 60);
  const p = new Pkt();
  t.is(decodeFrame(1, f, p, new AddrInterner(), { verifyChecksums: true }), DECODE_IP);
  t.like(p, { proto: 17, len: 28, sport: 53, dport: 5353, malformed: 0 });
});

test('link types: VLAN, QinQ, SLL, SLL2, NULL (both orders), LOOP, raw variants', (t) => {
  const base = { src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, udp: {} };
  const v6 = { src: '2001:db8::1', dst: '2001:db8::2', sport: 1, dport: 2, udp: {} };
  for (const spec of [
    { ...base, vlan: [10] }, { ...base, vlan: [100, 200] }, { ...base, vlan: [1, 2, 3] },
    { ...base, link: 'sll' as const }, { ...base, link: 'sll2' as const }, { ...base, link: 'null' as const },
    { ...base, link: 'raw' as const }, { ...v6, link: 'sll2' as const }, { ...v6, link: 'null' as const }, { ...v6, vlan: [7] },
  ]) {
    const { code, p } = dec(spec, true);
    t.is(code, DECODE_IP, JSON.stringify(spec));
    t.like(p, { l3: spec.src.includes(':') ? 6 : 4, proto: 17, sport: 1, dport: 2, malformed: 0 }, JSON.stringify(spec));
  }
  const pkt4 = encodePacket(base), pkt6 = encodePacket(v6);
  const withHdr = (h: number[], b: Uint8Array): Uint8Array => Uint8Array.from([...h, ...b]);
  t.is(raw(withHdr([0, 0, 0, 2], pkt4), false, 0).p.sport, 1); // NULL, big-endian family
  for (const fam of [10, 24, 28, 30]) t.is(raw(withHdr([fam, 0, 0, 0], pkt6), false, 0).p.l3, 6);
  t.is(raw(withHdr([0, 0, 0, 2], pkt4), false, 108).code, DECODE_IP);
  t.is(raw(withHdr([0, 0, 0, 7], pkt4), false, 0).code, DECODE_NON_IP);
  for (const lt of [12, 14, 101]) { t.is(raw(pkt4, false, lt).p.l3, 4); t.is(raw(pkt6, false, lt).p.l3, 6); }
  t.like(raw(pkt4, true, 228).p, { l3: 4, sport: 1, malformed: 0 });
  t.like(raw(pkt6, true, 229).p, { l3: 6, sport: 1, malformed: 0 });
  t.is(raw(pkt6, false, 228).p.malformed, Malformed.TruncatedL3); // IPv4 link type, IPv6 packet
});

test('non-IP and truncated link headers; unsupported link type throws', (t) => {
  const p = new Pkt();
  const ai = new AddrInterner();
  dec({ src: '1.1.1.1', dst: '2.2.2.2', tcp: { wscale: 3 } });
  t.is(decodeFrame(1, encodeArpRequest('10.0.0.1', '10.0.0.2'), p, ai), DECODE_NON_IP);
  t.is(p.optWscale, -1); // reset
  t.is(decodeFrame(1, encodeNonIpFrame(0x88cc, new Uint8Array(30)), p, ai), DECODE_NON_IP);
  t.is(decodeFrame(1, encodeNonIpFrame(0x88cc, new Uint8Array(30), { vlan: [5] }), p, ai), DECODE_NON_IP);
  t.is(decodeFrame(113, encodeNonIpFrame(0x0806, new Uint8Array(28), { link: 'sll' }), p, ai), DECODE_NON_IP);
  const llc = encodeNonIpFrame(0x0026, new Uint8Array(38)); // 802.3 length field
  t.is(decodeFrame(1, llc, p, ai), DECODE_NON_IP);
  t.is(decodeFrame(1, new Uint8Array(10), p, ai), DECODE_TRUNCATED_LINK);
  t.is(decodeFrame(113, new Uint8Array(15), p, ai), DECODE_TRUNCATED_LINK);
  t.is(decodeFrame(276, new Uint8Array(19), p, ai), DECODE_TRUNCATED_LINK);
  t.is(decodeFrame(0, new Uint8Array(3), p, ai), DECODE_TRUNCATED_LINK);
  t.is(decodeFrame(101, new Uint8Array(0), p, ai), DECODE_TRUNCATED_LINK);
  t.is(decodeFrame(101, new Uint8Array(30), p, ai), DECODE_NON_IP); // version nibble 0
  const tagged = encodeFrame({ src: '1.1.1.1', dst: '2.2.2.2', vlan: [3], pad: false });
  t.is(decodeFrame(1, tagged.subarray(0, 16), p, ai), DECODE_TRUNCATED_LINK);
  t.throws(() => decodeFrame(105, new Uint8Array(40), p, ai), { instanceOf: RangeError, message: /IEEE802_11 \(105\)/ });
});

test('IPv6 extension headers, no-next-header, interned addresses', (t) => {
  const ai = new AddrInterner();
  ai.internText('::1');
  const { code, p } = dec({ src: '2001:db8::a', dst: 'fe80::b', ext: [0, 43, 60, 51], sport: 22, dport: 5000, payloadLen: 3, tcp: { flags: TH_ACK } }, true, ai);
  t.is(code, DECODE_IP);
  t.like(p, { l3: 6, proto: 6, src: 2, dst: 3, sport: 22, dport: 5000, dataLen: 3, len: 40 + 8 + 8 + 8 + 16 + 20 + 3, malformed: 0 });
  t.is(ai.format(6, p.src), '2001:db8::a');
  t.like(dec({ src: '::1', dst: '::2', proto: 59, ext: [60] }).p, { proto: 59, sport: 0, dport: 0, malformed: 0 });
  t.like(dec({ src: '::1', dst: '::2', proto: 50, payloadLen: 20 }).p, { proto: 50, sport: 0, dport: 0 });
  const cut = encodePacket({ src: '::1', dst: '::2', ext: [0], lengthField: 4 });
  t.like(raw(cut).p, { l3: 6, proto: 0, malformed: Malformed.TruncatedL3 });
  t.like(raw(encodePacket({ src: '::1', dst: '::2' }).subarray(0, 39)).p, { l3: 6, malformed: Malformed.TruncatedL3 });
});

test('fragments: non-first skipped, first decoded without whole-datagram checks', (t) => {
  const f1 = dec({ src: '10.0.0.1', dst: '10.0.0.2', udp: { length: 3000 }, sport: 9, dport: 10, payloadLen: 1472, frag: { offset: 0, more: true } }, true);
  t.is(f1.code, DECODE_IP);
  t.like(f1.p, { proto: 17, sport: 9, dport: 10, len: 1500, malformed: 0 });
  const f2 = dec({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, payloadLen: 1000, frag: { offset: 1480, more: false } });
  t.is(f2.code, DECODE_FRAGMENT);
  t.like(f2.p, { l3: 4, proto: 17, src: ip('10.0.0.1'), dst: ip('10.0.0.2'), len: 1020, sport: 0 });
  const g1 = dec({ src: '2001:db8::1', dst: '2001:db8::2', ext: [0], udp: { length: 5000 }, sport: 7, dport: 8, payloadLen: 100, frag: { offset: 0, more: true } }, true);
  t.like(g1, { code: DECODE_IP, p: { proto: 17, sport: 7, dport: 8, malformed: 0 } });
  const g2 = dec({ src: '2001:db8::1', dst: '2001:db8::2', proto: 6, payloadLen: 64, frag: { offset: 1448, more: true } });
  t.like(g2, { code: DECODE_FRAGMENT, p: { l3: 6, proto: 6, len: 40 + 8 + 64 } });
  // Last fragment with offset 0 and MF clear is a normal packet (atomic fragment).
  t.like(dec({ src: '2001:db8::1', dst: '2001:db8::2', udp: {}, sport: 1, dport: 2, frag: { offset: 0, more: false } }, true),
    { code: DECODE_IP, p: { sport: 1, malformed: 0 } });
});

test('ICMP: echo ids, type/code, error with inner tuple', (t) => {
  const e = dec({ src: '10.0.0.1', dst: '10.0.0.2', icmp: { type: 8, id: 0x1234, seq: 1 } }, true).p;
  t.like(e, { proto: 1, sport: 0x1234, dport: 8 << 8, malformed: 0, innerValid: false });
  t.like(dec({ src: '1.1.1.1', dst: '2.2.2.2', icmp: { type: 14, id: 77 } }).p, { sport: 77, dport: 14 << 8 });
  t.like(dec({ src: '1.1.1.1', dst: '2.2.2.2', icmp: { type: 9, code: 16, id: 77 } }).p, { sport: 0, dport: (9 << 8) | 16 });
  const inner = { src: '10.0.0.2', dst: '10.0.0.1', sport: 1234, dport: 53, udp: {}, payloadLen: 40 };
  const err = dec({ src: '192.0.2.1', dst: '10.0.0.2', icmp: { type: 3, code: 3, inner } }, true).p;
  t.like(err, {
    proto: 1, sport: 0, dport: (3 << 8) | 3, malformed: 0, len: 20 + 8 + 20 + 8 + 40,
    innerValid: true, innerProto: 17, innerSrc: ip('10.0.0.2'), innerDst: ip('10.0.0.1'), innerSport: 1234, innerDport: 53,
  });
  const cutInner = (n: number): Pkt => dec({ src: '192.0.2.1', dst: '10.0.0.2', icmp: { type: 11, inner: { ...inner, udp: undefined, tcp: {} }, innerMax: n } }, true).p;
  t.like(cutInner(28), { innerValid: true, innerProto: 6, innerSport: 1234, innerDport: 53, malformed: 0 });
  t.like(cutInner(24), { innerValid: true, innerSport: 1234 });
  t.like(cutInner(23), { innerValid: false });
  t.like(cutInner(19), { innerValid: false });
  const echoInner = dec({ src: '192.0.2.1', dst: '10.0.0.2', icmp: { type: 11, inner: { src: '10.0.0.2', dst: '8.8.8.8', icmp: { type: 8, id: 99 } } } }).p;
  t.like(echoInner, { innerValid: true, innerProto: 1, innerSport: 99, innerDport: 8 << 8 });
  const fragInner = dec({ src: '192.0.2.1', dst: '10.0.0.2', icmp: { type: 3, inner: { ...inner, frag: { offset: 8, more: false } } } }).p;
  t.is(fragInner.innerValid, false);
  t.like(dec({ src: '1.1.1.1', dst: '2.2.2.2', icmp: { type: 0, id: 5 }, badChecksum: true }, true).p, { sport: 5, malformed: Malformed.BadChecksum });
});

test('ICMPv6: echo, neighbour discovery, error with inner IPv6 tuple', (t) => {
  const ai = new AddrInterner();
  t.like(dec({ src: '2001:db8::1', dst: '2001:db8::2', icmp: { type: 129, id: 4321 } }, true, ai).p, { proto: 58, sport: 4321, dport: 129 << 8, malformed: 0 });
  t.like(dec({ src: 'fe80::1', dst: 'ff02::1', icmp: { type: 135, id: 4321 } }, true, ai).p, { sport: 0, dport: 135 << 8, innerValid: false });
  t.like(dec({ src: '2001:db8::1', dst: '2001:db8::2', icmp: { type: 139, code: 1, id: 9 } }, true, ai).p, { sport: 9, dport: (139 << 8) | 1 }); // node information query
  const inner = { src: '2001:db8::2', dst: '2001:db8::99', ext: [60], sport: 5000, dport: 443, tcp: { flags: TH_SYN } };
  const p = dec({ src: '2001:db8::fe', dst: '2001:db8::2', icmp: { type: 1, code: 4, inner } }, true, ai).p;
  t.like(p, { proto: 58, dport: (1 << 8) | 4, malformed: 0, innerValid: true, innerProto: 6, innerSport: 5000, innerDport: 443 });
  t.is(p.innerSrc, ai.find(parseIPv6('2001:db8::2')));
  t.is(p.innerDst, ai.find(parseIPv6('2001:db8::99')));
  t.not(p.innerDst, 0);
  t.like(dec({ src: '::1', dst: '::2', icmp: { type: 128, id: 1 }, badChecksum: true }, true).p, { malformed: Malformed.BadChecksum });
  t.like(dec({ src: '::1', dst: '::2', icmp: { type: 3, inner }, payloadLen: 0, badChecksum: true }, false).p, { malformed: 0, innerValid: true });
});

test('GRE, UDP-Lite and other protocols', (t) => {
  t.like(dec({ src: '1.1.1.1', dst: '2.2.2.2', gre: { version: 1, callId: 0xbeef }, payloadLen: 10 }).p, { proto: 47, sport: 0, dport: 0xbeef });
  t.like(dec({ src: '1.1.1.1', dst: '2.2.2.2', gre: { version: 0 }, payloadLen: 10 }).p, { proto: 47, sport: 0, dport: 0, malformed: 0 });
  t.like(dec({ src: '1.1.1.1', dst: '2.2.2.2', proto: 132, payloadLen: 12 }).p, { proto: 132, sport: 1, dport: 515 }); // payload bytes 0,1,2,3 are the ports
  t.like(dec({ src: '1.1.1.1', dst: '2.2.2.2', proto: 112, payloadLen: 20 }).p, { proto: 112, sport: 0, dport: 0, malformed: 0 });
  const lite = { src: '10.0.0.1', dst: '10.0.0.2', proto: 136, sport: 100, dport: 200, payloadLen: 50 };
  t.like(dec(lite, true).p, { proto: 136, sport: 100, dport: 200, malformed: 0 });
  t.like(dec({ ...lite, udp: { length: 20 } }, true).p, { malformed: 0 });
  t.like(dec({ ...lite, udp: { length: 4 } }).p, { malformed: Malformed.BadUdpLength });
  t.like(dec({ ...lite, udp: { length: 59 } }).p, { malformed: Malformed.BadUdpLength });
  t.like(dec({ ...lite, badChecksum: true }, true).p, { malformed: Malformed.BadChecksum });
  const zero = encodePacket(lite);
  zero[26] = 0; zero[27] = 0;
  t.like(raw(zero).p, { malformed: Malformed.BadChecksum }); // UDP-Lite requires a checksum
});
