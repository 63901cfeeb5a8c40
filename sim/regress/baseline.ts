/**
 * Baselines of `ctsim regress`: one small JSON file per case (`<case>.json` next to the suite
 * file) holding the flattened summary metrics, the flattened resolved scenario (inputs, to show
 * what changed), the trajectory fingerprint, and at most {@link MAX_CHECKPOINTS} checkpoint
 * fingerprints for `--explain`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { RunSummary } from '../run/summary.js';
import { LIFETIME_BOUNDS_S } from '../run/metrics.js';
import type { Fingerprint } from '../run/fingerprint.js';
import type { MetricValue } from './tolerance.js';

export const BASELINE_FORMAT = 'ctsim-regress-baseline/1';
/** Checkpoints kept per baseline (the interval doubles until they fit). */
export const MAX_CHECKPOINTS = 256;

export interface Checkpoints {
  /** Events between checkpoints: fingerprints[k] is the fingerprint after (k + 1) × every events. */
  every: number;
  fingerprints: string[];
}

export interface Baseline {
  format: typeof BASELINE_FORMAT;
  case: string;
  /** The case as the suite file gives it (for a reader of the file). */
  scenario: string;
  policies?: unknown[];
  seed: number;
  run: number;
  set: string[];
  /** FP_VERSION of the code that wrote the baseline. */
  fingerprint_version: number;
  fingerprint: string;
  /** Events hashed into the fingerprint. */
  events: number;
  checkpoints: Checkpoints;
  /** The resolved scenario, flattened: what the run was given. */
  inputs: Record<string, MetricValue>;
  /** The run's summary.json, flattened: what it produced. */
  metrics: Record<string, MetricValue>;
}

/** Subsamples a run's checkpoints to at most MAX_CHECKPOINTS (interval a power-of-two multiple). */
export function baselineCheckpoints(fp: Fingerprint, max = MAX_CHECKPOINTS): Checkpoints {
  const n = fp.checkpointCount;
  let stride = 1;
  while (Math.floor(n / stride) > max) stride *= 2;
  const fingerprints: string[] = [];
  for (let j = stride; j <= n; j += stride) fingerprints.push(fp.checkpointHex(j));
  return { every: fp.every * stride, fingerprints };
}

const isPlain = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

const isPrim = (v: unknown): boolean => v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';

/**
 * A long list of plain values as one short string: integer runs as ranges (`1-65535`), else the
 * count and a hash of the values (a change still shows, the baseline stays small).
 */
function compactList(x: readonly unknown[]): string {
  if (x.every((v) => Number.isInteger(v))) {
    const parts: string[] = [];
    for (let i = 0; i < x.length;) {
      let j = i;
      while (j + 1 < x.length && (x[j + 1] as number) === (x[j] as number) + 1) j++;
      parts.push(j === i ? String(x[i]) : `${x[i] as number}-${x[j] as number}`);
      i = j + 1;
    }
    if (parts.length <= 16) return parts.join(',');
  }
  return `${x.length} values, sha256 ${createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 16)}`;
}

/**
 * Flattens nested data to `a.b[2].c` → leaf value (numbers, strings, booleans, null). Lists of
 * more than 16 plain values become one string (see compactList).
 */
export function flatten(x: unknown, prefix = '', out: Record<string, MetricValue> = {}): Record<string, MetricValue> {
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) x = Array.from(x as unknown as ArrayLike<number>);
  if (Array.isArray(x)) {
    if (x.length === 0) out[prefix] = '[]';
    if (x.length > 16 && x.every(isPrim)) { out[prefix] = compactList(x); return out; }
    x.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
  } else if (isPlain(x) && typeof (x as { toJSON?: unknown }).toJSON === 'function') {
    // a value that shows itself in another form (an address field's prefix, an IPv6 prefix as text)
    flatten((x['toJSON'] as () => unknown)(), prefix, out);
  } else if (isPlain(x)) {
    const keys = Object.keys(x);
    if (keys.length === 0 && prefix !== '') out[prefix] = '{}';
    for (const k of keys) if (x[k] !== undefined) flatten(x[k], prefix === '' ? k : `${prefix}.${k}`, out);
  } else if (x === null || typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean') {
    out[prefix] = x;
  } else {
    out[prefix] = String(x);
  }
  return out;
}

/**
 * The metrics of a run: summary.json flattened, with generators keyed by label
 * (`generators.web.failed`), policies by name (`policies.keepalive.probes_sent`) and lifetime
 * histograms by bucket (`lifetimes.legit.le_5s`, `lifetimes.legit.gt_86400s`). The identity
 * fields (scenario, seed, run), the fingerprint and the delay histograms are left out.
 */
export function summaryMetrics(s: RunSummary): Record<string, MetricValue> {
  const out: Record<string, MetricValue> = {};
  const { scenario: _sc, seed: _seed, run: _run, fingerprint: _fp, generators, policies, lifetimes, ...rest } = s;
  flatten(rest, '', out);
  for (const g of generators) {
    const { index: _i, kind: _k, label, class: _c, ...fig } = g;
    // delay histograms are left out (n, percentiles, max and mean are checked; the trajectory
    // fingerprint catches any change of behaviour): 37 buckets each would bloat the baselines
    const f = fig as Record<string, unknown>;
    for (const k of ['setup_time', 'resolution_time', 'completion_time']) {
      const d = f[k] as Record<string, unknown> | undefined;
      if (d) { const { histogram: _h, ...rest } = d; f[k] = rest; }
    }
    flatten(f, `generators.${label}`, out);
  }
  const seen = new Map<string, number>();
  for (const p of policies) {
    const { name, ...counters } = p as { name: string } & Record<string, unknown>;
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    const key = n === 1 ? name : `${name}#${n}`;
    if (Object.keys(counters).length === 0) out[`policies.${key}`] = 'installed';
    else flatten(counters, `policies.${key}`, out);
  }
  const { bounds_s: _b, ...hists } = lifetimes as { bounds_s: number[] } & Record<string, number[]>;
  for (const [cls, h] of Object.entries(hists)) {
    h.forEach((v, i) => {
      const label = i < LIFETIME_BOUNDS_S.length ? `le_${LIFETIME_BOUNDS_S[i]}s` : `gt_${LIFETIME_BOUNDS_S[LIFETIME_BOUNDS_S.length - 1]}s`;
      out[`lifetimes.${cls}.${label}`] = v;
    });
  }
  return out;
}

/** Reads a baseline; undefined when the file does not exist, a message when it is unusable. */
export function readBaseline(path: string): Baseline | undefined | string {
  if (!existsSync(path)) return undefined;
  let b: unknown;
  try {
    b = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return `${path}: not a readable baseline (${(e as Error).message}); regenerate it with ctsim regress --update`;
  }
  if (!isPlain(b) || b['format'] !== BASELINE_FORMAT || !isPlain(b['metrics']) || typeof b['fingerprint'] !== 'string' || !isPlain(b['checkpoints'])) {
    return `${path}: not a ${BASELINE_FORMAT} file; regenerate it with ctsim regress --update`;
  }
  return b as unknown as Baseline;
}

/** Baseline JSON: two-space indentation, one checkpoint per line, final newline. */
export function baselineJson(b: Baseline): string {
  return JSON.stringify(b, null, 2) + '\n';
}
