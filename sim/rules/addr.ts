/**
 * Address and prefix text for the rule language and the route table: IPv4 as int32 (wire bits,
 * compared unsigned), IPv6 as four int32 words (big-endian, compared unsigned word by word).
 * Each parser returns a value or a message saying what was expected.
 */
import { parseIPv4, parseIPv6 } from '../conntrack/addr.js';

/** An IPv4 address as int32, or undefined when `text` is not dotted-quad IPv4. */
export function ipv4(text: string): number | undefined {
  if (!/^[0-9]{1,3}(\.[0-9]{1,3}){3}$/.test(text)) return undefined;
  try { return parseIPv4(text); } catch { return undefined; }
}

/** An IPv6 address as 4 words, or undefined when `text` is not IPv6 text. */
export function ipv6Words(text: string): Int32Array | undefined {
  if (!text.includes(':')) return undefined;
  let b: Uint8Array;
  try { b = parseIPv6(text); } catch { return undefined; }
  return bytesToWords(b, 0);
}

/** 16 bytes at `off` → 4 big-endian words. */
export function bytesToWords(b: Uint8Array, off: number): Int32Array {
  const w = new Int32Array(4);
  for (let k = 0; k < 4; k++) w[k] = (b[off + 4 * k] << 24) | (b[off + 4 * k + 1] << 16) | (b[off + 4 * k + 2] << 8) | b[off + 4 * k + 3];
  return w;
}

/** 4 words → 16 bytes. */
export function wordsToBytes(w: Int32Array): Uint8Array {
  const b = new Uint8Array(16);
  for (let k = 0; k < 4; k++) { b[4 * k] = w[k] >>> 24; b[4 * k + 1] = (w[k] >>> 16) & 255; b[4 * k + 2] = (w[k] >>> 8) & 255; b[4 * k + 3] = w[k] & 255; }
  return b;
}

/** Unsigned comparison of two IPv4 int32 values: <0, 0, >0. */
export function cmp4(a: number, b: number): number {
  return (a >>> 0) - (b >>> 0);
}

/** Unsigned comparison of two IPv6 word arrays (at offsets). */
export function cmp6(a: Int32Array, ao: number, b: Int32Array, bo: number): number {
  for (let k = 0; k < 4; k++) {
    const x = a[ao + k] >>> 0, y = b[bo + k] >>> 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** The IPv4 netmask of a prefix length 0..32 as int32. */
export function mask4(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) | 0;
}

/** The IPv6 netmask words of a prefix length 0..128. */
export function mask6(len: number): Int32Array {
  const m = new Int32Array(4);
  for (let k = 0; k < 4; k++) {
    const bits = Math.max(0, Math.min(32, len - 32 * k));
    m[k] = mask4(bits);
  }
  return m;
}

/** A parsed prefix: family, network (masked), length; `hostBits` tells whether the text had bits set past the length. */
export type Prefix =
  | { l3: 4; net: number; len: number; hostBits: boolean }
  | { l3: 6; net6: Int32Array; len: number; hostBits: boolean };

/** `10.0.0.0/8`, `10.0.0.1` (/32), `2001:db8::/32`, `::1` (/128); a message when malformed. */
export function parsePrefix(text: string): Prefix | string {
  const slash = text.indexOf('/');
  const a = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? undefined : text.slice(slash + 1);
  const v4 = ipv4(a);
  if (v4 !== undefined) {
    const len = lenText === undefined ? 32 : prefixLen(lenText, 32);
    if (len === undefined) return `bad prefix length "${lenText}" (expected 0..32)`;
    const net = v4 & mask4(len);
    return { l3: 4, net, len, hostBits: net !== v4 };
  }
  const v6 = ipv6Words(a);
  if (v6 !== undefined) {
    const len = lenText === undefined ? 128 : prefixLen(lenText, 128);
    if (len === undefined) return `bad prefix length "${lenText}" (expected 0..128)`;
    const m = mask6(len);
    const net6 = new Int32Array(4);
    let hostBits = false;
    for (let k = 0; k < 4; k++) { net6[k] = v6[k] & m[k]; if (net6[k] !== v6[k]) hostBits = true; }
    return { l3: 6, net6, len, hostBits };
  }
  return `"${a}" is not an IPv4 or IPv6 address`;
}

function prefixLen(t: string, max: number): number | undefined {
  if (!/^[0-9]{1,3}$/.test(t)) return undefined;
  const n = Number(t);
  return n <= max ? n : undefined;
}
