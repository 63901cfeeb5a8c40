/**
 * L4 checksums as captures hold them (docs/model.md §4.3, §5): correct, offloaded ("partial":
 * the field holds only the folded pseudo-header sum, as a Linux host leaves it for the NIC —
 * `tcp_v4_send_check()`, `udp4_hwcsum()`), wrong, and a zero UDP checksum (IPv4: "none").
 * Expected partial values are worked out by hand from the pseudo-header words.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddrInterner } from '../conntrack/addr.js';
import { Malformed, Pkt } from '../conntrack/packet.js';
import { replayCapture } from '../replay/replay.js';
import { packageRoot } from '../io/scenario-files.js';
import { decodeFrame, DECODE_IP } from './decode.js';
import { encodeFrame, linkTypeOf, type PacketSpec } from './encode.js';
import { writePcap } from './pcap-write.js';

const RAW = linkTypeOf('raw');

function decode(bytes: Uint8Array, verify = true): Pkt {
  const pkt = new Pkt();
  t0(decodeFrame(RAW, bytes, pkt, new AddrInterner(), { verifyChecksums: verify }));
  return pkt;
}
function t0(kind: number): void {
  if (kind !== DECODE_IP) throw new Error(`decodeFrame returned ${kind}`);
}
/** The packet, raw IP, with its L4 checksum field set to `field` (undefined: keep the correct one). */
function packet(spec: PacketSpec, field?: number): Uint8Array {
  const b = encodeFrame({ ...spec, link: 'raw' });
  if (field !== undefined) {
    const l4 = spec.src.includes(':') ? 40 : 20;
    const at = l4 + (spec.udp ? 6 : 16);
    b[at] = field >>> 8; b[at + 1] = field & 255;
  }
  return b;
}

const UDP4: PacketSpec = { src: '10.0.0.1', dst: '10.0.0.2', sport: 1000, dport: 53, udp: {} };
// 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + proto 0x0011 + UDP length 0x0008
const UDP4_PARTIAL = 0x141c;
const TCP4: PacketSpec = { src: '10.0.0.1', dst: '10.0.0.2', sport: 1000, dport: 80, tcp: { flags: 0x02 } } // SYN;
// 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + proto 0x0006 + TCP length 0x0014 (20-byte header)
const TCP4_PARTIAL = 0x141d;
const UDP6: PacketSpec = { src: '2001:db8::1', dst: '2001:db8::2', sport: 1000, dport: 53, udp: {} };
// 0x2001 + 0x0db8 + 0x0001, twice, + proto 0x0011 + length 0x0008
const UDP6_PARTIAL = 2 * (0x2001 + 0x0db8) + 0x0001 + 0x0002 + 0x11 + 0x08;

test('correct checksums: neither malformed nor partial', (t) => {
  for (const s of [UDP4, TCP4, UDP6]) {
    const p = decode(packet(s));
    t.is(p.malformed, Malformed.None, s.src);
    t.false(p.csumPartial);
  }
});

test('offloaded (partial) TCP/UDP checksums over IPv4 and IPv6: unverifiable, not malformed', (t) => {
  for (const [s, field] of [[UDP4, UDP4_PARTIAL], [TCP4, TCP4_PARTIAL], [UDP6, UDP6_PARTIAL]] as const) {
    const p = decode(packet(s, field));
    t.is(p.malformed, Malformed.None, `${s.src} ${field.toString(16)}`);
    t.true(p.csumPartial);
  }
});

test('wrong checksums (the partial value ± 1, or anything else) are bad', (t) => {
  for (const [s, field] of [[UDP4, UDP4_PARTIAL + 1], [TCP4, TCP4_PARTIAL - 1], [UDP6, 0x1234], [TCP4, 0xffff]] as const) {
    const p = decode(packet(s, field));
    t.is(p.malformed, Malformed.BadChecksum, `${s.src} ${field.toString(16)}`);
    t.false(p.csumPartial);
  }
});

test('a zero UDP checksum over IPv4 means "none": accepted without verification', (t) => {
  const p = decode(packet(UDP4, 0));
  t.is(p.malformed, Malformed.None);
  t.false(p.csumPartial);
});

test('nf_conntrack_checksum=0: nothing is verified, nothing is flagged', (t) => {
  for (const field of [UDP4_PARTIAL, UDP4_PARTIAL + 1]) {
    const p = decode(packet(UDP4, field), false);
    t.is(p.malformed, Malformed.None);
    t.false(p.csumPartial);
  }
});

