/**
 * Operator actions on a run's timeline (docs/model.md §14): the steps of a scenario's
 * `actions:` applied to the conntrack instance at their time, and the record of what each did
 * (summary.json `actions`, chart markers).
 */
import type { AddrInterner } from '../conntrack/addr.js';
import type { Conntrack } from '../conntrack/conntrack.js';
import { IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE } from '../conntrack/constants.js';
import { TCP_STATE_NAMES } from '../conntrack/proto-tcp-const.js';
import { REASON_FLUSH } from '../conntrack/stats.js';
import type { SysctlName } from '../conntrack/sysctl.js';
import type { ActionSpec } from '../scenario/actions-input.js';
import { parsePrefix, type Prefix } from '../traffic/addresses.js';
import type { LoadedRuleset } from '../rules/index.js';

const PROTO: Record<string, number> = {
  tcp: IPPROTO_TCP, udp: IPPROTO_UDP, udplite: IPPROTO_UDPLITE, icmp: IPPROTO_ICMP, icmpv6: IPPROTO_ICMPV6, gre: IPPROTO_GRE,
};

/** What one action did, as summary.json reports it. */
export interface ActionRecord {
  /** Time in seconds from the start of the run. */
  at_s: number;
  kind: 'sysctl' | 'flush' | 'delete' | 'ruleset';
  label?: string;
  /** What was asked, e.g. `nf_conntrack_max=524288`, `conntrack -D -p tcp --state SYN_SENT`. */
  command: string;
  /** Entries in the table (`nf_conntrack_count`) just before and just after. */
  count_before: number;
  count_after: number;
  /** flush/delete: entries deleted (each with a DESTROY event); delete: expired entries the dump reaped. */
  deleted?: number;
  reaped?: number;
  /** nf_conntrack_buckets: the bucket count after rounding (and before). */
  buckets_before?: number;
  buckets_after?: number;
  /** ruleset: the rules loaded, and the id the first of them has in summary.json's nat.rules. */
  rules?: number;
  first_rule_id?: number;
}

/** What an action needs beyond the conntrack: the run's NAT rules, to replace them. */
export interface ActionHost {
  /** Installs a new ruleset; returns the id its first rule is reported under. */
  replaceRuleset?: (rs: LoadedRuleset) => number;
}

/** The `conntrack` / `sysctl` command line an action stands for. */
export function actionCommand(a: ActionSpec): string {
  if (a.ruleset !== undefined) {
    const r = a.ruleset;
    return typeof r === 'string' ? `nft -f ${/[\n{]/.test(r) ? '-' : r}` : r.source.inline ? 'nft -f - (inline ruleset)' : `nft -f ${r.source.file}`;
  }
  if (a.sysctl !== undefined) return `sysctl -w ${Object.entries(a.sysctl).map(([k, v]) => `net.netfilter.${k}=${v}`).join(' ')}`;
  if (a.flush === true) return 'conntrack -F';
  const d = a.delete ?? {};
  let s = 'conntrack -D';
  if (d.protocol !== undefined) s += ` -p ${d.protocol}`;
  if (d.state !== undefined) s += ` --state ${d.state}`;
  if (d.src !== undefined) s += ` -s ${d.src}`;
  if (d.dst !== undefined) s += ` -d ${d.dst}`;
  if (d.mark !== undefined) s += ` -m ${d.mark}`;
  return s;
}

/** Whether address `addr` of family `l3` lies in prefix `p`. */
function inPrefix(p: Prefix, l3: number, addr: number, addrs: AddrInterner, buf: Uint8Array): boolean {
  if (p.v6 === undefined) {
    if (l3 !== 4) return false;
    return ((addr - p.base) >>> 0) < p.size;
  }
  if (l3 !== 6) return false;
  addrs.writeBytes(addr, buf, 0);
  const len = p.v6.len;
  for (let i = 0; i < 16 && 8 * i < len; i++) {
    const keep = Math.min(8, len - 8 * i);
    const mask = (0xff00 >> keep) & 0xff;
    if ((buf[i]! & mask) !== p.v6.bytes[i]) return false;
  }
  return true;
}

/** The entry filter of a `delete` step (every given field must match, as conntrack's filters combine). */
export function deleteFilter(ct: Conntrack, d: NonNullable<ActionSpec['delete']>, addrs: AddrInterner): (slot: number) => boolean {
  const proto = d.protocol === undefined ? -1 : PROTO[d.protocol]!;
  const state = d.state === undefined ? -1 : TCP_STATE_NAMES.indexOf(d.state);
  const src = d.src === undefined ? undefined : (parsePrefix(d.src) as Prefix);
  const dst = d.dst === undefined ? undefined : (parsePrefix(d.dst) as Prefix);
  const mark = d.mark;
  const buf = new Uint8Array(16);
  const tb = ct.table;
  return (slot) => {
    const l3proto = tb.l3protoOf(slot);
    if (proto >= 0 && (l3proto & 0xff) !== proto) return false;
    if (state >= 0 && ct.tcp.stateOf(slot) !== state) return false;
    if (src !== undefined && !inPrefix(src, l3proto >> 8, tb.srcOf(slot), addrs, buf)) return false;
    if (dst !== undefined && !inPrefix(dst, l3proto >> 8, tb.dstOf(slot), addrs, buf)) return false;
    if (mark !== undefined && (ct.markOf(slot) >>> 0) !== mark) return false;
    return true;
  };
}

/** Applies one action at the conntrack's current time and returns its record. */
export function applyAction(ct: Conntrack, a: ActionSpec, addrs: AddrInterner, host: ActionHost = {}): ActionRecord {
  const rec: ActionRecord = {
    at_s: ct.nowUs / 1e6,
    kind: a.ruleset !== undefined ? 'ruleset' : a.sysctl !== undefined ? 'sysctl' : a.flush === true ? 'flush' : 'delete',
    ...(a.label !== undefined ? { label: a.label } : {}),
    command: actionCommand(a),
    count_before: ct.count,
    count_after: 0,
  };
  if (a.ruleset !== undefined) {
    const rs = a.ruleset;
    if (typeof rs === 'string' || host.replaceRuleset === undefined) throw new Error('a ruleset action needs a loaded ruleset and a NAT core (scenario loading checks this)');
    const fresh = rs.clone();
    rec.rules = fresh.rules.length;
    rec.first_rule_id = host.replaceRuleset(fresh);
  } else if (a.sysctl !== undefined) {
    for (const [name, value] of Object.entries(a.sysctl) as [SysctlName, number][]) {
      if (name === 'nf_conntrack_buckets') {
        rec.buckets_before = ct.table.nbuckets;
        rec.buckets_after = ct.rehash(value);
      } else {
        ct.setSysctl(name, value);
      }
    }
  } else if (a.flush === true) {
    rec.deleted = ct.flush(REASON_FLUSH);
  } else {
    const r = ct.deleteMatching(deleteFilter(ct, a.delete ?? {}, addrs), REASON_FLUSH);
    rec.deleted = r.deleted;
    rec.reaped = r.reaped;
  }
  rec.count_after = ct.count;
  return rec;
}
