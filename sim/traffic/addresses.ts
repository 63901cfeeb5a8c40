import type { Rng } from '../core/rng.js';
import { formatIPv4, parseIPv4 } from '../conntrack/addr.js';

/** An IPv4 prefix "a.b.c.d/len" as (base, size). */
export interface Prefix {
  base: number;
  size: number;
}

/** Parses "10.1.0.0/16" (or a single address) into a prefix; returns an error string on bad input. */
export function parsePrefix(text: string): Prefix | string {
  const m = /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?$/.exec(text);
  if (!m) return `expected an IPv4 address or prefix like "10.1.0.0/16", got "${text}"`;
  let base: number;
  try { base = parseIPv4(m[1]!); } catch { return `bad IPv4 address "${m[1]}"`; }
  const len = m[2] === undefined ? 32 : Number(m[2]);
  if (len < 0 || len > 32) return `prefix length must be 0..32, got ${len}`;
  const size = 2 ** (32 - len);
  const mask = len === 0 ? 0 : (~0 << (32 - len)) | 0;
  return { base: (base & mask) | 0, size };
}

/** A prefix as text: `"10.1.0.0/16"`, or the bare address for a single host. */
export function formatPrefix(p: Prefix): string {
  const len = 32 - Math.round(Math.log2(p.size));
  return len === 32 ? formatIPv4(p.base) : `${formatIPv4(p.base)}/${len}`;
}

/** A uniformly random address inside the prefix (as int32). */
export function randomIn(p: Prefix, rng: Rng): number {
  return p.size === 1 ? p.base : (p.base + rng.below(p.size)) | 0;
}

/** The k-th address of the prefix, wrapping. */
export function nthIn(p: Prefix, k: number): number {
  return (p.base + (k % p.size)) | 0;
}

/** An ephemeral source port as Linux picks them (ip_local_port_range 32768–60999). */
export function ephemeralPort(rng: Rng): number {
  return 32768 + rng.below(60999 - 32768 + 1);
}

/**
 * Where a generator's source addresses come from: uniform over a prefix, uniform over a fixed
 * list (each entry an address or prefix), or a botnet of `botnet` hosts drawn once from a prefix.
 */
export type SourceSpec =
  | { kind: 'prefix'; prefix: Prefix }
  | { kind: 'list'; list: Prefix[] }
  | { kind: 'botnet'; botnet: number; within: Prefix };

/** Draws source addresses from a {@link SourceSpec}; a botnet's hosts are drawn at construction. */
export class SourcePicker {
  private readonly hosts: Int32Array | undefined;

  constructor(private readonly spec: SourceSpec, rng: Rng) {
    if (spec.kind === 'botnet') {
      const h = new Int32Array(spec.botnet);
      for (let i = 0; i < h.length; i++) h[i] = randomIn(spec.within, rng);
      this.hosts = h;
    }
  }

  /** One source address (int32). */
  next(rng: Rng): number {
    const s = this.spec;
    if (s.kind === 'prefix') return randomIn(s.prefix, rng);
    if (s.kind === 'list') return randomIn(s.list.length === 1 ? s.list[0]! : s.list[rng.below(s.list.length)]!, rng);
    return this.hosts![rng.below(this.hosts!.length)]!;
  }
}
