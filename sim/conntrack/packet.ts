import { IPPROTO_TCP } from './constants.js';

/**
 * One packet as the conntrack model sees it. A single instance is reused for every packet
 * (no allocation per packet on the hot path): producers overwrite its fields, call
 * `reset()` first when fields from an earlier packet must not leak.
 *
 * Addresses: IPv4 addresses are stored as int32 (same bits as the uint32 wire value).
 * IPv6 addresses are interned to an int32 id by an `AddrInterner` (see capture/decode.ts);
 * `l3` distinguishes the two spaces, so an IPv4 address and an IPv6 id never compare equal
 * as tuples (tuples include l3num, §1.3).
 *
 * Port-like fields follow the kernel tuple (§1.3): TCP/UDP ports; ICMP/ICMPv6: `sport` =
 * echo id, `dport` = (type << 8) | code; GRE: `sport`/`dport` = keys (0 for plain GRE);
 * other protocols: both 0.
 */
export class Pkt {
  /** Layer 3: 4 (IPv4) or 6 (IPv6). */
  l3 = 4;
  /** L4 protocol number (after IPv6 extension headers). */
  proto = IPPROTO_TCP;
  src = 0;
  dst = 0;
  sport = 0;
  dport = 0;
  /** Total IP packet length in bytes (for accounting). */
  len = 0;
  /** Non-zero when the L3/L4 header is unusable; the value is a `Malformed` code. */
  malformed = 0;
  /**
   * Decoding found an offloaded TCP/UDP checksum (the field holds only the pseudo-header sum:
   * the capturing host sent the packet before its NIC finished the checksum). Not malformed.
   */
  csumPartial = false;
  /** Traffic class of the flow the packet belongs to (CLASS_* in stats.ts); 0 for captures. */
  cls = 0;
  /** Generator that sent it (index + 1; 0 none) and its flow id there (-1 none). */
  owner = 0;
  flow = -1;
  /** `meta mark` (skb->mark): 0 for a packet from the wire; set by `meta mark set` rules. */
  mark = 0;

  // TCP fields (valid when proto = 6).
  /** th_flags byte (TH_* bits). */
  tcpFlags = 0;
  /** Sequence / acknowledgement numbers as unsigned 32-bit values (0 ≤ x < 2^32). */
  seq = 0;
  ack = 0;
  /** Raw (unscaled) window field. */
  win = 0;
  /** TCP payload length in bytes. */
  dataLen = 0;
  /** Window-scale option shift, or -1 when the option is absent. */
  optWscale = -1;
  /** SACK-permitted option present. */
  optSackPerm = false;
  /** Highest right edge of the SACK blocks in this segment (unsigned), or -1 if none. */
  sackMax = -1;
  /** MSS option value, or -1 when the option is absent (read by SYNPROXY, docs/synproxy.md). */
  optMss = -1;
  /** Timestamp option present, and its TSval / TSecr (unsigned 32-bit values). */
  optTs = false;
  tsval = 0;
  tsecr = 0;
  /**
   * Conntrack template extensions (CT_EXT_* bits) the packet carries: a new entry created by it
   * gets them (`init_conntrack()` copying the template's extensions; SYNPROXY's own SYN carries
   * SEQADJ + SYNPROXY). 0: no template.
   */
  tmplExt = 0;

  // ICMP error fields (valid when the ICMP/ICMPv6 type is an error type): the embedded header.
  innerValid = false;
  innerProto = 0;
  innerSrc = 0;
  innerDst = 0;
  innerSport = 0;
  innerDport = 0;

  reset(): this {
    this.l3 = 4; this.proto = IPPROTO_TCP; this.src = 0; this.dst = 0; this.sport = 0; this.dport = 0;
    this.len = 0; this.malformed = 0; this.csumPartial = false; this.cls = 0; this.owner = 0; this.flow = -1; this.mark = 0;
    this.tcpFlags = 0; this.seq = 0; this.ack = 0; this.win = 0; this.dataLen = 0;
    this.optWscale = -1; this.optSackPerm = false; this.sackMax = -1;
    this.optMss = -1; this.optTs = false; this.tsval = 0; this.tsecr = 0; this.tmplExt = 0;
    this.innerValid = false; this.innerProto = 0; this.innerSrc = 0; this.innerDst = 0;
    this.innerSport = 0; this.innerDport = 0;
    return this;
  }
}

/** Why a packet's headers are unusable (the kernel counts these as `invalid`). */
export const Malformed = {
  None: 0,
  TruncatedL3: 1,
  /** L4 header too short to read the port-like fields: no tuple can be built, so no entry. */
  TruncatedL4: 2,
  /** The tuple is readable but the header is not (TCP data offset); the tracker rejects it. */
  BadTcpHeader: 3,
  BadUdpLength: 4,
  BadChecksum: 5,
} as const;
