import { HashKey, reciprocalScale, tupleHash } from './hash.js';

/**
 * Hot record layout: 8 int32 words (32 B, two records per 64-byte cache line) per slot, holding
 * everything a chain walk, early_drop and the gc read, so a chain node costs one cache line:
 * word 0/1 `next` of the ORIGINAL/REPLY node, 2 src, 3 dst, 4 ports ((sport << 16) | dport),
 * 5 rports (the REPLY tuple's port word), 6 timeout (jiffies), 7 (l3proto << 16) | status.
 * Index of a field: `slot * HOT_STRIDE + H_*`; of a node's next: `hotNext(node)`.
 */
export const HOT_STRIDE = 8;
export const H_NEXT = 0;
export const H_SRC = 2;
export const H_DST = 3;
export const H_PORTS = 4;
export const H_RPORTS = 5;
export const H_TIMEOUT = 6;
export const H_L3ST = 7;

/** Index in `hot` of a node's `next` word (node = slot × 2 + dir). */
export function hotNext(node: number): number {
  return (node << 2) - 3 * (node & 1);
}

/**
 * The conntrack hash table as typed arrays (§1.1, §1.5): `nbuckets` chain heads and, per entry
 * slot, two hash nodes (node = slot × 2 + dir; dir 0 ORIGINAL, dir 1 REPLY) linked into doubly
 * linked chains (`prev` plays the role of hlist's pprev, so unlinking a node is O(1)). Inserts
 * go at the chain head, as `__nf_conntrack_hash_insert()` does.
 *
 * Only the ORIGINAL tuple is stored, plus the reply's port-like word (ICMP's reply carries the
 * inverted type): the REPLY tuple is the ORIGINAL with addresses swapped (no NAT is modelled).
 *
 * This class owns storage and chain surgery only. Expiry, eviction, events and counters live in
 * `Conntrack` (conntrack.ts), which calls these primitives.
 */
export class ConntrackTable {
  /** Number of hash buckets (`nf_conntrack_buckets`). */
  nbuckets: number;
  /** Slots allocated (grows by doubling when nf_conntrack_max is 0, i.e. unlimited). */
  capacity: number;

  /**
   * Two int32 per bucket, side by side in one cache line: `bkt[2b]` the chain head (first node,
   * -1 when empty; read it with `headOf(b)`) and `bkt[2b + 1]` the number of nodes in the chain,
   * kept up to date by `linkHead`/`unlink` so the confirm-time chain-length check (§1.8) reads
   * one counter, on the line the head is on, instead of walking two chains (the same numbers).
   */
  bkt: Int32Array;
  /**
   * The hot records (see HOT_STRIDE): chain links, ORIGINAL tuple, reply port word, timeout,
   * l3proto and status of every slot. For a free slot, word 0 links the free list.
   */
  hot: Int32Array;
  /** Per node: previous node, or -(bucket + 2) for the first node of a chain, or -1 when unlinked. */
  prev: Int32Array;
  /**
   * REPLY-tuple addresses, allocated only when NAT is configured (`enableNat`); null otherwise,
   * and then the REPLY addresses are the ORIGINAL ones swapped. NAT rewrites them before
   * confirm (`nf_conntrack_alter_reply()`), so the REPLY node hashes on the translated tuple.
   * Only NAT entries' lookups read them (a side record the plain flood never touches).
   */
  rsrc: Int32Array | null = null;
  rdst: Int32Array | null = null;

  private freeHead = -1;
  private used = 0;

  constructor(nbuckets: number, capacity: number, readonly key: HashKey) {
    this.nbuckets = nbuckets;
    this.capacity = capacity;
    this.bkt = ConntrackTable.newBuckets(nbuckets);
    this.hot = new Int32Array(HOT_STRIDE * capacity);
    this.prev = new Int32Array(2 * capacity).fill(-1);
    this.threadFree(0, capacity);
  }

  private static newBuckets(n: number): Int32Array {
    const a = new Int32Array(2 * n);
    for (let b = 0; b < n; b++) a[2 * b] = -1;
    return a;
  }

  /** First node of a bucket's chain, -1 when empty. */
  headOf(b: number): number { return this.bkt[2 * b]!; }

