/**
 * The stateful statements of docs/rules.md §20, plugged into the rule language through its
 * extension point (registry.ts, types.ts):
 *
 *  - `limit rate [over] ...`                       → LimitBuckets (limit.ts), one bucket per rule
 *  - `ct count [over] N`                           → a conncount list per rule (conncount.ts)
 *  - `set NAME { type ipv4_addr; flags dynamic; size N; }` and
 *    `add|update @NAME { ip saddr [ct count [over] N] [limit rate ...] }` → DynSet (dynset.ts)
 *  - `ct timeout NAME { protocol tcp; policy = { ... } }` and `ct timeout set "NAME"` (ct-timeout.ts)
 *
 * Per-run state (conncount lists, buckets, set elements, registered timeout policies) is created
 * when the ruleset is bound to a run's conntrack (`RuleExpr.bind`) and kept per Conntrack, so
 * `statefulSummary(ct)` can report what it holds and its kernel memory (docs/rules.md §20.4).
 */
import type { Conntrack } from '../conntrack/conntrack.js';
import { ConnCount, connlimitEval } from '../conntrack/conncount.js';
import { registerStatement, registerTableObject } from './registry.js';
import { RULE_VERDICT_DROP, type RuleEvalCtx, type RuleExpr, type RuleTokens, type RuleLoc } from './types.js';
import { LimitBuckets, parseLimitStmt, type LimitSpec } from './limit.js';
import { DynSet, NFT_SET_GC_INTERVAL_US } from './dynset.js';
import { parseCtTimeoutBody, registerCtTimeout, ctTimeoutSet, ctTimeoutProto, type CtTimeoutObject } from './ct-timeout.js';
import type { Tok } from './lexer.js';

interface RunState {
  cc: ConnCount;
  sets: Map<string, { set: DynSet; nextGcUs: number }>;
  limits: LimitBuckets[];
  timeouts: Map<CtTimeoutObject, number>;
  ctCountRules: number;
}
const runs = new WeakMap<Conntrack, RunState>();

function stateOf(ct: Conntrack): RunState {
  let s = runs.get(ct);
  if (s === undefined) {
    s = { cc: new ConnCount(ct), sets: new Map(), limits: [], timeouts: new Map(), ctCountRules: 0 };
    runs.set(ct, s);
  }
  return s;
}

/**
 * What the stateful statements of a run hold at its end, with their kernel memory
 * (docs/rules.md §20.4); undefined when the run's ruleset has none.
 */
export function statefulSummary(ct: Conntrack) {
  const s = runs.get(ct);
  if (s === undefined) return undefined;
  const sets = [...s.sets.entries()].map(([name, { set }]) => ({
    name, size: set.size, elements: set.nelems, peak_elements: set.peak, add_failed_full: set.fullFailures,
    gc_removed: set.gcRemoved, bytes: set.bytes(),
  }));
  const limitBytes = s.limits.reduce((a, b) => a + b.buckets() * LimitBuckets.BYTES_PER_BUCKET, 0);
  const setBytes = sets.reduce((a, x) => a + x.bytes, 0);
  return {
    conncount: {
      lists: s.cc.listsAlive, counted: s.cc.nodesAlive,
      removed_absent: s.cc.removedAbsent, removed_closed: s.cc.removedClosed, bytes: s.cc.bytes(),
    },
    sets,
    limit_buckets: s.limits.reduce((a, b) => a + b.buckets(), 0),
    timeout_policies: [...s.timeouts.keys()].map((o) => o.name),
    /** conncount lists and nodes + set elements + token buckets (conntrack's timeout extensions are in table.kernel_bytes). */
    bytes: s.cc.bytes() + setBytes + limitBytes,
  };
}

const failAt = (p: RuleTokens, t: { line: number; col: number }, msg: string): never => p.fail({ line: t.line, col: t.col }, msg);
const show = (t: Tok): string => (t.kind === 'eof' ? 'the end of the rule' : t.kind === 'nl' ? 'the end of the line' : `"${t.text}"`);

// ---- limit ----------------------------------------------------------------------------------

const LIMIT_SYNTAX = 'limit rate [over] N/second|minute|hour|day|week [burst N packets] | limit rate [over] N bytes|kbytes|mbytes/UNIT [burst N bytes]';

