import { HashKey, reciprocalScale, tupleHash } from './hash.js';

/**
 * Hot record layout: 8 int32 words (32 B, two records per 64-byte cache line) per slot, holding
 * everything a chain walk, early_drop, the gc and the per-destroy observer read, so visiting a
 * chain node costs one cache line: word 0 `born` (jiffies at confirmation), 1 `lastSeen`
 * (jiffies at the last packet), 2 src, 3 dst, 4 ports ((sport << 16) | dport), 5 rports (the
 * REPLY tuple's port word), 6 timeout (jiffies), 7 (l3proto << 16) | status.
 * Index of a field: `slot * HOT_STRIDE + H_*`.
 */
export const HOT_STRIDE = 8;
export const H_BORN = 0;
export const H_LAST_SEEN = 1;
export const H_SRC = 2;
export const H_DST = 3;
export const H_PORTS = 4;
export const H_RPORTS = 5;
export const H_TIMEOUT = 6;
export const H_L3ST = 7;

/**
 * Bucket record layout: 4 int32 words (16 B, four buckets per cache line) per bucket. Word 0 is
 * the number of nodes in the chain. Up to BKT_INLINE nodes sit in words 1..3 themselves; a longer
 * chain lives in a block of the spill area at the end of the same array (word 1: the block's
 * index in `bkt`, word 2: its capacity in nodes). Either way the nodes are stored oldest first:
 * storage position 0 is the chain's tail and position count - 1 its head, so the kernel's head
 * insertion is an append and a walk from the head reads positions count - 1 down to 0.
 */
export const BKT_STRIDE = 4;
export const BKT_INLINE = 3;
/** Smallest spill block, in nodes (blocks are powers of two from here). */
const SPILL_MIN = 8;
/** Size classes of spill blocks: 8, 16, … 2^30 nodes. */
const SPILL_CLASSES = 28;

