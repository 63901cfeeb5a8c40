/**
 * NAT constants with their kernel names (docs/nat.md §1, §2.1).
 * @see include/uapi/linux/netfilter/nf_nat.h, include/uapi/linux/netfilter/nf_conntrack_common.h
 */

/** `nf_nat_range2.flags` bits. */
export const NF_NAT_RANGE_MAP_IPS = 1;
export const NF_NAT_RANGE_PROTO_SPECIFIED = 2;
export const NF_NAT_RANGE_PROTO_RANDOM = 4;
export const NF_NAT_RANGE_PERSISTENT = 8;
export const NF_NAT_RANGE_PROTO_RANDOM_FULLY = 16;
export const NF_NAT_RANGE_PROTO_OFFSET = 32;
export const NF_NAT_RANGE_NETMAP = 64;
export const NF_NAT_RANGE_PROTO_RANDOM_ALL = NF_NAT_RANGE_PROTO_RANDOM | NF_NAT_RANGE_PROTO_RANDOM_FULLY;

/** `enum nf_nat_manip_type`. */
export const NF_NAT_MANIP_SRC = 0;
export const NF_NAT_MANIP_DST = 1;

/** Status bits NAT sets (IPS_*; bit numbers from nf_conntrack_common.h). */
export const IPS_SRC_NAT = 1 << 4;
export const IPS_DST_NAT = 1 << 5;
export const IPS_SEQ_ADJUST = 1 << 6;
export const IPS_SRC_NAT_DONE = 1 << 7;
export const IPS_DST_NAT_DONE = 1 << 8;
export const IPS_NAT_MASK = IPS_SRC_NAT | IPS_DST_NAT;
export const IPS_NAT_DONE_MASK = IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE;

/** `NF_NAT_MAX_ATTEMPTS` and `NF_NAT_HARDER_THRESH` (nf_nat_core.c, v5.0+ / v6.5+). */
export const NF_NAT_MAX_ATTEMPTS = 128;
export const NF_NAT_HARDER_THRESH = NF_NAT_MAX_ATTEMPTS / 4;

/** Netfilter hook numbers (`enum nf_inet_hooks`). */
export const NF_INET_PRE_ROUTING = 0;
export const NF_INET_LOCAL_IN = 1;
export const NF_INET_FORWARD = 2;
export const NF_INET_LOCAL_OUT = 3;
export const NF_INET_POST_ROUTING = 4;

/** A NAT range as `nf_nat_range2` carries it (IPv4 addresses as uint32 in an int32; ports host order). */
export interface NatRange {
  flags: number;
  minAddr: number;
  maxAddr: number;
  minProto: number;
  maxProto: number;
  baseProto: number;
}

/** A reusable range object (the packet path fills one instead of allocating). */
export class NatRangeBuf implements NatRange {
  flags = 0;
  minAddr = 0;
  maxAddr = 0;
  minProto = 0;
  maxProto = 0;
  baseProto = 0;
  reset(): this {
    this.flags = 0; this.minAddr = 0; this.maxAddr = 0; this.minProto = 0; this.maxProto = 0; this.baseProto = 0;
    return this;
  }
}

/** Version number major × 1000 + minor, as the conntrack model compares it. */
export function versionCode(v: readonly [number, number]): number {
  return v[0] * 1000 + v[1];
}