registerStatement({
  keyword: 'limit',
  syntax: LIMIT_SYNTAX,
  parse: (p: RuleTokens, loc: RuleLoc) => parseLimitStmt(p, loc),
  compile: (node: unknown): RuleExpr => {
    const b = new LimitBuckets(node as LimitSpec);
    return {
      bind(ct: Conntrack) { b.reset(0, ct.nowUs * 1000); stateOf(ct).limits.push(b); },
      eval(ctx: RuleEvalCtx) { return b.matches(0, ctx.ct!.nowUs * 1000, ctx.pkt.len); },
    };
  },
});

// ---- ct count ---------------------------------------------------------------------------------

interface CtCountNode { over: boolean; n: number }

function parseCtCount(p: RuleTokens): CtCountNode {
  let over = false;
  const t = p.peek();
  if (t.kind === 'word' && t.text === 'over') { p.take(); over = true; }
  const n = p.int('a connection count', 0xffffffff);
  return { over, n };
}

function ctCountExpr(cc: ConnCount, list: () => number, node: CtCountNode) {
  return (ctx: RuleEvalCtx): boolean => {
    const r = connlimitEval(cc, list(), node.n, node.over, ctx.pkt, ctx.slot, ctx.ctinfo, ctx.untracked);
    if (r < 0) { ctx.verdict = RULE_VERDICT_DROP; return false; }
    return r === 1;
  };
}

registerStatement({
  keyword: 'ct count',
  syntax: 'ct count [over] N',
  parse: (p: RuleTokens) => parseCtCount(p),
  compile: (node: unknown): RuleExpr => {
    const c = node as CtCountNode;
    let cc: ConnCount | undefined;
    let list = -1;
    let f: ((ctx: RuleEvalCtx) => boolean) | undefined;
    return {
      bind(ct: Conntrack) {
        const st = stateOf(ct);
        cc = st.cc; list = cc.newList(); st.ctCountRules++;
        f = ctCountExpr(cc, () => list, c);
      },
      eval(ctx: RuleEvalCtx) { return f!(ctx); },
    };
  },
});

// ---- dynamic sets -----------------------------------------------------------------------------

interface SetDecl { name: string; keyType: 'ipv4_addr' | 'ipv6_addr'; dynamic: boolean; size: number; loc: RuleLoc }

registerTableObject({
  keyword: 'set',
  syntax: 'set NAME { type ipv4_addr|ipv6_addr; flags dynamic; size N; }',
  parse: (p: RuleTokens, loc: RuleLoc, name: string): SetDecl => {
    const open = p.take();
    if (!(open.kind === 'punct' && open.text === '{')) failAt(p, open, `expected "{" after set ${name}, got ${show(open)}`);
    const d: SetDecl = { name, keyType: 'ipv4_addr', dynamic: false, size: 0, loc };
    let typed = false;
    const sep = (t: Tok) => t.kind === 'nl' || (t.kind === 'punct' && t.text === ';');
    for (;;) {
      while (sep(p.peek())) p.take();
      const t = p.take();
      if (t.kind === 'punct' && t.text === '}') break;
      if (t.kind === 'eof') failAt(p, open, `missing "}" closing set ${name}`);
      if (t.kind !== 'word') failAt(p, t, `unexpected ${show(t)} in set ${name}; expected type, flags or size`);
      if (t.text === 'type') {
        const v = p.take();
        if (v.kind !== 'word' || (v.text !== 'ipv4_addr' && v.text !== 'ipv6_addr')) failAt(p, v, `set type ${show(v)} is not supported; supported: ipv4_addr, ipv6_addr`);
        d.keyType = v.text as 'ipv4_addr'; typed = true;
      } else if (t.text === 'typeof') {
        const a = p.take(), b = p.take();
        const k = `${a.text} ${b.text}`;
        if (k !== 'ip saddr' && k !== 'ip daddr' && k !== 'ip6 saddr' && k !== 'ip6 daddr') failAt(p, a, `typeof ${k} is not supported; supported: typeof ip saddr|daddr, ip6 saddr|daddr`);
        d.keyType = a.text === 'ip' ? 'ipv4_addr' : 'ipv6_addr'; typed = true;
      } else if (t.text === 'flags') {
        for (;;) {
          const f = p.take();
          if (f.kind !== 'word' || f.text !== 'dynamic') failAt(p, f, `set flag ${show(f)} is not supported; supported: flags dynamic`);
          d.dynamic = true;
          const c = p.peek();
          if (c.kind === 'punct' && c.text === ',') { p.take(); continue; }
          break;
        }
      } else if (t.text === 'size') {
        d.size = p.int('a set size', 0xffffffff);
      } else failAt(p, t, `"${t.text}" is not supported in a set declaration; supported: type, typeof, flags dynamic, size`);
    }
    if (!typed) failAt(p, loc, `set ${name} needs a type (type ipv4_addr or type ipv6_addr)`);
    return d;
  },
});

