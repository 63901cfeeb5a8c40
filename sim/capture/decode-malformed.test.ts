import test from 'ava';
import { AddrInterner } from '../conntrack/addr.js';
import { TH_ACK } from '../conntrack/constants.js';
import { Malformed, Pkt } from '../conntrack/packet.js';
import { DECODE_IP, decodeFrame } from './decode.js';
import { encodeFrame, encodePacket, PacketSpec } from './encode.js';

/** Decode a raw IP packet (link type 101). */
function raw(data: Uint8Array, verify = false): Pkt {
  const p = new Pkt();
  const code = decodeFrame(101, data, p, new AddrInterner(), { verifyChecksums: verify });
  if (code !== DECODE_IP) throw new Error(`expected DECODE_IP, got ${code}`);
  return p;
}
/** Encode, then let `patch` edit the bytes. */
function mk(spec: PacketSpec, patch: (b: Uint8Array) => void = () => {}): Uint8Array {
  const b = encodePacket(spec);
  patch(b);
  return b;
}
const tcp4: PacketSpec = { src: '10.0.0.1', dst: '10.0.0.2', sport: 1000, dport: 80, tcp: { flags: TH_ACK, seq: 5, ack: 6 }, payloadLen: 10 };
const udp4: PacketSpec = { src: '10.0.0.1', dst: '10.0.0.2', sport: 1000, dport: 53, udp: {}, payloadLen: 10 };

test('TruncatedL3: short IPv4 header, bad IHL, bad version, total length < IHL', (t) => {
  t.like(raw(mk(tcp4).subarray(0, 19)), { l3: 4, malformed: Malformed.TruncatedL3 });
  t.like(raw(mk(tcp4, (b) => { b[0] = 0x44; })), { malformed: Malformed.TruncatedL3 });
  t.like(raw(mk(tcp4, (b) => { b[0] = 0x4f; }).subarray(0, 40)), { malformed: Malformed.TruncatedL3 }); // IHL 60 > frame
  t.like(raw(mk(tcp4, (b) => { b[3] = 19; })), { malformed: Malformed.TruncatedL3 });
  const p = new Pkt();
  decodeFrame(228, mk(tcp4, (b) => { b[0] = 0x55; }), p, new AddrInterner());
  t.is(p.malformed, Malformed.TruncatedL3);
  t.like(raw(mk({ src: '::1', dst: '::2', udp: {} }).subarray(0, 30)), { l3: 6, malformed: Malformed.TruncatedL3 });
});

test('TruncatedL4: TCP < 20, UDP < 8, ICMP < 8 (by IP length or by captured bytes)', (t) => {
  t.like(raw(mk(tcp4, (b) => { b[3] = 39; }).subarray(0, 39)), { proto: 6, malformed: Malformed.TruncatedL4 });
  t.like(raw(mk(tcp4).subarray(0, 35)), { proto: 6, malformed: Malformed.TruncatedL4 });
  t.like(raw(mk(udp4, (b) => { b[3] = 27; }).subarray(0, 27)), { proto: 17, malformed: Malformed.TruncatedL4 });
  t.like(raw(mk({ src: '1.1.1.1', dst: '2.2.2.2', icmp: { type: 8 } }, (b) => { b[3] = 24; }).subarray(0, 24)), { proto: 1, malformed: Malformed.TruncatedL4 });
  t.like(raw(mk({ src: '::1', dst: '::2', icmp: { type: 128 } }, (b) => { b[5] = 4; }).subarray(0, 44)), { proto: 58, malformed: Malformed.TruncatedL4 });
});

test('BadTcpHeader: data offset < 5 or beyond the segment', (t) => {
  t.like(raw(mk({ ...tcp4, tcp: { dataOffset: 4 } })), { malformed: Malformed.BadTcpHeader, sport: 1000 });
  t.like(raw(mk({ ...tcp4, tcp: { dataOffset: 8 }, payloadLen: 11 })), { malformed: Malformed.BadTcpHeader });
  t.like(raw(mk({ ...tcp4, tcp: { dataOffset: 8 }, payloadLen: 12 })), { malformed: 0, dataLen: 0 });
  t.like(raw(mk({ ...tcp4, src: '::1', dst: '::2', tcp: { dataOffset: 15 } })), { l3: 6, malformed: Malformed.BadTcpHeader });
});

test('BadUdpLength: length field > payload or < 8; shorter than payload is fine', (t) => {
  t.like(raw(mk({ ...udp4, udp: { length: 19 } })), { malformed: Malformed.BadUdpLength, sport: 1000, dport: 53 });
  t.like(raw(mk({ ...udp4, udp: { length: 7 } })), { malformed: Malformed.BadUdpLength });
  t.like(raw(mk({ ...udp4, udp: { length: 12 } })), { malformed: 0 });
  t.like(raw(mk({ ...udp4, src: '::1', dst: '::2', udp: { length: 100 } })), { malformed: Malformed.BadUdpLength });
});

test('BadChecksum only when verifying a complete frame; zero UDP checksum means none', (t) => {
  const specs: PacketSpec[] = [tcp4, udp4, { ...tcp4, src: '2001:db8::1', dst: '2001:db8::2' }, { ...udp4, src: '::1', dst: '::2' },
    { src: '1.1.1.1', dst: '2.2.2.2', icmp: { type: 8, id: 1 }, payloadLen: 33 }, { src: '::1', dst: '::2', icmp: { type: 128, id: 1 }, payloadLen: 33 }];
  for (const s of specs) {
    t.is(raw(mk(s), true).malformed, 0, JSON.stringify(s));
    t.is(raw(mk({ ...s, badChecksum: true }), true).malformed, Malformed.BadChecksum, JSON.stringify(s));
    t.is(raw(mk({ ...s, badChecksum: true }), false).malformed, 0);
    const b = mk({ ...s, badChecksum: true });
    t.is(raw(b.subarray(0, b.length - 1), true).malformed, 0, 'incomplete frame: not checked');
  }
  t.is(raw(mk({ ...udp4, payloadLen: 11 }), true).malformed, 0); // odd length
  t.is(raw(mk(udp4, (b) => { b[26] = 0; b[27] = 0; }), true).malformed, 0);
  t.is(raw(mk({ ...udp4, src: '::1', dst: '::2' }, (b) => { b[46] = 0; b[47] = 0; }), true).malformed, 0);
  t.is(raw(mk(tcp4, (b) => { b[29] ^= 1; }), true).malformed, Malformed.BadChecksum); // flipped seq bit
  // Ethernet padding must not enter the checksum.
  const padded = encodeFrame({ ...tcp4, payloadLen: 1 });
  t.is(padded.length, 60);
  const p = new Pkt();
  decodeFrame(1, padded, p, new AddrInterner(), { verifyChecksums: true });
  t.like(p, { malformed: 0, len: 41, dataLen: 1 });
});

test('snaplen-cut frames keep header lengths; total length 0 means the rest of the frame', (t) => {
  const full = mk({ ...tcp4, payloadLen: 1000 });
  t.like(raw(full.subarray(0, 40), true), { malformed: 0, len: 1040, dataLen: 1000, sport: 1000, seq: 5, ack: 6 });
  const tso = mk({ ...tcp4, payloadLen: 3000 }, (b) => { b[2] = 0; b[3] = 0; });
  t.like(raw(tso), { malformed: 0, len: 3040, dataLen: 3000 });
  const u = mk({ ...udp4, src: '::1', dst: '::2', payloadLen: 500 });
  t.like(raw(u.subarray(0, 48), true), { l3: 6, malformed: 0, len: 548, sport: 1000 });
});
