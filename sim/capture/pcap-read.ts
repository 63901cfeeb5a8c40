/**
 * Reading pcap and pcapng captures from memory, one frame at a time, without copying packet
 * bytes and without allocating per frame: `readCapture()` returns a `Capture` cursor whose
 * `next()` refills the same `frame` object.
 *
 * Classic pcap: both byte orders, microsecond (0xa1b2c3d4) and nanosecond (0xa1b23c4d) magic.
 * pcapng: any number of sections (each SHB sets the byte order and resets the interface list),
 * IDB (link type, snaplen, if_tsresol in power-of-10 and power-of-2 forms, if_tsoffset), EPB,
 * SPB (interface 0, no timestamp: reuses the previous frame's), OPB; other blocks are skipped.
 * Timestamps are reported as read, even when they go backwards (the caller decides).
 */
import { isSupportedLinkType, linkTypeName, supportedLinkTypesText } from './linktype.js';

/** Largest captured length accepted for a classic pcap record (or the file's snaplen if larger). */
export const MAX_RECORD_LEN = 262144;

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 1;
const BT_OPB = 2;
const BT_SPB = 3;
const BT_EPB = 6;
const BOM = 0x1a2b3c4d;
const EMPTY = new Uint8Array(0);

/** A problem with the capture file itself (not with a packet's contents). */
export class CaptureError extends Error {
  override readonly name = 'CaptureError';
  /**
   * @param file file name as given to `readCapture`
   * @param packetIndex 0-based index of the packet being read, or undefined for header errors
   * @param byteOffset offset in the file where the bad structure starts, when known
   */
  constructor(readonly file: string, readonly packetIndex: number | undefined,
    readonly byteOffset: number | undefined, readonly detail: string) {
    super(`${file}: ${packetIndex === undefined ? '' : `packet ${packetIndex}: `}${detail}` +
      (byteOffset === undefined ? '' : ` (at byte offset ${byteOffset})`));
  }
}

/** One captured frame. The `Capture` reuses a single instance: copy fields you want to keep. */
export class Frame {
  /** 0-based packet index within the file (counts packet records/blocks only). */
  index = -1;
  /** Timestamp in integer microseconds since the epoch (sub-microsecond parts floored). */
  tsUs = 0;
  /** LINKTYPE_* of the frame's interface. */
  linkType = 0;
  /** pcapng interface id within its section (0 for classic pcap). */
  interfaceId = 0;
  /** Captured bytes: a subarray of the file buffer (no copy). */
  data: Uint8Array = EMPTY;
  /** Original length on the wire (≥ data.length unless the writer lied). */
  origLen = 0;
  /** Byte offset of the record/block in the file. */
  offset = 0;
}

interface Iface { linkType: number; snaplen: number; resol: number; pow2: boolean; offsetUs: number; checked: boolean }

/** Cursor over the frames of one capture file held in memory. */
export class Capture {
  /** The reused current frame; valid after `next()` returned true. */
  readonly frame = new Frame();
  /** Link type of a classic pcap file (for pcapng: of the first interface, -1 before any IDB). */
  linkType = -1;
  private le = true;
  private nanos = false;
  private snaplen = 0;
  private pos: number;
  private count = 0;
  private ifaces: Iface[] = [];
  private lastTsUs = 0;

  /** Use `readCapture()`. */
  constructor(private readonly b: Uint8Array, readonly fileName: string, readonly format: 'pcap' | 'pcapng') {
    this.pos = 0;
    if (format === 'pcap') this.readPcapHeader();
  }

  /** Number of frames returned so far. */
  get framesRead(): number { return this.count; }

  /** Advance to the next frame; false at the end of the file. Throws `CaptureError` on damage. */
  next(): boolean {
    return this.format === 'pcap' ? this.nextPcap() : this.nextPcapng();
  }

  /** Iterate frames; every iteration yields the same (refilled) `frame` object. */
  *[Symbol.iterator](): IterableIterator<Frame> {
    while (this.next()) yield this.frame;
  }

  private u16(o: number): number {
    const b = this.b;
    return this.le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
  }

