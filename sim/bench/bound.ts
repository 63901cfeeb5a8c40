/**
 * The `bound` workload of `ctsim bench`: the bare hot path of a spoofed SYN flood against a
 * full conntrack-style table, in the plain chained struct-of-arrays layout, with no TCP tracker,
 * no events, no counters beyond a few totals. It is timed in the same `ctsim bench` run as the
 * other workloads, so their ratio to it is a machine-independent figure (absolute rates drift
 * by ±30 % on a shared machine; ratios measured side by side do not).
 *
 * What runs per packet (the kernel's functions named for orientation only; this is not the model):
 * 1. the tuple hash (the model's own `tupleHash`, so the hashing cost is the same) and
 *    reciprocal_scale to a bucket;
 * 2. the chain walk of that bucket, reaping expired entries met on the way (`____nf_conntrack_find`);
 * 3. on a miss with the table full, early_drop: up to 8 consecutive buckets from the flow's one,
 *    killing every live unassured entry of the first bucket that has any (expired ones are
 *    reaped without counting); nothing found = the packet is dropped;
 * 4. otherwise pop a free slot, fill the tuple, head-insert both nodes (ORIGINAL in the flow's
 *    bucket, REPLY in the inverted tuple's bucket), expiry = now + 120 s.
 * A gc pass every simulated second reaps expired entries from ⌈buckets / 60⌉ buckets.
 *
 * Layout: heads Int32Array(buckets); per node (slot × 2 + dir) `next`, `prev` Int32Array
 * (`prev` = -(bucket + 2) at a chain head, so an unlink is O(1)); per slot src, dst Int32Array,
 * sport, dport Uint16Array, proto, status Uint8Array, expiry Float64Array (µs); a free-slot stack.
 *
 * The flood is the one of `syn-flood`: `entries` SYNs spaced over 120 s fill the table, then an
 * untimed warm-up of min(packets / 5, 1 M) SYNs and `packets` timed SYNs at 1 µs spacing.
 */
import { IPPROTO_TCP } from '../conntrack/constants.js';
import { HashKey, reciprocalScale, tupleHash } from '../conntrack/hash.js';
import { Rng } from '../core/rng.js';

const CONFIRMED = 1;
const ASSURED = 2;
const DYING = 4;
const LIFE_US = 120_000_000;
const RANGE = 8;

/** The bare table and its per-packet path. */
export class BoundTable {
  readonly heads: Int32Array;
  readonly next: Int32Array;
  readonly prev: Int32Array;
  readonly src: Int32Array;
  readonly dst: Int32Array;
  readonly sport: Uint16Array;
  readonly dport: Uint16Array;
  readonly proto: Uint8Array;
  readonly status: Uint8Array;
  readonly expiry: Float64Array;
  private readonly free: Int32Array;
  private nfree: number;
  count = 0;
  now = 0;
  inserted = 0;
  earlyDrops = 0;
  drops = 0;
  reapedLookup = 0;
  reapedEarlyDrop = 0;
  reapedGc = 0;
  private gcBucket = 0;

  constructor(readonly max: number, readonly nbuckets: number, private readonly key: HashKey) {
    this.heads = new Int32Array(nbuckets).fill(-1);
    this.next = new Int32Array(2 * max);
    this.prev = new Int32Array(2 * max);
    this.src = new Int32Array(max);
    this.dst = new Int32Array(max);
    this.sport = new Uint16Array(max);
    this.dport = new Uint16Array(max);
    this.proto = new Uint8Array(max);
    this.status = new Uint8Array(max);
    this.expiry = new Float64Array(max);
    this.free = new Int32Array(max);
    for (let i = 0; i < max; i++) this.free[i] = max - 1 - i;
    this.nfree = max;
  }

  private bucket(src: number, dst: number, sport: number, dport: number, proto: number): number {
    return reciprocalScale(tupleHash(this.key, src, dst, ((sport << 16) | dport) | 0, proto), this.nbuckets);
  }

  private unlink(node: number): void {
    const p = this.prev[node]!;
    const n = this.next[node]!;
    if (p >= 0) this.next[p] = n;
    else this.heads[-p - 2] = n;
    if (n >= 0) this.prev[n] = p;
  }

  private linkHead(node: number, b: number): void {
    const first = this.heads[b]!;
    this.next[node] = first;
    this.prev[node] = -(b + 2);
    if (first >= 0) this.prev[first] = node;
    this.heads[b] = node;
  }

  private kill(slot: number): void {
    this.status[slot] = DYING;
    this.unlink(slot * 2);
    this.unlink(slot * 2 + 1);
    this.status[slot] = 0;
    this.free[this.nfree++] = slot;
    this.count--;
  }

  /** Walk of bucket b for the tuple; reaps expired entries; returns the node or -1. */
  private lookup(b: number, src: number, dst: number, sport: number, dport: number, proto: number): number {
    let node = this.heads[b]!;
    while (node >= 0) {
      const slot = node >> 1;
      let nx = this.next[node]!;
      if (this.expiry[slot]! <= this.now) {
        if (nx >= 0 && nx >> 1 === slot) nx = this.next[nx]!;
        this.reapedLookup++;
        this.kill(slot);
        node = nx;
        continue;
      }
      if (this.proto[slot] === proto) {
        if ((node & 1) === 0) {
          if (this.src[slot] === src && this.dst[slot] === dst && this.sport[slot] === sport && this.dport[slot] === dport) return node;
        } else if (this.dst[slot] === src && this.src[slot] === dst && this.dport[slot] === sport && this.sport[slot] === dport) {
          return node;
        }
      }
      node = nx;
    }
    return -1;
  }

