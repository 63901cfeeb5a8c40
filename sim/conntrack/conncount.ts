/**
 * nf_conncount: lists of counted connections, as `ct count` (nft_connlimit.c), meters/dynamic
 * sets and xt_connlimit use them (docs/rules.md §20.2). Kernel v6.12.118 semantics
 * (net/netfilter/nf_conncount.c):
 *
 *  - A list holds nodes `{ORIGINAL tuple, zone, cpu, jiffies32}` plus `count`, `last_gc` and
 *    `last_gc_count`; a new list starts with `last_gc` = now (nf_conncount_list_init()).
 *  - `add()` is __nf_conncount_add(): the packet's entry gives the tuple (else the tuple is built
 *    from the packet and looked up). A confirmed entry that is ASSURED, or a packet whose ctinfo
 *    is IP_CT_ESTABLISHED, is not added (-EEXIST; the caller then runs `gcList()`); a confirmed
 *    entry otherwise skips the once-per-jiffy shortcut. Unless gc already ran in this jiffy and
 *    fewer than CONNCOUNT_GC_MAX_COLLECT (64) nodes were added since, the list is walked: a stored
 *    tuple absent from the table is removed when this CPU stored it or it is ≥ 2 jiffies old
 *    (find_or_evict()), kept otherwise (a peer CPU's entry may still be unconfirmed) — and if it
 *    equals ours, ours counts as already there; a stored tuple found in the table and equal to
 *    ours means already counted; found in TCP TIME_WAIT or CLOSE it is removed
 *    (already_closed()); more than 64 removals end the walk. Then `last_gc` = now,
 *    `last_gc_count` = count, and our tuple is appended.
 *  - `gcList()` is __nf_conncount_gc_list(): skipped when gc ran in this jiffy; removes absent and
 *    closed nodes (stopping after more than 64 removals, checked after a live node), records
 *    `last_gc`, and tells whether the list is empty (a set element is then freed).
 *
 * Lookups go through `Conntrack.find()`, which reaps expired entries on its way exactly as the
 * kernel's nf_conntrack_find_get() does. Zones: the model has one zone (0); the field is kept.
 *
 * Storage: typed arrays with free lists (nodes and lists), grown by doubling; no allocation per
 * packet once grown. Memory as the kernel allocates it: 72 B per node (slab
 * `nf_conncount_tuple`: list_head 16 + tuple 40 + zone 4 + cpu 4 + jiffies32 4, 8-aligned) and
 * a kmalloc-32 `struct nf_conncount_list` per list.
 */
import type { Conntrack } from './conntrack.js';
import type { Pkt } from './packet.js';
import { IPS_ASSURED, IPS_CONFIRMED, IPPROTO_TCP } from './constants.js';
import { TCP_CONNTRACK_CLOSE, TCP_CONNTRACK_TIME_WAIT } from './proto-tcp-const.js';
import { Malformed } from './packet.js';

export const CONNCOUNT_GC_MAX_COLLECT = 64;
/** Slab object of `struct nf_conncount_tuple` on x86_64. */
export const CONNCOUNT_TUPLE_BYTES = 72;
/** kmalloc size class of `struct nf_conncount_list` (lock 4, last_gc 4, head 16, count 4, last_gc_count 4 = 32). */
export const CONNCOUNT_LIST_BYTES = 32;

/** Return codes of `add()` (the kernel's errno values, negated). */
export const CONNCOUNT_OK = 0;
export const CONNCOUNT_EEXIST = -17;
export const CONNCOUNT_ENOENT = -2;

/** ctinfo of a packet with no entry attached (skb->_nfct = 0): IP_CT_ESTABLISHED. */
const IP_CT_ESTABLISHED = 0;

export class ConnCount {
  // nodes
  private src = new Int32Array(64);
  private dst = new Int32Array(64);
  private ports = new Int32Array(64);
  private l3 = new Int32Array(64);
  private zone = new Uint16Array(64);
  private cpu = new Uint16Array(64);
  private jif = new Int32Array(64);
  private next = new Int32Array(64);
  private prev = new Int32Array(64);
  private freeNode = -1;
  private usedNodes = 0;
  // lists
  private head = new Int32Array(16);
  private tail = new Int32Array(16);
  /** Per list: number of nodes (`list->count`). */
  count = new Int32Array(16);
  private lastGc = new Int32Array(16);
  private lastGcCount = new Int32Array(16);
  private freeList = -1;
  private usedLists = 0;
  /** Nodes and lists alive now (for memory). */
  nodesAlive = 0;
  listsAlive = 0;
  /** Removals by reason, for the summary: absent from the table, TCP TIME_WAIT/CLOSE. */
  removedAbsent = 0;
  removedClosed = 0;

  constructor(private readonly ct: Conntrack) {}

