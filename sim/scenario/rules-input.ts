/**
 * The scenario fields of the rule language: `routes:` (the route table that gives packets their
 * interfaces) and `ruleset:` (nft-subset text inline, or the path of a ruleset file relative to
 * the scenario file's folder). The schema checks their shapes; after validation,
 * {@link attachRules} builds the route table and loads the ruleset against it, reporting
 * problems with the scenario file's line (and, inside an inline ruleset, its column).
 *
 * The validated scenario then carries `scenario.routes` (a RouteTable) and `scenario.ruleset`
 * (a LoadedRuleset); both print as what was written (JSON: the entries; the text or path).
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { type Document, isScalar, Scalar } from 'yaml';
import { buildRoutes, loadRuleset, RulesetError, LoadedRuleset, type RouteTable } from '../rules/index.js';
import { arr, obj, opt, str } from './schema-dsl.js';
import { canonicalSysctlName, defaultSysctls } from '../conntrack/sysctl.js';

/** The schema fields added to the top level of a scenario. */
export function rulesFields() {
  return {
    routes: opt(arr(obj({
      prefix: str({ doc: 'destination prefix, e.g. 10.0.0.0/8, 0.0.0.0/0 (default route) or 2001:db8::/32' }),
      iface: str({ doc: 'interface name packets to this prefix leave by (and packets from it arrive on)' }),
      addr: opt(str({ doc: "the interface's own address (masquerade takes it on the way out, redirect on the way in)" })),
    }, { doc: 'one route: prefix → interface' }), { doc: 'route table (longest prefix match): a packet enters on the interface routing its source and leaves on the one routing its destination' })),
    ruleset: opt(str({ doc: 'nft ruleset (docs/rules.md): inline text (a YAML block, `ruleset: |`) or the path of a .nft file relative to this file' })),
  };
}

/** A problem found while attaching rules: at a scenario path, optionally in another file or at a column. */
export interface RulesIssue {
  path: (string | number)[];
  message: string;
  /** Set when the problem is inside a ruleset file (then `line`/`col` are in that file). */
  file?: string;
  line?: number;
  col?: number;
  /** Line and column inside the scenario file (inline ruleset). */
  scenarioLine?: number;
}

/**
 * Builds `routes` and loads `ruleset` of a validated scenario in place (`out.routes`,
 * `out.ruleset` become a RouteTable / LoadedRuleset). `rulesetFromCli` tells whether `--set`
 * gave the ruleset (a path then resolves against the current directory); `variantRulesetFromCli(i)`
 * the same for `variants[i].ruleset`, which loads in place too.
 */
