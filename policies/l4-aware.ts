import { bool, num, obj } from '../sim/scenario/schema-dsl.js';
import type { PolicyKind } from './policy.js';
import { collectWindow, DEFAULT_RANGE, isAssured, tcpClosing } from './window.js';

/** Builds the L4-aware victim chooser; `evictAssuredDefault` is the default of `evict_assured`. */
function l4Aware(name: string, summary: string, evictAssuredDefault: boolean): PolicyKind {
  return {
    summary,
    schema: obj({
      range: num({ int: true, min: 1, max: 1024, default: DEFAULT_RANGE, doc: 'buckets scanned from the new flow bucket' }),
      evict_assured: bool({ default: evictAssuredDefault, doc: 'when no closing or unassured entry is found, evict the longest idle ASSURED established one' }),
    }),
    create: (p) => {
      const range = p['range'] as number;
      const evictAssured = p['evict_assured'] as boolean;
      const buf = new Int32Array(4096);
      return {
        name,
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
}

/**
 * L4-aware eviction, as the paper proposes it ("early drop via L4 trackers"): when the table is
 * full, evict from the kernel's window first a TCP entry in a closing state (FIN_WAIT,
 * CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE: a FIN was seen), else an unassured entry (what the
 * kernel's early drop takes); never an ASSURED entry that is not closing — if the window has
 * neither, the new connection is dropped, as with the kernel. Within a tier the longest idle goes
 * first (ties: lower slot). One victim per allocation.
 */
export const l4AwarePolicy = l4Aware('l4-aware', 'evict TCP closing states first, then unassured entries; never an ASSURED established one', false);

/**
 * The same, plus a third tier the paper does not propose: when the window has no closing or
 * unassured entry, evict its longest idle ASSURED entry (an LRU fallback: new connections are
 * never refused, established ones may break). Same as `l4-aware` with `evict_assured: true`.
 */
export const l4AwareEvictAssuredPolicy = l4Aware('l4-aware-evict-assured', 'l4-aware, then the longest idle ASSURED entry when nothing else can go', true);
