/**
 * The `actions:` field of a scenario: operator actions on the run's timeline (docs/model.md §14).
 * Each step has a time `at` and exactly one of
 * - `sysctl: { name: value, ... }` — `sysctl -w` of sysctls the model knows (kernel names);
 * - `flush: true` — `conntrack -F`;
 * - `delete: { protocol, state, src, dst, mark }` — `conntrack -D` with those filters (all
 *   optional; none deletes every entry);
 * - `ruleset: TEXT-or-FILE` — `nft -f`: replaces the ruleset (same language and routes as the
 *   top-level `ruleset:`, which must exist); entries keep their NAT bindings, new decisions use
 *   the new rules.
 * The schema checks the form; {@link actionIssues} checks what needs the whole scenario (times
 * within the run, values valid for the kernel version).
 */
import { SYSCTL_NAMES, type SysctlName, canonicalSysctlName, checkSysctlValue, isSysctlName, SYSCTLS } from '../conntrack/sysctl.js';
import { TCP_STATE_NAMES } from '../conntrack/proto-tcp-const.js';
import { parsePrefix } from '../traffic/addresses.js';
import { formatDuration } from '../core/time.js';
import { MSG } from './messages.js';
import { arr, duration, literal, num, obj, opt, record, str } from './schema-dsl.js';
import { type Issue, type Path, type Schema, fail, formatPath, make } from './schema-core.js';
import { closest } from './suggest.js';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { type Document, isScalar, Scalar } from 'yaml';
import { loadRuleset, RulesetError, type LoadedRuleset, type RouteTable } from '../rules/index.js';

/** Protocol names `conntrack -p` takes that the model tracks by name. */
export const DELETE_PROTOCOLS = ['tcp', 'udp', 'udplite', 'icmp', 'icmpv6', 'gre'] as const;

/** Sysctls an action may not write (fixed for the run in this model), with the reason. */
const NOT_RUNTIME: Partial<Record<SysctlName, string>> = {
  nf_conntrack_events: 'is fixed for the whole run in this model (whether entries carry the event-cache extension)',
};

/** A sysctl value in an action: the kernel's range for that sysctl. */
function actionSysctlValue(name: SysctlName): Schema<number, number> {
  const d = SYSCTLS[name];
  return make<number, number>({ doc: d.doc }, `an integer in ${d.min}..${d.max}`, () => ({ type: 'integer', minimum: d.min, maximum: d.max }), (v, path, issues) => {
    const msg = checkSysctlValue(name, v);
    return msg === undefined ? (v as number) : fail(issues, path, msg);
  });
}

/** An address or prefix of `conntrack -s/-d` (ORIGINAL direction source / destination). */
function addrFilter(doc: string): Schema<string, string> {
  return make<string, string>({ doc }, 'an IPv4 or IPv6 address or prefix such as "10.0.0.1" or "198.51.100.0/24"', () => ({ type: 'string' }), (v, path, issues) => {
    if (typeof v !== 'string') return fail(issues, path, MSG.expected('an address or prefix such as "198.51.100.0/24"', v));
    const p = parsePrefix(v);
    return typeof p === 'string' ? fail(issues, path, p) : v;
  });
}