interface DynsetNode { set: string; setLoc: RuleLoc; key: 'ip saddr' | 'ip daddr' | 'ip6 saddr' | 'ip6 daddr'; count?: CtCountNode; limit?: LimitSpec; op: string }

function parseDynset(op: string) {
  return (p: RuleTokens, loc: RuleLoc): DynsetNode => {
    const s = p.take();
    if (s.kind !== 'word' || !s.text.startsWith('@') || s.text.length < 2) failAt(p, s.kind === 'eof' ? loc : s, `expected @SET after ${op}, got ${show(s)}`);
    const open = p.take();
    if (!(open.kind === 'punct' && open.text === '{')) failAt(p, open, `expected "{ KEY [ct count ...] [limit ...] }" after ${s.text}, got ${show(open)}`);
    const a = p.take(), b = p.take();
    const key = `${a.text} ${b.text}`;
    if (key !== 'ip saddr' && key !== 'ip daddr' && key !== 'ip6 saddr' && key !== 'ip6 daddr') failAt(p, a, `the key ${show(a)} is not supported; supported: ip saddr, ip daddr, ip6 saddr, ip6 daddr`);
    const node: DynsetNode = { set: s.text.slice(1), setLoc: p.at(s, 1), key: key as DynsetNode['key'], op };
    for (;;) {
      const t = p.take();
      if (t.kind === 'punct' && t.text === '}') break;
      if (t.kind === 'word' && t.text === 'ct' && p.peek().kind === 'word' && p.peek().text === 'count') {
        p.take();
        if (node.count) failAt(p, t, 'ct count is given twice');
        node.count = parseCtCount(p);
      } else if (t.kind === 'word' && t.text === 'limit') {
        if (node.limit) failAt(p, t, 'limit is given twice');
        node.limit = parseLimitStmt(p, p.at(t));
      } else failAt(p, t.kind === 'eof' ? loc : t, `expected ct count, limit or "}" in ${op} @${node.set} { ... }, got ${show(t)}`);
    }
    return node;
  };
}

