import { num, obj } from '../sim/scenario/schema-dsl.js';
import type { PolicyKind } from './policy.js';
import { collectWindow, DEFAULT_RANGE } from './window.js';

/**
 * Control: when the table is full, evict the least recently used entry of the kernel's window,
 * assured or not (ties: lower slot).
 */
export const lruPolicy: PolicyKind = {
  summary: 'control: evict the longest idle entry of the window, whatever its state',
  schema: obj({ range: num({ int: true, min: 1, max: 1024, default: DEFAULT_RANGE, doc: 'buckets scanned from the new flow bucket' }) }),
  create: (p) => {
    const range = p['range'] as number;
    const buf = new Int32Array(4096);
    return {
      name: 'lru',
      install: ({ ct, hooks }) => {
        hooks.chooseVictims = (bucket, out) => {
          const n = collectWindow(ct, bucket, range, buf);
          let best = -1, bestIdle = -1;
          for (let i = 0; i < n; i++) {
            const s = buf[i]!;
            const idle = ct.idle(s);
            if (idle > bestIdle || (idle === bestIdle && s < best)) { best = s; bestIdle = idle; }
          }
          if (best < 0) return 0;
          out[0] = best;
          return 1;
        };
      },
    };
  },
};
