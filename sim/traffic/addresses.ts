import type { Rng } from '../core/rng.js';
import { AddrInterner, formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../conntrack/addr.js';

/**
 * An address prefix "a.b.c.d/len" or "2001:db8::/64" as (base, size). IPv4: `base` is the
 * network address as int32, `size` the number of addresses. IPv6 (`v6` set): `v6.bytes` is the
 * network address (host bits zero), `v6.len` the prefix length, `base` 0 and `size` the number of
 * addresses capped at 2^53 (what a count can address). IPv6 addresses reach the model as ids of
 * the run's {@link AddrInterner} (packets with `l3 = 6`).
 */
export interface Prefix {
  base: number;
  size: number;
  v6?: { bytes: Uint8Array; len: number };
}

/** The address family of a prefix: 4 or 6. */
export function familyOf(p: Prefix): 4 | 6 {
  return p.v6 ? 6 : 4;
}

/** A prefix as text ("10.1.0.0/16", "2001:db8::/64"; a single address without "/len"). */
export function formatPrefix(p: Prefix): string {
  if (p.v6) return p.v6.len === 128 ? formatIPv6(p.v6.bytes) : `${formatIPv6(p.v6.bytes)}/${p.v6.len}`;
  const len = 32 - Math.log2(p.size);
  return len === 32 ? formatIPv4(p.base) : `${formatIPv4(p.base)}/${len}`;
}

/**
 * Parses "10.1.0.0/16", "2001:db8::/64" (or a single address of either family) into a prefix;
 * returns an error string on bad input. Host bits set in the address are cleared.
 */
export function parsePrefix(text: string): Prefix | string {
  if (text.includes(':')) return parsePrefix6(text);
  const m = /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?$/.exec(text);
  if (!m) return `expected an IPv4 or IPv6 address or prefix like "10.1.0.0/16" or "2001:db8::/64", got "${text}"`;
  let base: number;
  try { base = parseIPv4(m[1]!); } catch { return `bad IPv4 address "${m[1]}"`; }
  const len = m[2] === undefined ? 32 : Number(m[2]);
  if (len < 0 || len > 32) return `IPv4 prefix length must be 0..32, got ${len}`;
  const size = 2 ** (32 - len);
  const mask = len === 0 ? 0 : (~0 << (32 - len)) | 0;
  return { base: (base & mask) | 0, size };
}

function parsePrefix6(text: string): Prefix | string {
  const m = /^([0-9a-fA-F:.]+)(?:\/(\d+))?$/.exec(text);
  if (!m) return `expected an IPv6 address or prefix like "2001:db8::/64", got "${text}"`;
  let bytes: Uint8Array;
  try { bytes = parseIPv6(m[1]!); } catch { return `bad IPv6 address "${m[1]}"`; }
  const len = m[2] === undefined ? 128 : Number(m[2]);
  if (len < 0 || len > 128) return `IPv6 prefix length must be 0..128, got ${len}`;
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, len - 8 * i));
    bytes[i] = bytes[i]! & ((0xff00 >> keep) & 0xff);
  }
  return { base: 0, size: 2 ** Math.min(53, 128 - len), v6: { bytes, len } };
}

const scratch = new Uint8Array(16);

/** Writes host number `k` (0 ≤ k < 2^53) of an IPv6 prefix into `scratch` (no allocation). */
function v6Host(v6: { bytes: Uint8Array; len: number }, k: number): void {
  scratch.set(v6.bytes);
  let rest = k;
  for (let i = 15; i >= 0 && rest > 0; i--) {
    scratch[i] = scratch[i]! | (rest % 256);
    rest = Math.floor(rest / 256);
  }
}

function needAddrs(addrs: AddrInterner | undefined): AddrInterner {
  if (!addrs) throw new Error('an IPv6 prefix needs the run\'s address interner');
  return addrs;
}

/**
 * A uniformly random address inside the prefix: an int32 IPv4 address, or the interned id of
 * an IPv6 address (drawn 32 host bits at a time from the lowest word up; `addrs` required).
 */
export function randomIn(p: Prefix, rng: Rng, addrs?: AddrInterner): number {
  if (!p.v6) return p.size === 1 ? p.base : (p.base + rng.below(p.size)) | 0;
  const ids = needAddrs(addrs);
  scratch.set(p.v6.bytes);
  let bits = 128 - p.v6.len;
  for (let w = 3; w >= 0 && bits > 0; w--) {
    const n = Math.min(32, bits);
    const r = rng.below(2 ** n);
    const o = 4 * w;
    scratch[o] = scratch[o]! | (r >>> 24); scratch[o + 1] = scratch[o + 1]! | ((r >>> 16) & 255);
    scratch[o + 2] = scratch[o + 2]! | ((r >>> 8) & 255); scratch[o + 3] = scratch[o + 3]! | (r & 255);
    bits -= n;
  }
  return ids.intern(scratch, 0);
}

