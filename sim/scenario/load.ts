/**
 * Scenario text (YAML or JSON) → validated {@link Scenario}, with every issue carrying the file
 * line of the offending node. Pure: the CLI reads the file and passes its text and name.
 */
import { dirname, isAbsolute, join } from 'node:path';
import { type Document, LineCounter, type Node, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { canonicalSysctlName } from '../conntrack/sysctl.js';
import { formatDuration } from '../core/time.js';
import { LIMITS } from '../io/limits.js';
import { MSG } from './messages.js';
import { attachRules } from './rules-input.js';
import { actionIssues, attachActionRulesets } from './actions-input.js';
import { type Scenario, type ScenarioRegistry, buildScenarioSchema } from './scenario.js';
import { type Issue, type Path, type PathSeg, SAFE_NAME_EXPECTS, formatPath, isMapping, isSafeName } from './schema-dsl.js';

/** A problem with a scenario, located in its file (or on the command line). */
export interface ScenarioIssue {
  readonly file: string;
  readonly line?: number;
  /** Column on `line` (set for problems inside an inline ruleset). */
  readonly col?: number;
  readonly path: string;
  readonly message: string;
}

/** A validated scenario plus the parsed document it came from (after overrides), or every issue. */
export type LoadResult = { ok: true; scenario: Scenario; raw: unknown } | { ok: false; issues: ScenarioIssue[] };

/** The `file` of issues about `--set` overrides. */
export const COMMAND_LINE = 'command line';

/** `file:line: path: message`, leaving out the line when unknown and the path when empty. */
export function formatIssue(i: ScenarioIssue): string {
  const where = i.line === undefined ? i.file : i.col === undefined ? `${i.file}:${i.line}` : `${i.file}:${i.line}:${i.col}`;
  return i.path === '' ? `${where}: ${i.message}` : `${where}: ${i.path}: ${i.message}`;
}

/** `scenarios/syn-flood.yaml` → `syn-flood`. */
export function scenarioBaseName(fileName: string): string {
  const base = fileName.slice(Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/**
 * Parses `text`, applies `--set path=value` overrides, validates against the registry's schema
 * and fills defaults. All issues are reported at once.
 */
export function loadScenario(text: string, fileName: string, registry: ScenarioRegistry, overrides: readonly string[] = []): LoadResult {
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  if (doc.errors.length > 0) {
    return { ok: false, issues: doc.errors.map((e) => ({ file: fileName, line: lineAt(e.pos[0]), path: '', message: MSG.yamlSyntax(e.message) })) };
  }
  const issues: ScenarioIssue[] = [];
  if (doc.contents === null) {
    if (overrides.length === 0) return { ok: false, issues: [{ file: fileName, path: '', message: MSG.emptyFile() }] };
    doc.contents = doc.createNode({});
  }
  const applied: { at: Path; text: string }[] = [];
  for (const o of overrides) {
    const r = applyOverride(doc, o);
    if (typeof r === 'string') issues.push({ file: COMMAND_LINE, path: '--set', message: MSG.badOverride(o, r) });
    else applied.push({ at: r, text: o });
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { ok: false, issues: [...issues, { file: fileName, path: '', message: MSG.yamlTooLarge((e as Error).message) }] };
  }
  if (!isMapping(raw)) {
    const line = doc.contents?.range ? lineAt(doc.contents.range[0]) : undefined;
    issues.push({ file: fileName, ...(line === undefined ? {} : { line }), path: '', message: raw === null ? MSG.emptyFile() : MSG.notMapping(raw) });
    return { ok: false, issues };
  }
  resolvePaths(raw, registry, fileName, applied.map((a) => a.at));
  const found: Issue[] = [];
  const out = buildScenarioSchema(registry).validate(raw, [], found);
  for (const i of found) issues.push(placeIssue(doc, lineAt, applied, i, fileName));
  if (issues.length > 0 || out === undefined) return { ok: false, issues: sortIssues(issues) };
  for (const i of meaningIssues(out as unknown as Scenario)) issues.push(placeIssue(doc, lineAt, applied, i, fileName));
  const rulesetFromCli = applied.some((a) => a.at[0] === 'ruleset');
  const variantFromCli = (i: number): boolean => applied.some((a) => a.at[0] === 'variants' && (a.at.length === 1 || (a.at[1] === i && (a.at.length === 2 || a.at[2] === 'ruleset'))));
  for (const r of attachRules(out as Record<string, unknown>, doc, text, (o) => lineCounter.linePos(o), fileName, rulesetFromCli, variantFromCli)) {
    if (r.file !== undefined) issues.push({ file: r.file, line: r.line!, col: r.col!, path: '', message: `${r.message} (the ruleset of ${fileName})` });
    else if (r.scenarioLine !== undefined) issues.push({ file: fileName, line: r.scenarioLine, col: r.col!, path: formatPath(r.path), message: r.message });
    else issues.push(placeIssue(doc, lineAt, applied, { at: r.path, path: formatPath(r.path), message: r.message }, fileName));
  }
  if (issues.length === 0) {
    for (const r of attachActionRulesets(out as Record<string, unknown>, doc, text, (o) => lineCounter.linePos(o), fileName)) {
      if (r.file !== undefined) issues.push({ file: r.file, line: r.line!, col: r.col!, path: '', message: `${r.message} (${formatPath(r.path)} of ${fileName})` });
      else if (r.scenarioLine !== undefined) issues.push({ file: fileName, line: r.scenarioLine, col: r.col!, path: formatPath(r.path), message: r.message });
      else issues.push(placeIssue(doc, lineAt, applied, { at: r.path, path: formatPath(r.path), message: r.message }, fileName));
    }
  }
  if (issues.length > 0) return { ok: false, issues: sortIssues(issues) };
  const { name, ...rest } = out;
  const finalName = name ?? scenarioBaseName(fileName);
  if (!isSafeName(finalName)) {
    return { ok: false, issues: [{ file: fileName, path: 'name', message: `the file's base name "${finalName}" cannot name a results folder; give the scenario a name: ${SAFE_NAME_EXPECTS}` }] };
  }
  // attachRules replaced `routes`/`ruleset` with the built route table and the loaded ruleset.
  return { ok: true, scenario: { name: finalName, ...rest } as unknown as Scenario, raw };
}

/**
 * Checks of meaning, after the form is valid: duplicate labels, generators that can never send
 * (stop not after start, start at or after the end, rate 0) and the samples-per-run limit.
 */
function meaningIssues(sc: Scenario): Issue[] {
  const out: Issue[] = [];
  const add = (at: Path, message: string): void => { out.push({ at, path: formatPath(at), message }); };
  const seen = new Map<string, number>();
  sc.traffic.forEach((t, i) => {
    const g = t as { label?: string; start?: number; stop?: number; rate?: unknown };
    if (g.label !== undefined) {
      const j = seen.get(g.label);
      if (j !== undefined) add(['traffic', i, 'label'], `"${g.label}" is already the label of traffic[${j}]; labels name random substreams and must be unique`);
      else seen.set(g.label, i);
    }
    if (g.start !== undefined && g.stop !== undefined && g.stop <= g.start) {
      add(['traffic', i, 'stop'], `${formatDuration(g.stop)} is ${g.stop === g.start ? 'equal to' : 'before'} start (${formatDuration(g.start)}): the generator would never send; make stop later than start`);
    } else if (g.start !== undefined && g.start >= sc.duration) {
      add(['traffic', i, 'start'], `${formatDuration(g.start)} is not before the end of the run (duration ${formatDuration(sc.duration)}): the generator would never send`);
    }
    if (g.rate === 0) add(['traffic', i, 'rate'], '0: the generator would never send; remove it or give it a rate');
  });
  out.push(...actionIssues(sc.actions, sc.duration, sc.kernel.version));
  const samples = Math.floor(sc.duration / sc.sample_interval) + 1;
  if (samples > LIMITS.samplesPerRun) {
    add(['sample_interval'], `${formatDuration(sc.sample_interval)} over a duration of ${formatDuration(sc.duration)} asks for ${samples.toLocaleString('en-US')} samples per run; ` +
      `the limit is ${LIMITS.samplesPerRun.toLocaleString('en-US')} (choose a longer sample_interval, or raise the limit with --max-samples ${samples})`);
  }
  return out;
}

/**
 * Makes a generator's relative file paths (its `pathFields`) relative to the scenario file's
 * folder, as a reader of the file expects; paths given with `--set` stay relative to the
 * current directory.
 */
function resolvePaths(raw: Record<string, unknown>, registry: ScenarioRegistry, fileName: string, overridden: readonly Path[]): void {
  const traffic = raw['traffic'];
  if (!Array.isArray(traffic)) return;
  traffic.forEach((item: unknown, i) => {
    if (!isMapping(item) || typeof item['kind'] !== 'string') return;
    const fields = registry.generators[item['kind']]?.pathFields ?? [];
    for (const f of fields) {
      const v = item[f];
      const at: Path = ['traffic', i, f];
      if (typeof v !== 'string' || isAbsolute(v) || overridden.some((o) => startsWith(at, o))) continue;
      item[f] = join(dirname(fileName), v);
    }
  });
}

/** Command-line issues first, then file issues by line; validation order breaks ties. */
function sortIssues(issues: readonly ScenarioIssue[]): ScenarioIssue[] {
  const rank = (i: ScenarioIssue): number => (i.file === COMMAND_LINE ? -1 : (i.line ?? Infinity));
  return issues.map((i, k) => ({ i, k })).sort((a, b) => rank(a.i) - rank(b.i) || a.k - b.k).map(({ i }) => i);
}

const startsWith = (a: Path, prefix: Path): boolean => prefix.length <= a.length && prefix.every((s, k) => a[k] === s);

/** Attributes an issue to an override that set (or created) its node, else to the file line. */
function placeIssue(doc: Document, lineAt: (o: number) => number, applied: readonly { at: Path; text: string }[], i: Issue, file: string): ScenarioIssue {
  const { node, complete } = locate(doc, i.at);
  const fromSet = [...applied].reverse().find((a) => startsWith(i.at, a.at) || (startsWith(a.at, i.at) && complete && node?.range === undefined));
  if (fromSet) return { file: COMMAND_LINE, path: i.path, message: MSG.fromOverride(i.message, fromSet.text) };
  const offset = node?.range?.[0];
  return { file, ...(offset === undefined ? {} : { line: lineAt(offset) }), path: i.path, message: i.message };
}

/**
 * The deepest node on `at` that exists in the document: for a mapping entry its key (the line a
 * reader looks at), for a list item the item. `complete` tells whether the whole path was found.
 */
function locate(doc: Document, at: Path): { node: Node | undefined; complete: boolean } {
  let cur: unknown = doc.contents;
  let node = cur as Node | undefined;
  for (const seg of at) {
    if (isAlias(cur)) cur = cur.resolve(doc);
    if (isMap(cur)) {
      const pair = cur.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) return { node, complete: false };
      node = (isScalar(pair.key) ? pair.key : (pair.value as Node | undefined)) ?? node;
      cur = pair.value;
    } else if (isSeq(cur) && typeof seg === 'number' && seg < cur.items.length) {
      cur = cur.items[seg];
      node = (cur as Node | undefined) ?? node;
    } else {
      return { node, complete: false };
    }
  }
  return { node, complete: true };
}

/** `traffic[0].rate`, `sysctl["net.netfilter.x"]` → segments, or a reason it is malformed. */
export function parseOverridePath(text: string): PathSeg[] | string {
  const re = /\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/y;
  const segs: PathSeg[] = [];
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (m === null || (m[1] !== undefined && pos === 0 && text[0] === '.')) return `cannot read the path at "${text.slice(pos)}"`;
    if (m[1] !== undefined && pos > 0 && text[pos] !== '.') return `expected "." or "[" before "${m[1]}"`;
    segs.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (JSON.parse(`"${m[3]}"`) as string)));
    pos = re.lastIndex;
  }
  if (segs.length === 0) return 'the path is empty';
  // Sysctl names may carry dots (net.netfilter.nf_conntrack_max): the rest of the path is one key.
  if (segs[0] === 'sysctl' && segs.length > 2 && segs.every((s) => typeof s === 'string')) return ['sysctl', segs.slice(1).join('.')];
  return segs;
}

