import { KERNEL_EARLY_DROP } from '../sim/conntrack/conntrack.js';
import { num, obj, record, str } from '../sim/scenario/schema-dsl.js';
import type { PolicyKind } from './policy.js';
import { perStateJiffies, STATE_KEYS, stateKeyCheck, stateKeyIndex } from './state-key.js';
import { collectWindow, DEFAULT_RANGE } from './window.js';

/** Soft timeouts (seconds) used when a scenario gives none: short for half-open and closing states. */
export const SOFT_DEFAULTS: Record<string, number> = {
  tcp_syn_sent: 5, tcp_syn_recv: 5, tcp_established: 300, tcp_fin_wait: 10, tcp_close_wait: 10,
  tcp_last_ack: 10, tcp_time_wait: 10, tcp_close: 5, tcp_syn_sent2: 5,
  udp_unreplied: 5, udp_replied: 30, icmp: 5, generic: 30,
};

/**
 * Soft timeouts (the paper's proposal): normal timeouts stay long, but while the table is at
 * least `threshold` full, an entry idle longer than its state's soft timeout is evicted — by the
 * gc worker as it passes, and at allocation time from the kernel's window (all such entries of
 * the window). If the window has none, the kernel's early_drop runs (`fallback: kernel`) or the
 * packet is dropped (`fallback: none`).
 */
export const softTimeoutPolicy: PolicyKind = {
  summary: 'while the table is (nearly) full, evict entries idle longer than a per-state soft timeout',
  schema: obj({
    threshold: num({ exclusiveMin: 0, max: 1, default: 1, doc: 'fill fraction from which soft timeouts apply (1 = full)' }),
    soft: record(num({ min: 0, doc: 'seconds' }), {
      keyCheck: stateKeyCheck,
      jsonKeys: [...STATE_KEYS, 'default'],
      default: {},
      doc: 'soft timeout per state, seconds',
    }),
    range: num({ int: true, min: 1, max: 1024, default: DEFAULT_RANGE }),
    fallback: str({ enum: ['kernel', 'none'], default: 'kernel' }),
  }),
  create: (p) => {
    const threshold = p['threshold'] as number;
    const soft = { ...SOFT_DEFAULTS, ...(p['soft'] as Record<string, number>) };
    const range = p['range'] as number;
    const fallback = p['fallback'] as string;
    const buf = new Int32Array(4096);
    return {
      name: 'soft-timeout',
      install: ({ ct, hooks }) => {
        const softJ = perStateJiffies(soft, 30, ct.hz);
        const limit = Math.max(1, Math.ceil(ct.max * threshold));
        const overdue = (s: number) => ct.idle(s) > softJ[stateKeyIndex(ct, s)]!;
        hooks.gcVisit = (s) => ct.count >= limit && overdue(s);
        hooks.chooseVictims = (bucket, out) => {
          const n = collectWindow(ct, bucket, range, buf);
          let k = 0;
          for (let i = 0; i < n; i++) if (overdue(buf[i]!) || ct.isExpired(buf[i]!)) out[k++] = buf[i]!;
          if (k > 0) return k;
          return fallback === 'kernel' ? KERNEL_EARLY_DROP : 0;
        };
      },
    };
  },
};
