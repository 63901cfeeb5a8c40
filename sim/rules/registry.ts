/**
 * The registry behind the rule language's extension point (see the top of types.ts and
 * docs/rules.md §8): statements, matches and table objects other modules add without editing
 * the parser or the evaluator.
 */
import type { StatementDef, TableObjectDef } from './types.js';

const statements = new Map<string, StatementDef>();
const tableObjects = new Map<string, TableObjectDef>();

/** Built-in first words an extension may not take over (it may extend `ct` with a sub-keyword). */
const RESERVED = new Set([
  'ip', 'ip6', 'tcp', 'udp', 'meta', 'iif', 'oif', 'iifname', 'oifname', 'counter', 'accept', 'drop', 'return', 'reject',
  'snat', 'dnat', 'masquerade', 'redirect', 'notrack', 'mark', 'ct',
  'ct state', 'ct status', 'ct mark', 'ct zone',
]);

/** Adds a statement or match (keyword: one to three words, e.g. 'limit', 'ct count', 'ct timeout set'). Idempotent for the same object. */
export function registerStatement(def: StatementDef): void {
  const k = def.keyword.trim().replace(/\s+/g, ' ');
  if (RESERVED.has(k)) throw new Error(`registerStatement: "${k}" is a built-in keyword`);
  const prev = statements.get(k);
  if (prev !== undefined && prev !== def) throw new Error(`registerStatement: "${k}" is already registered`);
  statements.set(k, def);
}

/** Adds a table-level object (`ct timeout NAME { ... }`, `set NAME { ... }`). */
export function registerTableObject(def: TableObjectDef): void {
  const k = def.keyword.trim().replace(/\s+/g, ' ');
  if (k === 'chain' || k === 'define') throw new Error(`registerTableObject: "${k}" is a built-in keyword`);
  const prev = tableObjects.get(k);
  if (prev !== undefined && prev !== def) throw new Error(`registerTableObject: "${k}" is already registered`);
  tableObjects.set(k, def);
}

/** The statement registered for `words[0..n)` with the most words (3, 2, then 1), or undefined. */
export function findStatement(words: readonly string[]): { def: StatementDef; words: number } | undefined {
  for (let n = Math.min(3, words.length); n >= 1; n--) {
    const d = statements.get(words.slice(0, n).join(' '));
    if (d !== undefined) return { def: d, words: n };
  }
  return undefined;
}

export function findTableObject(words: readonly string[]): { def: TableObjectDef; words: number } | undefined {
  for (let n = Math.min(3, words.length); n >= 1; n--) {
    const d = tableObjects.get(words.slice(0, n).join(' '));
    if (d !== undefined) return { def: d, words: n };
  }
  return undefined;
}

/** Registered statement keywords (for messages). */
export function registeredStatements(): string[] {
  return [...statements.keys()].sort();
}
export function registeredTableObjects(): string[] {
  return [...tableObjects.keys()].sort();
}
