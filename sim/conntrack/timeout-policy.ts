import { IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE } from './constants.js';

/**
 * A set of timeouts in jiffies, one per tracker. Index 0 of a conntrack's list holds the netns
 * defaults (the sysctls); further sets are timeout policies (§7) that entries can carry.
 */
export interface TimeoutSet {
  readonly name: string;
  /** The protocol the policy applies to (0 for the defaults set). */
  readonly l4proto: number;
  /** TCP, indexed by state with RETRANS = 12 and UNACK = 13 (index 0 = SYN_SENT's value). */
  readonly tcp: Int32Array;
  readonly udpUnreplied: number;
  readonly udpReplied: number;
  readonly icmp: number;
  readonly icmpv6: number;
  readonly generic: number;
  readonly greUnreplied: number;
  readonly greReplied: number;
}

/** Field names a timeout policy may set, per protocol, as `nfct timeout add` names them. */
export const TIMEOUT_POLICY_FIELDS: Record<string, readonly string[]> = {
  tcp: ['syn_sent', 'syn_recv', 'established', 'fin_wait', 'close_wait', 'last_ack', 'time_wait', 'close', 'syn_sent2', 'retrans', 'unacknowledged'],
  udp: ['unreplied', 'replied'],
  udplite: ['unreplied', 'replied'],
  icmp: ['timeout'],
  icmpv6: ['timeout'],
  gre: ['unreplied', 'replied'],
  generic: ['timeout'],
};

const PROTO_NUM: Record<string, number> = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP, udplite: IPPROTO_UDPLITE, icmp: IPPROTO_ICMP, icmpv6: IPPROTO_ICMPV6, gre: IPPROTO_GRE, generic: 255 };
/** TCP field → index in the 14-entry array (enum tcp_conntrack, RETRANS 12, UNACK 13). */
const TCP_INDEX: Record<string, number> = {
  syn_sent: 1, syn_recv: 2, established: 3, fin_wait: 4, close_wait: 5, last_ack: 6, time_wait: 7, close: 8,
  syn_sent2: 9, retrans: 12, unacknowledged: 13,
};

export function protoNumber(name: string): number | undefined {
  return PROTO_NUM[name];
}

/**
 * A timeout policy: a copy of the defaults with the given fields (seconds) replaced — unset
 * fields come from the netns defaults at creation time, as `nfct timeout add` fills them.
 * @see tcp_timeout_nlattr_to_obj, nf_ct_timeout_lookup
 */
export function makeTimeoutPolicy(defaults: TimeoutSet, name: string, proto: string, seconds: Record<string, number>, hz: number): TimeoutSet {
  const l4proto = PROTO_NUM[proto];
  if (l4proto === undefined) throw new RangeError(`timeout policy ${name}: unknown protocol ${proto}`);
  const allowed = TIMEOUT_POLICY_FIELDS[proto]!;
  const j = (k: string, d: number) => {
    const v = seconds[k];
    return v === undefined ? d : Math.round(v * hz);
  };
  for (const k of Object.keys(seconds)) if (!allowed.includes(k)) throw new RangeError(`timeout policy ${name}: ${proto} has no timeout "${k}" (known: ${allowed.join(', ')})`);
  const tcp = new Int32Array(defaults.tcp);
  if (proto === 'tcp') {
    for (const [k, idx] of Object.entries(TCP_INDEX)) tcp[idx] = j(k, defaults.tcp[idx]!);
    tcp[0] = tcp[1]!;
  }
  const udpLike = proto === 'udp' || proto === 'udplite';
  return {
    name, l4proto, tcp,
    udpUnreplied: udpLike ? j('unreplied', defaults.udpUnreplied) : defaults.udpUnreplied,
    udpReplied: udpLike ? j('replied', defaults.udpReplied) : defaults.udpReplied,
    icmp: proto === 'icmp' ? j('timeout', defaults.icmp) : defaults.icmp,
    icmpv6: proto === 'icmpv6' ? j('timeout', defaults.icmpv6) : defaults.icmpv6,
    generic: proto === 'generic' ? j('timeout', defaults.generic) : defaults.generic,
    greUnreplied: proto === 'gre' ? j('unreplied', defaults.greUnreplied) : defaults.greUnreplied,
    greReplied: proto === 'gre' ? j('replied', defaults.greReplied) : defaults.greReplied,
  };
}
