import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import type { Policy, PolicyContext, PolicyKind } from '../../policies/policy.js';
import { IPS_CONFIRMED, IPS_DYING } from '../conntrack/constants.js';
import { KERNEL_EARLY_DROP } from '../conntrack/conntrack.js';
import { obj } from '../scenario/schema-dsl.js';
import { InputError, UserPolicyError } from './errors.js';

/** Whether a policy name is a path to a user module. */
export const isPolicyPath = (name: string): boolean => /\.(m?js)$/.test(name);

/**
 * Loads a user policy module: its default export (or `policy` export) must be a PolicyKind —
 * `{ summary: string, schema?: ObjSchema, create(params) → Policy }` — and the Policy must have
 * a `name` and an `install(ctx)` function. Problems are bad input (exit 2) naming the module.
 * Exceptions thrown later inside the policy's hooks are reported with its name (exit 1).
 */
export async function loadUserPolicy(path: string): Promise<PolicyKind> {
  if (!existsSync(path)) throw new InputError(`policy module ${path}: file not found`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (e) {
    throw new InputError(`policy module ${path}: cannot be loaded: ${(e as Error).message}`);
  }
  const k = (mod['default'] ?? mod['policy']) as Partial<PolicyKind> | undefined;
  const bad = (what: string) => new InputError(`policy module ${path}: ${what} (see policies/README.md)`);
  if (typeof k !== 'object' || k === null) throw bad('expected a default export { summary, schema?, create(params) }');
  if (typeof k.summary !== 'string') throw bad('`summary` must be a string');
  if (typeof k.create !== 'function') throw bad('`create(params)` must be a function returning a policy');
  if (k.schema !== undefined && (typeof k.schema !== 'object' || typeof (k.schema as { validate?: unknown }).validate !== 'function')) {
    throw bad('`schema` must be built with the scenario schema DSL (sim/scenario/schema-dsl.js: obj, num, …)');
  }
  const create = k.create.bind(k);
  return {
    summary: k.summary,
    schema: k.schema ?? obj({}),
    create: (params) => {
      let p: Policy;
      try {
        p = create(params);
      } catch (e) {
        throw new UserPolicyError(`policy ${path} threw in create(): ${(e as Error).message}`);
      }
      if (typeof p !== 'object' || p === null || typeof p.install !== 'function' || typeof p.name !== 'string') {
        throw new InputError(`policy module ${path}: create() must return { name: string, install(ctx) }`);
      }
      return guarded(p, path);
    },
  };
}

/** Hook ids shared with the watchdog (see {@link HOOK_NAMES}). */
export const HOOK_NAMES = ['', 'create', 'install', 'chooseVictims', 'timeout', 'gcVisit', 'timeoutPolicyFor', 'fire', 'counters'] as const;
const H_INSTALL = 2;
const H_CHOOSE = 3;
const H_TIMEOUT = 4;
const H_GC = 5;
const H_TPF = 6;
const H_FIRE = 7;
const H_COUNTERS = 8;

/** Module paths of the user policies loaded in this thread, by id (the watchdog reports them). */
export const USER_POLICY_PATHS: string[] = [];

/**
 * Where a running hook is announced, for a watchdog in another thread: [hook id (0 = none),
 * call sequence, policy id]. Set by the sandbox worker; undefined = no watchdog.
 */
let monitor: Int32Array | undefined;
export function setHookMonitor(m: Int32Array | undefined): void {
  monitor = m;
}

let policyCreated: ((id: number, who: string) => void) | undefined;
/** Called with each user policy's id and description when it is created (the sandbox worker tells the watchdog). */
export function setPolicyCreatedListener(f: ((id: number, who: string) => void) | undefined): void {
  policyCreated = f;
}

/** Longest timeout a hook may return, in jiffies (the kernel keeps u32 jiffies; 2^31 − 1 stays safe). */
const MAX_TIMEOUT_JIFFIES = 0x7fffffff;

const show = (v: unknown): string => (typeof v === 'number' ? String(v) : typeof v === 'string' ? JSON.stringify(v) : v === undefined ? 'undefined' : typeof v === 'object' ? (v === null ? 'null' : 'an object') : String(v));

/**
 * A read-only view of an object graph for a user policy: reading works as usual (typed arrays
 * included), any write, delete or property definition throws naming the policy and what it
 * wrote. Methods run on the real object (the probe methods the interface allows); typed arrays
 * they return (subarray) are read-only too.
 */
function readOnly<T extends object>(target: T, who: string, path: string, cache: WeakMap<object, unknown>): T {
  const hit = cache.get(target);
  if (hit) return hit as T;
  const deny = (what: string): never => {
    throw new UserPolicyError(`${who} wrote ${what}: the conntrack table is read-only to policies; act through the hooks' return values (see policies/README.md)`);
  };
  const p = new Proxy(target, {
    get(t, k, recv) {
      const v = Reflect.get(t, k, ArrayBuffer.isView(t) ? t : recv);
      if (typeof v === 'function') {
        return (...a: unknown[]) => {
          const r = (v as (...x: unknown[]) => unknown).apply(t, a);
          return ArrayBuffer.isView(r) && !(r instanceof DataView) ? readOnly(r as unknown as object, who, `${path}.${String(k)}()`, cache) : r;
        };
      }
      if (v !== null && typeof v === 'object') return readOnly(v as object, who, `${path}.${String(k)}`, cache);
      return v;
    },
    set(_t, k) { return deny(ArrayBuffer.isView(target) ? `${path}[${String(k)}]` : `${path}.${String(k)}`); },
    defineProperty(_t, k) { return deny(`${path}.${String(k)}`); },
    deleteProperty(_t, k) { return deny(`${path}.${String(k)}`); },
    setPrototypeOf() { return deny(`${path} (its prototype)`); },
  });
  cache.set(target, p);
  return p;
}

/**
 * Wraps a user policy: every hook call is announced to the watchdog (when one runs), an
 * exception names the policy and the hook, every return value is checked against the interface
 * (first bad value → UserPolicyError naming policy and hook), and the context's `ct` is a
 * read-only view.
 */
function guarded(p: Policy, path: string): Policy {
  const id = USER_POLICY_PATHS.push(path) - 1;
  const who = `policy ${p.name} (${path})`;
  policyCreated?.(id, who);
  const call = <A extends unknown[], R>(hook: number, f: (...a: A) => R, ...a: A): R => {
    const m = monitor;
    if (m) { Atomics.store(m, 2, id); Atomics.add(m, 1, 1); Atomics.store(m, 0, hook); }
    try {
      return f(...a);
    } catch (e) {
      if (e instanceof UserPolicyError) throw e;
      throw new UserPolicyError(`${who} threw in ${HOOK_NAMES[hook]}: ${(e as Error).message}`);
    } finally {
      if (m) Atomics.store(m, 0, 0);
    }
  };
  const bad = (hook: number, what: string): never => {
    throw new UserPolicyError(`${who}: ${HOOK_NAMES[hook]} ${what}`);
  };
  return {
    name: p.name,
    install: (ctx) => {
      const cache = new WeakMap<object, unknown>();
      const ct = ctx.ct;
      const view: PolicyContext = Object.freeze({
        ct: readOnly(ct, who, 'ct', cache), hooks: ctx.hooks, rng: ctx.rng,
        now: () => ctx.now(), schedule: (at: number, arg: number) => {
          if (!Number.isInteger(at) || at < ctx.now()) bad(H_INSTALL, `scheduled an event at ${show(at)} µs; expected an integer time ≥ now (${ctx.now()})`);
          ctx.schedule(at, arg);
        },
        endpointsAlive: (slot: number) => ctx.endpointsAlive(slot),
      });
      call(H_INSTALL, p.install.bind(p), view);
      const h = ctx.hooks;
      const tb = ct.table;
      const live = (slot: number): boolean => (tb.statusOf(slot) & IPS_CONFIRMED) !== 0 && (tb.statusOf(slot) & IPS_DYING) === 0;
      const choose = h.chooseVictims;
      if (choose) {
        h.chooseVictims = (bucket, out) => {
          const n = call(H_CHOOSE, choose, bucket, out);
          if (n === KERNEL_EARLY_DROP) return n;
          if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > out.length) {
            bad(H_CHOOSE, `returned ${show(n)}; expected the number of victims written (an integer 0..${out.length}) or KERNEL_EARLY_DROP (-1)`);
          }
          const seen = new Set<number>();
          for (let i = 0; i < n; i++) {
            const s = out[i]!;
            if (s < 0 || s >= tb.capacity) bad(H_CHOOSE, `chose slot ${s} (victim ${i}), outside the table (0..${tb.capacity - 1})`);
            if (!live(s)) bad(H_CHOOSE, `chose slot ${s} (victim ${i}), which holds no live confirmed entry`);
            if (seen.has(s)) bad(H_CHOOSE, `chose slot ${s} twice`);
            seen.add(s);
          }
          return n;
        };
      }
      const timeout = h.timeout;
      if (timeout) {
        h.timeout = (slot, t) => {
          const v = call(H_TIMEOUT, timeout, slot, t);
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_TIMEOUT_JIFFIES) {
            bad(H_TIMEOUT, `returned ${show(v)} for slot ${slot}; expected a timeout in jiffies: an integer 0..${MAX_TIMEOUT_JIFFIES}`);
          }
          return v;
        };
      }
      const gcVisit = h.gcVisit;
      if (gcVisit) {
        h.gcVisit = (slot) => {
          const v = call(H_GC, gcVisit, slot);
          if (typeof v !== 'boolean') bad(H_GC, `returned ${show(v)} for slot ${slot}; expected true (evict) or false`);
          return v;
        };
      }
      const tpf = h.timeoutPolicyFor;
      if (tpf) {
        h.timeoutPolicyFor = (pkt) => {
          const v = call(H_TPF, tpf, pkt);
          const n = (ct as unknown as { timeoutSets: unknown[] }).timeoutSets.length;
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= n) {
            bad(H_TPF, `returned ${show(v)}; expected 0 (none) or an index from ct.addTimeoutPolicy (0..${n - 1})`);
          }
          return v;
        };
      }
    },
    ...(p.fire ? { fire: (arg: number) => call(H_FIRE, p.fire!.bind(p), arg) } : {}),
    ...(p.counters ? { counters: () => {
      const c = call(H_COUNTERS, p.counters!.bind(p));
      if (typeof c !== 'object' || c === null || Object.values(c).some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
        bad(H_COUNTERS, 'must return an object of finite numbers');
      }
      return c;
    } } : {}),
  };
}

