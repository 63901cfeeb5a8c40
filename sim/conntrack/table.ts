import { HashKey, reciprocalScale, tupleHash } from './hash.js';

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

  /** Chain heads: first node of each bucket, -1 when empty. */
  heads: Int32Array;
  /**
   * Nodes per chain, kept up to date by `linkHead`/`unlink` so the confirm-time chain-length
   * check (§1.8) reads one counter instead of walking two chains (the same numbers, faster).
   */
  chainLen: Int32Array;
  /** Per node: next node in the chain (-1 ends it); for a free slot, node slot×2 links the free list. */
  next: Int32Array;
  /** Per node: previous node, or -(bucket + 2) for the first node of a chain, or -1 when unlinked. */
  prev: Int32Array;

  // Tuple of the ORIGINAL direction, per slot.
  src: Int32Array;
  dst: Int32Array;
  /** (sport << 16) | dport of the ORIGINAL tuple. */
  ports: Int32Array;
  /** (sport << 16) | dport of the REPLY tuple. */
  rports: Int32Array;
  /** (l3 << 8) | protonum. */
  l3proto: Uint16Array;
  /**
   * REPLY-tuple addresses, allocated only when NAT is configured (`enableNat`); null otherwise,
   * and then the REPLY addresses are the ORIGINAL ones swapped. NAT rewrites them before
   * confirm (`nf_conntrack_alter_reply()`), so the REPLY node hashes on the translated tuple.
   */
  rsrc: Int32Array | null = null;
  rdst: Int32Array | null = null;

  /** IPS_* status bits. */
  status: Uint16Array;
  /** `ct->timeout`: absolute deadline in jiffies (low 32 bits, signed compare) once confirmed. */
  timeout: Int32Array;

  private freeHead = -1;
  private used = 0;

  constructor(nbuckets: number, capacity: number, readonly key: HashKey) {
    this.nbuckets = nbuckets;
    this.capacity = capacity;
    this.heads = new Int32Array(nbuckets).fill(-1);
    this.chainLen = new Int32Array(nbuckets);
    this.next = new Int32Array(2 * capacity);
    this.prev = new Int32Array(2 * capacity).fill(-1);
    this.src = new Int32Array(capacity);
    this.dst = new Int32Array(capacity);
    this.ports = new Int32Array(capacity);
    this.rports = new Int32Array(capacity);
    this.l3proto = new Uint16Array(capacity);
    this.status = new Uint16Array(capacity);
    this.timeout = new Int32Array(capacity);
    this.threadFree(0, capacity);
  }

  /**
   * Replaces the bucket array of an empty table with one of exactly `n` buckets (no rounding to
   * 512): tests use it to control which entries share buckets.
   */
  resetBuckets(n: number): void {
    if (this.used !== 0) throw new Error('resetBuckets: the table is not empty');
    this.nbuckets = n;
    this.heads = new Int32Array(n).fill(-1);
    this.chainLen = new Int32Array(n);
  }

  /** Allocates the REPLY-address arrays (NAT configured); entries already present get swapped addresses. */
  enableNat(): void {
    if (this.rsrc !== null) return;
    this.rsrc = new Int32Array(this.capacity);
    this.rdst = new Int32Array(this.capacity);
    this.rsrc.set(this.dst);
    this.rdst.set(this.src);
  }

  /** REPLY-tuple source address of a slot. */
  replySrc(s: number): number {
    return this.rsrc !== null ? this.rsrc[s]! : this.dst[s]!;
  }

  /** REPLY-tuple destination address of a slot. */
  replyDst(s: number): number {
    return this.rdst !== null ? this.rdst[s]! : this.src[s]!;
  }

  /** Slots currently handed out (confirmed or not). */
  get slotsInUse(): number {
    return this.used;
  }

  private threadFree(from: number, to: number): void {
    for (let s = to - 1; s >= from; s--) {
      this.next[s * 2] = this.freeHead;
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
    this.freeHead = this.next[s * 2];
    this.prev[s * 2] = -1;
    this.prev[s * 2 + 1] = -1;
    this.status[s] = 0;
    this.used++;
    return s;
  }

  /** Returns an unlinked slot to the free list. */
  freeSlot(s: number): void {
    this.next[s * 2] = this.freeHead;
    this.freeHead = s;
    this.status[s] = 0;
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
      ? this.bucketOf(this.src[s], this.dst[s], this.ports[s], this.l3proto[s])
      : this.bucketOf(this.replySrc(s), this.replyDst(s), this.rports[s], this.l3proto[s]);
  }

  /** Inserts a node at the head of a bucket's chain. */
  linkHead(node: number, bucket: number): void {
    const first = this.heads[bucket];
    this.next[node] = first;
    this.prev[node] = -(bucket + 2);
    if (first >= 0) this.prev[first] = node;
    this.heads[bucket] = node;
    this.chainLen[bucket]++;
  }

  /** Removes a node from its chain (no-op when it is not linked). */
  unlink(node: number): void {
    const p = this.prev[node];
    if (p === -1) return;
    const n = this.next[node];
    if (p >= 0) {
      this.next[p] = n;
      this.chainLen[this.nodeBucket(node)]--;
    } else {
      this.heads[-p - 2] = n;
      this.chainLen[-p - 2]--;
    }
    if (n >= 0) this.prev[n] = p;
    this.prev[node] = -1;
    this.next[node] = -1;
  }

  isLinked(node: number): boolean {
    return this.prev[node] !== -1;
  }

  /** Number of nodes in a bucket's chain. */
  chainLength(bucket: number): number {
    return this.chainLen[bucket]!;
  }

  /** Counts a chain by walking it (checks `chainLen` in tests). */
  walkChainLength(bucket: number): number {
    let n = 0;
    for (let node = this.heads[bucket]!; node >= 0; node = this.next[node]!) n++;
    return n;
  }

  private grow(cap: number): void {
    const old = this.capacity;
    const g32 = (a: Int32Array, n: number) => { const b = new Int32Array(n); b.set(a); return b; };
    const g16 = (a: Uint16Array, n: number) => { const b = new Uint16Array(n); b.set(a); return b; };
    this.next = g32(this.next, 2 * cap);
    const prev = new Int32Array(2 * cap).fill(-1);
    prev.set(this.prev);
    this.prev = prev;
    this.src = g32(this.src, cap);
    this.dst = g32(this.dst, cap);
    this.ports = g32(this.ports, cap);
    this.rports = g32(this.rports, cap);
    this.l3proto = g16(this.l3proto, cap);
    this.status = g16(this.status, cap);
    this.timeout = g32(this.timeout, cap);
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
      for (let node = this.heads[b]!; node >= 0; node = this.next[node]!) order[k++] = node;
    }
    this.nbuckets = n;
    this.heads = new Int32Array(n).fill(-1);
    this.chainLen = new Int32Array(n);
    for (let i = 0; i < k; i++) {
      const node = order[i]!;
      this.linkHead(node, this.nodeBucket(node));
    }
  }
}
