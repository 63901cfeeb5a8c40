import { IPCT_ASSURED, IPS_ASSURED, IPS_CONFIRMED, IPS_NAT_CLASH, IPS_SEEN_REPLY } from './constants.js';
import { TrackerOut, VERDICT_INVALID } from './tracker.js';

/**
 * The trackers without a state machine: UDP (§5), ICMP/ICMPv6 (§6.1–6.2), GRE (§6.4) and the
 * generic tracker (§6.3). Each writes its decision into a `TrackerOut`; timeouts are jiffies.
 */

/** UDP rule generations (§5.2). */
export const UDP_RULE_LEGACY = 0; // ≤ v5.11: 120 s and ASSURED on the first post-reply packet
export const UDP_RULE_STREAM_TS = 1; // v5.12–v5.15: 2 s stream delay, ASSURED regardless of it
export const UDP_RULE_CURRENT = 2; // ≥ v5.16: ASSURED only together with the stream timeout

/** Picks the UDP rule for a kernel version. */
export function udpRuleFor(version: readonly [number, number]): number {
  const v = version[0] * 1000 + version[1];
  if (v >= 5016) return UDP_RULE_CURRENT;
  if (v >= 5012) return UDP_RULE_STREAM_TS;
  return UDP_RULE_LEGACY;
}

/**
 * One UDP packet. `streamTs` is the entry's stream deadline in jiffies (set by the caller from
 * `now32 + 2*HZ` for the creating packet); `unreplied`/`replied` are the two timeouts.
 * @see nf_conntrack_udp_packet (nf_conntrack_proto_udp.c)
 */
export function udpPacket(status: number, now32: number, streamTs: number, unreplied: number, replied: number, rule: number, out: TrackerOut): void {
  out.refresh = true;
  if ((status & IPS_SEEN_REPLY) === 0) {
    out.timeout = unreplied;
    return;
  }
  if (rule === UDP_RULE_LEGACY) {
    out.timeout = replied;
  } else {
    // time_after(jiffies, stream_ts): strictly after
    const stream = ((streamTs - now32) | 0) < 0;
    out.timeout = stream ? replied : unreplied;
    if (rule === UDP_RULE_CURRENT && !stream) return;
  }
  if ((status & IPS_NAT_CLASH) !== 0) return;
  if ((status & IPS_ASSURED) === 0) {
    out.setStatus |= IPS_ASSURED;
    out.events |= 1 << IPCT_ASSURED;
  }
}

/**
 * UDP-Lite: same timeouts, straight to the replied timeout and ASSURED once a reply was seen
 * (the copy read for §5.2 has no 2 s rule). @see nf_conntrack_udplite_packet
 */
export function udplitePacket(status: number, unreplied: number, replied: number, out: TrackerOut): void {
  udpPacket(status, 0, 0, unreplied, replied, UDP_RULE_LEGACY, out);
}

/** ICMP types that may create an entry (`valid_new[]`): echo, timestamp, info request, address mask request. */
export function icmpValidNew(type: number): boolean {
  return type === 8 || type === 13 || type === 15 || type === 17;
}

/** ICMPv6 types that may create an entry: echo request and node-information query. */
export function icmpv6ValidNew(type: number): boolean {
  return type === 128 || type === 139;
}

/** Reply type of an ICMP query (`invmap[]`), or -1 when the type cannot be inverted. */
export function icmpInvertType(type: number): number {
  switch (type) {
    case 8: return 0;
    case 0: return 8;
    case 13: return 14;
    case 14: return 13;
    case 15: return 16;
    case 16: return 15;
    case 17: return 18;
    case 18: return 17;
    default: return -1;
  }
}

/** Reply type of an ICMPv6 query, or -1. */
export function icmpv6InvertType(type: number): number {
  switch (type) {
    case 128: return 129;
    case 129: return 128;
    case 139: return 140;
    case 140: return 139;
    default: return -1;
  }
}

/** ICMP error types (`icmp_is_err()`): unreachable, source quench, redirect, time exceeded, parameter problem. */
export function icmpIsError(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/** ICMPv6 types marked untracked (MLD and neighbour/router discovery; `noct_valid_new[]`). */
export function icmpv6Untracked(type: number): boolean {
  return (type >= 130 && type <= 136) || type === 143;
}

/**
 * One ICMP/ICMPv6 query packet: a new entry needs a request type; every packet refreshes.
 * @see nf_conntrack_icmp_packet, nf_conntrack_icmpv6_packet
 */
export function icmpPacket(status: number, type: number, v6: boolean, timeout: number, out: TrackerOut): void {
  if ((status & IPS_CONFIRMED) === 0 && !(v6 ? icmpv6ValidNew(type) : icmpValidNew(type))) {
    out.verdict = VERDICT_INVALID;
    return;
  }
  out.refresh = true;
  out.timeout = timeout;
}

/** GRE: unreplied timeout until a reply was seen, then the stream timeout and ASSURED. @see nf_conntrack_gre_packet */
export function grePacket(status: number, unreplied: number, replied: number, out: TrackerOut): void {
  out.refresh = true;
  if ((status & IPS_SEEN_REPLY) === 0) {
    out.timeout = unreplied;
    return;
  }
  out.timeout = replied;
  if ((status & IPS_NAT_CLASH) !== 0) return;
  if ((status & IPS_ASSURED) === 0) {
    out.setStatus |= IPS_ASSURED;
    out.events |= 1 << IPCT_ASSURED;
  }
}

/** Any other protocol: refresh with the generic timeout, never ASSURED. @see generic_packet */
export function genericPacket(timeout: number, out: TrackerOut): void {
  out.refresh = true;
  out.timeout = timeout;
}