function compileDynset(node: unknown, env: { object(kind: string, name: string): unknown; fail(loc: RuleLoc, msg: string): never; family: string }): RuleExpr {
  const n = node as DynsetNode;
  const decl = env.object('set', n.set) as SetDecl | undefined;
  if (decl === undefined) env.fail(n.setLoc, `set "${n.set}" is not defined in this table (declare it: set ${n.set} { type ipv4_addr; flags dynamic; size 65535; })`);
  const d = decl!;
  if ((n.count || n.limit) && !d.dynamic) env.fail(n.setLoc, `set "${n.set}" needs "flags dynamic" to hold per-element expressions (nft_dynset_init: -EINVAL without NFT_SET_EVAL)`);
  const v6 = n.key.startsWith('ip6');
  if (v6 !== (d.keyType === 'ipv6_addr')) env.fail(n.setLoc, `set "${n.set}" has type ${d.keyType}, and the key ${n.key} is ${v6 ? 'an IPv6' : 'an IPv4'} address`);
  const l3 = v6 ? 6 : 4;
  const src = n.key.endsWith('saddr');
  const lim = n.limit ? new LimitBuckets(n.limit) : undefined;
  let set: DynSet | undefined;
  let entry: { set: DynSet; nextGcUs: number } | undefined;
  let count: ((ctx: RuleEvalCtx, list: number) => number) | undefined;
  return {
    bind(ct: Conntrack) {
      const st = stateOf(ct);
      entry = st.sets.get(n.set);
      if (entry === undefined) {
        entry = { set: new DynSet(n.set, d.size, undefined), nextGcUs: ct.nowUs + NFT_SET_GC_INTERVAL_US };
        st.sets.set(n.set, entry);
      }
      // elements get a conncount list only when a rule counts connections in them
      if (n.count) entry.set.cc = st.cc;
      set = entry.set;
      if (lim) st.limits.push(lim);
      const cc = st.cc;
      if (n.count) {
        const c = n.count;
        count = (ctx, list) => connlimitEval(cc, list, c.n, c.over, ctx.pkt, ctx.slot, ctx.ctinfo, ctx.untracked);
      }
    },
    eval(ctx: RuleEvalCtx): boolean {
      const pkt = ctx.pkt;
      if (pkt.l3 !== l3) return false; // the key's payload expression needs its network protocol
      const ct = ctx.ct!;
      const e0 = entry!;
      // the set's gc worker (every second): run at the first evaluation after each tick
      if (ct.nowUs >= e0.nextGcUs) {
        e0.set.gc();
        e0.nextGcUs += Math.ceil((ct.nowUs - e0.nextGcUs + 1) / NFT_SET_GC_INTERVAL_US) * NFT_SET_GC_INTERVAL_US;
      }
      const e = set!.update(src ? pkt.src : pkt.dst);
      if (e < 0) return false; // set full: the add fails, the rule does not match (NFT_BREAK)
      const nowNs = ct.nowUs * 1000;
      if (lim && set!.isNew) lim.reset(e, nowNs);
      if (count) {
        if (set!.elemList[e] < 0) set!.elemList[e] = set!.cc!.newList(); // created by a rule without ct count
        const r = count(ctx, set!.elemList[e]);
        if (r < 0) { ctx.verdict = RULE_VERDICT_DROP; return false; }
        if (r === 0) return false;
      }
      if (lim && !lim.matches(e, nowNs, pkt.len)) return false;
      return true;
    },
  };
}

for (const op of ['add', 'update']) {
  registerStatement({
    keyword: op,
    syntax: `${op} @SET { ip saddr|ip daddr|ip6 saddr|ip6 daddr [ct count [over] N] [limit rate ...] }`,
    parse: parseDynset(op),
    compile: (node, env) => compileDynset(node, env),
  });
}

// ---- ct timeout -------------------------------------------------------------------------------

registerTableObject({
  keyword: 'ct timeout',
  syntax: 'ct timeout NAME { protocol tcp|udp; [l3proto ip|ip6;] policy = { STATE: SECONDS, ... } }',
  parse: (p: RuleTokens, loc: RuleLoc, name: string) => parseCtTimeoutBody(p, loc, name, p.family, ''),
});

registerStatement({
  keyword: 'ct timeout set',
  syntax: 'ct timeout set "NAME"',
  parse: (p: RuleTokens, loc: RuleLoc) => {
    const t = p.take();
    if (t.kind !== 'str' && t.kind !== 'word') failAt(p, t.kind === 'eof' ? loc : t, `expected the name of a ct timeout object after "ct timeout set", got ${show(t)}`);
    return { name: t.text, loc: p.at(t) };
  },
  compile: (node, env) => {
    const n = node as { name: string; loc: RuleLoc };
    const o = env.object('ct timeout', n.name) as CtTimeoutObject | undefined;
    if (o === undefined) env.fail(n.loc, `ct timeout "${n.name}" is not defined in table ${env.table} (declare it in the table: ct timeout ${n.name} { protocol tcp; policy = { established: 120 } })`);
    const obj = o!;
    const proto = ctTimeoutProto(obj);
    let index = 0;
    return {
      bind(ct: Conntrack) {
        const st = stateOf(ct);
        let i = st.timeouts.get(obj);
        if (i === undefined) { i = registerCtTimeout(ct, obj); st.timeouts.set(obj, i); }
        index = i;
      },
      eval(ctx: RuleEvalCtx) {
        if (ctx.ct !== undefined) ctTimeoutSet(ctx.ct, ctx.pkt, ctx.slot, index, proto);
        return true;
      },
    };
  },
});
