/**
 * The regression suite file (`results/baselines/suite.yaml`): which (scenario, policies, seed,
 * run) cases `ctsim regress` runs and with what tolerances. Pure: the caller reads the file and
 * passes its text and name. Every problem is reported at once as `file:line: path: message`.
 *
 * ```yaml
 * fingerprint: fail          # fail (default) or report: does a trajectory change fail a case?
 * tolerances:                # metric pattern → tolerance (see tolerance.ts); default exact
 *   "*_s": { abs: 1.0e-6 }
 * cases:
 *   - name: mixed-kernel     # names the baseline file: <name>.json next to the suite file
 *     scenario: ../../scenarios/mixed.yaml   # relative to the suite file, or a built-in name
 *     policies: [kernel]     # optional: replaces the scenario's policies (names or mappings)
 *     seed: 1                # optional: the scenario's seed
 *     run: 0                 # optional: run index, default 0
 *     set: ["duration=60s"]  # optional: --set overrides
 *     tolerances: {}         # optional: this case's patterns, tried before the suite's
 *     fingerprint: report    # optional: overrides the suite's setting
 * ```
 */
import { MSG } from '../scenario/messages.js';
import { LineCounter, parseDocument } from 'yaml';
import { closest } from '../scenario/suggest.js';
import { parseTolerance, patternRegExp, type TolerancePattern } from './tolerance.js';

export type FingerprintMode = 'fail' | 'report';

export interface SuiteCase {
  name: string;
  /** As written in the suite file. */
  scenario: string;
  /** Replacement policies list as written (names or mappings), or undefined to keep the scenario's. */
  policies?: unknown[];
  seed?: number;
  run: number;
  set: string[];
  tolerances: TolerancePattern[];
  fingerprint: FingerprintMode;
  /** Line of the case in the suite file (for messages). */
  line: number;
  /** `cases[i]` */
  path: string;
}

export interface Suite {
  file: string;
  tolerances: TolerancePattern[];
  cases: SuiteCase[];
}

export type SuiteResult = { ok: true; suite: Suite } | { ok: false; issues: string[] };