export function attachRules(
  out: Record<string, unknown>, doc: Document, src: string, pos: (offset: number) => { line: number; col: number }, fileName: string, rulesetFromCli: boolean,
  variantRulesetFromCli: (index: number) => boolean = () => false,
): RulesIssue[] {
  const issues: RulesIssue[] = [];
  let routes: RouteTable | undefined;
  const entries = out['routes'] as { prefix: string; iface: string; addr?: string }[] | undefined;
  if (entries !== undefined) {
    const r = buildRoutes(entries);
    if (r.ok) routes = r.routes;
    else for (const i of r.issues) issues.push({ path: i.field === '' ? ['routes', i.index] : ['routes', i.index, i.field], message: i.message });
  }
  const text = out['ruleset'];
  const variants = (out['variants'] ?? []) as Record<string, unknown>[];
  if (typeof text !== 'string') delete out['ruleset'];
  if (typeof text !== 'string' && !variants.some((v) => typeof v['ruleset'] === 'string')) return issues;
  if (issues.length > 0) return issues; // interface names in the ruleset need a sound route table
  let loaded = false;
  if (typeof text === 'string') {
    const rs = loadRulesetAt(text, ['ruleset'], doc, src, pos, fileName, rulesetFromCli, routes, issues);
    if (rs !== undefined) { out['ruleset'] = rs; loaded = true; }
  }
  // a variant's ruleset (docs: "Variants") loads against the same route table
  variants.forEach((v, i) => {
    const t = v['ruleset'];
    if (typeof t !== 'string') return;
    const rs = loadRulesetAt(t, ['variants', i, 'ruleset'], doc, src, pos, fileName, variantRulesetFromCli(i), routes, issues);
    if (rs !== undefined) {
      // a variant's sysctl merges over the scenario's
      const sysctl = { ...((out['sysctl'] ?? {}) as Record<string, number>), ...((v['sysctl'] ?? {}) as Record<string, number>) };
      checkRequires(rs, sysctl, /[\n{]/.test(t), ['variants', i, 'ruleset'], issues);
      v['ruleset'] = rs; loaded = true;
    }
  });
  if (out['ruleset'] instanceof LoadedRuleset) {
    checkRequires(out['ruleset'], (out['sysctl'] ?? {}) as Record<string, number>, /[\n{]/.test(text as string), ['ruleset'], issues);
  }
  if (loaded && issues.length === 0 && routes !== undefined) out['routes'] = routes;
  return issues;
}

/** The sysctl values the ruleset's statements need (synproxy: nf_conntrack_tcp_loose = 0), against the scenario's. */
function checkRequires(rs: LoadedRuleset, sysctl: Record<string, number>, inline: boolean, at: (string | number)[], issues: RulesIssue[]): void {
  const sys: Record<string, number> = {};
  for (const [k, v] of Object.entries(sysctl)) sys[canonicalSysctlName(k)] = v;
  const defaults = defaultSysctls() as Record<string, number>;
  for (const q of rs.requires) {
    const given = sys[q.sysctl];
    const v = given ?? defaults[q.sysctl];
    if (v === q.value) continue;
    const message = `${q.why}; the scenario has ${q.sysctl}: ${v}${given === undefined ? ' (the kernel default)' : ''}: add "sysctl: { ${q.sysctl}: ${q.value} }"`;
    if (inline) issues.push({ path: at, message, scenarioLine: q.line, col: q.col });
    else issues.push({ path: at, message, file: rs.source.file, line: q.line, col: q.col });
  }
}

/**
 * Loads the ruleset a scenario field at `at` gives (`ruleset`, `variants[1].ruleset`): inline
 * text (with "\n" or "{") or a file path (relative to the scenario file unless `fromCli`).
 * Problems go to `issues` at `at` (in the ruleset file, or at the scenario's line and column).
 */
export function loadRulesetAt(text: string, at: (string | number)[], doc: Document, src: string, pos: (offset: number) => { line: number; col: number },
  fileName: string, fromCli: boolean, routes: RouteTable | undefined, issues: RulesIssue[]): LoadedRuleset | undefined {
  const inline = /[\n{]/.test(text);
  try {
    if (inline) {
      const origin = inlineOrigin(doc, src, pos, at);
      return loadRuleset(text, fileName, routes, { ...origin, inline: true });
    }
    const path = isAbsolute(text) || fromCli ? text : join(dirname(fileName), text);
    let body: string;
    try {
      body = readFileSync(path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      issues.push({ path: at, message: `cannot read ruleset "${path}": ${code === 'ENOENT' ? 'no such file' : (e as Error).message} (a ruleset is inline text with "{", or a path relative to the scenario file)` });
      return undefined;
    }
    return loadRuleset(body, path, routes, { inline: false });
  } catch (e) {
    if (!(e instanceof RulesetError)) throw e;
    if (inline) issues.push({ path: at, message: e.detail, scenarioLine: e.line, col: e.col });
    else issues.push({ path: at, message: e.detail, file: e.file, line: e.line, col: e.col });
    return undefined;
  }
}

/** Where the inline ruleset's text starts in the scenario file: line offset and the indentation a block scalar strips. */
function inlineOrigin(doc: Document, src: string, pos: (offset: number) => { line: number; col: number }, at: (string | number)[]): { lineOffset: number; colOffset: number } {
  const node = doc.getIn(at, true);
  if (!isScalar(node) || !node.range) return { lineOffset: 0, colOffset: 0 };
  const start = pos(node.range[0]);
  if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) {
    // The header (`|`, `|-`) is on `start.line`; content lines follow, all indented alike.
    const m = /^[|>][^\n]*\n((?:[ ]*\n)*)([ ]*)/.exec(src.slice(node.range[0]));
    return { lineOffset: start.line, colOffset: m ? m[2].length : 0 };
  }
  const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE ? 1 : 0;
  return { lineOffset: start.line - 1, colOffset: start.col - 1 + quoted };
}
