/**
 * Building frames for tests and synthetic traffic: IPv4/IPv6 packets with TCP, UDP, UDP-Lite,
 * ICMP/ICMPv6 (echo and errors embedding an inner packet), GRE or any other protocol, wrapped in
 * Ethernet (default, optional VLAN tags, padded to 60 bytes), raw IP, BSD loopback or Linux
 * cooked (SLL/SLL2) headers. Checksums are correct unless `badChecksum` is asked for. Output is
 * a pure function of the spec (payload bytes are `i & 0xff`).
 */
import { parseIPv4, parseIPv6 } from '../conntrack/addr.js';
import { IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE } from '../conntrack/constants.js';

/** TCP header fields and options. */
export interface TcpSpec {
  /** th_flags byte (TH_* bits); default 0. */
  flags?: number;
  seq?: number;
  ack?: number;
  /** Raw window field; default 65535. */
  win?: number;
  /** MSS option value (kind 2). */
  mss?: number;
  /** SACK-permitted option (kind 4). */
  sackPerm?: boolean;
  /** Window-scale option shift (kind 3, written after a NOP). */
  wscale?: number;
  /** SACK blocks [left, right] (kind 5, after two NOPs). */
  sack?: readonly (readonly [number, number])[];
  /** Extra option bytes appended as is (then padded with EOL to 4 bytes). */
  rawOptions?: readonly number[];
  /** Override the data-offset field (32-bit words), for malformed headers. */
  dataOffset?: number;
}

/** ICMP/ICMPv6 message. */
export interface IcmpSpec {
  type: number;
  code?: number;
  /** Echo identifier (bytes 4–5); defaults to `sport`. */
  id?: number;
  /** Echo sequence number (bytes 6–7). */
  seq?: number;
  /** For error messages: the embedded packet (encoded with `encodePacket`). */
  inner?: PacketSpec;
  /** Keep only this many bytes of the embedded packet (default: all of it). */
  innerMax?: number;
}

/** An IP packet. The IP version follows the address text (':' → IPv6). */
export interface PacketSpec {
  src: string;
  dst: string;
  /** L4 protocol; default from `tcp`/`udp`/`icmp`/`gre` (TCP if none given). 136 = UDP-Lite using `udp`. */
  proto?: number;
  sport?: number;
  dport?: number;
  tcp?: TcpSpec;
  /** UDP/UDP-Lite: override the length field (UDP-Lite: checksum coverage, default 0 = all). */
  udp?: { length?: number };
  icmp?: IcmpSpec;
  /** GRE header: version 1 (PPTP) writes protocol PPP and `callId`; version 0 writes protocol IPv4. */
  gre?: { version?: 0 | 1; callId?: number };
  /** L4 payload length in bytes (default 0). */
  payloadLen?: number;
  ttl?: number;
  ipId?: number;
  /** Fragment: `offset` in bytes (multiple of 8), `more` = MF. A non-first fragment carries only payload. */
  frag?: { offset: number; more: boolean; id?: number };
  /** IPv6 extension headers before L4 (0 hop-by-hop, 43 routing, 60 destination options, 51 AH). */
  ext?: readonly number[];
  /** Override the IPv4 total length / IPv6 payload length field. */
  lengthField?: number;
  /** Corrupt the L4 checksum. */
  badChecksum?: boolean;
}

/** Link layer of an encoded frame; `linkTypeOf` gives its LINKTYPE. */
export type LinkKind = 'ethernet' | 'raw' | 'null' | 'sll' | 'sll2';

/** A packet plus its link-layer header. */
export interface FrameSpec extends PacketSpec {
  /** Default 'ethernet'. */
  link?: LinkKind;
  /** Ethernet only: VLAN ids, outermost first (outer tags 802.1ad 0x88a8, the innermost 0x8100). */
  vlan?: readonly number[];
  /** Ethernet only: pad to the 60-byte minimum (default true). */
  pad?: boolean;
}

/** LINKTYPE_* value for a link kind. */
export function linkTypeOf(link: LinkKind = 'ethernet'): number {
  return { ethernet: 1, raw: 101, null: 0, sll: 113, sll2: 276 }[link];
}

const cat = (...parts: readonly (Uint8Array | readonly number[])[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};
const be16 = (v: number): number[] => [(v >>> 8) & 255, v & 255];
const be32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const payload = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i & 255);

function sum16(b: Uint8Array, s = 0): number {
  for (let i = 0; i + 1 < b.length; i += 2) s += (b[i] << 8) | b[i + 1];
  if (b.length & 1) s += b[b.length - 1] << 8;
  return s;
}
function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return ~s & 0xffff;
}

