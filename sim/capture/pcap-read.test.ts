import test from 'ava';
import { CaptureError, readCapture } from './pcap-read.js';
import { pcapngBlock, WriteFrame, writePcap, writePcapng } from './pcap-write.js';

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 255);
const frames: WriteFrame[] = [
  { tsUs: 1_700_000_000_123_456, data: bytes(60, 1) },
  { tsUs: 1_700_000_000_123_457, data: bytes(61, 2), origLen: 1514 },
  { tsUs: 1_699_999_999_000_000, data: bytes(1, 3) }, // backwards: reported as is
];
function all(buf: Uint8Array, name = 'x.pcap'): { index: number; tsUs: number; linkType: number; interfaceId: number; data: number[]; origLen: number }[] {
  const out = [];
  for (const f of readCapture(buf, name)) out.push({ index: f.index, tsUs: f.tsUs, linkType: f.linkType, interfaceId: f.interfaceId, data: [...f.data], origLen: f.origLen });
  return out;
}
const expected = (lt: number) => frames.map((f, i) => ({ index: i, tsUs: f.tsUs, linkType: lt, interfaceId: 0, data: [...f.data], origLen: f.origLen ?? f.data.length }));
function err(fn: () => unknown): CaptureError {
  const e = (() => { try { fn(); } catch (x) { return x; } return undefined; })();
  if (!(e instanceof CaptureError)) throw new Error(`expected CaptureError, got ${String(e)}`);
  return e;
}
const drain = (b: Uint8Array, name = 'f.pcap') => () => { const c = readCapture(b, name); while (c.next()); };

test('classic pcap: both byte orders, µs and ns, exact timestamps, zero-copy data', (t) => {
  for (const bigEndian of [false, true]) for (const nanos of [false, true]) {
    const buf = writePcap(frames, 1, { bigEndian, nanos });
    t.deepEqual(all(buf), expected(1), `be=${bigEndian} ns=${nanos}`);
    const c = readCapture(buf, 'a.pcap');
    t.is(c.format, 'pcap');
    t.true(c.next());
    t.is(c.frame.data.buffer, buf.buffer);
    t.is(c.frame.data.byteOffset, 24 + 16);
    t.is(c.frame.offset, 24);
  }
  t.deepEqual([...writePcap(frames, 1, { bigEndian: true }).subarray(0, 4)], [0xa1, 0xb2, 0xc3, 0xd4]);
  t.deepEqual([...writePcap(frames, 1, { nanos: true }).subarray(0, 4)], [0x4d, 0x3c, 0xb2, 0xa1]);
});

test('nanosecond pcap floors sub-microsecond parts', (t) => {
  const buf = writePcap([{ tsUs: 5_000_000, data: bytes(20, 0) }], 101, { nanos: true, bigEndian: true });
  new DataView(buf.buffer).setUint32(28, 123_456_789, false);
  const c = readCapture(buf, 'n.pcap');
  t.true(c.next());
  t.is(c.frame.tsUs, 5_123_456);
  t.false(c.next());
  t.is(c.framesRead, 1);
});

test('pcapng: µs, ns, power-of-10 and power-of-2 resolutions, both byte orders', (t) => {
  for (const bigEndian of [false, true]) {
    t.deepEqual(all(writePcapng(frames, 1, { bigEndian })), expected(1));
    t.deepEqual(all(writePcapng(frames, 1, { bigEndian, nanos: true })), expected(1));
    // 64-bit counts of ps / fs only reach ~213 days / ~5 hours after the epoch.
    const small = [{ tsUs: 1_234_567_891, data: bytes(3, 0) }, { tsUs: 17_999_999_999_999, data: bytes(3, 0) }];
    t.deepEqual(all(writePcapng(small, [{ linkType: 1, tsresol: 12 }], { bigEndian })).map((f) => f.tsUs), [1_234_567_891, 17_999_999_999_999]);
    t.deepEqual(all(writePcapng(small.slice(0, 1), [{ linkType: 1, tsresol: 15 }], { bigEndian })).map((f) => f.tsUs), [1_234_567_891]); // BigInt path
    t.throws(() => writePcapng(frames, [{ linkType: 1, tsresol: 12 }]), { instanceOf: RangeError, message: /64 bits/ });
  }
  const ts = (tsresol: number, tsUs: number, tsoffset?: number): number => {
    const c = readCapture(writePcapng([{ tsUs, data: bytes(4, 0) }], [{ linkType: 101, tsresol, tsoffset }]), 'r.pcapng');
    t.true(c.next());
    return c.frame.tsUs;
  };
  t.is(ts(0x80 | 10, 1_700_000_000_015_625), 1_700_000_000_015_625); // 16/1024 s
  t.is(ts(0x80 | 10, 1_700_000_000_000_977), 1_700_000_000_000_976); // 1 unit = 976.5625 µs
  t.is(ts(0x80 | 20, 1_000_000), 1_000_000);
  t.is(ts(0x80 | 33, 1_700_000_000_500_000), 1_700_000_000_500_000); // > 2^32 units per second: BigInt path
  t.is(ts(3, 1_700_000_000_123_456), 1_700_000_000_123_000); // milliseconds
  t.is(ts(0, 1_700_000_000_999_999), 1_700_000_000_000_000);
  t.is(ts(9, 1_700_000_000_000_001, 1_600_000_000), 1_700_000_000_000_001); // if_tsoffset added back
});

