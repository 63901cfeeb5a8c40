/**
 * Kernel constants and bit values the conntrack model uses, with the kernel's names.
 * Sources: docs/model.md (section numbers in comments), which cites the kernel functions.
 */

/** `enum ip_conntrack_status` bits (include/uapi/linux/netfilter/nf_conntrack_common.h). */
export const IPS_EXPECTED = 1 << 0;
export const IPS_SEEN_REPLY = 1 << 1;
export const IPS_ASSURED = 1 << 2;
export const IPS_CONFIRMED = 1 << 3;
export const IPS_DYING = 1 << 9;
export const IPS_FIXED_TIMEOUT = 1 << 10;
export const IPS_NAT_CLASH = 1 << 12;

/** `enum ip_conntrack_events` bit numbers (§9.1); use `1 << IPCT_x` as masks. */
export const IPCT_NEW = 0;
export const IPCT_RELATED = 1;
export const IPCT_DESTROY = 2;
export const IPCT_REPLY = 3;
export const IPCT_ASSURED = 4;
export const IPCT_PROTOINFO = 5;
export const IPCT_HELPER = 6;
export const IPCT_MARK = 7;

/** Directions: `IP_CT_DIR_ORIGINAL` / `IP_CT_DIR_REPLY`. */
export const IP_CT_DIR_ORIGINAL = 0;
export const IP_CT_DIR_REPLY = 1;

/** IP protocol numbers. */
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_GRE = 47;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_UDPLITE = 136;

/** TCP header flag bits as on the wire (th_flags). */
export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PSH = 0x08;
export const TH_ACK = 0x10;
export const TH_URG = 0x20;
export const TH_ECE = 0x40;
export const TH_CWR = 0x80;

/** §2.1 `NF_CT_EVICTION_RANGE`: buckets scanned by the allocation-path early_drop. */
export const NF_CT_EVICTION_RANGE = 8;
/** §1.8 chain-length limit at confirm: drawn from [MIN_CHAINLEN, MIN_CHAINLEN + MAX_CHAINLEN - 1]. */
export const MIN_CHAINLEN = 50;
export const MAX_CHAINLEN = 30;

/** §3.1 gc_worker constants (seconds, or as noted). */
export const GC_SCAN_INTERVAL_MAX_S = 60;
export const GC_SCAN_INTERVAL_MIN_S = 1;
export const GC_SCAN_INTERVAL_CLAMP_S = 300;
export const GC_SCAN_INTERVAL_INIT_S = GC_SCAN_INTERVAL_MAX_S;
export const GC_SCAN_INITIAL_COUNT = 100;
export const GC_SCAN_MAX_DURATION_MS = 10;
/** `GC_SCAN_EXPIRED_MAX` = 64000 / HZ (integer division). */
export const gcScanExpiredMax = (hz: number): number => Math.floor(64000 / hz);