function defaultProto(s: PacketSpec, v6: boolean): number {
  if (s.proto !== undefined) return s.proto;
  if (s.udp) return IPPROTO_UDP;
  if (s.icmp) return v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
  if (s.gre) return IPPROTO_GRE;
  return IPPROTO_TCP;
}

function tcpBytes(s: PacketSpec): Uint8Array {
  const t = s.tcp ?? {};
  const opt: number[] = [];
  if (t.mss !== undefined) opt.push(2, 4, ...be16(t.mss));
  if (t.sackPerm) opt.push(4, 2);
  if (t.wscale !== undefined) opt.push(1, 3, 3, t.wscale);
  if (t.sack && t.sack.length > 0) {
    opt.push(1, 1, 5, 2 + 8 * t.sack.length);
    for (const [l, r] of t.sack) opt.push(...be32(l), ...be32(r));
  }
  if (t.rawOptions) opt.push(...t.rawOptions);
  while (opt.length % 4 !== 0) opt.push(0);
  const doff = t.dataOffset ?? 5 + opt.length / 4;
  return cat(be16(s.sport ?? 0), be16(s.dport ?? 0), be32(t.seq ?? 0), be32(t.ack ?? 0),
    [doff << 4, t.flags ?? 0], be16(t.win ?? 65535), [0, 0, 0, 0], opt, payload(s.payloadLen ?? 0));
}

function l4Bytes(s: PacketSpec, proto: number): Uint8Array {
  const body = payload(s.payloadLen ?? 0);
  if (s.frag && s.frag.offset > 0) return body;
  switch (proto) {
    case IPPROTO_TCP: return tcpBytes(s);
    case IPPROTO_UDP: case IPPROTO_UDPLITE: {
      const len = s.udp?.length ?? (proto === IPPROTO_UDP ? 8 + body.length : 0);
      return cat(be16(s.sport ?? 0), be16(s.dport ?? 0), be16(len), [0, 0], body);
    }
    case IPPROTO_ICMP: case IPPROTO_ICMPV6: {
      const m = s.icmp ?? { type: proto === IPPROTO_ICMP ? 8 : 128 };
      const inner = m.inner ? encodePacket(m.inner) : new Uint8Array(0);
      return cat([m.type, m.code ?? 0, 0, 0], be16(m.id ?? s.sport ?? 0), be16(m.seq ?? 0),
        inner.subarray(0, m.innerMax ?? inner.length), body);
    }
    case IPPROTO_GRE: {
      const g = s.gre ?? {};
      if (g.version === 1) return cat([0x20, 0x01], be16(0x880b), be16(body.length), be16(g.callId ?? 0), body);
      return cat([0, 0], be16(0x0800), body);
    }
    default: return body;
  }
}

/** Checksum field offset within the L4 header, or -1 when there is none. */
function checksumAt(proto: number): number {
  return proto === IPPROTO_TCP ? 16 : proto === IPPROTO_UDP || proto === IPPROTO_UDPLITE ? 6
    : proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6 ? 2 : -1;
}

function fillChecksum(l4: Uint8Array, s: PacketSpec, proto: number, src: Uint8Array, dst: Uint8Array): void {
  const at = checksumAt(proto);
  if (at < 0 || (s.frag && s.frag.offset > 0) || l4.length < at + 2) return;
  let cover = l4;
  if (proto === IPPROTO_UDPLITE) {
    const cov = (l4[4] << 8) | l4[5];
    if (cov >= 8 && cov <= l4.length) cover = l4.subarray(0, cov);
  }
  let sum = sum16(cover);
  if (proto !== IPPROTO_ICMP) sum += sum16(src) + sum16(dst) + proto + (l4.length >>> 16) + (l4.length & 0xffff);
  let c = fold(sum);
  if (c === 0 && proto !== IPPROTO_ICMP && proto !== IPPROTO_ICMPV6) c = 0xffff;
  if (s.badChecksum) { c ^= 0x5555; if (c === 0) c = 0x1111; }
  l4[at] = c >>> 8; l4[at + 1] = c & 255;
}

