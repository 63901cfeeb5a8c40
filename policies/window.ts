import { IPS_ASSURED, IPS_DYING, IPPROTO_TCP, NF_CT_EVICTION_RANGE } from '../sim/conntrack/constants.js';
import type { Conntrack } from '../sim/conntrack/conntrack.js';
import { tcpCanEarlyDrop } from '../sim/conntrack/proto-tcp.js';

/** The default window size: NF_CT_EVICTION_RANGE buckets, as the kernel's early_drop scans. */
export const DEFAULT_RANGE = NF_CT_EVICTION_RANGE;

/**
 * Collects the distinct entries with a node in the `range` buckets from `bucket` (the
 * kernel's early_drop window, §2.1) into `out`, in walk order, and returns how many. Expired
 * entries are included (the core counts a chosen expired entry as a timeout, not an eviction).
 */
export function collectWindow(ct: Conntrack, bucket: number, range: number, out: Int32Array): number {
  const tb = ct.table;
  const nb = tb.nbuckets;
  const nbk = Math.min(range, nb);
  let n = 0;
  let b = bucket;
  for (let i = 0; i < nbk; i++) {
    if (i > 0) b = (b + 1) % nb;
    for (let p = tb.chainLength(b) - 1; p >= 0; p--) {
      const slot = tb.at(b, p) >> 1;
      if ((tb.statusOf(slot) & IPS_DYING) !== 0) continue;
      let dup = false;
      for (let k = 0; k < n; k++) if (out[k] === slot) { dup = true; break; }
      if (!dup && n < out.length) out[n++] = slot;
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