/** Applies one `path=value` override to the document; returns the path set, or why it is malformed. */
function applyOverride(doc: Document, text: string): Path | string {
  const eq = text.indexOf('=');
  if (eq < 0) return 'no "="';
  const at = parseOverridePath(text.slice(0, eq).trim());
  if (typeof at === 'string') return at;
  const valueText = text.slice(eq + 1);
  const vdoc = parseDocument(valueText, { prettyErrors: false });
  if (vdoc.errors.length > 0) return `the value is not valid YAML (${vdoc.errors[0]!.message})`;
  const value: unknown = valueText.trim() === '' ? '' : vdoc.toJS();
  let cur: unknown = doc.contents;
  for (let k = 0; k < at.length; k++) {
    const seg = at[k]!;
    const last = k === at.length - 1;
    const shown = formatPath(at.slice(0, k)) || 'the top level';
    if (isAlias(cur)) cur = cur.resolve(doc);
    const fresh = (): Node => doc.createNode(last ? value : typeof at[k + 1] === 'number' ? [] : {});
    if (isMap(cur)) {
      if (typeof seg !== 'string') return `${shown} is a mapping, not a list`;
      if (k === 1 && at[0] === 'sysctl') {
        // Another spelling of the same sysctl would be a duplicate: the override replaces it.
        const canon = canonicalSysctlName(seg);
        cur.items = cur.items.filter((p) => {
          const key = isScalar(p.key) ? p.key.value : p.key;
          return key === seg || typeof key !== 'string' || canonicalSysctlName(key) !== canon;
        });
      }
      const pair = cur.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (pair && !last && pair.value !== null && !(isScalar(pair.value) && pair.value.value === null)) cur = pair.value;
      else if (pair) cur = pair.value = fresh();
      else cur.set(seg, (cur = fresh()));
    } else if (isSeq(cur)) {
      if (typeof seg !== 'number') return `${shown} is a list; index it as ${shown}[n]`;
      if (seg > cur.items.length) return `${shown} has ${cur.items.length} item${cur.items.length === 1 ? '' : 's'}; index ${seg} is out of range`;
      if (seg < cur.items.length && !last) cur = cur.items[seg];
      else if (seg < cur.items.length) cur = cur.items[seg] = fresh();
      else cur.items.push((cur = fresh()));
    } else {
      return `${shown} is a single value, not a mapping or list`;
    }
  }
  return at;
}