  /** A new, empty list (nf_conncount_list_init(): last_gc = now). Returns its id. */
  newList(): number {
    let id = this.freeList;
    if (id >= 0) this.freeList = this.head[id];
    else {
      id = this.usedLists++;
      if (id >= this.head.length) this.growLists();
    }
    this.head[id] = -1;
    this.tail[id] = -1;
    this.count[id] = 0;
    this.lastGc[id] = this.ct.now32;
    this.lastGcCount[id] = 0;
    this.listsAlive++;
    return id;
  }

  /** Frees a list and its nodes (set element removed, ruleset replaced). */
  freeListId(id: number): void {
    let n = this.head[id];
    while (n >= 0) { const nx = this.next[n]; this.releaseNode(n); n = nx; }
    this.count[id] = 0;
    this.head[id] = this.freeList;
    this.freeList = id;
    this.listsAlive--;
  }

  /** Kernel bytes of the lists and their nodes. */
  bytes(): number {
    return this.nodesAlive * CONNCOUNT_TUPLE_BYTES + this.listsAlive * CONNCOUNT_LIST_BYTES;
  }

  /**
   * __nf_conncount_add() for one packet. `slot` is the entry attached to the packet (-1 none),
   * `ctinfo` its ctinfo (ignored without an entry), `untracked` whether the packet was marked
   * untracked. Returns CONNCOUNT_OK (added, or already counted), CONNCOUNT_EEXIST (not added: a
   * confirmed ASSURED/ESTABLISHED entry) or CONNCOUNT_ENOENT (no tuple could be built).
   */
  add(list: number, pkt: Pkt, slot: number, ctinfo: number, untracked: boolean): number {
    const ct = this.ct;
    const tb = ct.table;
    let tSrc: number, tDst: number, tPorts: number, tL3: number;
    let found = -1;
    let info = ctinfo;
    if (slot >= 0) {
      tSrc = tb.srcOf(slot); tDst = tb.dstOf(slot); tPorts = tb.portsOf(slot); tL3 = tb.l3protoOf(slot);
      found = slot;
    } else {
      if (pkt.malformed === Malformed.TruncatedL3 || pkt.malformed === Malformed.TruncatedL4) return CONNCOUNT_ENOENT;
      tSrc = pkt.src; tDst = pkt.dst; tPorts = ((pkt.sport << 16) | pkt.dport) | 0; tL3 = (pkt.l3 << 8) | pkt.proto;
      const node = ct.find(tSrc, tDst, tPorts, tL3);
      if (node >= 0) found = node >> 1;
      // no entry on the skb: nf_ct_get() reads ctinfo from _nfct, 0 (IP_CT_ESTABLISHED) or IP_CT_UNTRACKED (7)
      info = untracked ? 7 : IP_CT_ESTABLISHED;
    }
    const now = ct.now32;
    let walk = true;
    if (found >= 0 && (tb.statusOf(found) & IPS_CONFIRMED) !== 0) {
      if ((tb.statusOf(found) & IPS_ASSURED) !== 0 || info === IP_CT_ESTABLISHED) return CONNCOUNT_EEXIST;
      // confirmed but not yet assured: deduplicate, without the once-per-jiffy shortcut
    } else if (this.lastGc[list] === now && this.count[list] - this.lastGcCount[list] < CONNCOUNT_GC_MAX_COLLECT) {
      walk = false;
    }
    if (walk) {
      const cpu = ct.curCpu;
      let collect = 0;
      let n = this.head[list];
      while (n >= 0) {
        if (collect > CONNCOUNT_GC_MAX_COLLECT) break;
        const nx = this.next[n];
        const same = this.src[n] === tSrc && this.dst[n] === tDst && this.ports[n] === tPorts && this.l3[n] === tL3 && this.zone[n] === 0;
        const f = ct.find(this.src[n], this.dst[n], this.ports[n], this.l3[n]);
        if (f < 0) {
          if (this.cpu[n] === cpu || ((now - this.jif[n]) >>> 0) >= 2) {
            this.unlink(list, n);
            this.removedAbsent++;
            collect++;
          } else if (same) {
            return CONNCOUNT_OK; // a peer CPU's not yet confirmed entry: already counted
          }
          n = nx;
          continue;
        }
        if (same) return CONNCOUNT_OK; // already counted
        if (this.closed(f >> 1)) {
          this.unlink(list, n);
          this.removedClosed++;
          collect++;
        }
        n = nx;
      }
      this.lastGc[list] = now;
      this.lastGcCount[list] = this.count[list];
    }
    this.append(list, tSrc, tDst, tPorts, tL3, ct.curCpu, now);
    return CONNCOUNT_OK;
  }

