/**
 * Dynamic sets with per-element stateful expressions ("meters"), as nft_dynset.c and the
 * rhash backend (nft_set_hash.c) run them (docs/rules.md §20.2):
 *
 *   set perip { type ipv4_addr; flags dynamic; size 65535; }
 *   ... ct state new add @perip { ip saddr ct count over 20 } drop
 *
 *  - `add @S { KEY EXPR }` looks the key up; a missing key creates an element whose expressions
 *    are fresh clones of the rule's (a new conncount list, a full token bucket), unless the set
 *    holds `size` elements already: then the update fails and the rule does not match
 *    (nft_dynset_new(): atomic_add_unless(&set->nelems, 1, set->size); nft_dynset_eval():
 *    NFT_BREAK). A set declared without `size` gets 65535 when a rule binds it
 *    (nft_dynset_init()).
 *  - The element's expressions are then evaluated for the packet (nft_set_elem_update_expr()):
 *    `ct count` adds to the element's own list and compares, `limit` uses the element's bucket.
 *  - The set's gc worker runs every second (nft_set_gc_interval(): `gc-interval` or HZ) and frees
 *    an element whose `ct count` list is empty after nf_conncount_gc_list() (nft_connlimit_gc(),
 *    nft_rhash_gc()). Elements with only a `limit` never leave (the model has no set timeouts).
 *
 * Keys are 32-bit: an IPv4 address, or the interned id of an IPv6 address (one id per address).
 * Open addressing with linear probing and backward-shift deletion over typed arrays: no
 * allocation per packet once grown.
 */
import type { ConnCount } from '../conntrack/conncount.js';

/** Default `size` of a set a dynset binds (nft_dynset_init(): 0 → 0xffff). */
export const NFT_DYNSET_DEFAULT_SIZE = 0xffff;
/** Set gc period (nft_set_gc_interval() without gc-interval: HZ jiffies = 1 s). */
export const NFT_SET_GC_INTERVAL_US = 1_000_000;
/**
 * Kernel bytes per element (estimate): `struct nft_rhash_elem` (rhash_head 8, wq_gc_seq 4,
 * nft_set_ext header 10, 8-aligned → 32) + a 4-byte key (8) + the expression area (8) + one
 * nft_expr (ops 8 + private data ≤ 40) = at most 96 → kmalloc-96. Plus 8 B per rhashtable bucket.
 */
export const SET_ELEM_BYTES = 96;

const EMPTY = -1;

export class DynSet {
  /** Maximum elements (`size`, 65535 when not declared). */
  readonly size: number;
  nelems = 0;
  /** Adds refused because the set was full. */
  fullFailures = 0;
  /** Elements freed by the gc. */
  gcRemoved = 0;
  /** Open-addressing slots: element id, or EMPTY. */
  private vals: Int32Array;
  private mask: number;
  // elements
  elemKey = new Int32Array(16);
  /** Per element: conncount list id (-1 when the set's expression has no `ct count`). */
  elemList = new Int32Array(16);
  private alive = new Uint8Array(16);
  private freeElem = -1;
  private usedElems = 0;
  /** Highest nelems seen. */
  peak = 0;

  constructor(readonly name: string, size: number, public cc: ConnCount | undefined) {
    this.size = size > 0 ? size : NFT_DYNSET_DEFAULT_SIZE;
    this.vals = new Int32Array(64).fill(EMPTY);
    this.mask = 63;
  }

  private hash(k: number): number {
    // a 32-bit mix (Murmur3 finaliser): spreads addresses that differ in their low bits
    let h = k | 0;
    h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
    return h & this.mask;
  }

  /** Element of `key`, or -1. */
  lookup(key: number): number {
    let i = this.hash(key);
    for (;;) {
      const e = this.vals[i];
      if (e === EMPTY) return -1;
      if (this.elemKey[e] === key) return e;
      i = (i + 1) & this.mask;
    }
  }

  /**
   * nft_rhash_update(): the element of `key`, created when missing; -1 when the set is full.
   * `isNew` tells the caller to initialise the element's expression state.
   */
  update(key: number): number {
    const e = this.lookup(key);
    if (e >= 0) { this.isNew = false; return e; }
    if (this.nelems >= this.size) { this.fullFailures++; return -1; }
    let id = this.freeElem;
    if (id >= 0) this.freeElem = this.elemList[id];
    else {
      id = this.usedElems++;
      if (id >= this.elemKey.length) this.growElems();
    }
    this.elemKey[id] = key;
    this.alive[id] = 1;
    this.elemList[id] = this.cc !== undefined ? this.cc.newList() : -1;
    this.nelems++;
    if (this.nelems > this.peak) this.peak = this.nelems;
    if ((this.nelems + 1) * 2 > this.vals.length) this.rehash(this.vals.length * 2);
    this.insert(key, id);
    this.isNew = true;
    return id;
  }

  /** Whether the last `update()` created its element. */
  isNew = false;

  private insert(key: number, id: number): void {
    let i = this.hash(key);
    while (this.vals[i] !== EMPTY) i = (i + 1) & this.mask;
    this.vals[i] = id;
  }

  /** Removes element `id` (gc). Backward-shift deletion keeps probe chains intact. */
  remove(id: number): void {
    const key = this.elemKey[id];
    let i = this.hash(key);
    while (this.vals[i] !== id) i = (i + 1) & this.mask;
    let j = i;
    for (;;) {
      j = (j + 1) & this.mask;
      if (this.vals[j] === EMPTY) break;
      const h = this.hash(this.elemKey[this.vals[j]]);
      // move j back to i when its home h is not cyclically in (i, j]
      if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
        this.vals[i] = this.vals[j];
        i = j;
      }
    }
    this.vals[i] = EMPTY;
    if (this.cc !== undefined && this.elemList[id] >= 0) this.cc.freeListId(this.elemList[id]);
    this.alive[id] = 0;
    this.elemList[id] = this.freeElem;
    this.freeElem = id;
    this.nelems--;
  }

  /** One run of the set's gc worker: frees elements whose `ct count` list is empty (nft_rhash_gc()). */
  gc(): void {
    if (this.cc === undefined) return;
    for (let id = 0; id < this.usedElems; id++) {
      // an element without a `ct count` list (only `limit`) has nothing to collect (nft_limit has no gc)
      if (this.alive[id] === 0 || this.elemList[id] < 0) continue;
      if (this.cc.gcList(this.elemList[id])) { this.remove(id); this.gcRemoved++; }
    }
  }

  /** Kernel bytes of the elements and the bucket array (estimate, see SET_ELEM_BYTES). */
  bytes(): number {
    if (this.nelems === 0) return 0;
    let b = 4;
    while (b * 3 < this.nelems * 4) b *= 2; // rhashtable keeps load ≤ 75%
    return this.nelems * SET_ELEM_BYTES + b * 8;
  }

  private rehash(cap: number): void {
    const ov = this.vals;
    this.vals = new Int32Array(cap).fill(EMPTY);
    this.mask = cap - 1;
    for (let i = 0; i < ov.length; i++) if (ov[i] !== EMPTY) this.insert(this.elemKey[ov[i]], ov[i]);
  }

  private growElems(): void {
    const c = this.elemKey.length * 2;
    const k = new Int32Array(c); k.set(this.elemKey); this.elemKey = k;
    const l = new Int32Array(c); l.set(this.elemList); this.elemList = l;
    const a = new Uint8Array(c); a.set(this.alive); this.alive = a;
  }
}
