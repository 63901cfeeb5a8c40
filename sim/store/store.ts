/**
 * The results store: one DuckDB database, `ctsim.duckdb`, in the results folder. Every run,
 * comparison and sweep case is recorded there as well as in its files.
 *
 * Writes: each record is one transaction (a run and all its rows appear together or not at all).
 * Only one process may have the file open for writing: a second ctsim waits for it (up to
 * `STORE_WAIT_MS`), and a sweep records its cases from the main thread only (its workers just
 * simulate). Tables whose content grows with ctsim (metrics, outcomes, latency) are key/value rows,
 * so metrics that a newer summary.json adds appear without a schema change; `samples` gains a
 * column when timeseries.csv does.
 *
 * The store is part of the command-line shell: it reads the wall clock (`recorded_at`, waiting
 * for the lock) and never feeds anything back into a simulation.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { InputError } from '../io/errors.js';

/** Bumped when a table changes incompatibly; a store of another version is refused with advice. */
export const STORE_SCHEMA_VERSION = 1;
export const STORE_FILE = 'ctsim.duckdb';
const STORE_WAIT_MS = 120_000;

const TABLES = [
  `CREATE TABLE IF NOT EXISTS meta (key VARCHAR, value VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS runs (
     id VARCHAR, kind VARCHAR, scenario VARCHAR, policy VARCHAR, seed BIGINT, run INTEGER,
     nf_conntrack_max BIGINT, nf_conntrack_buckets BIGINT, duration_s DOUBLE,
     params JSON, sets JSON, scenario_sha256 VARCHAR, ruleset_sha256 VARCHAR, input_files JSON,
     ctsim_version VARCHAR, node_version VARCHAR, platform VARCHAR, lock_sha256 VARCHAR,
     dir VARCHAR, recorded_at TIMESTAMP, summary_json VARCHAR, metrics_json VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS metrics (run_id VARCHAR, metric VARCHAR, value DOUBLE)`,
  `CREATE TABLE IF NOT EXISTS samples (run_id VARCHAR, sample INTEGER)`,
  `CREATE TABLE IF NOT EXISTS outcomes (run_id VARCHAR, generator INTEGER, kind VARCHAR, label VARCHAR, class VARCHAR, metric VARCHAR, value DOUBLE)`,
  `CREATE TABLE IF NOT EXISTS evictions (run_id VARCHAR, reason VARCHAR, class VARCHAR, count BIGINT)`,
  `CREATE TABLE IF NOT EXISTS latency (run_id VARCHAR, scope VARCHAR, metric VARCHAR, value DOUBLE)`,
  `CREATE TABLE IF NOT EXISTS comparisons (
     id VARCHAR, scenario VARCHAR, seed BIGINT, runs INTEGER, policies VARCHAR,
     scenario_sha256 VARCHAR, ctsim_version VARCHAR, dir VARCHAR, recorded_at TIMESTAMP)`,
  `CREATE TABLE IF NOT EXISTS comparison_runs (comparison_id VARCHAR, policy VARCHAR, run INTEGER, run_id VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS sweeps (
     id VARCHAR, name VARCHAR, sweep_sha256 VARCHAR, cases_total INTEGER, shard VARCHAR,
     dir VARCHAR, ctsim_version VARCHAR, recorded_at TIMESTAMP)`,
  `CREATE TABLE IF NOT EXISTS sweep_cases (
     sweep_sha256 VARCHAR, case_index INTEGER, key VARCHAR, scenario VARCHAR, file VARCHAR, policy VARCHAR,
     params JSON, seed BIGINT, run INTEGER, run_id VARCHAR)`,
];

/** A SQL literal of a JS value (strings quoted, null, numbers; objects as JSON text). */
export function lit(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'NULL';
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return `'${s.replace(/'/g, "''")}'`;
}

/** A quoted SQL identifier. */
export const ident = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** One INSERT per chunk of rows (column lists must match). */
export function insertSql(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    out.push(`INSERT INTO ${table} (${columns.map(ident).join(', ')}) VALUES ${chunk.map((r) => `(${r.map(lit).join(', ')})`).join(', ')}`);
  }
  return out;
}

/** The result of a query: column names and rows of JSON values. */
export interface QueryResult {
  columns: string[];
  rows: unknown[][];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/**
 * How long an error other than a lock is retried when opening, while the file is this young (a
 * store another process is creating this very moment: under load its header can take seconds).
 * An older file that does not open is reported at once.
 */
const STORE_CREATE_GRACE_MS = 15_000;

/** Whether the file was written within the last `ms` milliseconds (false when it cannot be read). */
function youngerThan(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < ms;
  } catch {
    return true; // not there yet: its creator has not written it
  }
}

const isLockError = (e: unknown): boolean => /lock|Conflicting|being used|already open/i.test(String((e as Error)?.message ?? e));

/**
 * Opens the store of a results folder for the time of `f` only (so other ctsim processes can
 * write between two records), then closes it.
 */
export async function withStore<T>(resultsDir: string, f: (s: Store) => Promise<T>): Promise<T> {
  const s = await Store.open(resultsDir);
  try {
    return await f(s);
  } finally {
    s.close();
  }
}

export class Store {
  private constructor(readonly path: string, private readonly inst: DuckDBInstance, private readonly conn: DuckDBConnection) {}