  // Field accessors (one slot's hot record). The hot path indexes `hot` directly.
  /** Next node after `node` in its chain (-1 ends it). */
  nextOf(node: number): number { return this.hot[hotNext(node)]!; }
  /** ORIGINAL source address. */
  srcOf(s: number): number { return this.hot[s * HOT_STRIDE + H_SRC]!; }
  /** ORIGINAL destination address. */
  dstOf(s: number): number { return this.hot[s * HOT_STRIDE + H_DST]!; }
  /** (sport << 16) | dport of the ORIGINAL tuple. */
  portsOf(s: number): number { return this.hot[s * HOT_STRIDE + H_PORTS]!; }
  /** (sport << 16) | dport of the REPLY tuple. */
  rportsOf(s: number): number { return this.hot[s * HOT_STRIDE + H_RPORTS]!; }
  setRports(s: number, v: number): void { this.hot[s * HOT_STRIDE + H_RPORTS] = v; }
  /** (l3 << 8) | protonum. */
  l3protoOf(s: number): number { return this.hot[s * HOT_STRIDE + H_L3ST]! >>> 16; }
  /** IPS_* status bits. */
  statusOf(s: number): number { return this.hot[s * HOT_STRIDE + H_L3ST]! & 0xffff; }
  /** Sets IPS_* bits (status |= bits). */
  orStatus(s: number, bits: number): void { this.hot[s * HOT_STRIDE + H_L3ST] |= bits & 0xffff; }
  /** Clears IPS_* bits (status &= ~bits). */
  clearStatus(s: number, bits: number): void { this.hot[s * HOT_STRIDE + H_L3ST] &= ~(bits & 0xffff); }
  /** `ct->timeout`: absolute deadline in jiffies (low 32 bits, signed compare) once confirmed. */
  timeoutOf(s: number): number { return this.hot[s * HOT_STRIDE + H_TIMEOUT]!; }
  setTimeoutOf(s: number, v: number): void { this.hot[s * HOT_STRIDE + H_TIMEOUT] = v; }

  /** Writes a new entry's ORIGINAL tuple, reply port word and l3proto (status 0, timeout 0). */
  fillTuple(s: number, src: number, dst: number, ports: number, rports: number, l3proto: number): void {
    const h = this.hot;
    const i = s * HOT_STRIDE;
    h[i + H_SRC] = src;
    h[i + H_DST] = dst;
    h[i + H_PORTS] = ports;
    h[i + H_RPORTS] = rports;
    h[i + H_TIMEOUT] = 0;
    h[i + H_L3ST] = l3proto << 16;
    if (this.rsrc !== null) {
      this.rsrc[s] = dst;
      this.rdst![s] = src;
    }
  }

  /**
   * Replaces the bucket array of an empty table with one of exactly `n` buckets (no rounding to
   * 512): tests use it to control which entries share buckets.
   */
  resetBuckets(n: number): void {
    if (this.used !== 0) throw new Error('resetBuckets: the table is not empty');
    this.nbuckets = n;
    this.bkt = ConntrackTable.newBuckets(n);
  }

  /** Allocates the REPLY-address arrays (NAT configured); entries already present get swapped addresses. */
  enableNat(): void {
    if (this.rsrc !== null) return;
    this.rsrc = new Int32Array(this.capacity);
    this.rdst = new Int32Array(this.capacity);
    for (let s = 0; s < this.capacity; s++) {
      this.rsrc[s] = this.dstOf(s);
      this.rdst[s] = this.srcOf(s);
    }
  }

  /** REPLY-tuple source address of a slot. */
  replySrc(s: number): number {
    return this.rsrc !== null ? this.rsrc[s]! : this.dstOf(s);
  }

  /** REPLY-tuple destination address of a slot. */
  replyDst(s: number): number {
    return this.rdst !== null ? this.rdst[s]! : this.srcOf(s);
  }

  /** Slots currently handed out (confirmed or not). */
  get slotsInUse(): number {
    return this.used;
  }

  private threadFree(from: number, to: number): void {
    for (let s = to - 1; s >= from; s--) {
      this.hot[s * HOT_STRIDE] = this.freeHead;
      this.freeHead = s;
    }
  }

  /** Takes a free slot, or returns -1 when none is left and the table may not grow. */
  allocSlot(mayGrow: boolean): number {
    if (this.freeHead < 0) {
      if (!mayGrow) return -1;
      this.grow(this.capacity * 2);
    }
    const s = this.freeHead;
    this.freeHead = this.hot[s * HOT_STRIDE]!;
    this.prev[s * 2] = -1;
    this.prev[s * 2 + 1] = -1;
    this.hot[s * HOT_STRIDE + H_L3ST] &= ~0xffff;
    this.used++;
    return s;
  }