  private u32(o: number): number {
    const b = this.b;
    return (this.le ? b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)
      : (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }

  private fail(packetIndex: number | undefined, offset: number | undefined, detail: string): never {
    throw new CaptureError(this.fileName, packetIndex, offset, detail);
  }

  private readPcapHeader(): void {
    const b = this.b;
    if (b.length < 24) this.fail(undefined, 0, `truncated pcap global header: ${b.length} of 24 bytes`);
    this.le = true;
    let magic = this.u32(0);
    if (magic !== MAGIC_US && magic !== MAGIC_NS) { this.le = false; magic = this.u32(0); }
    this.nanos = magic === MAGIC_NS;
    this.snaplen = this.u32(16);
    this.linkType = this.u32(20) & 0xffff;
    if (!isSupportedLinkType(this.linkType)) {
      this.fail(undefined, 20, `unsupported link type ${linkTypeName(this.linkType)}; supported: ${supportedLinkTypesText()}`);
    }
    this.pos = 24;
  }

  private nextPcap(): boolean {
    const b = this.b, p = this.pos, n = this.count;
    if (p === b.length) return false;
    if (b.length - p < 16) this.fail(n, p, `truncated record header: ${b.length - p} of 16 bytes`);
    const incl = this.u32(p + 8);
    const limit = Math.max(this.snaplen, MAX_RECORD_LEN);
    if (incl > limit) this.fail(n, p, `record length ${incl} exceeds snaplen ${this.snaplen} and limit ${limit}`);
    if (p + 16 + incl > b.length) {
      this.fail(n, p, `truncated record: needs ${incl} data bytes, ${b.length - p - 16} left`);
    }
    const f = this.frame;
    const frac = this.u32(p + 4);
    f.tsUs = this.u32(p) * 1e6 + (this.nanos ? Math.floor(frac / 1000) : frac);
    f.index = n; f.linkType = this.linkType; f.interfaceId = 0; f.offset = p;
    f.origLen = this.u32(p + 12);
    f.data = b.subarray(p + 16, p + 16 + incl);
    this.pos = p + 16 + incl;
    this.count = n + 1;
    return true;
  }

  private nextPcapng(): boolean {
    const b = this.b;
    for (;;) {
      const p = this.pos;
      if (p === b.length) return false;
      const type0 = this.u32(p);
      const pkt = type0 === BT_EPB || type0 === BT_SPB || type0 === BT_OPB ? this.count : undefined;
      if (b.length - p < 12) this.fail(pkt, p, `truncated block header: ${b.length - p} bytes left`);
      if (type0 === BT_SHB) this.readShb(p);
      const type = this.u32(p), len = this.u32(p + 4);
      if (len < 12 || len % 4 !== 0) this.fail(pkt, p, `block length mismatch: invalid total length ${len} for block type 0x${type.toString(16)}`);
      if (p + len > b.length) this.fail(pkt, p, `truncated block: length ${len}, ${b.length - p} bytes left`);
      const trailer = this.u32(p + len - 4);
      if (trailer !== len) this.fail(pkt, p, `block length mismatch: header says ${len}, trailer says ${trailer}`);
      this.pos = p + len;
      if (type === BT_IDB) this.readIdb(p, len);
      else if (type === BT_EPB || type === BT_OPB || type === BT_SPB) return this.readPacketBlock(type, p, len);
    }
  }

  private readShb(p: number): void {
    if (this.b.length - p < 28) this.fail(undefined, p, 'truncated section header block');
    this.le = false;
    const bom = this.u32(p + 8);
    if (bom === BOM) this.le = false;
    else if (bom === 0x4d3c2b1a) this.le = true;
    else this.fail(undefined, p, `bad pcapng byte-order magic 0x${bom.toString(16)}`);
    const major = this.u16(p + 12);
    if (major !== 1) this.fail(undefined, p, `unsupported pcapng major version ${major}`);
    this.ifaces = [];
  }

  private readIdb(p: number, len: number): void {
    if (len < 20) this.fail(undefined, p, `block length mismatch: interface description block of ${len} bytes`);
    const it: Iface = { linkType: this.u16(p + 8), snaplen: this.u32(p + 12), resol: 6, pow2: false, offsetUs: 0, checked: false };
    if (this.linkType < 0) this.linkType = it.linkType;
    const end = p + len - 4;
    for (let o = p + 16; o + 4 <= end;) {
      const code = this.u16(o), olen = this.u16(o + 2);
      if (code === 0) break;
      if (o + 4 + olen > end) this.fail(undefined, o, `interface option ${code} overruns its block`);
      if (code === 9 && olen >= 1) {
        const v = this.b[o + 4];
        it.pow2 = (v & 0x80) !== 0;
        it.resol = v & 0x7f;
      } else if (code === 14 && olen >= 8) {
        const hi = this.u32(o + (this.le ? 8 : 4)), lo = this.u32(o + (this.le ? 4 : 8));
        it.offsetUs = ((hi | 0) * 4294967296 + lo) * 1e6;
      }
      o += 4 + ((olen + 3) & ~3);
    }
    this.ifaces.push(it);
  }

  private readPacketBlock(type: number, p: number, len: number): boolean {
    const n = this.count, f = this.frame;
    let ifId = 0, capLen: number, dataOff: number;
    if (type === BT_SPB) {
      if (len < 16) this.fail(n, p, `block length mismatch: simple packet block of ${len} bytes`);
      f.origLen = this.u32(p + 8);
      dataOff = p + 12;
      capLen = Math.min(f.origLen, len - 16);
    } else {
      if (len < 32) this.fail(n, p, `block length mismatch: packet block of ${len} bytes`);
      ifId = type === BT_OPB ? this.u16(p + 8) : this.u32(p + 8);
      capLen = this.u32(p + 20);
      f.origLen = this.u32(p + 24);
      dataOff = p + 28;
      if (capLen > len - 32) this.fail(n, p, `block length mismatch: captured length ${capLen} exceeds block length ${len}`);
    }
    const it = this.ifaces[ifId];
    if (it === undefined) this.fail(n, p, `packet refers to interface ${ifId}, but the section defines ${this.ifaces.length}`);
    if (!it.checked) {
      if (!isSupportedLinkType(it.linkType)) {
        this.fail(n, p, `unsupported link type ${linkTypeName(it.linkType)} on interface ${ifId}; supported: ${supportedLinkTypesText()}`);
      }
      it.checked = true;
    }
    if (type === BT_SPB) {
      if (it.snaplen > 0) capLen = Math.min(capLen, it.snaplen);
      f.tsUs = this.lastTsUs;
    } else {
      f.tsUs = tsToUs(this.u32(p + 12), this.u32(p + 16), it) + it.offsetUs;
    }
    f.index = n; f.linkType = it.linkType; f.interfaceId = ifId; f.offset = p;
    f.data = this.b.subarray(dataOff, dataOff + capLen);
    this.lastTsUs = f.tsUs;
    this.count = n + 1;
    return true;
  }
}

/** (hi·2^32 + lo) units of 10^-resol or 2^-resol seconds → floor microseconds. */
function tsToUs(hi: number, lo: number, it: Iface): number {
  if (!it.pow2) {
    if (it.resol === 6) return hi * 4294967296 + lo;
    if (it.resol > 6 && it.resol <= 12) {
      const d = 10 ** (it.resol - 6); // < 2^21: the split division below stays exact
      const qh = Math.floor(hi / d), rh = hi - qh * d;
      return qh * 4294967296 + Math.floor((rh * 4294967296 + lo) / d);
    }
    if (it.resol < 6) return (hi * 4294967296 + lo) * 10 ** (6 - it.resol);
  } else if (it.resol <= 32) {
    const k = it.resol, unit = 2 ** k;
    const whole = hi * 2 ** (32 - k) + Math.floor(lo / unit), frac = lo % unit;
    return whole * 1e6 + Math.floor((frac * 1e6) / unit);
  }
  const units = (BigInt(hi) << 32n) | BigInt(lo);
  const per = it.pow2 ? 1n << BigInt(it.resol) : 10n ** BigInt(it.resol);
  return Number((units * 1000000n) / per);
}

/**
 * Open a capture held in memory. Detects classic pcap (either byte order, µs or ns) and pcapng
 * by the magic number; throws `CaptureError` for anything else or a damaged header.
 */
export function readCapture(bytes: Uint8Array, fileName: string): Capture {
  if (bytes.length < 4) throw new CaptureError(fileName, undefined, 0, `not a capture file: only ${bytes.length} bytes`);
  const be = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  const le = ((bytes[3] << 24) | (bytes[2] << 16) | (bytes[1] << 8) | bytes[0]) >>> 0;
  if (be === BT_SHB) return new Capture(bytes, fileName, 'pcapng');
  if (be === MAGIC_US || be === MAGIC_NS || le === MAGIC_US || le === MAGIC_NS) return new Capture(bytes, fileName, 'pcap');
  throw new CaptureError(fileName, undefined, 0,
    `not a capture file: bad magic 0x${be.toString(16).padStart(8, '0')} (expected pcap 0xa1b2c3d4/0xa1b23c4d or pcapng 0x0a0d0d0a)`);
}
