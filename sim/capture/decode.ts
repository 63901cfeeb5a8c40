/**
 * Decoding captured frames into the simulator's reused `Pkt` record, without allocating.
 *
 * Lengths come from the IP header, not the frame: Ethernet padding after the IP packet is
 * ignored, and a frame shorter than the IP total length is taken as cut by the capture snaplen
 * (headers are parsed from what is there; `pkt.len` and `pkt.dataLen` still follow the header).
 * An IPv4 total length (or IPv6 payload length) of 0 — TSO/GSO captures, jumbograms — means
 * "the rest of the frame".
 *
 * Fragments: the kernel reassembles before conntrack (nf_defrag_ipv4/ipv6), so a non-first
 * fragment carries no L4 header for conntrack and is returned as `DECODE_FRAGMENT` (l3, proto,
 * addresses and len filled); the caller skips it. A first fragment (MF set, offset 0) is
 * decoded like a whole packet, but the checks that need the whole datagram (UDP length,
 * checksums) are skipped and `len`/`dataLen` refer to the fragment.
 *
 * `pkt.malformed` (a `Malformed` code) is set, with `DECODE_IP` returned, when the headers are
 * unusable: TruncatedL3 (IP header shorter than its minimum, bad version/IHL, total length <
 * header length, truncated IPv6 extension header), TruncatedL4 (TCP < 20, UDP < 8, ICMP < 8
 * bytes), BadTcpHeader (data offset < 5 or beyond the segment), BadUdpLength (UDP length field
 * > payload or < 8; UDP-Lite coverage invalid), BadChecksum (only with `verifyChecksums` and a
 * complete frame; the IPv4 header checksum is not checked: ip_rcv drops those before
 * conntrack; a zero UDP checksum means "none"; a zero UDP-Lite checksum is always bad, as in
 * udplite_error()). A TCP/UDP checksum that holds only the pseudo-header sum (offloaded by the
 * sending host) is not bad: `pkt.csumPartial` is set instead (see partialChecksum()). Note the kernel drops packets with a bad IP header before conntrack sees
 * them; TruncatedL3 lets the caller count them.
 *
 * L4 conventions (packet.ts): TCP/UDP/UDP-Lite/SCTP/DCCP ports; ICMP/ICMPv6 `sport` = echo id
 * (ICMP echo, timestamp, info, address request/reply; ICMPv6 echo 128/129 and node information
 * 139/140, else 0), `dport` = (type << 8) | code; GRE: `dport` = call id for GREv1 (PPTP) with
 * protocol PPP, `sport` = 0 (the kernel learns the source key from the PPTP helper's keymap,
 * which is not modelled), plain GRE 0/0, never malformed; any other protocol 0/0.
 * ICMP error types (IPv4 3, 4, 5, 11, 12; ICMPv6 < 128) fill `inner*` with the embedded
 * packet's tuple as written (not inverted); `innerValid` is false when the embedded IP header
 * or the first L4 bytes needed for ports are missing, or it is a non-first fragment.
 * IPv6 addresses (outer and inner) are interned in order of first appearance.
 */
import { AddrInterner } from '../conntrack/addr.js';
import { IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE } from '../conntrack/constants.js';
import { Malformed, Pkt } from '../conntrack/packet.js';
import { linkTypeName } from './linktype.js';

/** An IPv4/IPv6 packet: `pkt` is filled (check `pkt.malformed`). */
export const DECODE_IP = 0;
/** Not IP (ARP, LLDP, STP, …): skip and count. */
export const DECODE_NON_IP = 1;
/** A non-first IP fragment: no L4 header; the kernel defragments before conntrack, skip it. */
export const DECODE_FRAGMENT = 2;
/** The link-layer header itself is truncated (cannot tell what the frame carries). */
export const DECODE_TRUNCATED_LINK = 3;

/** Options for `decodeFrame`. */
export interface DecodeOptions {
  /** Verify TCP/UDP/UDP-Lite/ICMP/ICMPv6 checksums of complete frames (default false). */
  verifyChecksums?: boolean;
}

