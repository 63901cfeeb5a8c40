import { num, obj } from '../sim/scenario/schema-dsl.js';
import type { PolicyKind } from './policy.js';
import { collectWindow, DEFAULT_RANGE } from './window.js';

/** Control: when the table is full, evict a uniformly random entry of the kernel's window. */
export const randomPolicy: PolicyKind = {
  summary: 'control: evict a random entry of the window (from the policy substream)',
  schema: obj({ range: num({ int: true, min: 1, max: 1024, default: DEFAULT_RANGE, doc: 'buckets scanned from the new flow bucket' }) }),
  create: (p) => {
    const range = p['range'] as number;
    const buf = new Int32Array(4096);
    return {
      name: 'random',
      install: ({ ct, rng, hooks }) => {
        hooks.chooseVictims = (bucket, out) => {
          const n = collectWindow(ct, bucket, range, buf);
          if (n === 0) return 0;
          out[0] = buf[rng.below(n)]!;
          return 1;
        };
      },
    };
  },
};