/**
 * Policy module paths a scenario names (`policies: [{ name: ./my-policy.js }]`), resolved
 * against the scenario file's folder. Reads the YAML loosely; validation happens later.
 */
export function policyPathsIn(text: string, scenarioPath: string): { name: string; path: string; where: string }[] {
  const lc = new LineCounter();
  let doc: ReturnType<typeof parseDocument>;
  let js: unknown;
  try { doc = parseDocument(text, { lineCounter: lc }); js = doc.toJS({ maxAliasCount: 100 }); } catch { return []; }
  const pols = (js as { policies?: unknown } | null)?.policies;
  if (!Array.isArray(pols)) return [];
  const seq = doc.get('policies', true) as { items?: { range?: [number, number, number] }[] } | undefined;
  const out: { name: string; path: string; where: string }[] = [];
  pols.forEach((p, i) => {
    const name = typeof p === 'string' ? p : (p as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || !isPolicyPath(name)) return;
    const off = seq?.items?.[i]?.range?.[0];
    const line = off === undefined ? '' : `:${lc.linePos(off).line}`;
    const field = typeof p === 'string' ? `policies[${i}]` : `policies[${i}].name`;
    out.push({ name, path: resolve(dirname(scenarioPath), name), where: `${scenarioPath}${line}: ${field}` });
  });
  return out;
}