  private earlyDrop(bucket: number): boolean {
    let b = bucket;
    for (let i = 0; i < RANGE; i++) {
      if (i > 0) b = (b + 1) % this.nbuckets;
      let drops = 0;
      let node = this.heads[b]!;
      while (node >= 0) {
        const slot = node >> 1;
        let nx = this.next[node]!;
        if (nx >= 0 && nx >> 1 === slot) nx = this.next[nx]!;
        if (this.expiry[slot]! <= this.now) {
          this.reapedEarlyDrop++;
          this.kill(slot);
        } else if ((this.status[slot]! & (ASSURED | DYING)) === 0) {
          this.kill(slot);
          drops++;
        }
        node = nx;
      }
      if (drops > 0) {
        this.earlyDrops += drops;
        return true;
      }
    }
    return false;
  }

  /** One packet at time `now` (µs). Returns 1 accepted (found or inserted), 0 dropped. */
  packet(src: number, dst: number, sport: number, dport: number, proto: number): number {
    const b = this.bucket(src, dst, sport, dport, proto);
    if (this.lookup(b, src, dst, sport, dport, proto) >= 0) return 1;
    if (this.count >= this.max && !this.earlyDrop(b)) {
      this.drops++;
      return 0;
    }
    const slot = this.free[--this.nfree]!;
    this.count++;
    this.src[slot] = src;
    this.dst[slot] = dst;
    this.sport[slot] = sport;
    this.dport[slot] = dport;
    this.proto[slot] = proto;
    this.status[slot] = CONFIRMED;
    this.expiry[slot] = this.now + LIFE_US;
    this.linkHead(slot * 2, b);
    this.linkHead(slot * 2 + 1, this.bucket(dst, src, dport, sport, proto));
    this.inserted++;
    return 1;
  }

  /** One gc pass: reaps expired entries of the next ⌈buckets / 60⌉ buckets. */
  gc(): void {
    const n = Math.ceil(this.nbuckets / 60);
    for (let k = 0; k < n; k++) {
      let node = this.heads[this.gcBucket]!;
      while (node >= 0) {
        const slot = node >> 1;
        let nx = this.next[node]!;
        if (nx >= 0 && nx >> 1 === slot) nx = this.next[nx]!;
        if (this.expiry[slot]! <= this.now) {
          this.reapedGc++;
          this.kill(slot);
        }
        node = nx;
      }
      this.gcBucket = this.gcBucket + 1 === this.nbuckets ? 0 : this.gcBucket + 1;
    }
  }
}

/** Result of one bound run. */
export interface BoundRun {
  packets: number;
  seconds: number;
  setupSeconds: number;
  liveEntries: number;
  /** Typed-array bytes of the table per live entry. */
  bytesPerEntry: number;
  simSeconds: number;
  check: Record<string, number>;
}

/** Runs the bound flood: prefill, warm-up, `packets` timed SYNs (wall clock: a benchmark, not model code). */
export function runBound(entries: number, buckets: number, packets: number, seed: number): BoundRun {
  const t0 = performance.now();
  const rng = new Rng(`ctsim/bench/syn-flood/${seed}`);
  const key = new HashKey(rng.int32(), rng.int32(), rng.int32(), rng.int32());
  const t = new BoundTable(entries, buckets, key);
  let now = 0;
  let nextGc = 1_000_000;
  const dst = 0xc000020a | 0;
  const flood = (n: number, spacing: number): void => {
    for (let i = 0; i < n; i++) {
      now += spacing;
      t.now = now;
      while (nextGc <= now) { t.gc(); nextGc += 1_000_000; }
      const src = rng.int32();
      const sport = 1024 + ((rng.uniform() * 64512) | 0);
      rng.int32(); // the ISN the model's SYN carries (same draws per packet as syn-flood)
      t.packet(src, dst, sport, 80, IPPROTO_TCP);
    }
  };
  flood(entries, Math.max(1, Math.floor(LIFE_US / entries)));
  const live = t.count;
  flood(Math.min(Math.floor(packets / 5), 1_000_000), 1);
  const setupSeconds = (performance.now() - t0) / 1000;
  const simStart = now;
  const t1 = performance.now();
  flood(packets, 1);
  const seconds = (performance.now() - t1) / 1000;
  const bytes = buckets * 4 + entries * (2 * 4 + 2 * 4 + 4 + 4 + 2 + 2 + 1 + 1 + 8 + 4);
  return {
    packets, seconds, setupSeconds, liveEntries: live, bytesPerEntry: bytes / live, simSeconds: (now - simStart) / 1e6,
    check: {
      count: t.count, inserted: t.inserted, early_drop: t.earlyDrops, drop: t.drops,
      reaped_lookup: t.reapedLookup, reaped_early_drop: t.reapedEarlyDrop, reaped_gc: t.reapedGc,
    },
  };
}
