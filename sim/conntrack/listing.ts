/**
 * `conntrack -L`-style formatting of table entries, and the per-state summary the replay
 * command reports. Shared with the `conntrack -E` event log (events-log.ts).
 *
 * Entries are visited by walking the hash chains and taking each entry at its ORIGINAL node,
 * so every live entry is seen exactly once, in bucket order. Like the kernel's proc listing
 * (`ct_seq_show()`), expired entries are not listed; unlike it, listing never reaps them (the
 * kernel's listing kills entries for which `nf_ct_should_gc()` holds): reading the table must
 * not change the simulation. Consequently `ct.count` (which, like `nf_conntrack_count`,
 * includes expired entries not yet reaped) may exceed the number of entries listed.
 */
import type { AddrInterner } from './addr.js';
import {
  IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, IPS_ASSURED,
  IPS_CONFIRMED, IPS_DYING, IPS_SEEN_REPLY,
} from './constants.js';
import type { Conntrack } from './conntrack.js';
import { TCP_STATE_NAMES } from './proto-tcp-const.js';

const IPPROTO_DCCP = 33;
const IPPROTO_SCTP = 132;

/**
 * Protocol name as `conntrack` prints it, or undefined for protocols it calls "unknown".
 * (conntrack-tools also names sctp and dccp; the model tracks those with the generic tracker.)
 */
export function protoName(proto: number): string | undefined {
  switch (proto) {
    case IPPROTO_TCP: return 'tcp';
    case IPPROTO_UDP: return 'udp';
    case IPPROTO_ICMP: return 'icmp';
    case IPPROTO_ICMPV6: return 'icmpv6';
    case IPPROTO_GRE: return 'gre';
    case IPPROTO_UDPLITE: return 'udplite';
    default: return undefined;
  }
}

/**
 * Calls `fn(slot)` once for every live (confirmed, not dying, not expired at `ct.now32`) entry,
 * in bucket order of its ORIGINAL node. Never modifies the table.
 */
export function forEachLiveEntry(ct: Conntrack, fn: (slot: number) => void): void {
  const tb = ct.table;
  for (let b = 0; b < tb.nbuckets; b++) {
    for (let p = tb.chainLength(b) - 1; p >= 0; p--) {
      const node = tb.at(b, p);
      if ((node & 1) !== 0) continue;
      const slot = node >> 1;
      const s = tb.statusOf(slot);
      if ((s & IPS_CONFIRMED) === 0 || (s & IPS_DYING) !== 0 || ct.isExpired(slot)) continue;
      fn(slot);
    }
  }
}

/** What `formatEntryWith` prints besides the tuples. */
export interface EntryFormat {
  /** Remaining seconds after the protocol number; `skipZero` leaves them out below 1 s. */
  timeout: boolean | 'skipZero';
  /** The TCP state name. */
  state: boolean;
  /** Trailing `mark=0 use=1` (dumps; event messages carry neither). */
  markUse: boolean;
  /**
   * Whether the message carries the acct and tstamp extensions' data: dumps and DESTROY events
   * do (`ctnetlink_dump_acct()`, `ctnetlink_dump_timestamp()`), NEW/UPDATE events do not.
   * @defaultValue true
   */
  ext?: boolean;
}

const LIST_FORMAT: EntryFormat = { timeout: true, state: true, markUse: true };

/** `key=value` port-like fields of one direction. */
function l4Fields(proto: number, portsWord: number): string {
  const hi = (portsWord >>> 16) & 0xffff;
  const lo = portsWord & 0xffff;
  switch (proto) {
    case IPPROTO_TCP: case IPPROTO_UDP: case IPPROTO_UDPLITE: case IPPROTO_SCTP: case IPPROTO_DCCP:
      return ` sport=${hi} dport=${lo}`;
    case IPPROTO_ICMP: case IPPROTO_ICMPV6:
      return ` type=${lo >> 8} code=${lo & 0xff} id=${hi}`;
    case IPPROTO_GRE:
      return ` srckey=0x${hi.toString(16)} dstkey=0x${lo.toString(16)}`;
    default:
      return '';
  }
}

/** `packets=N bytes=N ` of one direction, when the entry carries the acct extension (§14.5). */
function acctFields(ct: Conntrack, slot: number, dir: number): string {
  if (!ct.hasAcct(slot)) return '';
  return `packets=${ct.acctPackets![slot * 2 + dir]} bytes=${ct.acctBytes![slot * 2 + dir]} `;
}

/**
 * `delta-time=N ` when the entry carries the tstamp extension: whole seconds between start and
 * stop, each truncated to epoch seconds first, as conntrack-tools computes it; the stop of a
 * live entry is "now" (libnetfilter_conntrack: `__snprintf_timestamp_delta()`). The tstamp start
 * is the confirm time; the stop is the deletion time, i.e. the current time of a DESTROY event.
 */
function deltaTime(ct: Conntrack, slot: number, epochOffsetUs: number): string {
  if (!ct.hasTstamp(slot)) return '';
  const stop = Math.floor((ct.nowUs + epochOffsetUs) / 1e6);
  const start = Math.floor((ct.tstampStart![slot]! + epochOffsetUs) / 1e6);
  return `delta-time=${Math.max(0, stop - start)} `;
}

