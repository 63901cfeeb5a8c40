import { KERNEL_EARLY_DROP } from '../sim/conntrack/conntrack.js';
import { num, obj, str } from '../sim/scenario/schema-dsl.js';
import type { PolicyKind } from './policy.js';
import { collectWindow, DEFAULT_RANGE } from './window.js';

/**
 * pf's adaptive timeouts (docs/model.md §11.3, `pf_state_expires()`): once the number of
 * entries passes adaptive.start, every timeout is scaled by (end − states) / (end − start)
 * (integer arithmetic, truncating); at adaptive.end or above, entries expire at once. As in pf
 * the scaling is evaluated against the current count whenever expiry is checked, so growth of
 * the table shortens existing entries retroactively. Here that check happens where the model
 * looks at expiry for eviction: the gc worker's visits (pf's purge) and the allocation window
 * when the table is full. Deadlines stored in the table stay unscaled, so plain lookups still
 * see the kernel's expiry; the last refresh is approximated by the last packet.
 */
export const adaptiveTimeoutPolicy: PolicyKind = {
  summary: "pf's adaptive timeouts: scale all timeouts down between adaptive.start and adaptive.end",
  schema: obj({
    start: num({ min: 0, default: 0.6, doc: 'adaptive.start as a fraction of nf_conntrack_max (pf: 60%)' }),
    end: num({ exclusiveMin: 0, default: 1.2, doc: 'adaptive.end as a fraction of nf_conntrack_max (pf: 120%)' }),
    range: num({ int: true, min: 1, max: 1024, default: DEFAULT_RANGE }),
    fallback: str({ enum: ['kernel', 'none'], default: 'kernel', doc: 'when the window holds no adaptively expired entry' }),
  }),
  create: (p) => {
    const range = p['range'] as number;
    const fallback = p['fallback'] as string;
    const buf = new Int32Array(4096);
    return {
      name: 'adaptive-timeout',
      install: ({ ct, hooks }) => {
        // pfctl: adaptive.start = (limit / 10) × 6 when derived; here from the fractions given
        const start = Math.floor(ct.max * (p['start'] as number));
        const end = Math.floor(ct.max * (p['end'] as number));
        if (end <= start) throw new RangeError(`adaptive-timeout: end (${end} entries) must be above start (${start})`);
        /** Whether the entry has outlived its scaled timeout at the current count. */
        const expiredScaled = (s: number): boolean => {
          const states = ct.count;
          if (states <= start) return false;
          if (states >= end) return true;
          const len = (ct.table.timeoutOf(s) - ct.lastSeenOf(s)) | 0; // unscaled timeout of the last refresh
          const scaled = Math.floor((len * (end - states)) / (end - start));
          return ct.idle(s) >= scaled;
        };
        hooks.gcVisit = expiredScaled;
        hooks.chooseVictims = (bucket, out) => {
          const n = collectWindow(ct, bucket, range, buf);
          let k = 0;
          for (let i = 0; i < n; i++) if (ct.isExpired(buf[i]!) || expiredScaled(buf[i]!)) out[k++] = buf[i]!;
          if (k > 0) return k;
          return fallback === 'kernel' ? KERNEL_EARLY_DROP : 0;
        };
      },
    };
  },
};
