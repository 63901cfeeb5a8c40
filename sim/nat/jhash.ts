/**
 * Bob Jenkins' lookup3 `jhash2()` over 32-bit words and `reciprocal_scale()`, as
 * `find_best_ips_proto()` uses them to pick an address from a range (docs/nat.md §2.4).
 * Written from the published algorithm (include/linux/jhash.h).
 */

const JHASH_INITVAL = 0xdeadbeef;

function rol32(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) | 0;
}

/** `jhash2(k, length, initval)`; words and result are uint32 values carried in numbers. */
export function jhash2(k: ArrayLike<number>, initval: number): number {
  let length = k.length;
  let a = (JHASH_INITVAL + (length << 2) + initval) | 0;
  let b = a;
  let c = a;
  let i = 0;
  while (length > 3) {
    a = (a + k[i]!) | 0;
    b = (b + k[i + 1]!) | 0;
    c = (c + k[i + 2]!) | 0;
    a = (a - c) | 0; a ^= rol32(c, 4); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rol32(a, 6); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rol32(b, 8); b = (b + a) | 0;
    a = (a - c) | 0; a ^= rol32(c, 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rol32(a, 19); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rol32(b, 4); b = (b + a) | 0;
    length -= 3;
    i += 3;
  }
  if (length === 0) return c >>> 0;
  if (length >= 3) c = (c + k[i + 2]!) | 0;
  if (length >= 2) b = (b + k[i + 1]!) | 0;
  a = (a + k[i]!) | 0;
  c ^= b; c = (c - rol32(b, 14)) | 0;
  a ^= c; a = (a - rol32(c, 11)) | 0;
  b ^= a; b = (b - rol32(a, 25)) | 0;
  c ^= b; c = (c - rol32(b, 16)) | 0;
  a ^= c; a = (a - rol32(c, 4)) | 0;
  b ^= a; b = (b - rol32(a, 14)) | 0;
  c ^= b; c = (c - rol32(b, 24)) | 0;
  return c >>> 0;
}

/** `reciprocal_scale(val, ep_ro)` = (val × ep_ro) >> 32 for uint32 inputs. */
export function reciprocalScale32(val: number, n: number): number {
  if (n <= 0x100000) return Math.floor(((val >>> 0) * n) / 4294967296);
  return Number((BigInt(val >>> 0) * BigInt(n)) >> 32n);
}

/** Byte-swaps a 32-bit value: an IPv4 address in network order read as a little-endian u32. */
export function bswap32(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | ((x >>> 24) & 0xff)) >>> 0;
}