test('pcapng: several interfaces with different link types, SPB, OPB, unknown blocks, sections', (t) => {
  const ifs = [{ linkType: 1 }, { linkType: 101, tsresol: 9 }, { linkType: 113, snaplen: 8 }];
  const sec1 = writePcapng([
    { tsUs: 10, data: bytes(20, 1), interfaceId: 0 },
    { tsUs: 11, data: bytes(21, 2), interfaceId: 1 },
    { tsUs: 12, data: bytes(22, 3), interfaceId: 2, block: 'opb' },
  ], ifs);
  const custom = pcapngBlock(0x00000bad, bytes(9, 0)); // unknown type: skipped
  const nrb = pcapngBlock(4, new Uint8Array(4)); // name resolution block: skipped
  const sec2 = writePcapng([
    { tsUs: 20, data: bytes(30, 4), interfaceId: 0 },
    { tsUs: 0, data: bytes(12, 5), block: 'spb' },
  ], [{ linkType: 276, snaplen: 10 }], { bigEndian: true });
  const buf = new Uint8Array([...sec1, ...custom, ...nrb, ...sec2]);
  const got = all(buf, 'm.pcapng');
  t.deepEqual(got.map((f) => [f.index, f.tsUs, f.linkType, f.interfaceId, f.data.length, f.origLen]), [
    [0, 10, 1, 0, 20, 20], [1, 11, 101, 1, 21, 21], [2, 12, 113, 2, 22, 22],
    [3, 20, 276, 0, 30, 30], [4, 20, 276, 0, 10, 12], // SPB: previous timestamp, cut to snaplen 10
  ]);
  t.deepEqual(got[4].data, [...bytes(10, 5)]);
  t.deepEqual(got[1].data, [...bytes(21, 2)]);
});

test('errors: not a capture, truncated headers', (t) => {
  let e = err(() => readCapture(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 'junk.bin'));
  t.is(e.file, 'junk.bin');
  t.is(e.packetIndex, undefined);
  t.regex(e.message, /^junk\.bin: not a capture file: bad magic 0x01020304/);
  e = err(() => readCapture(new Uint8Array(2), 'tiny'));
  t.regex(e.message, /not a capture file/);
  e = err(() => readCapture(writePcap([], 1).subarray(0, 20), 'short.pcap'));
  t.regex(e.message, /truncated pcap global header: 20 of 24 bytes/);
  t.is(e.packetIndex, undefined);
  e = err(() => readCapture(writePcap([], 105), 'wifi.pcap'));
  t.regex(e.message, /unsupported link type LINKTYPE_IEEE802_11 \(105\); supported: LINKTYPE_NULL \(0\), LINKTYPE_ETHERNET \(1\),.*LINKTYPE_LINUX_SLL2 \(276\)/);
  t.is(e.packetIndex, undefined);
  t.regex(err(() => readCapture(writePcap([], 4242), 'u.pcap')).message, /LINKTYPE 4242/);
  t.notThrows(() => readCapture(writePcap([], 1), 'empty.pcap').next());
});

test('errors: truncated record names the packet and offset', (t) => {
  const buf = writePcap(frames, 1);
  let e = err(drain(buf.subarray(0, buf.length - 1), 'cut.pcap'));
  t.is(e.packetIndex, 2);
  t.is(e.byteOffset, 24 + 16 + 60 + 16 + 61);
  t.is(e.message, 'cut.pcap: packet 2: truncated record: needs 1 data bytes, 0 left (at byte offset 177)');
  e = err(drain(buf.subarray(0, 24 + 16 + 60 + 10)));
  t.is(e.packetIndex, 1);
  t.regex(e.message, /truncated record header: 10 of 16 bytes/);
  const big = writePcap(frames, 1, { snaplen: 65535 });
  new DataView(big.buffer).setUint32(24 + 8, 0x7fffffff, true);
  e = err(drain(big));
  t.is(e.packetIndex, 0);
  t.regex(e.message, /record length 2147483647 exceeds snaplen 65535/);
});

test('errors: pcapng block structure', (t) => {
  const good = writePcapng(frames, 1);
  const shbLen = 28, idbLen = 20;
  const epb0 = shbLen + idbLen;
  let b = good.slice();
  new DataView(b.buffer).setUint32(epb0 + 32 + 60 - 4, 99, true); // first EPB trailer
  let e = err(drain(b, 'g.pcapng'));
  t.is(e.packetIndex, 0);
  t.regex(e.message, /block length mismatch: header says 92, trailer says 99/);
  b = good.slice();
  new DataView(b.buffer).setUint32(epb0 + 4, 30, true);
  t.regex(err(drain(b)).message, /block length mismatch: invalid total length 30/);
  e = err(drain(good.subarray(0, good.length - 8)));
  t.is(e.packetIndex, 2);
  t.regex(e.message, /truncated block: length 36, 28 bytes left/);
  b = good.slice();
  new DataView(b.buffer).setUint32(epb0 + 8, 3, true); // interface id 3
  t.regex(err(drain(b)).message, /packet 0: packet refers to interface 3, but the section defines 1/);
  b = good.slice();
  new DataView(b.buffer).setUint32(8, 0x11223344, true);
  t.regex(err(drain(b)).message, /bad pcapng byte-order magic 0x44332211/);
  b = good.slice();
  new DataView(b.buffer).setUint32(epb0 + 20, 61, true); // captured length beyond the block
  t.regex(err(drain(b)).message, /captured length 61 exceeds block length 92/);
  const wifi = writePcapng([{ tsUs: 1, data: bytes(3, 0) }, { tsUs: 2, data: bytes(3, 0), interfaceId: 1 }], [{ linkType: 1 }, { linkType: 127 }]);
  e = err(drain(wifi));
  t.is(e.packetIndex, 1);
  t.regex(e.message, /unsupported link type LINKTYPE_IEEE802_11_RADIOTAP \(127\) on interface 1/);
});