const IPPROTO_SCTP = 132;
const IPPROTO_DCCP = 33;
const F_VERIFY = 1;
const F_WHOLE = 2;
const F_COMPLETE = 4;

const u16 = (d: Uint8Array, o: number): number => (d[o] << 8) | d[o + 1];
const s32 = (d: Uint8Array, o: number): number => (d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3];

/**
 * Decode one frame of the given link type into `pkt` (reset first). Returns DECODE_IP,
 * DECODE_NON_IP, DECODE_FRAGMENT or DECODE_TRUNCATED_LINK. Throws a RangeError for a link type
 * it does not support (`readCapture` refuses those already). Allocates nothing except when
 * `interner` meets a new IPv6 address.
 */
export function decodeFrame(linkType: number, data: Uint8Array, pkt: Pkt, interner: AddrInterner,
  opts?: DecodeOptions): number {
  pkt.reset();
  const n = data.length;
  let off = 0, et = 0; // et: ethertype; 0 = look at the IP version nibble; -1 = not IP
  switch (linkType) {
    case 1: // Ethernet
      if (n < 14) return DECODE_TRUNCATED_LINK;
      et = u16(data, 12); off = 14;
      if (et <= 1500) return DECODE_NON_IP; // 802.3 length + LLC
      break;
    case 0: case 108: { // BSD loopback: address family, host order (0) or network order (108)
      if (n < 4) return DECODE_TRUNCATED_LINK;
      let fam = s32(data, 0) >>> 0;
      if (linkType === 0 && (fam & 0xffff0000) !== 0) fam = data[0] | (data[1] << 8) | (data[2] << 16) | (data[3] << 24);
      et = fam === 2 ? 0x0800 : fam === 10 || fam === 24 || fam === 28 || fam === 30 ? 0x86dd : -1;
      off = 4;
      break;
    }
    case 12: case 14: case 101: break;
    case 228: et = 0x0800; break;
    case 229: et = 0x86dd; break;
    case 113: // Linux cooked v1: protocol at 14
      if (n < 16) return DECODE_TRUNCATED_LINK;
      et = u16(data, 14); off = 16;
      break;
    case 276: // Linux cooked v2: protocol at 0
      if (n < 20) return DECODE_TRUNCATED_LINK;
      et = u16(data, 0); off = 20;
      break;
    default:
      throw new RangeError(`decodeFrame: unsupported link type ${linkTypeName(linkType)}`);
  }
  while (et === 0x8100 || et === 0x88a8 || et === 0x9100) { // 802.1Q / 802.1ad / old QinQ tags
    if (n < off + 4) return DECODE_TRUNCATED_LINK;
    et = u16(data, off + 2); off += 4;
  }
  if (et === 0) {
    if (off >= n) return DECODE_TRUNCATED_LINK;
    const v = data[off] >> 4;
    et = v === 4 ? 0x0800 : v === 6 ? 0x86dd : -1;
  }
  const flags = opts?.verifyChecksums === true ? F_VERIFY : 0;
  if (et === 0x0800) return decodeIPv4(data, off, pkt, interner, flags);
  if (et === 0x86dd) return decodeIPv6(data, off, pkt, interner, flags);
  return DECODE_NON_IP;
}

function decodeIPv4(d: Uint8Array, o: number, pkt: Pkt, interner: AddrInterner, flags: number): number {
  pkt.l3 = 4;
  const avail = d.length - o;
  if (avail < 20) { pkt.malformed = Malformed.TruncatedL3; pkt.len = avail; return DECODE_IP; }
  const ihl = (d[o] & 15) * 4;
  let tot = u16(d, o + 2);
  if (tot === 0) tot = avail;
  pkt.len = tot;
  pkt.proto = d[o + 9];
  pkt.src = s32(d, o + 12);
  pkt.dst = s32(d, o + 16);
  if (d[o] >> 4 !== 4 || ihl < 20 || tot < ihl || avail < ihl) { pkt.malformed = Malformed.TruncatedL3; return DECODE_IP; }
  const fo = u16(d, o + 6);
  if ((fo & 0x1fff) !== 0) return DECODE_FRAGMENT;
  if ((fo & 0x2000) === 0) flags |= F_WHOLE;
  if (avail >= tot) flags |= F_COMPLETE;
  decodeL4(d, o + ihl, tot - ihl, o + Math.min(avail, tot), o, pkt, interner, flags);
  return DECODE_IP;
}

