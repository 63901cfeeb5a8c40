import test from 'ava';
import fc from 'fast-check';
import { createConntrack } from './create.js';
import { GcWorker } from './gc.js';
import { Pkt } from './packet.js';
import { REASON_EARLY_DROP } from './stats.js';
import { checkTable, ip, send, tcp, udp } from './testing.js';

/** One step of a random workload: a packet of some flow, or time passing, or a gc invocation. */
type Op =
  | { k: 'syn'; host: number; port: number }
  | { k: 'synack'; host: number; port: number }
  | { k: 'ack'; host: number; port: number }
  | { k: 'udp'; host: number; port: number; reply: boolean }
  | { k: 'wait'; ms: number }
  | { k: 'gc' };

const host = fc.integer({ min: 0, max: 40 });
const port = fc.integer({ min: 1, max: 6 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('syn' as const), host, port }),
  fc.record({ k: fc.constant('synack' as const), host, port }),
  fc.record({ k: fc.constant('ack' as const), host, port }),
  fc.record({ k: fc.constant('udp' as const), host, port, reply: fc.boolean() }),
  fc.record({ k: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 40_000 }) }),
  fc.record({ k: fc.constant('gc' as const) }),
);

const SERVER = ip(10, 9, 9, 9);

test('model invariants hold under random traffic (fast-check, seed 42): count = live entries ≤ max, two chains per entry, allocations balance', (t) => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 4 }), (ops, max, bucketsPow) => {
      const ct = createConntrack({ hz: 250, seed: 5, sysctl: { nf_conntrack_max: max, nf_conntrack_buckets: 1 } });
      const nb = 1 << bucketsPow;
      ct.table.resetBuckets(nb);
      let destroyed = 0;
      ct.observer = { destroyed: () => { destroyed++; } };
      const gc = new GcWorker(ct, 1e9);
      const p = new Pkt();
      let now = 0;
      for (const o of ops) {
        const c = ip(10, 0, 0, o.k === 'wait' || o.k === 'gc' ? 0 : o.host);
        switch (o.k) {
          case 'syn': send(ct, now, tcp(p, c, 1000 + o.port, SERVER, 80, 'S', 100, 0)); break;
          case 'synack': send(ct, now, tcp(p, SERVER, 80, c, 1000 + o.port, 'SA', 500, 101)); break;
          case 'ack': send(ct, now, tcp(p, c, 1000 + o.port, SERVER, 80, 'A', 101, 501)); break;
          case 'udp':
            send(ct, now, o.reply ? udp(p, SERVER, 53, c, 3000 + o.port) : udp(p, c, 3000 + o.port, SERVER, 53));
            break;
          case 'wait': now += o.ms * 1000; break;
          case 'gc': gc.run(now); break;
        }
        if (ct.count > max) return false;
        checkTable(ct);
        if (ct.stats.allocated !== ct.count + destroyed + ct.stats.freed_unconfirmed) return false;
      }
      return true;
    }),
    { seed: 42, numRuns: 300 },
  );
  t.pass();
});

test('early_drop never removes an ASSURED entry (fast-check, seed 7)', (t) => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.boolean()), { minLength: 1, maxLength: 200 }), (flows) => {
      const ct = createConntrack({ hz: 250, seed: 9, sysctl: { nf_conntrack_max: 16, nf_conntrack_buckets: 1 } });
      ct.table.resetBuckets(4);
      const assured = new Set<number>();
      ct.observer = {
        destroyed: (slot, reason) => {
          if (reason === REASON_EARLY_DROP && assured.has(slot)) throw new Error(`assured entry ${slot} early-dropped`);
          assured.delete(slot);
        },
      };
      const p = new Pkt();
      let now = 0;
      for (const [h, complete] of flows) {
        now += 1000;
        const c = ip(10, 0, 1, h);
        send(ct, now, tcp(p, c, 2000, SERVER, 80, 'S', 100, 0));
        if (complete && ct.lastSlot >= 0) {
          send(ct, now, tcp(p, SERVER, 80, c, 2000, 'SA', 500, 101));
          send(ct, now, tcp(p, c, 2000, SERVER, 80, 'A', 101, 501));
          if (ct.lastSlot >= 0) assured.add(ct.lastSlot);
        }
      }
      return true;
    }),
    { seed: 7, numRuns: 200 },
  );
  t.pass();
});
