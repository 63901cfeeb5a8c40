import test from 'ava';
import { AddrInterner, parseIPv4 } from '../conntrack/addr.js';
import { TH_ACK, TH_FIN, TH_PSH, TH_SYN } from '../conntrack/constants.js';
import { Pkt } from '../conntrack/packet.js';
import { DECODE_FRAGMENT, DECODE_IP, DECODE_NON_IP, decodeFrame } from './decode.js';
import { encodeArpRequest, encodeFrame, encodeNonIpFrame, FrameSpec, linkTypeOf } from './encode.js';
import { readCapture } from './pcap-read.js';
import { writePcap, writePcapng } from './pcap-write.js';

/** What each frame must decode to (a subset of Pkt fields, addresses as text). */
interface Case { spec?: FrameSpec; arp?: true; code: number; want: Partial<Record<keyof Pkt, unknown>> }
const T0 = 1_717_171_717_000_000;
const cases: Case[] = [
  { spec: { src: '10.0.0.1', dst: '10.0.0.2', sport: 33000, dport: 80, tcp: { flags: TH_SYN, seq: 4000000000, mss: 1460, sackPerm: true, wscale: 9 } },
    code: DECODE_IP, want: { l3: 4, proto: 6, sport: 33000, dport: 80, tcpFlags: TH_SYN, seq: 4000000000, ack: 0, optWscale: 9, optSackPerm: true, len: 52 } },
  { spec: { src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 33000, vlan: [42], payloadLen: 100,
    tcp: { flags: TH_ACK | TH_PSH, seq: 1, ack: 4000000001, win: 501, sack: [[10, 20]] } },
    code: DECODE_IP, want: { proto: 6, tcpFlags: TH_ACK | TH_PSH, ack: 4000000001, win: 501, dataLen: 100, sackMax: 20, len: 20 + 32 + 100 } },
  { spec: { src: '2001:db8::1', dst: '2001:db8::2', sport: 5000, dport: 53, udp: {}, payloadLen: 30, ext: [0, 60] },
    code: DECODE_IP, want: { l3: 6, proto: 17, sport: 5000, dport: 53, len: 40 + 16 + 38 } },
  { spec: { src: '192.0.2.1', dst: '10.0.0.1', icmp: { type: 3, code: 1, inner: { src: '10.0.0.1', dst: '198.51.100.7', sport: 40000, dport: 443, tcp: { flags: TH_SYN } }, innerMax: 28 } },
    code: DECODE_IP, want: { proto: 1, dport: (3 << 8) | 1, innerValid: true, innerProto: 6, innerSrc: parseIPv4('10.0.0.1'), innerDst: parseIPv4('198.51.100.7'), innerSport: 40000, innerDport: 443 } },
  { spec: { src: '10.0.0.9', dst: '10.0.0.1', icmp: { type: 8, id: 777, seq: 3 }, payloadLen: 56, vlan: [1, 2] },
    code: DECODE_IP, want: { proto: 1, sport: 777, dport: 8 << 8, len: 84 } },
  { arp: true, code: DECODE_NON_IP, want: {} },
  { spec: { src: '10.0.0.1', dst: '10.0.0.2', proto: 17, payloadLen: 200, frag: { offset: 1480, more: false } },
    code: DECODE_FRAGMENT, want: { proto: 17, len: 220 } },
  { spec: { src: '2001:db8::2', dst: '2001:db8::1', sport: 80, dport: 1234, tcp: { flags: TH_FIN | TH_ACK, seq: 9, ack: 10 } },
    code: DECODE_IP, want: { l3: 6, tcpFlags: TH_FIN | TH_ACK, seq: 9, ack: 10, dataLen: 0, len: 60 } },
];

function check(t: import('ava').ExecutionContext, frames: { linkType: number; data: Uint8Array; tsUs: number; index: number }[], label: string): void {
  const ai = new AddrInterner(), p = new Pkt();
  t.is(frames.length, cases.length, label);
  frames.forEach((f, i) => {
    const c = cases[i];
    t.is(f.index, i, label);
    t.is(f.tsUs, T0 + i * 1001 + (i % 3), label);
    t.is(decodeFrame(f.linkType, f.data, p, ai, { verifyChecksums: true }), c.code, `${label} #${i}`);
    t.like(p, { ...c.want, malformed: 0 } as Partial<Pkt>, `${label} #${i}`);
    if (c.spec && c.code === DECODE_IP) {
      t.is(ai.format(p.l3, p.src), c.spec.src, `${label} #${i} src`);
      t.is(ai.format(p.l3, p.dst), c.spec.dst, `${label} #${i} dst`);
    }
  });
}