/** Result registers of `skipExt` (module-level so the walk allocates nothing). */
const walk = { nh: 0, first: false };
/**
 * Walk IPv6 extension headers (0, 43, 60, 51, 44) from next-header `nh` at `p`, stopping at
 * `end`. Returns the L4 offset with the protocol in `walk.nh` (`walk.first` = first fragment),
 * -1 if a header is truncated, -2 for a non-first fragment (`walk.nh` = its next header).
 */
function skipExt(d: Uint8Array, nh: number, p: number, end: number): number {
  walk.first = false;
  for (;;) {
    let len: number;
    if (nh === 0 || nh === 43 || nh === 60) len = p + 2 <= end ? (d[p + 1] + 1) * 8 : -1;
    else if (nh === 51) len = p + 2 <= end ? (d[p + 1] + 2) * 4 : -1;
    else if (nh === 44) {
      if (p + 8 > end) return -1;
      const fo = u16(d, p + 2);
      if ((fo & 0xfff8) !== 0) { walk.nh = d[p]; return -2; }
      if ((fo & 1) !== 0) walk.first = true;
      len = 8;
    } else { walk.nh = nh; return p; }
    if (len < 0 || p + len > end) return -1;
    nh = d[p]; p += len;
  }
}

function decodeIPv6(d: Uint8Array, o: number, pkt: Pkt, interner: AddrInterner, flags: number): number {
  pkt.l3 = 6;
  const avail = d.length - o;
  if (avail < 40 || d[o] >> 4 !== 6) { pkt.malformed = Malformed.TruncatedL3; pkt.len = avail; return DECODE_IP; }
  const plen = u16(d, o + 4);
  const tot = plen === 0 ? avail : 40 + plen;
  pkt.len = tot;
  pkt.src = interner.intern(d, o + 8);
  pkt.dst = interner.intern(d, o + 24);
  const capEnd = o + Math.min(avail, tot);
  const l4 = skipExt(d, d[o + 6], o + 40, capEnd);
  if (l4 === -2) { pkt.proto = walk.nh; return DECODE_FRAGMENT; }
  if (l4 < 0) { pkt.proto = d[o + 6]; pkt.malformed = Malformed.TruncatedL3; return DECODE_IP; }
  pkt.proto = walk.nh;
  if (!walk.first) flags |= F_WHOLE;
  if (avail >= tot) flags |= F_COMPLETE;
  decodeL4(d, l4, o + tot - l4, capEnd, o, pkt, interner, flags);
  return DECODE_IP;
}

