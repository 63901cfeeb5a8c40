/**
 * The route table and its interfaces: a packet enters on the interface that routes its source
 * and leaves on the one that routes its destination, by longest prefix match (the kernel's FIB
 * lookup reduced to one table, no metrics, no policy routing). Interfaces are numbered in
 * order of first appearance; each may declare its own address (`addr`), which masquerade
 * (nf_nat_masquerade.c: the outgoing device's address) and redirect (nf_nat_redirect.c: the
 * incoming device's address) use.
 *
 * Limits: one address per interface and family (the kernel picks among several with
 * inet_select_addr(); here there is one); no next hops, so masquerade's "address in the next
 * hop's subnet" rule reduces to "the interface's address".
 */
import type { AddrInterner } from '../conntrack/addr.js';
import { formatIPv4, formatIPv6 } from '../conntrack/addr.js';
import { ipv4, ipv6Words, mask4, mask6, parsePrefix, wordsToBytes } from './addr.js';
import type { Routes } from './types.js';

/** One route as written: `{ prefix: 10.0.0.0/8, iface: eth0, addr: 10.0.0.1 }`. */
export interface RouteEntry {
  prefix: string;
  iface: string;
  addr?: string;
}

/** A problem with route entry `index`, in field `field` (`''` for the entry as a whole). */
export interface RouteIssue {
  index: number;
  field: 'prefix' | 'iface' | 'addr' | '';
  message: string;
}

/** Interface names as the kernel allows them (IFNAMSIZ 16 including NUL; no '/', ':' or spaces). */
const IFNAME = /^[A-Za-z0-9_.@-]{1,15}$/;

/** Parses `--route PREFIX=IFNAME[@ADDR]` into an entry, or a message saying what is expected. */
export function parseRouteArg(text: string): RouteEntry | string {
  const eq = text.indexOf('=');
  if (eq < 0) return `expected PREFIX=IFNAME[@ADDR] (e.g. 10.98.0.0/24=f1@10.98.0.1), got "${text}"`;
  const prefix = text.slice(0, eq).trim();
  const rest = text.slice(eq + 1).trim();
  const at = rest.lastIndexOf('@');
  // An interface name may contain '@' (veth pairs print as "veth0@if2"); the address follows the last one.
  if (at > 0 && (ipv4(rest.slice(at + 1)) !== undefined || ipv6Words(rest.slice(at + 1)) !== undefined)) {
    return { prefix, iface: rest.slice(0, at), addr: rest.slice(at + 1) };
  }
  if (at > 0 && /[.:]/.test(rest.slice(at + 1))) return { prefix, iface: rest.slice(0, at), addr: rest.slice(at + 1) };
  return { prefix, iface: rest };
}

/** A route table built from entries; see {@link buildRoutes}. */
export class RouteTable implements Routes {
  readonly count: number;
  private readonly names: string[];
  private readonly addr4: (number | undefined)[];
  private readonly addr6s: (Uint8Array | undefined)[];
  // IPv4 routes, longest prefix first.
  private readonly net4: Int32Array;
  private readonly msk4: Int32Array;
  private readonly if4: Int32Array;
  // IPv6 routes, longest prefix first: 4 words each.
  private readonly net6: Int32Array;
  private readonly msk6: Int32Array;
  private readonly if6: Int32Array;
  private interner: AddrInterner | undefined;
  private readonly scratch = new Uint8Array(16);

  constructor(readonly entries: readonly RouteEntry[], names: string[], addr4: (number | undefined)[], addr6: (Uint8Array | undefined)[],
    v4: { net: number; len: number; iface: number }[], v6: { net6: Int32Array; len: number; iface: number }[]) {
    this.names = names; this.addr4 = addr4; this.addr6s = addr6; this.count = names.length;
    const s4 = [...v4].sort((a, b) => b.len - a.len);
    this.net4 = Int32Array.from(s4, (r) => r.net);
    this.msk4 = Int32Array.from(s4, (r) => mask4(r.len));
    this.if4 = Int32Array.from(s4, (r) => r.iface);
    const s6 = [...v6].sort((a, b) => b.len - a.len);
    this.net6 = new Int32Array(4 * s6.length);
    this.msk6 = new Int32Array(4 * s6.length);
    this.if6 = Int32Array.from(s6, (r) => r.iface);
    s6.forEach((r, i) => { this.net6.set(r.net6, 4 * i); this.msk6.set(mask6(r.len), 4 * i); });
  }

  ifaceOf(l3: number, addr: number): number {
    if (l3 === 4) {
      const n = this.net4, m = this.msk4;
      for (let i = 0; i < n.length; i++) if ((addr & m[i]) === n[i]) return this.if4[i];
      return -1;
    }
    if (this.if6.length === 0) return -1;
    if (this.interner === undefined) throw new Error('RouteTable.ifaceOf(6, id): no AddrInterner bound (call bindInterner first)');
    this.interner.writeBytes(addr, this.scratch, 0);
    return this.ifaceOf6(this.scratch, 0);
  }