/**
 * The conntrack hash table as typed arrays (§1.1, §1.5): `nbuckets` chains and, per entry slot,
 * two hash nodes (node = slot × 2 + dir; dir 0 ORIGINAL, dir 1 REPLY). A chain is stored as an
 * array of node ids in its bucket record (see BKT_STRIDE) rather than as linked nodes, so a
 * lookup reads one bucket line and then the hot records of the nodes, all independent loads,
 * instead of following one dependent `next` pointer per node. The order is the kernel's exactly:
 * inserts go at the chain head, as `__nf_conntrack_hash_insert()` does, and removing a node keeps
 * the others in order (hlist_nulls_del_rcu()).
 *
 * Only the ORIGINAL tuple is stored, plus the reply's port-like word (ICMP's reply carries the
 * inverted type): the REPLY tuple is the ORIGINAL with addresses swapped, unless NAT rewrote it
 * (`rsrc`/`rdst`).
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
   * Bucket records (BKT_STRIDE words each, see there) followed by the spill area: blocks of
   * SPILL_MIN × 2^k node ids for chains longer than BKT_INLINE, recycled through one free list
   * per size (a free block's first word links the list). The array is replaced when the spill
   * area grows, so never keep a reference to it across a `linkHead`.
   */
  bkt: Int32Array;
  /**
   * The hot records (see HOT_STRIDE): born, lastSeen, ORIGINAL tuple, reply port word, timeout,
   * l3proto and status of every slot. For a free slot, word 0 links the free list.
   */
  hot: Int32Array;
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
  /** First unused word of the spill area, and the free list of each block size. */
  private spillTop = 0;
  private readonly spillFree = new Int32Array(SPILL_CLASSES).fill(-1);

  constructor(nbuckets: number, capacity: number, readonly key: HashKey) {
    this.nbuckets = nbuckets;
    this.capacity = capacity;
    this.bkt = this.newBuckets(nbuckets);
    this.hot = new Int32Array(HOT_STRIDE * capacity);
    this.threadFree(0, capacity);
  }

  /**
   * An empty bucket array with a spill area of 1.25 words per bucket to start with: a table
   * filled at about one entry per bucket (two nodes) uses about one (chains of 4–8 nodes take
   * a block of 8). It grows by a quarter when full.
   */
  private newBuckets(n: number): Int32Array {
    const a = new Int32Array(BKT_STRIDE * n + Math.max(4 * SPILL_MIN, n + (n >> 2)));
    this.spillTop = BKT_STRIDE * n;
    this.spillFree.fill(-1);
    return a;
  }

  /** Number of nodes in a bucket's chain. */
  chainLength(bucket: number): number {
    return this.bkt[bucket * BKT_STRIDE]!;
  }

  /** Index in `bkt` of a chain's storage position 0 (its tail). */
  chainBase(bucket: number): number {
    const w = bucket * BKT_STRIDE;
    return this.bkt[w]! <= BKT_INLINE ? w + 1 : this.bkt[w + 1]!;
  }

  /**
   * The node at storage position `pos` of a chain: position chainLength - 1 is the head (the
   * newest node), 0 the tail. Walk head first with `for (p = chainLength(b) - 1; p >= 0; p--)`.
   */
  at(bucket: number, pos: number): number {
    return this.bkt[this.chainBase(bucket) + pos]!;
  }

  /** The node `i` steps from the head of a chain (0 = head), for readers that count from the head. */
  nodeAt(bucket: number, i: number): number {
    return this.at(bucket, this.chainLength(bucket) - 1 - i);
  }

  /** First node (head) of a bucket's chain, -1 when empty. Kept for policies written against the linked layout. */
  headOf(bucket: number): number {
    const n = this.chainLength(bucket);
    return n === 0 ? -1 : this.at(bucket, n - 1);
  }

  /**
   * The node after `node` in its chain (towards the tail), -1 at the end or when the node is not
   * linked. Kept for policies written against the linked layout; it hashes the node's tuple to
   * find its bucket, so walks in the model use `chainLength`/`at` instead.
   */
  nextOf(node: number): number {
    const b = this.nodeBucket(node);
    const p = this.relocate(b, node, this.chainLength(b) - 1);
    return p > 0 ? this.at(b, p - 1) : -1;
  }

  /**
   * Where `node` is now in a chain, given that it was at storage position `from` or below before
   * some nodes were removed (a removal only moves the nodes above it down). Returns its position,
   * or -1 when it is no longer in the chain. Walks that delete as they go use it to resume.
   */
  relocate(bucket: number, node: number, from: number): number {
    const n = this.chainLength(bucket);
    const base = this.chainBase(bucket);
    const bk = this.bkt;
    for (let p = from < n ? from : n - 1; p >= 0; p--) if (bk[base + p] === node) return p;
    return -1;
  }

  // Field accessors (one slot's hot record). The hot path indexes `hot` directly.
  /** Jiffies at confirmation. */
  bornOf(s: number): number { return this.hot[s * HOT_STRIDE + H_BORN]!; }
  /** Jiffies at the last packet attached. */
  lastSeenOf(s: number): number { return this.hot[s * HOT_STRIDE + H_LAST_SEEN]!; }
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
    this.bkt = this.newBuckets(n);
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
    const w = bucket * BKT_STRIDE;
    let bk = this.bkt;
    const n = bk[w]!;
    if (n < BKT_INLINE) {
      bk[w + 1 + n] = node;
    } else if (n === BKT_INLINE) {
      // the chain outgrows its bucket record: move it to a spill block
      const blk = this.spillAlloc(0);
      bk = this.bkt;
      bk[blk] = bk[w + 1]!;
      bk[blk + 1] = bk[w + 2]!;
      bk[blk + 2] = bk[w + 3]!;
      bk[blk + 3] = node;
      bk[w + 1] = blk;
      bk[w + 2] = SPILL_MIN;
      bk[w + 3] = 0;
    } else {
      let blk = bk[w + 1]!;
      const cap = bk[w + 2]!;
      if (n === cap) {
        // full block: move to one twice the size
        const nb = this.spillAlloc(sizeClass(cap) + 1);
        bk = this.bkt;
        bk.copyWithin(nb, blk, blk + n);
        this.spillRelease(blk, cap);
        blk = nb;
        bk[w + 1] = blk;
        bk[w + 2] = cap * 2;
      }
      bk[blk + n] = node;
    }
    bk[w] = n + 1;
  }

  /**
   * Removes the node at storage position `pos` of a chain; the nodes above it move down one
   * position, the others keep theirs.
   */
  removeAt(bucket: number, pos: number): void {
    const w = bucket * BKT_STRIDE;
    const bk = this.bkt;
    const n = bk[w]!;
    if (n <= BKT_INLINE) {
      const base = w + 1;
      for (let p = pos; p < n - 1; p++) bk[base + p] = bk[base + p + 1]!;
      bk[base + n - 1] = 0;
    } else {
      const blk = bk[w + 1]!;
      for (let p = pos; p < n - 1; p++) bk[blk + p] = bk[blk + p + 1]!;
      if (n - 1 === BKT_INLINE) {
        // back into the bucket record
        const cap = bk[w + 2]!;
        bk[w + 1] = bk[blk]!;
        bk[w + 2] = bk[blk + 1]!;
        bk[w + 3] = bk[blk + 2]!;
        this.spillRelease(blk, cap);
      }
    }
    bk[w] = n - 1;
  }

  /**
   * Removes a node from its chain; `bucket`, when given (≥ 0), is where it is known to be (saves
   * hashing its tuple). No-op when the node is not linked.
   */
  unlink(node: number, bucket = -1): void {
    const b = bucket >= 0 ? bucket : this.nodeBucket(node);
    const p = this.relocate(b, node, this.chainLength(b) - 1);
    if (p >= 0) this.removeAt(b, p);
  }

  /** Whether the node is in its chain (hashes its tuple and searches the bucket). */
  isLinked(node: number): boolean {
    const b = this.nodeBucket(node);
    return this.relocate(b, node, this.chainLength(b) - 1) >= 0;
  }

  /**
   * Checks the bucket records and the spill area (tests): every chain's storage, the spill
   * blocks' sizes and that no two chains share a block. Throws on the first inconsistency.
   */
  checkBuckets(): void {
    const owner = new Map<number, number>();
    for (let b = 0; b < this.nbuckets; b++) {
      const w = b * BKT_STRIDE;
      const n = this.bkt[w]!;
      if (n < 0) throw new Error(`bucket ${b}: negative chain length ${n}`);
      if (n > BKT_INLINE) {
        const blk = this.bkt[w + 1]!, cap = this.bkt[w + 2]!;
        if (blk < this.nbuckets * BKT_STRIDE || blk + cap > this.spillTop) throw new Error(`bucket ${b}: spill block ${blk}+${cap} outside the spill area`);
        if (cap < n || cap < SPILL_MIN || (cap & (cap - 1)) !== 0) throw new Error(`bucket ${b}: spill block of ${cap} for ${n} nodes`);
        for (let i = blk; i < blk + cap; i++) {
          if (owner.has(i)) throw new Error(`bucket ${b}: spill word ${i} also used by bucket ${owner.get(i)}`);
          owner.set(i, b);
        }
      }
    }
  }

  /** A spill block of SPILL_MIN << cls nodes: from its free list, else from the end of the area. */
  private spillAlloc(cls: number): number {
    const f = this.spillFree[cls]!;
    if (f >= 0) {
      this.spillFree[cls] = this.bkt[f]!;
      return f;
    }
    const size = SPILL_MIN << cls;
    if (this.spillTop + size > this.bkt.length) {
      const head = this.nbuckets * BKT_STRIDE;
      const area = this.bkt.length - head;
      const grown = new Int32Array(Math.max(head + area + (area >> 2), this.spillTop + size));
      grown.set(this.bkt);
      this.bkt = grown;
    }
    const blk = this.spillTop;
    this.spillTop += size;
    return blk;
  }

  private spillRelease(blk: number, cap: number): void {
    const cls = sizeClass(cap);
    this.bkt[blk] = this.spillFree[cls]!;
    this.spillFree[cls] = blk;
  }

  private grow(cap: number): void {
    const old = this.capacity;
    const g32 = (a: Int32Array, n: number) => { const b = new Int32Array(n); b.set(a); return b; };
    this.hot = g32(this.hot, HOT_STRIDE * cap);
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
   * each node head-inserted into its new bucket (same hash key).
   */
  rehash(n: number): void {
    const order = new Int32Array(2 * this.used);
    let k = 0;
    for (let b = 0; b < this.nbuckets; b++) {
      for (let p = this.chainLength(b) - 1; p >= 0; p--) order[k++] = this.at(b, p);
    }
    this.nbuckets = n;
    this.bkt = this.newBuckets(n);
    for (let i = 0; i < k; i++) {
      const node = order[i]!;
      this.linkHead(node, this.nodeBucket(node));
    }
  }
}

/** Size class of a spill block of `cap` nodes (SPILL_MIN << class). */
function sizeClass(cap: number): number {
  return 31 - Math.clz32(cap / SPILL_MIN);
}