/**
 * One entry as a line, with the parts chosen by `f` (see `formatEntry` for the layout).
 * The caller ensures the slot holds a confirmed entry. `epochOffsetUs` is added to the run
 * clock to get wall-clock time (it only matters for `delta-time`).
 */
export function formatEntryWith(ct: Conntrack, slot: number, interner: AddrInterner, f: EntryFormat, epochOffsetUs = 0): string {
  const tb = ct.table;
  const l3proto = tb.l3protoOf(slot);
  const l3 = l3proto >> 8;
  const proto = l3proto & 0xff;
  const status = tb.statusOf(slot);
  const src = interner.format(l3, tb.srcOf(slot));
  const dst = interner.format(l3, tb.dstOf(slot));
  let s = `${(protoName(proto) ?? 'unknown').padEnd(8)} ${proto} `;
  const secs = Math.floor(ct.remaining(slot) / ct.hz);
  if (f.timeout === true || (f.timeout === 'skipZero' && secs > 0)) s += `${secs} `;
  if (f.state && proto === IPPROTO_TCP) s += `${TCP_STATE_NAMES[ct.tcp.stateOf(slot)] ?? '?'} `;
  const ext = f.ext !== false;
  s += `src=${src} dst=${dst}${l4Fields(proto, tb.portsOf(slot))} `;
  if (ext) s += acctFields(ct, slot, 0);
  if ((status & IPS_SEEN_REPLY) === 0) s += '[UNREPLIED] ';
  // the REPLY tuple (NAT rewrites it: docs/nat.md §1.5)
  const rsrc = tb.rsrc === null ? dst : interner.format(l3, tb.replySrc(slot));
  const rdst = tb.rsrc === null ? src : interner.format(l3, tb.replyDst(slot));
  s += `src=${rsrc} dst=${rdst}${l4Fields(proto, tb.rportsOf(slot))} `;
  if (ext) s += acctFields(ct, slot, 1);
  if ((status & IPS_ASSURED) !== 0) s += '[ASSURED] ';
  // conntrack-tools prints `mark=` in dumps always, in events only when non-zero
  const mark = ct.markOf(slot) >>> 0;
  if (f.markUse || mark !== 0) s += `mark=${mark} `;
  if (ext) s += deltaTime(ct, slot, epochOffsetUs);
  if (f.markUse) s += 'use=1 ';
  return s.slice(0, -1);
}

/**
 * One entry as `conntrack -L` prints it (default output format), e.g.
 * `tcp      6 117 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=80 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40000 mark=0 use=1`:
 * protocol name padded to 8 and number; remaining jiffies / HZ rounded down (`nf_ct_expires`);
 * the TCP state; the ORIGINAL tuple (ICMP: `type= code= id=`, GRE: `srckey= dstkey=`);
 * `[UNREPLIED]` when no reply was seen; the REPLY tuple; `[ASSURED]` when set; `mark=0 use=1`.
 * With nf_conntrack_acct, `packets=N bytes=N` follow each direction's tuple; with
 * nf_conntrack_timestamp, `delta-time=N` comes between `mark=` and `use=` (docs/model.md §14.5),
 * as conntrack-tools 1.4.7 prints them.
 * Protocols without a conntrack name print as `unknown  N`.
 */
export function formatEntry(ct: Conntrack, slot: number, interner: AddrInterner, epochOffsetUs = 0): string {
  return formatEntryWith(ct, slot, interner, LIST_FORMAT, epochOffsetUs);
}

/** Every live entry as a `conntrack -L` line (bucket order). */
export function listEntries(ct: Conntrack, interner: AddrInterner, epochOffsetUs = 0): string[] {
  const out: string[] = [];
  forEachLiveEntry(ct, (slot) => out.push(formatEntry(ct, slot, interner, epochOffsetUs)));
  return out;
}

/**
 * The summary key of one entry: protocol name (or `unknown(N)`), the TCP state or `-`, then
 * `ASSURED` when assured, else `UNREPLIED` when no reply was seen (an assured entry has seen a
 * reply, so the two never appear together). E.g. "tcp SYN_SENT UNREPLIED",
 * "tcp ESTABLISHED ASSURED", "tcp TIME_WAIT", "udp -", "icmp - UNREPLIED", "unknown(132) -".
 */
export function stateKey(ct: Conntrack, slot: number): string {
  const tb = ct.table;
  const proto = tb.l3protoOf(slot) & 0xff;
  const status = tb.statusOf(slot);
  let k = `${protoName(proto) ?? `unknown(${proto})`} `;
  k += proto === IPPROTO_TCP ? TCP_STATE_NAMES[ct.tcp.stateOf(slot)] ?? '?' : '-';
  if ((status & IPS_ASSURED) !== 0) k += ' ASSURED';
  else if ((status & IPS_SEEN_REPLY) === 0) k += ' UNREPLIED';
  return k;
}

/** Number of live entries per `stateKey`, keys sorted (code-unit order). */
export function summariseStates(ct: Conntrack): Record<string, number> {
  const m = new Map<string, number>();
  forEachLiveEntry(ct, (slot) => {
    const k = stateKey(ct, slot);
    m.set(k, (m.get(k) ?? 0) + 1);
  });
  const out: Record<string, number> = {};
  for (const k of [...m.keys()].sort()) out[k] = m.get(k)!;
  return out;
}