  /**
   * Opens (creating when `create`) the store of a results folder. A store of another schema
   * version, or a file that is not a ctsim store, is an InputError saying what to do.
   */
  static async open(resultsDir: string, o: { create?: boolean; readOnly?: boolean } = {}): Promise<Store> {
    const path = join(resultsDir, STORE_FILE);
    if (o.create !== false) mkdirSync(dirname(path), { recursive: true });
    const started = Date.now();
    let inst: DuckDBInstance | undefined;
    for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
      try {
        inst = await DuckDBInstance.create(path, o.readOnly ? { access_mode: 'READ_ONLY' } : {});
        break;
      } catch (e) {
        if (isLockError(e) && Date.now() - started < STORE_WAIT_MS) { await sleep(wait); continue; }
        if (isLockError(e)) throw new InputError(`${path}: the results store is in use by another process (waited ${STORE_WAIT_MS / 1000} s): ${(e as Error).message}`);
        // another process may be creating the file this very moment (a half-written header reads as
        // "not a valid database"): give it a few seconds before calling the file bad
        if (Date.now() - started < STORE_CREATE_GRACE_MS && youngerThan(path, STORE_CREATE_GRACE_MS)) { await sleep(wait); continue; }
        throw new InputError(`${path}: cannot open the results store: ${(e as Error).message} (it is a DuckDB database written by ctsim; move it away to start a new one)`);
      }
    }
    const conn = await inst.connect();
    const s = new Store(path, inst, conn);
    try {
      await s.checkVersion(o.readOnly === true);
    } catch (e) {
      s.close();
      throw e;
    }
    return s;
  }

  private async checkVersion(readOnly: boolean): Promise<void> {
    const has = await this.rows(`SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'`);
    if (Number(has[0]![0]) === 0) {
      if (readOnly) return;
      const other = await this.rows(`SELECT count(*) FROM information_schema.tables`);
      if (Number(other[0]![0]) > 0) throw new InputError(`${this.path}: not a ctsim results store (it has tables but no meta table); move it away or use another --out`);
      await this.transaction(async () => {
        for (const t of TABLES) await this.conn.run(t);
        await this.conn.run(`INSERT INTO meta VALUES ('schema_version', ${lit(String(STORE_SCHEMA_VERSION))}), ('created_by', ${lit('ctsim')})`);
      });
      return;
    }
    const m = Object.fromEntries((await this.rows(`SELECT key, value FROM meta`)).map(([k, v]) => [String(k), String(v)]));
    const v = Number(m['schema_version']);
    if (v !== STORE_SCHEMA_VERSION) {
      throw new InputError(`${this.path}: results store schema version ${m['schema_version'] ?? '?'} (written by ${m['written_by'] ?? 'an unknown ctsim'}), but this ctsim reads version ${STORE_SCHEMA_VERSION}: ` +
        `move the file away (your CSV/JSON results are untouched) and re-record them with \`ctsim runs --import ${dirname(this.path)}\`, or use the ctsim that wrote it`);
    }
  }

  /** Runs `f` in one transaction (rolled back when it throws). */
  async transaction<T>(f: () => Promise<T>): Promise<T> {
    await this.conn.run('BEGIN TRANSACTION');
    try {
      const r = await f();
      await this.conn.run('COMMIT');
      return r;
    } catch (e) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  async exec(sql: string): Promise<void> {
    await this.conn.run(sql);
  }

  /** Rows as JSON values (BIGINT and DECIMAL become numbers or strings). */
  async rows(sql: string): Promise<unknown[][]> {
    return (await this.conn.runAndReadAll(sql)).getRowsJson();
  }

  /**
   * A user's query: a failing statement is bad input (exit 2) with DuckDB's message. Integer and
   * decimal columns come back as numbers when they fit a double exactly (else as strings).
   */
  async query(sql: string): Promise<QueryResult> {
    try {
      const r = await this.conn.runAndReadAll(sql);
      const numeric = r.columnTypes().map((t) => /INT|DECIMAL/.test(String(t)));
      const rows = r.getRowsJson().map((row) => row.map((v, i) => {
        if (!numeric[i] || typeof v !== 'string') return v;
        const n = Number(v);
        return Number.isFinite(n) && (String(n) === v || !/^-?\d+$/.test(v)) ? n : v;
      }));
      return { columns: r.columnNames(), rows };
    } catch (e) {
      throw new InputError(`query failed: ${(e as Error).message.split('\n')[0]}${/\n/.test((e as Error).message) ? '\n' + (e as Error).message.split('\n').slice(1).join('\n') : ''}`);
    }
  }

  /** Columns of a table. */
  async columnsOf(table: string): Promise<string[]> {
    return (await this.rows(`SELECT column_name FROM information_schema.columns WHERE table_name = ${lit(table)} ORDER BY ordinal_position`)).map((r) => String(r[0]));
  }

  /** Adds the missing DOUBLE columns to `table` (samples grow with timeseries.csv). */
  async ensureColumns(table: string, cols: readonly string[]): Promise<void> {
    const have = new Set(await this.columnsOf(table));
    for (const c of cols) if (!have.has(c)) await this.conn.run(`ALTER TABLE ${table} ADD COLUMN ${ident(c)} DOUBLE`);
  }

  async setWrittenBy(version: string): Promise<void> {
    await this.conn.run(`DELETE FROM meta WHERE key = 'written_by'`);
    await this.conn.run(`INSERT INTO meta VALUES ('written_by', ${lit(`ctsim ${version}`)})`);
  }

  close(): void {
    try { this.conn.closeSync(); } catch { /* already closed */ }
    try { this.inst.closeSync(); } catch { /* already closed */ }
  }
}
