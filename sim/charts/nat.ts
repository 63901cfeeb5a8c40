/**
 * The NAT chart (docs/nat.md §6): per series (a run, or one variant of a scenario), the highest
 * SNAT port utilisation over (NAT address, destination, protocol) keys and the packets dropped
 * per second (exhaustion and clashes are dropped at confirm), over simulated time.
 */
import { CONFIG, VEGA_LITE_SCHEMA, type VlSpec } from './specs.js';

export interface NatSeries {
  label: string;
  columns: readonly string[];
  rows: readonly (readonly number[])[];
}

export function natPortsSpec(title: string, subtitle: string, series: readonly NatSeries[]): VlSpec {
  const values: Record<string, unknown>[] = [];
  for (const s of series) {
    const it = s.columns.indexOf('time_s'), iu = s.columns.indexOf('nat_port_util'), id = s.columns.indexOf('drop');
    if (it < 0 || iu < 0 || id < 0) throw new Error('charts: the sample rows have no nat_port_util/drop column');
    let prevT = 0;
    for (const r of s.rows) {
      const dt = r[it]! - prevT;
      values.push({ series: s.label, time_s: r[it], util: r[iu], drop_per_s: dt > 0 ? r[id]! / dt : 0 });
      prevT = r[it]!;
    }
  }
  const color = { field: 'series', type: 'nominal', title: null, sort: series.map((s) => s.label) };
  const x = { field: 'time_s', type: 'quantitative', title: 'simulated time (s)' };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: title, subtitle },
    config: CONFIG,
    data: { values },
    vconcat: [
      {
        width: 560, height: 200, mark: { type: 'line', interpolate: 'step-after' },
        encoding: { x, y: { field: 'util', type: 'quantitative', title: 'SNAT ports in use (busiest key)', axis: { format: '%' } }, color },
      },
      {
        width: 560, height: 160, mark: { type: 'line', interpolate: 'step-after' },
        encoding: { x, y: { field: 'drop_per_s', type: 'quantitative', title: 'packets dropped / s' }, color },
      },
    ],
    resolve: { scale: { color: 'shared' } },
  };
}