  /** Returns an unlinked slot to the free list. */
  freeSlot(s: number): void {
    this.hot[s * HOT_STRIDE] = this.freeHead;
    this.freeHead = s;
    this.hot[s * HOT_STRIDE + H_L3ST] &= ~0xffff;
    this.used--;
  }

  /** Bucket of a tuple given as raw fields. */
  bucketOf(src: number, dst: number, ports: number, l3proto: number): number {
    return reciprocalScale(tupleHash(this.key, src, dst, ports, l3proto), this.nbuckets);
  }

  /** Bucket the given node belongs in (computed from the stored tuple). */
  nodeBucket(node: number): number {
    const s = node >> 1;
    return (node & 1) === 0
      ? this.bucketOf(this.srcOf(s), this.dstOf(s), this.portsOf(s), this.l3protoOf(s))
      : this.bucketOf(this.replySrc(s), this.replyDst(s), this.rportsOf(s), this.l3protoOf(s));
  }

  /** Inserts a node at the head of a bucket's chain. */
  linkHead(node: number, bucket: number): void {
    const first = this.bkt[2 * bucket]!;
    this.hot[hotNext(node)] = first;
    this.prev[node] = -(bucket + 2);
    if (first >= 0) this.prev[first] = node;
    this.bkt[2 * bucket] = node;
    this.bkt[2 * bucket + 1]++;
  }

  /** Removes a node from its chain (no-op when it is not linked). */
  unlink(node: number): void {
    const p = this.prev[node]!;
    if (p === -1) return;
    const hn = hotNext(node);
    const n = this.hot[hn]!;
    if (p >= 0) {
      this.hot[hotNext(p)] = n;
      this.bkt[2 * this.nodeBucket(node) + 1]--;
    } else {
      this.bkt[-2 * p - 4] = n;
      this.bkt[-2 * p - 3]--;
    }
    if (n >= 0) this.prev[n] = p;
    this.prev[node] = -1;
    this.hot[hn] = -1;
  }

  isLinked(node: number): boolean {
    return this.prev[node] !== -1;
  }

  /** Number of nodes in a bucket's chain. */
  chainLength(bucket: number): number {
    return this.bkt[2 * bucket + 1]!;
  }

  /** Counts a chain by walking it (checks the counter in tests). */
  walkChainLength(bucket: number): number {
    let n = 0;
    for (let node = this.headOf(bucket); node >= 0; node = this.nextOf(node)) n++;
    return n;
  }

  private grow(cap: number): void {
    const old = this.capacity;
    const g32 = (a: Int32Array, n: number) => { const b = new Int32Array(n); b.set(a); return b; };
    this.hot = g32(this.hot, HOT_STRIDE * cap);
    const prev = new Int32Array(2 * cap).fill(-1);
    prev.set(this.prev);
    this.prev = prev;
    if (this.rsrc !== null) {
      this.rsrc = g32(this.rsrc, cap);
      this.rdst = g32(this.rdst!, cap);
    }
    this.capacity = cap;
    this.threadFree(old, cap);
    this.onGrow?.(cap);
  }

  /** Called after the slot arrays grew, so owners of per-slot side arrays can grow theirs. */
  onGrow: ((capacity: number) => void) | undefined;

  /**
   * Replaces the bucket array by one of `n` buckets and moves every linked node into it, as
   * `nf_conntrack_hash_resize()` does: old buckets in index order, each chain from its head,
   * each node head-inserted into its new bucket (same hash key). Built on the chain walk and
   * `linkHead` only, so a different node layout needs no change here.
   */
  rehash(n: number): void {
    const order = new Int32Array(2 * this.used);
    let k = 0;
    for (let b = 0; b < this.nbuckets; b++) {
      for (let node = this.headOf(b); node >= 0; node = this.nextOf(node)) order[k++] = node;
    }
    this.nbuckets = n;
    this.bkt = ConntrackTable.newBuckets(n);
    for (let i = 0; i < k; i++) {
      const node = order[i]!;
      this.linkHead(node, this.nodeBucket(node));
    }
  }
}
