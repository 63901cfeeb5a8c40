/**
 * Replaying a capture taken on the inside of a NAT gateway (docs/nat.md §6.1): such a capture
 * shows replies as they left the gateway towards the client (already un-NATed), but the gateway
 * received them addressed to the NAT mapping. Before a packet enters the model, a packet that is
 * the inside view of a reply (its inverted tuple is the ORIGINAL tuple of a live NATed entry) is
 * rewritten to that entry's REPLY tuple, the view from the outside; the NAT hooks then un-NAT it
 * as the kernel did. Walks one chain, reaps nothing, allocates nothing.
 */
import type { Conntrack } from '../conntrack/conntrack.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPS_CONFIRMED } from '../conntrack/constants.js';
import type { Pkt } from '../conntrack/packet.js';
import { icmpInvertType, icmpv6InvertType } from '../conntrack/proto-simple.js';
import { IPS_NAT_MASK } from './constants.js';

/** Rewrites `pkt` in place when it is the inside view of a reply to a NATed entry; returns whether it did. */
export function insideReplyToOutside(ct: Conntrack, pkt: Pkt): boolean {
  const tb = ct.table;
  if (tb.rsrc === null) return false;
  const proto = pkt.proto;
  const l3proto = (pkt.l3 << 8) | proto;
  let ports: number;
  if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
    const t = pkt.dport >> 8;
    const inv = proto === IPPROTO_ICMP ? icmpInvertType(t) : icmpv6InvertType(t);
    if (inv < 0) return false;
    ports = ((pkt.sport << 16) | (inv << 8) | (pkt.dport & 0xff)) | 0;
  } else {
    ports = ((pkt.dport << 16) | pkt.sport) | 0;
  }
  const src = pkt.dst, dst = pkt.src;
  const b = tb.bucketOf(src, dst, ports, l3proto);
  for (let p = tb.chainLength(b) - 1; p >= 0; p--) {
    const node = tb.at(b, p);
    if ((node & 1) !== 0) continue;
    const s = node >> 1;
    if (tb.l3protoOf(s) !== l3proto || tb.srcOf(s) !== src || tb.dstOf(s) !== dst || tb.portsOf(s) !== ports) continue;
    const st = tb.statusOf(s);
    if ((st & IPS_CONFIRMED) === 0 || (st & IPS_NAT_MASK) === 0 || ct.isExpired(s)) return false;
    const rp = tb.rportsOf(s);
    pkt.src = tb.rsrc[s]!;
    pkt.dst = tb.rdst![s]!;
    if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) pkt.sport = rp >>> 16;
    else { pkt.sport = rp >>> 16; pkt.dport = rp & 0xffff; }
    return true;
  }
  return false;
}