/** Encode an IP packet (no link-layer header). */
export function encodePacket(s: PacketSpec): Uint8Array {
  const v6 = s.src.includes(':');
  if (v6 !== s.dst.includes(':')) throw new Error(`encodePacket: mixed address families ${s.src} → ${s.dst}`);
  const proto = defaultProto(s, v6);
  const src = v6 ? parseIPv6(s.src) : Uint8Array.from(be32(parseIPv4(s.src)));
  const dst = v6 ? parseIPv6(s.dst) : Uint8Array.from(be32(parseIPv4(s.dst)));
  const l4 = l4Bytes(s, proto);
  fillChecksum(l4, s, proto, src, dst);
  const fragField = s.frag ? (s.frag.offset >>> 3) << 3 : 0;
  if (!v6) {
    const flags = s.frag ? (s.frag.more ? 0x2000 : 0) | (s.frag.offset >>> 3) : 0;
    const h = cat([0x45, 0], be16(s.lengthField ?? 20 + l4.length), be16(s.ipId ?? s.frag?.id ?? 0),
      be16(flags), [s.ttl ?? 64, proto, 0, 0], src, dst);
    const c = fold(sum16(h));
    h[10] = c >>> 8; h[11] = c & 255;
    return cat(h, l4);
  }
  const chain = [...(s.ext ?? []), ...(s.frag ? [44] : []), proto];
  const exts: Uint8Array[] = [];
  for (let i = 0; i + 1 < chain.length; i++) {
    const nh = chain[i + 1];
    if (chain[i] === 44) exts.push(cat([nh, 0], be16(fragField | (s.frag!.more ? 1 : 0)), be32(s.frag!.id ?? 0)));
    else if (chain[i] === 51) exts.push(cat([nh, 2, 0, 0], be32(0x100), be32(1), be32(0))); // AH, 16 bytes
    else exts.push(cat([nh, 0, 1, 4, 0, 0, 0, 0])); // 8 bytes: PadN option
  }
  const rest = cat(...exts, l4);
  return cat([0x60, 0, 0, 0], be16(s.lengthField ?? rest.length), [chain[0], s.ttl ?? 64], src, dst, rest);
}

/** Link-layer header for `link` carrying L3 `etherType`, including VLAN tags for Ethernet. */
function linkHeader(link: LinkKind, etherType: number, vlan: readonly number[]): Uint8Array {
  switch (link) {
    case 'raw': return new Uint8Array(0);
    case 'null': return Uint8Array.from([etherType === 0x86dd ? 30 : 2, 0, 0, 0]);
    case 'sll': return cat(be16(0), be16(1), be16(6), [2, 0, 0, 0, 0, 1, 0, 0], be16(etherType));
    case 'sll2': return cat(be16(etherType), [0, 0], be32(1), be16(1), [0, 6], [2, 0, 0, 0, 0, 1, 0, 0]);
    case 'ethernet': {
      // dst MAC, src MAC, then a (TPID, TCI) pair per tag where the EtherType would be, then the type.
      const out: number[] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
      vlan.forEach((id, i) => out.push(...be16(i === vlan.length - 1 ? 0x8100 : 0x88a8), ...be16(id & 0xfff)));
      out.push(...be16(etherType));
      return Uint8Array.from(out);
    }
  }
}

/** Encode a frame: the packet of `spec` behind its link-layer header. */
export function encodeFrame(spec: FrameSpec): Uint8Array {
  const ip = encodePacket(spec);
  return wrap(spec.link ?? 'ethernet', ip[0] >> 4 === 6 ? 0x86dd : 0x0800, ip, spec.vlan ?? [], spec.pad ?? true);
}

/** Encode a non-IP frame (e.g. LLDP 0x88cc) with the given EtherType and payload. */
export function encodeNonIpFrame(etherType: number, body: Uint8Array,
  opts: { link?: LinkKind; vlan?: readonly number[]; pad?: boolean } = {}): Uint8Array {
  return wrap(opts.link ?? 'ethernet', etherType, body, opts.vlan ?? [], opts.pad ?? true);
}

/** An Ethernet ARP request (who-has `targetIp` tell `senderIp`), padded to 60 bytes. */
export function encodeArpRequest(senderIp: string, targetIp: string): Uint8Array {
  const arp = cat(be16(1), be16(0x0800), [6, 4], be16(1), [2, 0, 0, 0, 0, 1], be32(parseIPv4(senderIp)),
    [0, 0, 0, 0, 0, 0], be32(parseIPv4(targetIp)));
  return encodeNonIpFrame(0x0806, arp);
}

function wrap(link: LinkKind, etherType: number, body: Uint8Array, vlan: readonly number[], pad: boolean): Uint8Array {
  const f = cat(linkHeader(link, etherType, vlan), body);
  return link === 'ethernet' && pad && f.length < 60 ? cat(f, new Uint8Array(60 - f.length)) : f;
}