  /**
   * __nf_conncount_gc_list(): trims absent and closed nodes unless gc already ran in this jiffy.
   * Returns true when the list is empty after a gc (never when skipped).
   */
  gcList(list: number): boolean {
    const ct = this.ct;
    const now = ct.now32;
    if (this.lastGc[list] === now) return false;
    const cpu = ct.curCpu;
    let collected = 0;
    let n = this.head[list];
    while (n >= 0) {
      const nx = this.next[n];
      const f = ct.find(this.src[n], this.dst[n], this.ports[n], this.l3[n]);
      if (f < 0) {
        if (this.cpu[n] === cpu || ((now - this.jif[n]) >>> 0) >= 2) {
          this.unlink(list, n);
          this.removedAbsent++;
          collected++;
        }
        n = nx;
        continue;
      }
      if (this.closed(f >> 1)) {
        this.unlink(list, n);
        this.removedClosed++;
        collected++;
        n = nx;
        continue;
      }
      if (collected > CONNCOUNT_GC_MAX_COLLECT) break;
      n = nx;
    }
    this.lastGc[list] = now;
    this.lastGcCount[list] = this.count[list];
    return this.count[list] === 0;
  }

  /** already_closed(): TCP in TIME_WAIT or CLOSE. */
  private closed(slot: number): boolean {
    const ct = this.ct;
    if ((ct.table.l3protoOf(slot) & 0xff) !== IPPROTO_TCP) return false;
    const s = ct.tcp.stateOf(slot);
    return s === TCP_CONNTRACK_TIME_WAIT || s === TCP_CONNTRACK_CLOSE;
  }

  private append(list: number, s: number, d: number, p: number, l3: number, cpu: number, jif: number): void {
    let n = this.freeNode;
    if (n >= 0) this.freeNode = this.next[n];
    else {
      n = this.usedNodes++;
      if (n >= this.src.length) this.growNodes();
    }
    this.src[n] = s; this.dst[n] = d; this.ports[n] = p; this.l3[n] = l3;
    this.zone[n] = 0; this.cpu[n] = cpu; this.jif[n] = jif;
    this.next[n] = -1;
    const t = this.tail[list];
    this.prev[n] = t;
    if (t >= 0) this.next[t] = n; else this.head[list] = n;
    this.tail[list] = n;
    this.count[list]++;
    this.nodesAlive++;
  }

  private unlink(list: number, n: number): void {
    const p = this.prev[n], x = this.next[n];
    if (p >= 0) this.next[p] = x; else this.head[list] = x;
    if (x >= 0) this.prev[x] = p; else this.tail[list] = p;
    this.count[list]--;
    this.releaseNode(n);
  }

  private releaseNode(n: number): void {
    this.next[n] = this.freeNode;
    this.freeNode = n;
    this.nodesAlive--;
  }

  /** The stored tuples of a list, in order (tests, listings). */
  tuples(list: number): { src: number; dst: number; ports: number; l3proto: number; cpu: number; jiffies32: number }[] {
    const out = [];
    for (let n = this.head[list]; n >= 0; n = this.next[n]) {
      out.push({ src: this.src[n], dst: this.dst[n], ports: this.ports[n], l3proto: this.l3[n], cpu: this.cpu[n], jiffies32: this.jif[n] });
    }
    return out;
  }

  /** `last_gc` and `last_gc_count` of a list (tests). */
  gcState(list: number): { lastGc: number; lastGcCount: number } {
    return { lastGc: this.lastGc[list], lastGcCount: this.lastGcCount[list] };
  }

  private growNodes(): void {
    const c = this.src.length * 2;
    const g32 = (a: Int32Array) => { const b = new Int32Array(c); b.set(a); return b; };
    const g16 = (a: Uint16Array) => { const b = new Uint16Array(c); b.set(a); return b; };
    this.src = g32(this.src); this.dst = g32(this.dst); this.ports = g32(this.ports); this.l3 = g32(this.l3);
    this.zone = g16(this.zone); this.cpu = g16(this.cpu); this.jif = g32(this.jif);
    this.next = g32(this.next); this.prev = g32(this.prev);
  }

  private growLists(): void {
    const c = this.head.length * 2;
    const g32 = (a: Int32Array) => { const b = new Int32Array(c); b.set(a); return b; };
    this.head = g32(this.head); this.tail = g32(this.tail); this.count = g32(this.count);
    this.lastGc = g32(this.lastGc); this.lastGcCount = g32(this.lastGcCount);
  }
}

/**
 * nft_connlimit_do_eval(): counts the packet's connection in `list` and compares; `invert` is
 * `over` (NFT_CONNLIMIT_F_INV). The expression ends the rule when `(count > limit) XOR invert`,
 * so `ct count over N` matches from the (N+1)th connection on. Returns 1 when
 * the `ct count [over] N` expression matches, 0 when it ends the rule (NFT_BREAK), -1 when the
 * packet is dropped (no tuple: -ENOENT, the kernel's NF_DROP).
 */
export function connlimitEval(cc: ConnCount, list: number, limit: number, invert: boolean, pkt: Pkt, slot: number, ctinfo: number, untracked: boolean): number {
  const err = cc.add(list, pkt, slot, ctinfo, untracked);
  if (err === CONNCOUNT_EEXIST) cc.gcList(list);
  else if (err !== CONNCOUNT_OK) return -1;
  return (cc.count[list] > limit) !== invert ? 0 : 1;
}
