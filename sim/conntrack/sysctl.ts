/**
 * The `net.netfilter.nf_conntrack_*` sysctls the model honours, by their kernel names, with
 * kernel defaults (Linux 6.x, §4.8, §5, §6 of docs/model.md) and the ranges
 * the kernel accepts. Timeouts are in seconds, as written to /proc/sys; the model converts them
 * to jiffies with the run's HZ (`proc_dointvec_jiffies`).
 */

export type SysctlUnit = 'seconds' | 'count' | 'bool' | 'enum';

export interface SysctlDef {
  readonly def: number;
  readonly min: number;
  readonly max: number;
  readonly unit: SysctlUnit;
  readonly doc: string;
}

const INT_MAX = 2147483647;
/** Largest timeout in seconds `proc_dointvec_jiffies` accepts at HZ ≤ 1000 (INT_MAX / HZ). */
const T_MAX = Math.floor(INT_MAX / 1000);

const t = (def: number, doc: string): SysctlDef => ({ def, min: 0, max: T_MAX, unit: 'seconds', doc });
const b = (def: number, doc: string): SysctlDef => ({ def, min: 0, max: 1, unit: 'bool', doc });

/**
 * Every sysctl a scenario may set. `nf_conntrack_max` and `nf_conntrack_buckets` have no fixed
 * default: they follow the kernel's sizing rule from the `kernel.memory` setting (§1.2), and the
 * `def` below is the value for a host with more than 4 GiB of RAM.
 */
export const SYSCTLS = {
  nf_conntrack_max: { def: 262144, min: 0, max: INT_MAX, unit: 'count', doc: 'table size limit per netns (0 = unlimited up to v6.18; minimum 1 from v6.19)' },
  nf_conntrack_buckets: { def: 262144, min: 1, max: 268435455, unit: 'count', doc: 'hash buckets (rounded up to a multiple of 512); writing it does not change nf_conntrack_max' },
  nf_conntrack_expect_max: { def: 4096, min: 1, max: INT_MAX, unit: 'count', doc: 'expectation limit (not modelled beyond its value)' },
  nf_conntrack_checksum: b(1, 'verify L4 checksums at PREROUTING (replay: only when the capture holds whole packets)'),
  nf_conntrack_log_invalid: { def: 0, min: 0, max: 255, unit: 'count', doc: 'log invalid packets of this protocol (no effect on the model)' },
  nf_conntrack_acct: b(0, 'byte/packet accounting extension (adds 32 B per entry to the kernel memory model)'),
  nf_conntrack_timestamp: b(0, 'timestamp extension (adds 16 B per entry to the kernel memory model)'),
  nf_conntrack_events: { def: 2, min: 0, max: 2, unit: 'enum', doc: '0 off, 1 always, 2 auto (only while a listener exists)' },
  nf_conntrack_generic_timeout: t(600, 'generic protocols'),
  nf_conntrack_icmp_timeout: t(30, 'ICMP'),
  nf_conntrack_icmpv6_timeout: t(30, 'ICMPv6'),
  nf_conntrack_udp_timeout: t(30, 'UDP, unreplied or not yet a stream'),
  nf_conntrack_udp_timeout_stream: t(120, 'UDP stream (replied, more than 2 s after creation)'),
  nf_conntrack_gre_timeout: t(30, 'GRE, unreplied'),
  nf_conntrack_gre_timeout_stream: t(180, 'GRE, replied'),
  nf_conntrack_tcp_timeout_syn_sent: t(120, 'TCP SYN_SENT (SYN_SENT2 has no sysctl: 120 s, settable by a timeout policy)'),
  nf_conntrack_tcp_timeout_syn_recv: t(60, 'TCP SYN_RECV'),
  nf_conntrack_tcp_timeout_established: t(432000, 'TCP ESTABLISHED'),
  nf_conntrack_tcp_timeout_fin_wait: t(120, 'TCP FIN_WAIT'),
  nf_conntrack_tcp_timeout_close_wait: t(60, 'TCP CLOSE_WAIT'),
  nf_conntrack_tcp_timeout_last_ack: t(30, 'TCP LAST_ACK'),
  nf_conntrack_tcp_timeout_time_wait: t(120, 'TCP TIME_WAIT'),
  nf_conntrack_tcp_timeout_close: t(10, 'TCP CLOSE'),
  nf_conntrack_tcp_timeout_max_retrans: t(300, 'TCP after tcp_max_retrans retransmissions (RETRANS)'),
  nf_conntrack_tcp_timeout_unacknowledged: t(300, 'TCP with unacknowledged data (UNACK)'),
  nf_conntrack_tcp_loose: b(1, 'pick up established connections from a mid-stream ACK'),
  nf_conntrack_tcp_be_liberal: b(0, 'only out-of-window RSTs are INVALID'),
  nf_conntrack_tcp_ignore_invalid_rst: b(0, 'do not mark RSTs below td_maxack INVALID'),
  nf_conntrack_tcp_max_retrans: { def: 3, min: 0, max: 255, unit: 'count', doc: 'identical ACK-class segments before the RETRANS timeout applies' },
} as const satisfies Record<string, SysctlDef>;

export type SysctlName = keyof typeof SYSCTLS;
export type SysctlValues = Record<SysctlName, number>;

export const SYSCTL_NAMES = Object.keys(SYSCTLS) as SysctlName[];

/** A fresh map of every sysctl at its kernel default. */
export function defaultSysctls(): SysctlValues {
  const out = {} as SysctlValues;
  for (const name of SYSCTL_NAMES) out[name] = SYSCTLS[name].def;
  return out;
}

/** Accepts `net.netfilter.nf_conntrack_x` and `net.nf_conntrack_max` spellings too. */
export function canonicalSysctlName(name: string): string {
  if (name.startsWith('net.netfilter.')) return name.slice('net.netfilter.'.length);
  if (name === 'net.nf_conntrack_max') return 'nf_conntrack_max';
  return name;
}

export function isSysctlName(name: string): name is SysctlName {
  return Object.prototype.hasOwnProperty.call(SYSCTLS, name);
}

/** Returns an error message, or undefined when `value` is acceptable for `name`. */
export function checkSysctlValue(name: SysctlName, value: unknown): string | undefined {
  const d: SysctlDef = SYSCTLS[name];
  if (typeof value !== 'number' || !Number.isInteger(value)) return `expected an integer (${d.unit}), got ${JSON.stringify(value)}`;
  if (value < d.min || value > d.max) return `expected ${d.min}..${d.max} (${d.unit}), got ${value}`;
  return undefined;
}
