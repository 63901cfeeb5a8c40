import { CLASS_ATTACK } from '../conntrack/stats.js';
import type { Pkt } from '../conntrack/packet.js';
import { Simulation } from './simulation.js';

/** What one simulation sent: its hash key, its attack packets in order, and a hash of every verdict. */
export type Trace = { key: string; attack: string[]; verdicts: number };

/**
 * Runs `run` with `Simulation.send` wrapped, one trace per simulation instance in creation order
 * (tests of compare's identical-traffic guarantee: every arm must see the same attack packets and
 * hash key, while verdicts may differ).
 */
export function observe(run: () => void): Trace[] {
  const traces: Trace[] = [];
  const byInstance = new WeakMap<Simulation, Trace>();
  const orig = Simulation.prototype.send;
  Simulation.prototype.send = function (this: Simulation, pkt: Pkt): number {
    let tr = byInstance.get(this);
    if (!tr) {
      tr = { key: JSON.stringify(this.ct.table.key), attack: [], verdicts: 0 };
      byInstance.set(this, tr);
      traces.push(tr);
    }
    if (pkt.cls === CLASS_ATTACK) tr.attack.push(`${this.now} ${pkt.src}:${pkt.sport}>${pkt.dst}:${pkt.dport}/${pkt.proto} ${pkt.tcpFlags}`);
    const v = orig.call(this, pkt);
    tr.verdicts = tr.verdicts * 31 + v >>> 0;
    return v;
  };
  try { run(); } finally { Simulation.prototype.send = orig; }
  return traces;
}