/** The schema of one step of `actions:`. */
export function actionItem() {
  return obj({
    at: duration({ min: 0, doc: 'when the action runs (from the start of the run; at most the duration); it runs before the packets of that microsecond' }),
    label: opt(str({ doc: 'free text naming the action in outputs and charts' })),
    sysctl: opt(record<SysctlName, number>(num({ int: true }), {
      doc: 'sysctl -w: net.netfilter sysctls by kernel name, applied with the kernel semantics of a write on a running system',
      keyCheck: (key) => {
        const c = canonicalSysctlName(key);
        if (!isSysctlName(c)) return { ok: false, message: MSG.unknownName('sysctl', key, closest(c, SYSCTL_NAMES), SYSCTL_NAMES) };
        const why = NOT_RUNTIME[c];
        if (why !== undefined) return { ok: false, message: `${c} ${why}; set it in the top-level sysctl: mapping instead` };
        return { ok: true, key: c };
      },
      valueFor: actionSysctlValue,
      jsonKeys: SYSCTL_NAMES.filter((n) => NOT_RUNTIME[n] === undefined),
      jsonKeyPattern: `^net\\.netfilter\\.(${SYSCTL_NAMES.filter((n) => NOT_RUNTIME[n] === undefined).join('|')})$|^net\\.nf_conntrack_max$`,
    })),
    flush: opt(literal(true, { doc: 'conntrack -F: delete every entry (DESTROY events)' })),
    delete: opt(obj({
      protocol: opt(str({ enum: DELETE_PROTOCOLS, doc: 'conntrack -p' })),
      state: opt(str({ enum: TCP_STATE_NAMES.filter((s) => s !== 'NONE'), doc: 'conntrack --state (TCP state; needs protocol: tcp)' })),
      src: opt(addrFilter('conntrack -s: ORIGINAL source address or prefix')),
      dst: opt(addrFilter('conntrack -d: ORIGINAL destination address or prefix')),
      mark: opt(num({ int: true, min: 0, max: 4294967295, doc: 'conntrack -m: the entry\'s ct mark' })),
    }, { doc: 'conntrack -D with filters (all given must match; none: every entry)' })),
    ruleset: opt(str({ doc: 'nft -f: a new ruleset replacing the current one (inline text, or a .nft path relative to this file); needs a top-level ruleset' })),
  }, { doc: 'one operator action: at, and one of sysctl, flush, delete, ruleset' });
}

/** The `actions:` field added to the top level of a scenario. */
export function actionsFields() {
  return {
    actions: opt(arr(actionItem(), { doc: 'operator actions on the timeline (docs/model.md §14): sysctl writes, conntrack -F, conntrack -D' })),
  };
}

/** A validated action step. */
export interface ActionSpec {
  at: number;
  label?: string;
  sysctl?: Partial<Record<SysctlName, number>>;
  flush?: true;
  delete?: { protocol?: string; state?: string; src?: string; dst?: string; mark?: number };
  /** After loading: the parsed ruleset (the scenario text or path before). */
  ruleset?: LoadedRuleset | string;
}

/**
 * Checks of meaning: exactly one of sysctl/flush/delete per step, a non-empty sysctl mapping, `at`
 * within the run, `state` only with protocol tcp, nf_conntrack_max 0 only before v6.19.
 */
export function actionIssues(actions: readonly ActionSpec[] | undefined, durationUs: number, version: string): Issue[] {
  const out: Issue[] = [];
  if (actions === undefined) return out;
  const add = (at: Path, message: string): void => { out.push({ at, path: formatPath(at), message }); };
  const m = /^(\d+)\.(\d+)/.exec(version);
  const v = m ? Number(m[1]) * 1000 + Number(m[2]) : 6012;
  actions.forEach((a, i) => {
    const kinds = (['sysctl', 'flush', 'delete', 'ruleset'] as const).filter((k) => a[k] !== undefined);
    if (kinds.length !== 1) {
      add(['actions', i], kinds.length === 0
        ? 'expected one of sysctl, flush, delete, ruleset in the step (besides at and label)'
        : `expected one of sysctl, flush, delete, ruleset per step, got ${kinds.join(' and ')}; write them as separate steps with the same at`);
    }
    if (a.at > durationUs) add(['actions', i, 'at'], `${formatDuration(a.at)} is after the end of the run (duration ${formatDuration(durationUs)}): the action would never run`);
    if (a.sysctl !== undefined) {
      if (Object.keys(a.sysctl).length === 0) add(['actions', i, 'sysctl'], 'expected at least one sysctl to write, got an empty mapping');
      if (a.sysctl.nf_conntrack_max === 0 && v >= 6019) {
        add(['actions', i, 'sysctl', 'nf_conntrack_max'], `0 ("no limit") is refused from kernel 6.19 (the scenario's kernel.version is ${version}); expected 1..2147483647`);
      }
    }
    if (a.delete?.state !== undefined && a.delete.protocol !== 'tcp') {
      add(['actions', i, 'delete', 'state'], `a TCP state filter needs protocol: tcp (conntrack --state needs -p tcp), got ${a.delete.protocol === undefined ? 'no protocol' : `protocol: ${a.delete.protocol}`}`);
    }
  });
  return out;
}