/** The k-th address of the prefix, wrapping (IPv6: the interned id; `addrs` required). */
export function nthIn(p: Prefix, k: number, addrs?: AddrInterner): number {
  if (!p.v6) return (p.base + (k % p.size)) | 0;
  v6Host(p.v6, k % p.size);
  return needAddrs(addrs).intern(scratch, 0);
}

/** An ephemeral source port as Linux picks them (ip_local_port_range 32768–60999). */
export function ephemeralPort(rng: Rng): number {
  return 32768 + rng.below(60999 - 32768 + 1);
}

/**
 * Where a generator's source or client addresses come from: uniform over a prefix, uniform over
 * a fixed list (each entry an address or prefix), a botnet of `botnet` hosts drawn once from a
 * prefix (with repeats possible), or `count` distinct hosts drawn once from a prefix
 * (`clients: 500`, `clients: { count: 500, within: 10.0.0.0/16 }`).
 */
export type SourceSpec =
  | { kind: 'prefix'; prefix: Prefix }
  | { kind: 'list'; list: Prefix[] }
  | { kind: 'botnet'; botnet: number; within: Prefix }
  | { kind: 'hosts'; count: number; within: Prefix };

/** The address family of a source spec (lists are checked to be of one family at load). */
export function sourceFamily(s: SourceSpec): 4 | 6 {
  return familyOf(s.kind === 'prefix' ? s.prefix : s.kind === 'list' ? s.list[0]! : s.within);
}

/** A source spec of one prefix (the form every address field had before counts and lists). */
export function onePrefix(p: Prefix): SourceSpec {
  return { kind: 'prefix', prefix: p };
}

/**
 * `count` distinct host numbers of a prefix of `size` addresses, uniformly: a partial
 * Fisher–Yates shuffle over the index space (sparse, O(count) memory) when `size` ≤ 2^32, else
 * rejection of repeats (the chance of one is below count²/2^54).
 */
export function distinctHosts(count: number, size: number, rng: Rng): number[] {
  if (count > size) throw new RangeError(`${count} distinct hosts do not fit in ${size} addresses`);
  const out: number[] = [];
  if (size <= 2 ** 32) {
    const moved = new Map<number, number>();
    for (let i = 0; i < count; i++) {
      const j = i + rng.below(size - i);
      const at = (x: number): number => moved.get(x) ?? x;
      const vj = at(j);
      moved.set(j, at(i));
      out.push(vj);
    }
    return out;
  }
  const seen = new Set<number>();
  while (out.length < count) {
    const k = rng.below(2 ** 32) * 2 ** 21 + rng.below(2 ** 21);
    if (!seen.has(k)) { seen.add(k); out.push(k); }
  }
  return out;
}

/**
 * Draws addresses from a {@link SourceSpec}. A botnet's or a host count's addresses are drawn at
 * construction from `rng` (the caller gives a named substream); `addrs` interns IPv6 addresses.
 */
export class SourcePicker {
  private readonly hosts: Int32Array | undefined;
  /** 4 or 6. */
  readonly family: 4 | 6;

  constructor(private readonly spec: SourceSpec, rng: Rng, private readonly addrs?: AddrInterner) {
    this.family = sourceFamily(spec);
    if (spec.kind === 'botnet') {
      const h = new Int32Array(spec.botnet);
      for (let i = 0; i < h.length; i++) h[i] = randomIn(spec.within, rng, addrs);
      this.hosts = h;
    } else if (spec.kind === 'hosts') {
      const ks = distinctHosts(spec.count, spec.within.size, rng);
      this.hosts = Int32Array.from(ks, (k) => nthIn(spec.within, k, addrs));
    }
  }

  /** One address (int32 IPv4, or an IPv6 id). */
  next(rng: Rng): number {
    const s = this.spec;
    if (s.kind === 'prefix') return randomIn(s.prefix, rng, this.addrs);
    if (s.kind === 'list') return randomIn(s.list.length === 1 ? s.list[0]! : s.list[rng.below(s.list.length)]!, rng, this.addrs);
    return this.hosts![rng.below(this.hosts!.length)]!;
  }

  /** The fixed host set (botnet, count), or undefined. */
  get hostSet(): Int32Array | undefined {
    return this.hosts;
  }
}
