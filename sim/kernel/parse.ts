/**
 * Parsers for what the kernel side reports: `conntrack -S` (per-CPU counters, summed),
 * `conntrack -L` (one entry per line), `conntrack -E -o timestamp` (one event per line) and the
 * kernel config (CONFIG_HZ). Pure functions of text, so they are unit-tested on captured output.
 */

/** One conntrack entry as `conntrack -L` or an event line shows it. */
export interface CtEntry {
  /** Protocol name as printed ("tcp", "udp", "icmp", "unknown"). */
  proto: string;
  protonum: number;
  /** Remaining seconds (absent in DESTROY events). */
  timeout?: number;
  /** TCP state name (absent for other protocols and in events without PROTOINFO). */
  state?: string;
  /** ORIGINAL tuple, e.g. "src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2". */
  orig: string;
  /** REPLY tuple. */
  reply: string;
  unreplied: boolean;
  assured: boolean;
  /** Other bracketed flags ([OFFLOAD], [HW_OFFLOAD], …). */
  flags: string[];
}

/** One `conntrack -E` line. */
export interface CtEvent {
  /** Timestamp in µs since the epoch (0 when the line had none). */
  tsUs: number;
  type: 'NEW' | 'UPDATE' | 'DESTROY';
  entry: CtEntry;
}

const TUPLE_KEYS = new Set(['src', 'dst', 'sport', 'dport', 'type', 'code', 'id', 'srckey', 'dstkey']);

/** Parses the entry part of a `-L` or `-E` line (after the `[TYPE]` tag). Returns undefined if it is no entry. */
export function parseEntry(text: string): CtEntry | undefined {
  const tok = text.trim().split(/\s+/);
  if (tok.length < 3) return undefined;
  const proto = tok[0];
  const protonum = Number(tok[1]);
  if (!/^[a-z0-9]+$/.test(proto) || !Number.isInteger(protonum)) return undefined;
  let i = 2;
  let timeout: number | undefined;
  let state: string | undefined;
  if (/^\d+$/.test(tok[i] ?? '')) timeout = Number(tok[i++]);
  if (/^[A-Z][A-Z_0-9]*$/.test(tok[i] ?? '')) state = tok[i++];
  const orig: string[] = [];
  const reply: string[] = [];
  const flags: string[] = [];
  let unreplied = false;
  let assured = false;
  let cur = orig;
  for (; i < tok.length; i++) {
    const t = tok[i];
    if (t.startsWith('[') && t.endsWith(']')) {
      if (t === '[UNREPLIED]') unreplied = true;
      else if (t === '[ASSURED]') assured = true;
      else flags.push(t);
      continue;
    }
    const eq = t.indexOf('=');
    if (eq <= 0) continue;
    const key = t.slice(0, eq);
    if (!TUPLE_KEYS.has(key)) continue;
    if (key === 'src' && cur === orig && orig.length > 0) cur = reply;
    cur.push(t);
  }
  if (orig.length === 0) return undefined;
  const e: CtEntry = { proto, protonum, orig: orig.join(' '), reply: reply.join(' '), unreplied, assured, flags };
  if (timeout !== undefined) e.timeout = timeout;
  if (state !== undefined) e.state = state;
  return e;
}

/** Parses `conntrack -L` output (the trailing "N flow entries" summary goes to stderr and is ignored). */
export function parseList(text: string): CtEntry[] {
  const out: CtEntry[] = [];
  for (const line of text.split('\n')) {
    const e = parseEntry(line);
    if (e) out.push(e);
  }
  return out;
}

/** Parses `conntrack -E [-o timestamp]` output; lines that are not events (warnings) are skipped. */
export function parseEvents(text: string): CtEvent[] {
  const out: CtEvent[] = [];
  const re = /^\s*(?:\[(\d+)\.(\d+)\s*\])?\s*\[(NEW|UPDATE|DESTROY)\]\s+(.*)$/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const entry = parseEntry(m[4]);
    if (!entry) continue;
    const tsUs = m[1] === undefined ? 0 : Number(m[1]) * 1e6 + Number(m[2].padEnd(6, '0').slice(0, 6));
    out.push({ tsUs, type: m[3] as CtEvent['type'], entry });
  }
  return out;
}

/** Sums the per-CPU `key=value` counters of `conntrack -S` (the `cpu=` field is dropped). */
export function parseStats(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    for (const m of line.matchAll(/([a-z_]+)=(\d+)/g)) {
      if (m[1] === 'cpu') continue;
      out[m[1]] = (out[m[1]] ?? 0) + Number(m[2]);
    }
  }
  return out;
}

/** The summary key the model's replay uses (`listing.ts: stateKey`), e.g. "tcp ESTABLISHED ASSURED". */
export function entryStateKey(e: CtEntry): string {
  let k = `${e.proto === 'unknown' ? `unknown(${e.protonum})` : e.proto} ${e.proto === 'tcp' ? e.state ?? '?' : '-'}`;
  if (e.assured) k += ' ASSURED';
  else if (e.unreplied) k += ' UNREPLIED';
  return k;
}

/** Entries per state key, keys sorted like the model's `summariseStates`. */
export function summariseEntries(entries: readonly CtEntry[]): Record<string, number> {
  const m = new Map<string, number>();
  for (const e of entries) m.set(entryStateKey(e), (m.get(entryStateKey(e)) ?? 0) + 1);
  const out: Record<string, number> = {};
  for (const k of [...m.keys()].sort()) out[k] = m.get(k)!;
  return out;
}

/** CONFIG_HZ from a kernel config text, or undefined. */
export function parseConfigHz(config: string): number | undefined {
  const m = /^CONFIG_HZ=(\d+)\s*$/m.exec(config);
  return m ? Number(m[1]) : undefined;
}

/** The `jiffies: N` value of /proc/timer_list, or undefined. */
export function parseTimerListJiffies(text: string): number | undefined {
  const m = /^jiffies:\s*(\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Rounds a measured tick rate to the nearest value a kernel can be built with. */
export function nearestHz(measured: number): number {
  let best = 100;
  for (const hz of [100, 250, 300, 1000]) if (Math.abs(hz - measured) < Math.abs(best - measured)) best = hz;
  return best;
}

/** "major.minor" of a `uname -r` release string, e.g. "6.18" of "6.18.44-fc-v657". */
export function kernelMajorMinor(release: string): string | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? `${m[1]}.${m[2]}` : undefined;
}
