/**
 * The `actions:` field of a scenario: operator actions on the run's timeline (docs/model.md §14).
 * Each step has a time `at` and exactly one of
 * - `sysctl: { name: value, ... }` — `sysctl -w` of sysctls the model knows (kernel names);
 * - `flush: true` — `conntrack -F`;
 * - `delete: { protocol, state, src, dst, mark }` — `conntrack -D` with those filters (all
 *   optional; none deletes every entry).
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
    })),
    flush: opt(literal(true, { doc: 'conntrack -F: delete every entry (DESTROY events)' })),
    delete: opt(obj({
      protocol: opt(str({ enum: DELETE_PROTOCOLS, doc: 'conntrack -p' })),
      state: opt(str({ enum: TCP_STATE_NAMES.filter((s) => s !== 'NONE'), doc: 'conntrack --state (TCP state; needs protocol: tcp)' })),
      src: opt(addrFilter('conntrack -s: ORIGINAL source address or prefix')),
      dst: opt(addrFilter('conntrack -d: ORIGINAL destination address or prefix')),
      mark: opt(num({ int: true, min: 0, max: 4294967295, doc: 'conntrack -m: the entry\'s ct mark' })),
    }, { doc: 'conntrack -D with filters (all given must match; none: every entry)' })),
  }, { doc: 'one operator action: at, and one of sysctl, flush, delete' });
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
    const kinds = (['sysctl', 'flush', 'delete'] as const).filter((k) => a[k] !== undefined);
    if (kinds.length !== 1) {
      add(['actions', i], kinds.length === 0
        ? 'expected one of sysctl, flush, delete in the step (besides at and label)'
        : `expected one of sysctl, flush, delete per step, got ${kinds.join(' and ')}; write them as separate steps with the same at`);
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
