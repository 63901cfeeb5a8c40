/**
 * Counters. The first group are the `conntrack -S` / `/proc/net/stat/nf_conntrack` counters with
 * the kernel's names and increment sites (§9.3); the second group are the simulator's own
 * breakdowns, which the kernel does not count but which a study needs.
 */
export class CtStats {
  // conntrack -S (kernel names, §9.3)
  found = 0;
  invalid = 0;
  insert = 0;
  insert_failed = 0;
  drop = 0;
  early_drop = 0;
  error = 0;
  expect_new = 0;
  expect_create = 0;
  expect_delete = 0;
  search_restart = 0;
  clash_resolve = 0;
  chaintoolong = 0;

  // simulator breakdowns
  /** Entries allocated (count incremented), confirmed or not. */
  allocated = 0;
  /** Entries confirmed (inserted into the hash by the packet path). */
  confirmed = 0;
  /** Unconfirmed entries freed without insertion (tracker rejected the first packet, chain too long). */
  freed_unconfirmed = 0;
  /** Expired entries reaped by a packet lookup (§3.4). */
  reaped_lookup = 0;
  /** Expired entries reaped by the allocation-path early_drop scan (not counted in early_drop). */
  reaped_early_drop = 0;
  /** Expired entries reaped by the gc worker. */
  reaped_gc = 0;
  /** Entries evicted by the gc worker's 95% mode (the kernel counts none). */
  gc_early_drop = 0;
  /** TCP entries deleted by an RST before any reply (§4.6-12). */
  killed_rst = 0;
  /** TCP entries killed to re-open a connection (§4.6-1). */
  killed_reopen = 0;
  /** Entries evicted by a table-pressure policy other than the kernel's. */
  evicted_policy = 0;
  /** Entries evicted after unanswered keepalive probes. */
  evicted_probe = 0;
  /** Packets marked untracked (ICMPv6 ND/MLD). */
  untracked = 0;
  /** Packets a `notrack` rule made untracked (never looked up, never counted in the table). */
  notrack = 0;
  /** Unconfirmed entries freed because a rule dropped (or rejected, or consumed) their first packet (also in freed_unconfirmed). */
  freed_rule = 0;
  /** RSTs / ICMP errors a `reject` rule sent back (and no rule dropped on the way out). */
  reject_sent = 0;
  /** untracked_when_full (the paper's proposal): packets passed untracked because no entry could be allocated. */
  untracked_full = 0;
  /** untracked_when_full: packets still dropped at a full table because a NAT rule needed an entry for them (also in drop). */
  untracked_full_nat_drop = 0;
  /** ICMP errors attached to an entry as RELATED. */
  related = 0;
  /** gc worker invocations and full table cycles. */
  gc_runs = 0;
  gc_cycles = 0;
}

/** The `conntrack -S` columns, in the kernel's order. */
export const CONNTRACK_S_KEYS = [
  'found', 'invalid', 'insert', 'insert_failed', 'drop', 'early_drop', 'error',
  'expect_new', 'expect_create', 'expect_delete', 'search_restart', 'clash_resolve', 'chaintoolong',
] as const;

/** Traffic classes a flow can carry (per-class metrics). */
export const CLASS_NONE = 0;
export const CLASS_LEGIT = 1;
export const CLASS_ATTACK = 2;
export const CLASS_NAMES = ['none', 'legit', 'attack'] as const;

/** Why an entry left the table. */
export const REASON_TIMEOUT_LOOKUP = 0;
export const REASON_TIMEOUT_EARLY_DROP_SCAN = 1;
export const REASON_TIMEOUT_GC = 2;
export const REASON_EARLY_DROP = 3;
export const REASON_GC_95 = 4;
export const REASON_TCP_RST = 5;
export const REASON_TCP_REOPEN = 6;
export const REASON_POLICY = 7;
export const REASON_PROBE = 8;
export const REASON_FLUSH = 9;
/** Killed by the v6.5+ SNAT TIME_WAIT eviction (`nf_nat_used_tuple_harder()`, docs/nat.md §2.6.3). */
export const REASON_NAT_EVICT = 10;
export const REASON_NAMES = [
  'timeout', 'timeout', 'timeout', 'early_drop', 'gc_95', 'tcp_rst', 'tcp_reopen', 'policy', 'probe', 'flush', 'nat_evict',
] as const;

/**
 * The counters `conntrack -S` prints, in the order ctnetlink sends them
 * (`nf_conntrack_netlink.c: ctnetlink_ct_stat_cpu_fill_info()`) and conntrack-tools prints them.
 * The expect_* counters are not sent (they only appear in /proc/net/stat/nf_conntrack);
 * clash_resolve exists from v5.9, chaintoolong from v5.15 (§9.3).
 */
export const CONNTRACK_S_LINE_KEYS = [
  'found', 'invalid', 'insert', 'insert_failed', 'drop', 'early_drop', 'error', 'search_restart',
  'clash_resolve', 'chaintoolong',
] as const;

/** The keys of a `conntrack -S` line for a kernel version ("major.minor"). */
export function conntrackSLineKeys(version: string): readonly string[] {
  const m = /^(\d+)\.(\d+)/.exec(version);
  const v = m ? Number(m[1]) * 1000 + Number(m[2]) : 6012;
  return CONNTRACK_S_LINE_KEYS.filter((k) => (k === 'clash_resolve' ? v >= 5009 : k === 'chaintoolong' ? v >= 5015 : true));
}

/**
 * One line of `conntrack -S` exactly as conntrack-tools (1.4.x) prints it: `cpu=%-4u`, a tab, then
 * `name=value ` for every counter (a space after each, the last included). The kernel prints one
 * line per possible CPU; the model has one CPU, so it prints `cpu=0` with its totals. Values are
 * printed whole (the kernel's per-CPU counters are 32-bit and wrap; the model's never do).
 */
export function formatConntrackSLine(counters: Readonly<Record<string, number>>, cpu = 0, version = '6.12'): string {
  let s = `cpu=${String(cpu).padEnd(4)}\t`;
  for (const k of conntrackSLineKeys(version)) s += `${k}=${counters[k] ?? 0} `;
  return s;
}
