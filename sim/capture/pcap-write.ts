/**
 * Writing classic pcap and pcapng captures in memory (deterministic bytes), for tests and
 * synthetic traffic. Timestamps are integer microseconds since the epoch.
 */

/** A frame to write. */
export interface WriteFrame {
  /** Timestamp, integer microseconds ≥ 0. */
  tsUs: number;
  data: Uint8Array;
  /** Original length on the wire; default `data.length`. */
  origLen?: number;
  /** pcapng: interface index (default 0). */
  interfaceId?: number;
  /** pcapng: block type to use (default 'epb'; 'spb' has no timestamp/interface, 'opb' is obsolete). */
  block?: 'epb' | 'spb' | 'opb';
}

/** Options for `writePcap`. */
export interface PcapWriteOptions {
  /** Nanosecond magic (0xa1b23c4d) and fractions; default microseconds. */
  nanos?: boolean;
  /** Big-endian file; default little-endian. */
  bigEndian?: boolean;
  /** Snaplen field; default 262144. */
  snaplen?: number;
}

/** One pcapng interface (IDB). */
export interface PcapngInterface {
  linkType: number;
  /** Default 0 (no limit). */
  snaplen?: number;
  /**
   * Raw if_tsresol byte: 10^-v seconds, or 2^-(v & 0x7f) when the high bit is set. Default 6
   * (µs, option omitted), or 9 when the writer's `nanos` option is set.
   */
  tsresol?: number;
  /** if_tsoffset in seconds (option omitted when undefined). */
  tsoffset?: number;
}

/** Options for `writePcapng`. */
export interface PcapngWriteOptions {
  /** Default interface resolution nanoseconds (if_tsresol = 9). */
  nanos?: boolean;
  /** Big-endian section; default little-endian. */
  bigEndian?: boolean;
}

function checkTs(tsUs: number): void {
  if (!Number.isSafeInteger(tsUs) || tsUs < 0) throw new RangeError(`timestamp must be a non-negative integer of µs, got ${tsUs}`);
}

/** Write a classic pcap file. */
export function writePcap(frames: readonly WriteFrame[], linkType: number, opts: PcapWriteOptions = {}): Uint8Array {
  const le = !opts.bigEndian;
  const size = 24 + frames.reduce((n, f) => n + 16 + f.data.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4, le);
  v.setUint16(4, 2, le); v.setUint16(6, 4, le);
  v.setUint32(16, opts.snaplen ?? 262144, le);
  v.setUint32(20, linkType, le);
  let o = 24;
  for (const f of frames) {
    checkTs(f.tsUs);
    const sec = Math.floor(f.tsUs / 1e6), us = f.tsUs - sec * 1e6;
    v.setUint32(o, sec, le);
    v.setUint32(o + 4, opts.nanos ? us * 1000 : us, le);
    v.setUint32(o + 8, f.data.length, le);
    v.setUint32(o + 12, f.origLen ?? f.data.length, le);
    out.set(f.data, o + 16);
    o += 16 + f.data.length;
  }
  return out;
}

/** A pcapng block: type, total length, `body` padded to 4 bytes, total length. */
export function pcapngBlock(type: number, body: Uint8Array, bigEndian = false): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const out = new Uint8Array(12 + padded);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, !bigEndian);
  v.setUint32(4, out.length, !bigEndian);
  out.set(body, 8);
  v.setUint32(out.length - 4, out.length, !bigEndian);
  return out;
}

/** Timestamp units for an if_tsresol byte: floor(tsUs · units-per-second / 10^6). */
function toUnits(tsUs: number, tsresol: number): bigint {
  const per = (tsresol & 0x80) !== 0 ? 1n << BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol);
  const units = (BigInt(tsUs) * per) / 1000000n;
  if (units < 0n || units >= 1n << 64n) throw new RangeError(`timestamp ${tsUs} µs does not fit 64 bits at if_tsresol ${tsresol}`);
  return units;
}

/**
 * Write a one-section pcapng file: SHB, one IDB per interface (a bare number = one interface
 * of that link type), then one packet block per frame. Concatenate outputs for multi-section files.
 */
export function writePcapng(frames: readonly WriteFrame[], interfaces: number | readonly PcapngInterface[],
  opts: PcapngWriteOptions = {}): Uint8Array {
  const be = opts.bigEndian === true, le = !be;
  const ifs = typeof interfaces === 'number' ? [{ linkType: interfaces }] : interfaces;
  const blocks: Uint8Array[] = [];
  const body = (n: number): [Uint8Array, DataView] => { const b = new Uint8Array(n); return [b, new DataView(b.buffer)]; };

  const [shb, sv] = body(16);
  sv.setUint32(0, 0x1a2b3c4d, le); sv.setUint16(4, 1, le); sv.setUint16(6, 0, le);
  sv.setInt32(8, -1, le); sv.setInt32(12, -1, le); // section length unknown
  blocks.push(pcapngBlock(0x0a0d0d0a, shb, be));

  const resol = ifs.map((it) => it.tsresol ?? (opts.nanos ? 9 : 6));
  ifs.forEach((it, i) => {
    const hasRes = resol[i] !== 6, hasOff = it.tsoffset !== undefined;
    const [b, v] = body(8 + (hasRes ? 8 : 0) + (hasOff ? 12 : 0) + (hasRes || hasOff ? 4 : 0));
    v.setUint16(0, it.linkType, le); v.setUint32(4, it.snaplen ?? 0, le);
    let o = 8;
    if (hasRes) { v.setUint16(o, 9, le); v.setUint16(o + 2, 1, le); b[o + 4] = resol[i]; o += 8; }
    if (hasOff) { v.setUint16(o, 14, le); v.setUint16(o + 2, 8, le); v.setBigInt64(o + 4, BigInt(it.tsoffset!), le); o += 12; }
    blocks.push(pcapngBlock(1, b, be)); // trailing opt_endofopt is the zero-filled last 4 bytes
  });

  for (const f of frames) {
    checkTs(f.tsUs);
    const id = f.interfaceId ?? 0;
    if (id >= ifs.length) throw new RangeError(`frame refers to interface ${id}, only ${ifs.length} defined`);
    const orig = f.origLen ?? f.data.length;
    if (f.block === 'spb') {
      const [b, v] = body(4 + f.data.length);
      v.setUint32(0, orig, le); b.set(f.data, 4);
      blocks.push(pcapngBlock(3, b, be));
      continue;
    }
    const [b, v] = body(20 + f.data.length);
    const units = toUnits(f.tsUs - (ifs[id].tsoffset ?? 0) * 1e6, resol[id]);
    if (f.block === 'opb') v.setUint16(0, id, le); else v.setUint32(0, id, le);
    v.setUint32(4, Number(units >> 32n), le); v.setUint32(8, Number(units & 0xffffffffn), le);
    v.setUint32(12, f.data.length, le); v.setUint32(16, orig, le);
    b.set(f.data, 20);
    blocks.push(pcapngBlock(f.block === 'opb' ? 2 : 6, b, be));
  }
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of blocks) { out.set(b, o); o += b.length; }
  return out;
}