  /** Interface routing the IPv6 address held in 16 bytes at `off`, -1 when none. */
  ifaceOf6(b: Uint8Array, off: number): number {
    const n = this.net6, m = this.msk6;
    const w0 = (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
    const w1 = (b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) | b[off + 7];
    const w2 = (b[off + 8] << 24) | (b[off + 9] << 16) | (b[off + 10] << 8) | b[off + 11];
    const w3 = (b[off + 12] << 24) | (b[off + 13] << 16) | (b[off + 14] << 8) | b[off + 15];
    for (let i = 0, j = 0; i < this.if6.length; i++, j += 4) {
      if ((w0 & m[j]) === n[j] && (w1 & m[j + 1]) === n[j + 1] && (w2 & m[j + 2]) === n[j + 2] && (w3 & m[j + 3]) === n[j + 3]) return this.if6[i];
    }
    return -1;
  }

  name(iface: number): string {
    return iface >= 0 && iface < this.count ? this.names[iface] : '';
  }

  addr(iface: number): number | undefined {
    return iface >= 0 && iface < this.count ? this.addr4[iface] : undefined;
  }

  /** The interface's IPv6 address (16 bytes), undefined when none was declared. */
  addr6(iface: number): Uint8Array | undefined {
    return iface >= 0 && iface < this.count ? this.addr6s[iface] : undefined;
  }

  find(name: string): number {
    return this.names.indexOf(name);
  }

  /** Interface names, by number. */
  interfaces(): readonly string[] {
    return this.names;
  }

  bindInterner(interner: AddrInterner): void {
    this.interner = interner;
  }

  /** Prints as the entries it was built from (scenario echo, manifests). */
  toJSON(): RouteEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }
}

/**
 * Builds a route table from entries, or returns every issue. Bad input: a prefix or address
 * that does not parse, host bits set past the prefix length (as `ip route` refuses), an
 * interface name the kernel would refuse, the same prefix twice (on one interface or two: a
 * table needs one interface per prefix), an interface declared with two different addresses
 * of one family.
 */
export function buildRoutes(entries: readonly RouteEntry[]): { ok: true; routes: RouteTable } | { ok: false; issues: RouteIssue[] } {
  const issues: RouteIssue[] = [];
  const names: string[] = [];
  const addr4: (number | undefined)[] = [];
  const addr6: (Uint8Array | undefined)[] = [];
  const addrFrom: { v4?: number; v6?: number }[] = [];
  const v4: { net: number; len: number; iface: number; at: number }[] = [];
  const v6: { net6: Int32Array; len: number; iface: number; at: number }[] = [];
  entries.forEach((e, i) => {
    let iface = names.indexOf(e.iface);
    if (!IFNAME.test(e.iface)) {
      issues.push({ index: i, field: 'iface', message: `"${e.iface}" is not an interface name (1 to 15 characters of letters, digits, "_", ".", "-", "@")` });
    } else if (iface < 0) {
      iface = names.length;
      names.push(e.iface); addr4.push(undefined); addr6.push(undefined); addrFrom.push({});
    }
    const p = parsePrefix(e.prefix);
    if (typeof p === 'string') {
      issues.push({ index: i, field: 'prefix', message: `${p}; expected a prefix such as 10.0.0.0/8, 0.0.0.0/0 or 2001:db8::/32` });
    } else if (p.hostBits) {
      issues.push({ index: i, field: 'prefix', message: `"${e.prefix}" has bits set past the prefix length; did you mean ${p.l3 === 4 ? formatIPv4(p.net) : formatIPv6(wordsToBytes(p.net6))}/${p.len}?` });
    } else if (iface >= 0) {
      const same = p.l3 === 4
        ? v4.find((r) => r.len === p.len && r.net === p.net)
        : v6.find((r) => r.len === p.len && r.net6.every((w, k) => w === p.net6[k]));
      if (same !== undefined) {
        issues.push({
          index: i, field: 'prefix',
          message: same.iface === iface
            ? `duplicate route: ${e.prefix} is already routed to ${e.iface} by routes[${same.at}]`
            : `ambiguous route: ${e.prefix} is already routed to ${names[same.iface]} by routes[${same.at}]; a prefix needs exactly one interface`,
        });
      } else if (p.l3 === 4) v4.push({ net: p.net, len: p.len, iface, at: i });
      else v6.push({ net6: p.net6, len: p.len, iface, at: i });
    }
    if (e.addr !== undefined && iface >= 0) {
      const a4 = ipv4(e.addr);
      const a6 = a4 === undefined ? ipv6Words(e.addr) : undefined;
      if (a4 === undefined && a6 === undefined) {
        issues.push({ index: i, field: 'addr', message: `"${e.addr}" is not an IPv4 or IPv6 address (expected the interface's own address, e.g. 10.98.0.1)` });
      } else if (a4 !== undefined) {
        const prev = addr4[iface];
        if (prev !== undefined && prev !== a4) {
          issues.push({ index: i, field: 'addr', message: `interface ${e.iface} already has address ${formatIPv4(prev)} (routes[${addrFrom[iface].v4}]); one IPv4 address per interface` });
        } else { addr4[iface] = a4; addrFrom[iface].v4 ??= i; }
      } else {
        const b = wordsToBytes(a6!);
        const prev = addr6[iface];
        if (prev !== undefined && prev.some((x, k) => x !== b[k])) {
          issues.push({ index: i, field: 'addr', message: `interface ${e.iface} already has address ${formatIPv6(prev)} (routes[${addrFrom[iface].v6}]); one IPv6 address per interface` });
        } else { addr6[iface] = b; addrFrom[iface].v6 ??= i; }
      }
    }
  });
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, routes: new RouteTable(entries, names, addr4, addr6, v4, v6) };
}
