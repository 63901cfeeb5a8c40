// A user policy for ctsim (see policies/README.md): when the table is full, evict the oldest
// half-open TCP entry (SYN_SENT or SYN_RECV) of the kernel's 8-bucket window; if there is none,
// let the kernel's early_drop decide.
//
//   ctsim compare scenarios/mixed.yaml --policy policies/examples/syn-sent-first.mjs \
//     --policies kernel,syn-sent-first
import { num, obj } from '../../dist/sim/scenario/schema-dsl.js';

const TCP = 6;
const SYN_SENT = 1;
const SYN_RECV = 2;
const KERNEL_EARLY_DROP = -1;

export default {
  summary: 'evict the oldest half-open TCP entry of the window, else the kernel early_drop',
  schema: obj({ range: num({ int: true, min: 1, max: 64, default: 8, doc: 'buckets to scan' }) }),
  create(params) {
    return {
      name: 'syn-sent-first',
      install({ ct, hooks }) {
        hooks.chooseVictims = (bucket, out) => {
          const tb = ct.table;
          let best = -1;
          let bestIdle = -1;
          for (let i = 0; i < params.range; i++) {
            const b = (bucket + i) % tb.nbuckets;
            // the chain from its head: nodeAt(b, 0) is the newest node
            for (let i = 0, n = tb.chainLength(b); i < n; i++) {
              const slot = tb.nodeAt(b, i) >> 1;
              const state = ct.tcp.stateOf(slot);
              if ((tb.l3protoOf(slot) & 0xff) !== TCP || (state !== SYN_SENT && state !== SYN_RECV)) continue;
              const idle = ct.idle(slot);
              if (idle > bestIdle) { best = slot; bestIdle = idle; }
            }
          }
          if (best < 0) return KERNEL_EARLY_DROP;
          out[0] = best;
          return 1;
        };
      },
    };
  },
};
