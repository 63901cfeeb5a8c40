import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseDocument } from 'yaml';
import type { Policy, PolicyKind } from '../../policies/policy.js';
import { obj } from '../scenario/schema-dsl.js';
import { InputError } from './errors.js';

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
        throw new Error(`policy ${path} threw in create(): ${(e as Error).message}`);
      }
      if (typeof p !== 'object' || p === null || typeof p.install !== 'function' || typeof p.name !== 'string') {
        throw new InputError(`policy module ${path}: create() must return { name: string, install(ctx) }`);
      }
      return guarded(p, path);
    },
  };
}

/** Wraps a user policy so an exception in any hook names the policy. */
function guarded(p: Policy, path: string): Policy {
  const wrap = <A extends unknown[], R>(f: (...a: A) => R, where: string) => (...a: A): R => {
    try {
      return f(...a);
    } catch (e) {
      throw new Error(`policy ${p.name} (${path}) threw in ${where}: ${(e as Error).message}`);
    }
  };
  return {
    name: p.name,
    install: (ctx) => {
      wrap(p.install.bind(p), 'install')(ctx);
      const h = ctx.hooks;
      if (h.chooseVictims) h.chooseVictims = wrap(h.chooseVictims, 'chooseVictims');
      if (h.timeout) h.timeout = wrap(h.timeout, 'timeout');
      if (h.gcVisit) h.gcVisit = wrap(h.gcVisit, 'gcVisit');
      if (h.timeoutPolicyFor) h.timeoutPolicyFor = wrap(h.timeoutPolicyFor, 'timeoutPolicyFor');
    },
    ...(p.fire ? { fire: wrap(p.fire.bind(p), 'fire') } : {}),
    ...(p.counters ? { counters: wrap(p.counters.bind(p), 'counters') } : {}),
  };
}

/**
 * Policy module paths a scenario names (`policies: [{ name: ./my-policy.js }]`), resolved
 * against the scenario file's folder. Reads the YAML loosely; validation happens later.
 */
export function policyPathsIn(text: string, scenarioPath: string): { name: string; path: string }[] {
  let doc: unknown;
  try { doc = parseDocument(text).toJS(); } catch { return []; }
  const pols = (doc as { policies?: unknown } | null)?.policies;
  if (!Array.isArray(pols)) return [];
  const names = pols.map((p) => (typeof p === 'string' ? p : (p as { name?: unknown } | null)?.name)).filter((n): n is string => typeof n === 'string' && isPolicyPath(n));
  return names.map((name) => ({ name, path: resolve(dirname(scenarioPath), name) }));
}