const TOP_KEYS = ['description', 'fingerprint', 'tolerances', 'cases'];
const CASE_KEYS = ['name', 'description', 'scenario', 'policies', 'seed', 'run', 'set', 'tolerances', 'fingerprint'];
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function parseSuite(text: string, file: string): SuiteResult {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const lineAtOffset = (o: number): number => lc.linePos(o).line;
  if (doc.errors.length > 0) return { ok: false, issues: doc.errors.map((e) => `${file}:${lineAtOffset(e.pos[0])}: YAML syntax: ${e.message.split('\n')[0]}`) };
  const issues: string[] = [];
  const lineOf = (path: (string | number)[]): number | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return lineAtOffset(node.range[0]);
    }
    return undefined;
  };
  const fmtPath = (path: (string | number)[]): string => path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
  const issue = (path: (string | number)[], msg: string): void => {
    const line = lineOf(path);
    const where = line === undefined ? file : `${file}:${line}`;
    issues.push(path.length === 0 ? `${where}: ${msg}` : `${where}: ${fmtPath(path)}: ${msg}`);
  };
  let raw: unknown;
  try { raw = doc.toJS({ maxAliasCount: 100 }); } catch (e) { issue([], MSG.yamlTooLarge((e as Error).message)); return { ok: false, issues }; }
  if (!isMap(raw)) {
    issue([], 'expected a mapping with a "cases" list (see `ctsim regress --help`)');
    return { ok: false, issues };
  }
  const unknownKeys = (m: Record<string, unknown>, allowed: string[], at: (string | number)[]): void => {
    for (const k of Object.keys(m)) {
      if (allowed.includes(k)) continue;
      const hint = closest(k, allowed);
      issue([...at, k], `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; expected one of ${allowed.join(', ')}`);
    }
  };
  unknownKeys(raw, TOP_KEYS, []);
  const fpMode = (v: unknown, at: (string | number)[], dflt: FingerprintMode): FingerprintMode => {
    if (v === undefined) return dflt;
    if (v === 'fail' || v === 'report') return v;
    issue(at, `expected fail or report, got ${JSON.stringify(v)}`);
    return dflt;
  };
  const tolerances = (v: unknown, at: (string | number)[]): TolerancePattern[] => {
    if (v === undefined || v === null) return [];
    if (!isMap(v)) { issue(at, 'expected a mapping of metric pattern → tolerance'); return []; }
    const out: TolerancePattern[] = [];
    for (const [pattern, spec] of Object.entries(v)) {
      const t = parseTolerance(spec);
      if (typeof t === 'string') issue([...at, pattern], t);
      else out.push({ pattern, re: patternRegExp(pattern), tol: t });
    }
    return out;
  };
  const suiteFp = fpMode(raw['fingerprint'], ['fingerprint'], 'fail');
  const suiteTol = tolerances(raw['tolerances'], ['tolerances']);
  const cases: SuiteCase[] = [];
  const rawCases = raw['cases'];
  if (!Array.isArray(rawCases) || rawCases.length === 0) {
    issue(rawCases === undefined ? [] : ['cases'], rawCases === undefined ? 'missing "cases": a list of { name, scenario, … }' : 'expected a non-empty list of cases');
    return { ok: false, issues };
  }
  const names = new Map<string, number>();
  rawCases.forEach((c: unknown, i: number) => {
    const at = ['cases', i];
    if (!isMap(c)) { issue(at, 'expected a mapping with name and scenario'); return; }
    unknownKeys(c, CASE_KEYS, at);
    const name = c['name'];
    if (typeof name !== 'string' || !NAME_RE.test(name)) {
      issue(name === undefined ? at : [...at, 'name'], name === undefined ? 'missing name' : `expected a name of letters, digits, ".", "_", "+", "-" (it names the baseline file), got ${JSON.stringify(name)}`);
    } else if (names.has(name)) {
      issue([...at, 'name'], `"${name}" is already the name of cases[${names.get(name)}]`);
    } else {
      names.set(name, i);
    }
    const scenario = c['scenario'];
    if (typeof scenario !== 'string' || scenario === '') issue(scenario === undefined ? at : [...at, 'scenario'], scenario === undefined ? 'missing scenario (a file relative to the suite, or a built-in scenario name)' : 'expected a file name');
    let policies: unknown[] | undefined;
    const p = c['policies'];
    if (typeof p === 'string') policies = p.split('+').map((s) => s.trim());
    else if (Array.isArray(p)) policies = p;
    else if (p !== undefined) issue([...at, 'policies'], 'expected a list of policies (names or mappings with name and parameters), or "a+b"');
    const int = (k: string, min: number): number | undefined => {
      const v = c[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) { issue([...at, k], `expected an integer ≥ ${min}, got ${JSON.stringify(v)}`); return undefined; }
      return v;
    };
    const seed = int('seed', 0);
    const run = int('run', 0) ?? 0;
    let set: string[] = [];
    const s = c['set'];
    if (Array.isArray(s) && s.every((x) => typeof x === 'string')) set = s as string[];
    else if (typeof s === 'string') set = [s];
    else if (s !== undefined) issue([...at, 'set'], 'expected a list of "path=value" overrides');
    set.forEach((x, k) => { if (!x.includes('=')) issue([...at, 'set', k], `expected "path=value", got ${JSON.stringify(x)}`); });
    cases.push({
      name: typeof name === 'string' ? name : `#${i}`, scenario: typeof scenario === 'string' ? scenario : '',
      ...(policies !== undefined ? { policies } : {}), ...(seed !== undefined ? { seed } : {}), run, set,
      tolerances: tolerances(c['tolerances'], [...at, 'tolerances']), fingerprint: fpMode(c['fingerprint'], [...at, 'fingerprint'], suiteFp),
      line: lineOf(at) ?? 0, path: `cases[${i}]`,
    });
  });
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, suite: { file, tolerances: suiteTol, cases } };
}
