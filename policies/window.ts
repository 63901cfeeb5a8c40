import { IPS_ASSURED, IPS_DYING, IPPROTO_TCP, NF_CT_EVICTION_RANGE } from '../sim/conntrack/constants.js';
import type { Conntrack } from '../sim/conntrack/conntrack.js';
import { tcpCanEarlyDrop } from '../sim/conntrack/proto-tcp.js';

/** The default window size: NF_CT_EVICTION_RANGE buckets, as the kernel's early_drop scans. */
export const DEFAULT_RANGE = NF_CT_EVICTION_RANGE;

/**
 * The slots already collected by the current `collectWindow` call: an open-addressing set whose
 * cells count as empty unless stamped with the call's number, so a call starts with an empty set
 * without clearing it. 2^13 cells for at most 4096 entries (out's size): at most half full.
 */
const SET_BITS = 13;
const SET_MASK = (1 << SET_BITS) - 1;
const setSlot = new Int32Array(1 << SET_BITS);
const setStamp = new Uint32Array(1 << SET_BITS);
let stamp = 0;

/** Adds `slot` to the current call's set; false when it was already there. */
function firstSighting(slot: number): boolean {
  let i = Math.imul(slot, 0x9e3779b1) >>> (32 - SET_BITS);
  for (;;) {
    if (setStamp[i] !== stamp) {
      setStamp[i] = stamp;
      setSlot[i] = slot;
      return true;
    }
    if (setSlot[i] === slot) return false;
    i = (i + 1) & SET_MASK;
  }
}

/**
 * Collects the distinct entries with a node in the `range` buckets from `bucket` (the
 * kernel's early_drop window, §2.1) into `out` (at most 4096), in walk order — each entry where
 * its first node is met — and returns how many. Expired entries are included (the core counts a
 * chosen expired entry as a timeout, not an eviction).
 */
export function collectWindow(ct: Conntrack, bucket: number, range: number, out: Int32Array): number {
  const tb = ct.table;
  const nb = tb.nbuckets;
  const nbk = Math.min(range, nb);
  const cap = Math.min(out.length, 1 << (SET_BITS - 1));
  stamp = (stamp + 1) >>> 0;
  if (stamp === 0) { setStamp.fill(0); stamp = 1; }
  let n = 0;
  let b = bucket;
  for (let i = 0; i < nbk && n < cap; i++) {
    if (i > 0) b = (b + 1) % nb;
    for (let p = tb.chainLength(b) - 1; p >= 0 && n < cap; p--) {
      const slot = tb.at(b, p) >> 1;
      if ((tb.statusOf(slot) & IPS_DYING) !== 0) continue;
      if (firstSighting(slot)) out[n++] = slot;
    }
  }
  return n;
}

/** Whether an entry is a TCP entry in a closing state (FIN_WAIT … CLOSE). @see tcp_can_early_drop */
export function tcpClosing(ct: Conntrack, slot: number): boolean {
  return (ct.table.l3protoOf(slot) & 0xff) === IPPROTO_TCP && tcpCanEarlyDrop(ct.tcp, slot);
}

export function isAssured(ct: Conntrack, slot: number): boolean {
  return (ct.table.statusOf(slot) & IPS_ASSURED) !== 0;
}
