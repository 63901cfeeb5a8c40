/**
 * Keyed tuple hash and bucket mapping (§1.4).
 *
 * The kernel hashes (src addr, src port, l3num, dst addr, dst port, protonum) with siphash under
 * a boot-time random key, then maps the 32-bit result to a bucket with
 * `reciprocal_scale(hash, nbuckets)` = (hash × nbuckets) >> 32. Exact bucket placement cannot be
 * reproduced (the key is random), so the model uses its own keyed 32-bit mix seeded from the
 * run's seed; what matters — a uniform hash, direction-specific tuples, the multiply-shift
 * mapping and therefore which flows share buckets under a given key — is kept.
 *
 * The mix is split into small functions so V8 inlines them.
 */

/** Four 32-bit key words derived from the run's seed. */
export class HashKey {
  constructor(readonly k0: number, readonly k1: number, readonly k2: number, readonly k3: number) {}
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function mixIn(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = rotl(k, 15);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = rotl(h, 13);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Raw 32-bit hash (as int32) of one direction's tuple.
 * @param ports (sport << 16) | dport, as the tuple stores them
 * @param l3proto (l3 << 8) | protonum
 * @see hash_conntrack_raw (nf_conntrack_core.c)
 */
export function tupleHash(key: HashKey, src: number, dst: number, ports: number, l3proto: number): number {
  let h = key.k0;
  h = mixIn(h, src ^ key.k1);
  h = mixIn(h, dst ^ key.k2);
  h = mixIn(h, ports ^ key.k3);
  h = mixIn(h, l3proto);
  return fmix(h ^ 16);
}

/**
 * Bucket of a raw hash: floor(hash × n / 2^32), exact for n < 2^28. Up to 2^21 buckets the
 * product is below 2^53, so one double multiplication is exact; above, the hash is split in two
 * halves of 16 bits.
 * @see reciprocal_scale (include/linux/kernel.h), scale_hash (nf_conntrack_core.c)
 */
export function reciprocalScale(hash: number, n: number): number {
  if (n <= 0x200000) return ((hash >>> 0) * n / 4294967296) | 0;
  const hi = hash >>> 16;
  const lo = hash & 0xffff;
  return Math.floor((hi * n + Math.floor((lo * n) / 65536)) / 65536);
}
