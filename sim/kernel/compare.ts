/**
 * Comparing the kernel's observations with the model's. A case produces a list of `Check`s;
 * the case passes when all of them pass. Kinds of check:
 * - exact values (counters, per-state entry counts);
 * - event streams: `conntrack -E` lines must match one for one (type, protocol, TCP state,
 *   both tuples, [UNREPLIED]/[ASSURED]) and the printed timeouts may differ by at most one
 *   second (the kernel prints remaining jiffies / HZ rounded down, so one tick of difference
 *   can move it by one);
 * - distributions: an outcome that depends on the kernel's random hash key is compared with
 *   the model's values over several seeds (the kernel value must lie within the seeds' range
 *   widened by one standard deviation, and at least by one).
 */
import type { CtEvent } from './parse.js';

/** One comparison. */
export interface Check {
  name: string;
  kernel: string;
  model: string;
  pass: boolean;
  /** What differed, for the report. */
  detail?: string;
}

/** Kernel and model must be equal. */
export function exact(name: string, kernel: number | string, model: number | string): Check {
  return { name, kernel: String(kernel), model: String(model), pass: kernel === model };
}

/** |kernel − model| ≤ tol. */
export function within(name: string, kernel: number, model: number, tol: number): Check {
  return { name, kernel: fmt(kernel), model: fmt(model), pass: Math.abs(kernel - model) <= tol, detail: `tolerance ${tol}` };
}

/** A predicate that must hold on both sides (e.g. a bound), shown with both values. */
export function both(name: string, kernel: number, model: number, ok: (v: number) => boolean, rule: string): Check {
  const k = ok(kernel);
  const m = ok(model);
  return {
    name, kernel: fmt(kernel), model: fmt(model), pass: k && m,
    detail: k && m ? rule : `${rule} fails for ${!k ? 'the kernel' : ''}${!k && !m ? ' and ' : ''}${!m ? 'the model' : ''}`,
  };
}

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(3));

/** Summary statistics of model samples. */
export function describe(samples: readonly number[]): { min: number; max: number; mean: number; sd: number } {
  const n = samples.length;
  const mean = samples.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(samples.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n - 1));
  return { min: Math.min(...samples), max: Math.max(...samples), mean, sd };
}

/** The kernel value must fall inside the model's seed range widened by max(1, sd). */
export function inDistribution(name: string, kernel: number, samples: readonly number[]): Check {
  if (samples.length === 0) return { name, kernel: fmt(kernel), model: 'no samples', pass: false };
  const d = describe(samples);
  const slack = Math.max(1, d.sd);
  const pass = kernel >= d.min - slack && kernel <= d.max + slack;
  const model = d.min === d.max ? `${fmt(d.min)} (${samples.length} seeds)`
    : `${fmt(d.min)}–${fmt(d.max)}, mean ${d.mean.toFixed(1)} (${samples.length} seeds)`;
  return { name, kernel: fmt(kernel), model, pass, detail: `range widened by ${slack.toFixed(1)}` };
}

/** Two count maps must be equal (missing keys are 0). */
export function sameCounts(name: string, kernel: Readonly<Record<string, number>>, model: Readonly<Record<string, number>>,
  keys?: readonly string[]): Check {
  const all = keys ?? [...new Set([...Object.keys(kernel), ...Object.keys(model)])].sort();
  const diffs = all.filter((k) => (kernel[k] ?? 0) !== (model[k] ?? 0));
  const show = (r: Readonly<Record<string, number>>): string => all.filter((k) => (r[k] ?? 0) !== 0).map((k) => `${k}=${r[k]}`).join(', ') || 'none';
  return {
    name, kernel: show(kernel), model: show(model), pass: diffs.length === 0,
    detail: diffs.length === 0 ? undefined : `differs in ${diffs.map((k) => `${k} (${kernel[k] ?? 0} vs ${model[k] ?? 0})`).join(', ')}`,
  };
}

/**
 * The comparable text of an event: type, protocol, TCP state, tuples, flags — not the timestamp
 * nor the timeout. For DESTROY the TCP state is left out here and compared by
 * `compareDestroyDetail` (what a DESTROY message carries is a question of its own).
 */
export function eventKey(e: CtEvent): string {
  const x = e.entry;
  return [`[${e.type}]`, x.proto, e.type === 'DESTROY' ? '' : x.state ?? '', x.orig, x.unreplied ? '[UNREPLIED]' : '', x.reply,
    x.assured ? '[ASSURED]' : ''].filter((s) => s !== '').join(' ');
}

/**
 * Splits events into those caused by a packet (within `windowUs` after some frame) and
 * DESTROY events that happened in the background (gc reaping, no frame just before).
 */
export function splitBackground(events: readonly CtEvent[], frameTsUs: readonly number[], windowUs: number): {
  packet: CtEvent[]; background: CtEvent[];
} {
  const ts = [...frameTsUs].sort((a, b) => a - b);
  const packet: CtEvent[] = [];
  const background: CtEvent[] = [];
  for (const e of events) {
    if (e.type !== 'DESTROY') { packet.push(e); continue; }
    let lo = 0;
    let hi = ts.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (ts[mid] <= e.tsUs) lo = mid + 1; else hi = mid; }
    const prev = lo > 0 ? ts[lo - 1] : -Infinity;
    (e.tsUs - prev <= windowUs ? packet : background).push(e);
  }
  return { packet, background };
}