/** A non-IP frame for each link kind: ARP where there is an EtherType, else a non-IP family/version. */
function nonIp(link: FrameSpec['link']): Uint8Array {
  if (link === 'ethernet') return encodeArpRequest('10.0.0.1', '10.0.0.2');
  if (link === 'raw') return new Uint8Array([0x00, 0x01, 0x02]);
  if (link === 'null') return new Uint8Array([7, 0, 0, 0, 1, 2, 3, 4]);
  return encodeNonIpFrame(0x0806, encodeArpRequest('10.0.0.1', '10.0.0.2').subarray(14, 42), { link });
}

function encodeAll(link: FrameSpec['link']): { tsUs: number; data: Uint8Array }[] {
  return cases.map((c, i) => ({
    tsUs: T0 + i * 1001 + (i % 3),
    data: c.arp ? nonIp(link) : encodeFrame({ ...c.spec!, link, vlan: link === 'ethernet' ? c.spec!.vlan : undefined }),
  }));
}
const read = (buf: Uint8Array, name: string) => {
  const out = [];
  for (const f of readCapture(buf, name)) out.push({ linkType: f.linkType, data: f.data.slice(), tsUs: f.tsUs, index: f.index });
  return out;
};

test('encode → pcap (µs/ns, both byte orders) → read → decode', (t) => {
  const frames = encodeAll('ethernet');
  for (const nanos of [false, true]) for (const bigEndian of [false, true]) {
    check(t, read(writePcap(frames, 1, { nanos, bigEndian }), 'rt.pcap'), `pcap ns=${nanos} be=${bigEndian}`);
  }
});

test('encode → pcapng (µs/ns/2^-30, both byte orders) → read → decode', (t) => {
  const frames = encodeAll('ethernet');
  for (const bigEndian of [false, true]) {
    check(t, read(writePcapng(frames, 1, { bigEndian }), 'rt.pcapng'), `pcapng µs be=${bigEndian}`);
    check(t, read(writePcapng(frames, 1, { bigEndian, nanos: true }), 'rt.pcapng'), `pcapng ns be=${bigEndian}`);
  }
  // 2^-30 s units are finer than 1 µs, but floor(floor(t·2^30/10^6)·10^6/2^30) can be t − 1: check exactness separately.
  const got = read(writePcapng(frames, [{ linkType: 1, tsresol: 0x80 | 30 }]), 'p2.pcapng');
  got.forEach((f, i) => t.true(f.tsUs === frames[i].tsUs || f.tsUs === frames[i].tsUs - 1));
});

test('each link type round-trips through pcapng with one interface per link type', (t) => {
  const links = ['ethernet', 'raw', 'null', 'sll', 'sll2'] as const;
  const perLink = links.map(encodeAll);
  // Interleave: frame i goes to interface i % links.length.
  const frames = cases.map((_, i) => ({ ...perLink[i % links.length][i], interfaceId: i % links.length }));
  const buf = writePcapng(frames, links.map((l, k) => ({ linkType: linkTypeOf(l), tsresol: k % 2 === 0 ? 6 : 9 })));
  const got = read(buf, 'multi.pcapng');
  got.forEach((f, i) => t.is(f.linkType, linkTypeOf(links[i % links.length])));
  check(t, got, 'multi');
});

test('writers are deterministic', (t) => {
  const frames = encodeAll('ethernet');
  t.deepEqual(writePcapng(frames, 1, { nanos: true }), writePcapng(encodeAll('ethernet'), 1, { nanos: true }));
  t.deepEqual(writePcap(frames, 1), writePcap(encodeAll('ethernet'), 1));
  t.is(writePcap(frames, 1).length, 24 + frames.reduce((n, f) => n + 16 + f.data.length, 0));
});