/** A problem loading an action's ruleset: at a scenario path, or inside a ruleset file. */
export interface ActionRulesetIssue {
  path: (string | number)[];
  message: string;
  file?: string;
  line?: number;
  col?: number;
  scenarioLine?: number;
}

/**
 * Loads the `ruleset` of every action of a validated scenario in place (text → LoadedRuleset),
 * against the scenario's routes, the same way as the top-level `ruleset:` (inline text when it
 * holds a newline or "{", else a path relative to the scenario file). An action ruleset needs
 * a top-level one: the model registers the NAT hooks at start.
 */
export function attachActionRulesets(
  out: Record<string, unknown>, doc: Document, src: string, pos: (offset: number) => { line: number; col: number }, fileName: string,
): ActionRulesetIssue[] {
  const issues: ActionRulesetIssue[] = [];
  const actions = out['actions'] as ActionSpec[] | undefined;
  if (actions === undefined) return issues;
  const routes = out['routes'] as RouteTable | undefined;
  actions.forEach((a, i) => {
    const text = a.ruleset;
    if (typeof text !== 'string') return;
    const at = ['actions', i, 'ruleset'];
    if (out['ruleset'] === undefined) {
      issues.push({ path: at, message: 'a ruleset action needs a top-level ruleset: (the NAT hooks are set up at start); give one, e.g. ruleset: "table ip nat { }" for none yet' });
      return;
    }
    const inline = /[\n{]/.test(text);
    try {
      if (inline) {
        a.ruleset = loadRuleset(text, fileName, routes, { ...inlineOrigin(doc, at, src, pos), inline: true });
      } else {
        const path = isAbsolute(text) ? text : join(dirname(fileName), text);
        let body: string;
        try {
          body = readFileSync(path, 'utf8');
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          issues.push({ path: at, message: `cannot read ruleset "${path}": ${code === 'ENOENT' ? 'no such file' : (e as Error).message} (a ruleset is inline text with "{", or a path relative to the scenario file)` });
          return;
        }
        a.ruleset = loadRuleset(body, path, routes, { inline: false });
      }
    } catch (e) {
      if (!(e instanceof RulesetError)) throw e;
      if (inline) issues.push({ path: at, message: e.detail, scenarioLine: e.line, col: e.col });
      else issues.push({ path: at, message: e.detail, file: e.file, line: e.line, col: e.col });
    }
  });
  return issues;
}

/** Where an inline ruleset at `at` starts in the scenario file: line offset and the indentation a block scalar strips. */
function inlineOrigin(doc: Document, at: (string | number)[], src: string, pos: (offset: number) => { line: number; col: number }): { lineOffset: number; colOffset: number } {
  const node = doc.getIn(at, true);
  if (!isScalar(node) || !node.range) return { lineOffset: 0, colOffset: 0 };
  const start = pos(node.range[0]);
  if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) {
    const m = /^[|>][^\n]*\n((?:[ ]*\n)*)([ ]*)/.exec(src.slice(node.range[0]));
    return { lineOffset: start.line, colOffset: m ? m[2]!.length : 0 };
  }
  const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE ? 1 : 0;
  return { lineOffset: start.line - 1, colOffset: start.col - 1 + quoted };
}
