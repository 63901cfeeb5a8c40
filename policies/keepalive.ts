import { IPPROTO_TCP, IPS_CONFIRMED } from '../sim/conntrack/constants.js';
import { TCP_CONNTRACK_ESTABLISHED } from '../sim/conntrack/proto-tcp.js';
import { duration, num, obj } from '../sim/scenario/schema-dsl.js';
import type { PolicyContext, PolicyKind } from './policy.js';

/**
 * Keepalive probing of idle entries (the paper's "connection probing"): when the gc worker
 * passes a TCP ESTABLISHED entry idle for at least `idle`, the firewall probes both endpoints
 * (two packets, like SO_KEEPALIVE probes). If both answer (within `rtt`), the entry is refreshed
 * as a packet of the flow would refresh it; if not, it probes again every `interval`, and after
 * `probes` unanswered rounds evicts the entry (reason `probe`). Probes and answers are packets
 * and are counted as the policy's cost. Whether an endpoint answers comes from the traffic
 * generator that owns the flow (a vanished peer or a spoofed source does not).
 */
export const keepalivePolicy: PolicyKind = {
  summary: 'probe both endpoints of idle TCP entries; refresh on answer, evict after K silent probes',
  schema: obj({
    idle: duration({ default: '60s', doc: 'idle time before the first probe' }),
    interval: duration({ default: '10s', doc: 'time between probes' }),
    probes: num({ int: true, min: 1, max: 100, default: 3, doc: 'unanswered probes before eviction' }),
    rtt: duration({ default: '50ms', doc: 'time to wait for the answers' }),
    above: num({ min: 0, max: 1, default: 0, doc: 'only probe while the table is above this fill fraction' }),
  }),
  create: (p) => {
    const idleUs = p['idle'] as number, intervalUs = p['interval'] as number;
    const maxProbes = p['probes'] as number, rttUs = p['rtt'] as number, above = p['above'] as number;
    /** Entries being probed: slot → (confirmation jiffies, probes sent), so a reused slot is noticed. */
    const probing = new Map<number, { born: number; sent: number }>();
    let sent = 0, answered = 0, evicted = 0;
    let ctx: PolicyContext;
    return {
      name: 'keepalive',
      install(c) {
        ctx = c;
        const ct = c.ct;
        const idleJ = Math.round((idleUs * ct.hz) / 1e6);
        const limit = Math.floor(ct.max * above);
        c.hooks.gcVisit = (slot) => {
          if (probing.has(slot) || ct.count < limit) return false;
          if ((ct.table.l3protoOf(slot) & 0xff) !== IPPROTO_TCP || ct.tcp.stateOf(slot) !== TCP_CONNTRACK_ESTABLISHED) return false;
          if (ct.idle(slot) < idleJ) return false;
          probing.set(slot, { born: ct.bornOf(slot), sent: 1 });
          sent += 2;
          c.schedule(c.now() + rttUs, slot);
          return false;
        };
      },
      fire(slot: number) {
        const ct = ctx.ct;
        const pr = probing.get(slot);
        if (pr === undefined) return;
        const live = (ct.table.statusOf(slot) & IPS_CONFIRMED) !== 0 && ct.bornOf(slot) === pr.born;
        if (!live || ct.idle(slot) < Math.round((idleUs * ct.hz) / 1e6)) {
          probing.delete(slot); // gone, or traffic resumed on its own
          return;
        }
        if (ctx.endpointsAlive(slot)) {
          answered += 2;
          ct.probeRefresh(slot);
          probing.delete(slot);
        } else if (pr.sent >= maxProbes) {
          evicted++;
          ct.evictProbe(slot);
          probing.delete(slot);
        } else {
          pr.sent++;
          sent += 2;
          ctx.schedule(ctx.now() + intervalUs, slot);
        }
      },
      counters: () => ({ probes_sent: sent, probe_answers: answered, probe_evictions: evicted }),
    };
  },
};