test('replay: partial checksums are counted apart and change nothing; wrong ones are malformed and named', (t) => {
  const frames = [
    { tsUs: 1_700_000_000_000_000, data: packet(UDP4, UDP4_PARTIAL) },
    { tsUs: 1_700_000_000_001_000, data: packet({ ...UDP4, src: UDP4.dst, dst: UDP4.src, sport: 53, dport: 1000 }) },
    { tsUs: 1_700_000_000_002_000, data: packet(TCP4, TCP4_PARTIAL) },
    { tsUs: 1_700_000_000_003_000, data: packet({ ...TCP4, sport: 1001 }, TCP4_PARTIAL + 7) },
  ];
  const cap = writePcap(frames, RAW);
  const on = replayCapture(cap, 'mixed.pcap');
  t.is(on.checksumPartial, 2);
  t.is(on.malformed, 1);
  t.deepEqual(on.malformedReasons, { bad_checksum: 1 });
  t.deepEqual(on.malformedFrames, [4]);
  t.is(on.stats.invalid, 1);
  t.deepEqual(on.states, { 'tcp SYN_SENT UNREPLIED': 1, 'udp -': 1 });
  t.is(on.warnings.length, 1, '1 of 4 packets malformed: above the 10% share');
  t.regex(on.warnings[0]!, /^1 of 4 IP packets \(25%\) are malformed \(bad_checksum 1\); first at frame 4\..*nf_conntrack_checksum=0/);
  const off = replayCapture(cap, 'mixed.pcap', { sysctl: { nf_conntrack_checksum: 0 } });
  t.false(off.checksumsVerified);
  t.is(off.checksumPartial, 0);
  t.is(off.malformed, 0);
  t.deepEqual(off.states, { 'tcp SYN_SENT UNREPLIED': 2, 'udp -': 1 });
  t.deepEqual(off.warnings, []);
});

test('the warning starts at 10% malformed: 1 in 20 (5%) gives none, 2 in 20 give one', (t) => {
  const frames = Array.from({ length: 20 }, (_, i) => ({
    tsUs: 1_700_000_000_000_000 + i * 1000,
    data: packet({ ...UDP4, sport: 2000 + i }, i === 7 ? 0x4242 : undefined),
  }));
  const r = replayCapture(writePcap(frames, RAW), 'few.pcap');
  t.is(r.malformed, 1);
  t.deepEqual(r.malformedFrames, [8]);
  t.deepEqual(r.warnings, []);
  const two = writePcap(frames.map((f, i) => (i === 3 ? { ...f, data: packet({ ...UDP4, sport: 2003 }, 0x4343) } : f)), RAW);
  const w = replayCapture(two, 'two.pcap');
  t.is(w.malformed, 2, '2 in 20 = 10%: warns');
  t.deepEqual(w.malformedFrames, [4, 8]);
  t.is(w.warnings.length, 1);
});

test('a host\'s own capture (scenarios/captures/dns-host.pcap, loopback): every checksum partial, same table as with checks off', (t) => {
  const path = join(packageRoot(), 'scenarios', 'captures', 'dns-host.pcap');
  const cap = new Uint8Array(readFileSync(path));
  const on = replayCapture(cap, 'dns-host.pcap');
  const off = replayCapture(cap, 'dns-host.pcap', { sysctl: { nf_conntrack_checksum: 0 } });
  t.true(on.ipPackets > 200);
  t.is(on.checksumPartial, on.ipPackets);
  t.is(on.malformed, 0);
  t.deepEqual(on.warnings, []);
  const table = (r: typeof on) => ({ stats: r.stats, states: r.states, timeline: r.timeline, count: r.count, model: r.model });
  t.deepEqual(table(on), table(off));
  t.true(on.count > 0);
});

test.serial('ctsim replay warns loudly on stderr and in the JSON when most packets are malformed', async (t) => {
  const { main } = await import('../cli.js');
  const dir = mkdtempSync(join(tmpdir(), 'ctsim-csum-'));
  const frames = Array.from({ length: 8 }, (_, i) => ({
    tsUs: 1_700_000_000_000_000 + i * 1000, data: packet({ ...UDP4, sport: 3000 + i }, 0x5555),
  }));
  const file = join(dir, 'damaged.pcap');
  writeFileSync(file, writePcap(frames, RAW));
  let out = '', err = '';
  const ow = process.stdout.write.bind(process.stdout), ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => { out += s; return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  let code: number, codeJson: number, jsonOut: string;
  try {
    code = await main(['replay', file]);
    jsonOut = out; out = '';
    codeJson = await main(['replay', file, '--json']);
    [jsonOut, out] = [out, jsonOut];
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
  t.is(code, 0);
  t.is(codeJson, 0);
  t.regex(err, /ctsim replay: WARNING: .*damaged\.pcap: 8 of 8 IP packets \(100%\) are malformed \(bad_checksum 8\); first at frame 1, 2, 3, 4, 5, …/);
  t.regex(out, /^malformed bad_checksum 8; first at frame 1, 2, 3, 4, 5, …$/m);
  t.regex(out, /^checksums verified \(nf_conntrack_checksum=1\): 8 bad$/m);
  const j = JSON.parse(jsonOut) as { warnings: string[]; malformedFrames: number[] };
  t.deepEqual(j.malformedFrames, [1, 2, 3, 4, 5]);
  t.is(j.warnings.length, 1);
});