/** Event streams must match line for line; timeouts within `timeoutTol` seconds. */
export function compareEvents(name: string, kernel: readonly CtEvent[], model: readonly CtEvent[], timeoutTol = 1): Check {
  const n = Math.max(kernel.length, model.length);
  let maxDt = 0;
  for (let i = 0; i < n; i++) {
    const k = kernel[i];
    const m = model[i];
    const kk = k ? eventKey(k) : '(none)';
    const mk = m ? eventKey(m) : '(none)';
    if (kk !== mk) {
      return {
        name, kernel: `${kernel.length} events`, model: `${model.length} events`, pass: false,
        detail: `event ${i + 1} differs: kernel "${kk}" vs model "${mk}"`,
      };
    }
    if (k.type === 'DESTROY') continue;
    const kt = k.entry.timeout;
    const mt = m.entry.timeout;
    if ((kt === undefined) !== (mt === undefined)) {
      return { name, kernel: `${kernel.length} events`, model: `${model.length} events`, pass: false,
        detail: `event ${i + 1} "${kk}": timeout ${kt ?? 'absent'} vs ${mt ?? 'absent'}` };
    }
    if (kt !== undefined && mt !== undefined) {
      maxDt = Math.max(maxDt, Math.abs(kt - mt));
      if (Math.abs(kt - mt) > timeoutTol) {
        return { name, kernel: `${kernel.length} events`, model: `${model.length} events`, pass: false,
          detail: `event ${i + 1} "${kk}": timeout ${kt} s vs ${mt} s` };
      }
    }
  }
  return { name, kernel: `${kernel.length} events`, model: `${model.length} events, identical`, pass: true,
    detail: `largest timeout difference ${maxDt} s` };
}

/** Background DESTROY events must concern the same entries (as multisets; times are gc-phase dependent). */
export function compareDestroySets(name: string, kernel: readonly CtEvent[], model: readonly CtEvent[]): Check {
  const ms = (evs: readonly CtEvent[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const e of evs) m.set(eventKey(e), (m.get(eventKey(e)) ?? 0) + 1);
    return m;
  };
  const a = ms(kernel);
  const b = ms(model);
  const only = (x: Map<string, number>, y: Map<string, number>): string[] =>
    [...x.entries()].filter(([k, v]) => (y.get(k) ?? 0) < v).map(([k]) => k);
  const ka = only(a, b);
  const mb = only(b, a);
  return {
    name, kernel: `${kernel.length} reaped`, model: `${model.length} reaped`, pass: ka.length === 0 && mb.length === 0,
    detail: ka.length + mb.length === 0 ? undefined
      : `only in kernel: ${ka.slice(0, 2).join('; ') || 'none'}; only in model: ${mb.slice(0, 2).join('; ') || 'none'}`,
  };
}

/**
 * What the DESTROY messages carry besides the tuples: the remaining timeout and the TCP state
 * (the kernel's ctnetlink puts both into DESTROY messages). Pairs are matched in order by tuple.
 */
export function compareDestroyDetail(name: string, kernel: readonly CtEvent[], model: readonly CtEvent[], timeoutTol = 1): Check {
  const kd = kernel.filter((e) => e.type === 'DESTROY');
  const md = model.filter((e) => e.type === 'DESTROY');
  const show = (e: CtEvent | undefined): string => (e ? `${e.entry.timeout ?? 'no timeout'} ${e.entry.state ?? (e.entry.proto === 'tcp' ? 'no state' : '')}`.trim() : 'none');
  const used = new Set<number>();
  let bad = 0;
  let first = '';
  for (const k of kd) {
    const tuple = `${k.entry.orig} ${k.entry.reply}`;
    const j = md.findIndex((m, i) => !used.has(i) && `${m.entry.orig} ${m.entry.reply}` === tuple);
    if (j < 0) continue;
    used.add(j);
    const m = md[j];
    const sameState = (k.entry.state ?? '') === (m.entry.state ?? '');
    const kt = k.entry.timeout;
    const mt = m.entry.timeout;
    const sameTimeout = kt === undefined ? mt === undefined : mt !== undefined && Math.abs(kt - mt) <= timeoutTol;
    if (!sameState || !sameTimeout) {
      bad++;
      if (!first) first = `${k.entry.orig}: kernel "${show(k)}" vs model "${show(m)}"`;
    }
  }
  const n = used.size;
  return {
    name, kernel: `${kd.length} DESTROY${kd[0] ? `, e.g. "${show(kd[0])}"` : ''}`, model: `${md.length} DESTROY${md[0] ? `, e.g. "${show(md[0])}"` : ''}`,
    pass: bad === 0, detail: bad === 0 ? `${n} compared` : `${bad} of ${n} differ; first: ${first}`,
  };
}