/** Fill L4 fields. `len` = L4 length per the IP header, `end` = end of captured bytes, `ip` = IP header offset. */
function decodeL4(d: Uint8Array, p: number, len: number, end: number, ip: number, pkt: Pkt,
  interner: AddrInterner, flags: number): void {
  const cap = end - p;
  const check = (flags & (F_VERIFY | F_WHOLE | F_COMPLETE)) === (F_VERIFY | F_WHOLE | F_COMPLETE);
  const whole = (flags & F_WHOLE) !== 0;
  switch (pkt.proto) {
    case IPPROTO_TCP: {
      if (len < 20 || cap < 20) { pkt.malformed = Malformed.TruncatedL4; return; }
      pkt.sport = u16(d, p); pkt.dport = u16(d, p + 2);
      pkt.seq = s32(d, p + 4) >>> 0; pkt.ack = s32(d, p + 8) >>> 0;
      pkt.tcpFlags = d[p + 13]; pkt.win = u16(d, p + 14);
      const hl = (d[p + 12] >> 4) * 4;
      if (hl < 20 || hl > len) { pkt.malformed = Malformed.BadTcpHeader; return; }
      pkt.dataLen = len - hl;
      tcpOptions(d, p + 20, Math.min(p + hl, end), pkt);
      if (check && !checksumOk(d, p, len, ip, pkt)) {
        if (partialChecksum(d, p + 16, len, ip, pkt)) pkt.csumPartial = true;
        else pkt.malformed = Malformed.BadChecksum;
      }
      return;
    }
    case IPPROTO_UDP: case IPPROTO_UDPLITE: {
      if (len < 8 || cap < 8) { pkt.malformed = Malformed.TruncatedL4; return; }
      pkt.sport = u16(d, p); pkt.dport = u16(d, p + 2);
      if (!whole) return;
      const ulen = u16(d, p + 4), sum = u16(d, p + 6);
      if (pkt.proto === IPPROTO_UDP) {
        if (ulen > len || ulen < 8) pkt.malformed = Malformed.BadUdpLength;
        else if (check && sum !== 0 && !checksumOk(d, p, len, ip, pkt)) {
          if (partialChecksum(d, p + 6, len, ip, pkt)) pkt.csumPartial = true;
          else pkt.malformed = Malformed.BadChecksum;
        }
      } else {
        const cov = ulen === 0 ? len : ulen;
        if (cov < 8 || cov > len) pkt.malformed = Malformed.BadUdpLength;
        else if (sum === 0 || (check && !checksumOk(d, p, cov, ip, pkt, len))) pkt.malformed = Malformed.BadChecksum;
      }
      return;
    }
    case IPPROTO_ICMP: case IPPROTO_ICMPV6: {
      if (len < 8 || cap < 8) { pkt.malformed = Malformed.TruncatedL4; return; }
      const type = d[p], v6 = pkt.proto === IPPROTO_ICMPV6;
      pkt.dport = (type << 8) | d[p + 1];
      if (v6 ? type === 128 || type === 129 || type === 139 || type === 140
        : type === 0 || (type >= 13 && type <= 18) || type === 8) pkt.sport = u16(d, p + 4);
      if (v6 ? type < 128 : type === 3 || type === 4 || type === 5 || type === 11 || type === 12) {
        innerPacket(d, p + 8, end, v6, pkt, interner);
      }
      if (check && !checksumOk(d, p, len, ip, pkt)) pkt.malformed = Malformed.BadChecksum;
      return;
    }
    case IPPROTO_GRE:
      if (cap >= 8 && (d[p + 1] & 7) === 1 && u16(d, p + 2) === 0x880b) pkt.dport = u16(d, p + 6);
      return;
    case IPPROTO_SCTP: case IPPROTO_DCCP:
      if (cap >= 4) { pkt.sport = u16(d, p); pkt.dport = u16(d, p + 2); }
      return;
    default:
      return;
  }
}

/** RFC 793/7323 option walk with the kernel's tcp_options()/tcp_sack() rules. */
function tcpOptions(d: Uint8Array, p: number, end: number, pkt: Pkt): void {
  while (p < end) {
    const kind = d[p];
    if (kind === 0) return;
    if (kind === 1) { p++; continue; }
    if (p + 2 > end) return;
    const size = d[p + 1];
    if (size < 2 || p + size > end) return; // silly or partial option: stop, as the kernel does
    if (kind === 3 && size === 3) pkt.optWscale = Math.min(d[p + 2], 14); // TCP_MAX_WSCALE
    else if (kind === 4 && size === 2) pkt.optSackPerm = true;
    else if (kind === 5 && size >= 10 && (size - 2) % 8 === 0) {
      for (let b = p + 2; b < p + size; b += 8) {
        const right = s32(d, b + 4) >>> 0;
        if (pkt.sackMax < 0 || ((right - pkt.sackMax) | 0) > 0) pkt.sackMax = right;
      }
    }
    p += size;
  }
}

