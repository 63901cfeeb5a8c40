/**
 * `/proc/net/stat/synproxy` (`synproxy_cpu_seq_show()`): a header line, then one line of
 * hexadecimal counters per possible CPU. Summed over CPUs. docs/synproxy.md §8.
 */
import { SYNPROXY_STAT_COLUMNS } from '../synproxy/synproxy.js';

export function parseSynproxyStat(text: string): Record<string, number> {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines.length === 0) throw new Error('/proc/net/stat/synproxy is empty');
  const head = lines[0]!.split(/\s+/);
  const cols = head.length === SYNPROXY_STAT_COLUMNS.length && head.every((h, i) => h === SYNPROXY_STAT_COLUMNS[i]) ? head : null;
  if (cols === null) throw new Error(`/proc/net/stat/synproxy: unexpected header "${lines[0]}"`);
  const out: Record<string, number> = Object.fromEntries(cols.map((c) => [c, 0]));
  for (const l of lines.slice(1)) {
    const v = l.split(/\s+/);
    if (v.length !== cols.length || !v.every((x) => /^[0-9a-f]+$/i.test(x))) throw new Error(`/proc/net/stat/synproxy: bad line "${l}"`);
    cols.forEach((c, i) => { out[c]! += parseInt(v[i]!, 16); });
  }
  return out;
}
