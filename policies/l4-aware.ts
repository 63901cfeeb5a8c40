import { bool, num, obj } from '../sim/scenario/schema-dsl.js';
import type { PolicyKind } from './policy.js';
import { collectWindow, DEFAULT_RANGE, isAssured, tcpClosing } from './window.js';

/**
 * L4-aware eviction (the paper's "early drop via L4 trackers"): when the table is full, evict
 * from the kernel's window the entry that matters least: first TCP entries in closing states
 * (FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE), then unassured entries, then (if
 * `evict_assured`) the longest idle of the rest. Within a tier the longest idle goes first
 * (ties: lower slot). One victim per allocation.
 */
export const l4AwarePolicy: PolicyKind = {
  summary: 'evict TCP closing states first, then unassured entries, then the longest idle',
  schema: obj({
    range: num({ int: true, min: 1, max: 1024, default: DEFAULT_RANGE, doc: 'buckets scanned from the new flow bucket' }),
    evict_assured: bool({ default: true, doc: 'when no closing or unassured entry is found, evict the longest idle assured one' }),
  }),
  create: (p) => {
    const range = p['range'] as number;
    const evictAssured = p['evict_assured'] as boolean;
    const buf = new Int32Array(4096);
    return {
      name: 'l4-aware',
      install: ({ ct, hooks }) => {
        hooks.chooseVictims = (bucket, out) => {
          const n = collectWindow(ct, bucket, range, buf);
          let best = -1, bestTier = 3, bestIdle = -1;
          for (let i = 0; i < n; i++) {
            const s = buf[i]!;
            const tier = ct.isExpired(s) ? -1 : tcpClosing(ct, s) ? 0 : !isAssured(ct, s) ? 1 : 2;
            if (tier === 2 && !evictAssured) continue;
            const idle = ct.idle(s);
            if (tier < bestTier || (tier === bestTier && (idle > bestIdle || (idle === bestIdle && s < best)))) {
              best = s; bestTier = tier; bestIdle = idle;
            }
          }
          if (best < 0) return 0;
          out[0] = best;
          return 1;
        };
      },
    };
  },
};