/** Parse an ICMP error's embedded IP header and first L4 bytes into `pkt.inner*`. */
function innerPacket(d: Uint8Array, o: number, end: number, v6: boolean, pkt: Pkt, interner: AddrInterner): void {
  let p: number;
  if (!v6) {
    if (end - o < 20 || d[o] >> 4 !== 4) return;
    const ihl = (d[o] & 15) * 4;
    if (ihl < 20 || (u16(d, o + 6) & 0x1fff) !== 0) return;
    pkt.innerProto = d[o + 9]; pkt.innerSrc = s32(d, o + 12); pkt.innerDst = s32(d, o + 16);
    p = o + ihl;
  } else {
    if (end - o < 40 || d[o] >> 4 !== 6) return;
    p = skipExt(d, d[o + 6], o + 40, end);
    if (p < 0) return;
    pkt.innerProto = walk.nh;
    pkt.innerSrc = interner.intern(d, o + 8); pkt.innerDst = interner.intern(d, o + 24);
  }
  const cap = end - p, pr = pkt.innerProto;
  if (pr === IPPROTO_TCP || pr === IPPROTO_UDP || pr === IPPROTO_UDPLITE || pr === IPPROTO_SCTP || pr === IPPROTO_DCCP) {
    if (cap < 4) return;
    pkt.innerSport = u16(d, p); pkt.innerDport = u16(d, p + 2);
  } else if (pr === IPPROTO_ICMP || pr === IPPROTO_ICMPV6) {
    if (cap < 8) return;
    const t = d[p];
    pkt.innerDport = (t << 8) | d[p + 1];
    if (pr === IPPROTO_ICMPV6 ? t === 128 || t === 129 || t === 139 || t === 140
      : t === 0 || t === 8 || (t >= 13 && t <= 18)) pkt.innerSport = u16(d, p + 4);
  } else if (pr === IPPROTO_GRE) {
    if (cap >= 8 && (d[p + 1] & 7) === 1 && u16(d, p + 2) === 0x880b) pkt.innerDport = u16(d, p + 6);
  }
  pkt.innerValid = true;
}

/**
 * Whether the checksum field at `at` holds what a sender leaves there when it offloads the
 * checksum to the NIC (CHECKSUM_PARTIAL): the folded one's-complement sum of the pseudo-header
 * alone (addresses, protocol, L4 length; `tcp_v4_send_check()`, `udp4_hwcsum()`, and their
 * IPv6 counterparts). Captures taken on the sending host (its own traffic, a veth, a container
 * bridge) show every such packet this way. The kernel does not verify them (the skb is marked
 * CHECKSUM_PARTIAL, so `nf_ip_checksum()` is not asked), so neither does the model.
 */
function partialChecksum(d: Uint8Array, at: number, n: number, ip: number, pkt: Pkt): boolean {
  let s = 0;
  const a = pkt.l3 === 4 ? ip + 12 : ip + 8, ae = a + (pkt.l3 === 4 ? 8 : 32);
  for (let i = a; i < ae; i += 2) s += (d[i] << 8) | d[i + 1];
  s += pkt.proto + (n >>> 16) + (n & 0xffff);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  const field = u16(d, at);
  return field === s || (s === 0xffff && field === 0) || (s === 0 && field === 0xffff);
}

/** One's-complement sum check over `n` L4 bytes at `p` plus the pseudo-header (none for ICMPv4). */
function checksumOk(d: Uint8Array, p: number, n: number, ip: number, pkt: Pkt, pseudoLen = n): boolean {
  let s = 0;
  const e = p + (n & ~1);
  for (let i = p; i < e; i += 2) s += (d[i] << 8) | d[i + 1];
  if (n & 1) s += d[p + n - 1] << 8;
  if (pkt.proto !== IPPROTO_ICMP) {
    const a = pkt.l3 === 4 ? ip + 12 : ip + 8, ae = a + (pkt.l3 === 4 ? 8 : 32);
    for (let i = a; i < ae; i += 2) s += (d[i] << 8) | d[i + 1];
    s += pkt.proto + (pseudoLen >>> 16) + (pseudoLen & 0xffff);
  }
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s === 0xffff;
}
