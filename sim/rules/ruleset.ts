/**
 * From a parsed ruleset to a matcher: checks what needs the whole rule or the routes (hooks of
 * each statement, priorities, transport context of port mappings, interface names, masquerade
 * addresses) and compiles every match to a closure over typed arrays, so that `natLookup`
 * allocates nothing and costs a few comparisons per rule.
 *
 * Evaluation model (docs/rules.md §3): nf_nat_inet_fn() runs the `type nat` chains registered
 * at a hook in priority order (equal priorities: the chain declared last runs first, because
 * nf_hook_entries_grow() inserts a new hook before those of equal priority); inside a chain, rules run in order; a matching rule's `counter` counts,
 * `accept` ends its chain (the next chain still runs), `return` in a base chain applies the
 * chain's policy (accept) and ends it, and a NAT statement ends the lookup (nft_nat_eval() sets
 * up the binding; the core then stops running nat chains for this manip).
 *
 * Filter chains (docs/rules.md §8): `type filter` chains at any hook are filed per hook in the
 * same order; `filterHook(hook, lo, hi, ...)` runs those whose priority is in [lo, hi), so the
 * packet path (sim/rules/path.ts) can run them where the kernel's hook order puts them relative
 * to conntrack (-200), DNAT (-100), SNAT (100) and confirm. A rule is an ordered array of
 * compiled expressions (matches and statements, built-in or registered, see types.ts); the
 * evaluator only knows "true: go on", "false: next rule", and terminal verdicts.
 */
import type { AddrInterner } from '../conntrack/addr.js';
import type { Pkt } from '../conntrack/packet.js';
import type { Conntrack } from '../conntrack/conntrack.js';
import { IPCT_MARK, IPPROTO_TCP, IPPROTO_UDP } from '../conntrack/constants.js';
import { RuleSyntaxError } from './lexer.js';
import {
  type ChainAst, type Intervals, type Intervals6, type MatchAst, type NamePattern, type RuleAst, type RulesetAst, type StmtAst,
  parseRuleset,
} from './parse.js';
import {
  type ChainType, type Hook, type NatStatement, type RuleCompileEnv, type RuleEvalCtx, type RuleRequirement, type RuleShape, type RuleExpr, type RuleInfo, type Routes,
  type Ruleset, HOOKS, CT_STATE_INVALID, CT_STATE_UNTRACKED,
  NF_NAT_RANGE_MAP_IPS, NF_NAT_RANGE_PROTO_SPECIFIED, RULE_VERDICT_ACCEPT, RULE_VERDICT_CONTINUE, RULE_VERDICT_DROP,
  RULE_VERDICT_REJECT, RULE_VERDICT_STOLEN, REJECT_ICMP_UNREACH, REJECT_TCP_RST,
} from './types.js';
import { wordsToBytes } from './addr.js';

/** A ruleset problem located in a file: `file:line:col: message`. */
export class RulesetError extends Error {
  constructor(readonly file: string, readonly line: number, readonly col: number, readonly detail: string) {
    super(`${file}:${line}:${col}: ${detail}`);
    this.name = 'RulesetError';
  }
}

/** Where the ruleset text sits in its file (an inline ruleset inside a scenario file). */
export interface RulesetOrigin {
  /** Added to every line (the text's first line is file line `lineOffset + 1`). */
  lineOffset?: number;
  /** Added to every column (the indentation a YAML block scalar strips). */
  colOffset?: number;
}

/** Per-packet evaluation state, one per ruleset, reused for every lookup. */
class EvalCtx implements RuleEvalCtx {
  pkt!: Pkt;
  iif = -1;
  oif = -1;
  slot = -1;
  ctinfo = -1;
  untracked = false;
  hook: Hook = 'prerouting';
  ct: Conntrack | undefined;
  ruleId = -1;
  verdict = RULE_VERDICT_CONTINUE;
  zone = -1;
  interner: AddrInterner | undefined;
  private readonly buf = new Uint8Array(16);
  private readonly s6 = new Int32Array(4);
  private readonly d6 = new Int32Array(4);
  s6ok = false;
  d6ok = false;

  src6(): Int32Array { if (!this.s6ok) { this.load(this.pkt.src, this.s6); this.s6ok = true; } return this.s6; }
  dst6(): Int32Array { if (!this.d6ok) { this.load(this.pkt.dst, this.d6); this.d6ok = true; } return this.d6; }

  private load(id: number, w: Int32Array): void {
    if (this.interner === undefined) throw new Error('Ruleset: an ip6 saddr/daddr match needs the AddrInterner of the packets (call bindInterner first)');
    const b = this.buf;
    this.interner.writeBytes(id, b, 0);
    for (let k = 0; k < 4; k++) w[k] = (b[4 * k] << 24) | (b[4 * k + 1] << 16) | (b[4 * k + 2] << 8) | b[4 * k + 3];
  }
}

type Match = (c: EvalCtx) => boolean;

interface CompiledRule {
  id: number;
  /** Bit 1: IPv4 packets may match; bit 2: IPv6. */
  fam: number;
  /** Required L4 protocol (a `tcp`/`udp` match's dependency), -1 none. */
  proto: number;
  /** Matches and statements in the order written. */
  matches: Match[];
  /** 0 none, 1 accept, 2 return, 3 nat, 4 drop, 5 reject. */
  verdict: number;
  /** `reject`: REJECT_* kind, and the ICMP code for IPv4 / ICMPv6 code for IPv6 packets. */
  rejKind: number;
  rejCode4: number;
  rejCode6: number;
}

interface CompiledChain { priority: number; order: number; rules: CompiledRule[]; policyDrop: boolean }

const VERDICT = { none: 0, accept: 1, return: 2, nat: 3, drop: 4, reject: 5 } as const;

/** A loaded ruleset; see the `Ruleset` contract in types.ts. */
export class LoadedRuleset implements Ruleset {
  readonly packets: Float64Array;
  readonly bytes: Float64Array;
  readonly drops: Float64Array;
  /** Packets a chain's `policy drop` dropped, by traffic class (CLASS_*: index 0..2). */
  readonly policyDrops = new Float64Array(3);
  private readonly ctx = new EvalCtx();
  /** `numgen inc` counters by rule id (nft_numgen.c starts them at mod - 1, so the first value is the offset). */
  private readonly incCounter: Uint32Array;
  lastUntracked = false;
  lastZone = -1;
  /** Sysctl values statements of the ruleset need (e.g. synproxy: nf_conntrack_tcp_loose = 0). */
  requires: readonly RuleRequirement[] = [];
  lastRejectKind = REJECT_ICMP_UNREACH;
  lastRejectCode = 3;

  constructor(
    readonly rules: readonly RuleInfo[],
    /** Per hook (HOOKS order): the `type nat` chains, in evaluation order. */
    private readonly natChains: readonly (readonly CompiledChain[])[],
    /** The ruleset's source: its text, and the file it came from. */
    readonly source: { text: string; file: string; inline: boolean },
    /** Per hook (HOOKS order): the `type filter` chains, in evaluation order. */
    private readonly filterChains: readonly (readonly CompiledChain[])[] = HOOKS.map(() => []),
    /** Compiles the same ruleset again (fresh per-run expression state, for clone()). */
    private readonly recompile?: () => LoadedRuleset,
    /** Expressions that want the run's conntrack (RuleExpr.bind). */
    private readonly binders: readonly RuleExpr[] = [],
  ) {
    this.packets = new Float64Array(rules.length);
    this.bytes = new Float64Array(rules.length);
    this.drops = new Float64Array(rules.length * 3);
    this.incCounter = new Uint32Array(rules.length);
    for (const r of rules) if (r.nat?.numgen) this.incCounter[r.id] = r.nat.numgen.mod - 1;
  }

  hasNatChains(): boolean {
    return this.natChains.some((cs) => cs.length > 0);
  }

  hasFilter(hook: Hook): boolean {
    return this.filterChains[hookIndex(hook)].length > 0;
  }

  bindConntrack(ct: Conntrack): void {
    this.ctx.ct = ct;
    for (const b of this.binders) b.bind!(ct);
  }

  filterHook(hook: Hook, prioLo: number, prioHi: number, pkt: Pkt, slot: number, ctinfo: number, untracked: boolean, iif: number, oif: number): number {
    const chains = this.filterChains[hookIndex(hook)];
    const c = this.ctx;
    c.untracked = untracked; c.zone = -1;
    let v = RULE_VERDICT_ACCEPT;
    if (chains.length !== 0) {
      c.pkt = pkt; c.iif = iif; c.oif = oif; c.s6ok = false; c.d6ok = false;
      c.slot = slot; c.ctinfo = ctinfo; c.hook = hook; c.verdict = RULE_VERDICT_CONTINUE;
      const famBit = pkt.l3 === 4 ? 1 : 2;
      chain: for (let ci = 0; ci < chains.length; ci++) {
        const ch = chains[ci];
        if (ch.priority < prioLo || ch.priority >= prioHi) continue;
        const rules = ch.rules;
        rule: for (let ri = 0; ri < rules.length; ri++) {
          const r = rules[ri];
          if ((r.fam & famBit) === 0 || (r.proto >= 0 && pkt.proto !== r.proto)) continue;
          c.ruleId = r.id;
          const m = r.matches;
          for (let k = 0; k < m.length; k++) {
            if (m[k](c)) continue;
            if (c.verdict === RULE_VERDICT_CONTINUE) continue rule;
            // an expression ended the hook (NFT_DROP/NF_STOLEN from inside a rule)
            v = c.verdict;
            c.verdict = RULE_VERDICT_CONTINUE;
            // the rule matched up to the expression that ended the hook: it counts the packet
            this.packets[r.id] += 1;
            this.bytes[r.id] += pkt.len;
            if (v !== RULE_VERDICT_ACCEPT && v !== RULE_VERDICT_STOLEN) this.drops[r.id * 3 + pkt.cls] += 1;
            // an extension's reject: the default reply (ICMP port unreachable)
            if (v === RULE_VERDICT_REJECT) { this.lastRejectKind = REJECT_ICMP_UNREACH; this.lastRejectCode = pkt.l3 === 4 ? 3 : 4; }
            if (v === RULE_VERDICT_ACCEPT) continue chain;
            break chain;
          }
          this.packets[r.id] += 1;
          this.bytes[r.id] += pkt.len;
          const rv = r.verdict;
          if (rv === 0) continue;
          if (rv === 1) continue chain; // accept: this base chain accepts; later chains at the hook still run
          if (rv === 4 || rv === 5) {
            this.drops[r.id * 3 + pkt.cls] += 1;
            v = rv === 4 ? RULE_VERDICT_DROP : RULE_VERDICT_REJECT;
            if (rv === 5) { this.lastRejectKind = r.rejKind; this.lastRejectCode = pkt.l3 === 4 ? r.rejCode4 : r.rejCode6; }
            break chain;
          }
          break; // return: the chain's policy
        }
        if (ch.policyDrop) {
          this.policyDrops[pkt.cls] += 1;
          v = RULE_VERDICT_DROP;
          break;
        }
      }
    }
    this.lastUntracked = c.untracked;
    this.lastZone = c.zone;
    return v;
  }

  /**
   * Index into `rules[id].nat.numgen.addrs` for this packet: `numgen random` maps the 32-bit draw
   * as reciprocal_scale(draw, mod) = floor(draw · mod / 2^32) (nft_ng_random_gen()); `numgen inc`
   * ignores it and steps the rule's counter 0, 1, …, mod-1, 0, … (nft_ng_inc_gen()).
   */
  numgenIndex(id: number, draw32: number): number {
    const g = this.rules[id].nat?.numgen;
    if (g === undefined) throw new Error(`rule ${id} has no numgen map`);
    if (g.mode === 'random') return Math.floor(((draw32 >>> 0) * g.mod) / 4294967296);
    const next = this.incCounter[id] + 1 < g.mod ? this.incCounter[id] + 1 : 0;
    this.incCounter[id] = next;
    return next;
  }

  /**
   * Whether a NAT rule at `hook` would decide this packet (id, or NAT_LOOKUP_DROP), without moving
   * any counter or the packet's mark (for the untracked_when_full proposal, docs/rules.md §9).
   */
  natProbe(hook: Hook, pkt: Pkt, iif: number, oif: number): number {
    const mark = pkt.mark;
    this.probing = true;
    const id = this.natLookup(hook, pkt, iif, oif);
    this.probing = false;
    pkt.mark = mark;
    return id;
  }

  private probing = false;

  natLookup(hook: Hook, pkt: Pkt, iif: number, oif: number, slot = -1, ctinfo = -1): number {
    const chains = this.natChains[hookIndex(hook)];
    if (chains.length === 0) return -1;
    const c = this.ctx;
    c.pkt = pkt; c.iif = iif; c.oif = oif; c.s6ok = false; c.d6ok = false;
    c.slot = slot; c.ctinfo = ctinfo; c.untracked = false; c.hook = hook; c.verdict = RULE_VERDICT_CONTINUE;
    const famBit = pkt.l3 === 4 ? 1 : 2;
    for (let ci = 0; ci < chains.length; ci++) {
      const rules = chains[ci].rules;
      rule: for (let ri = 0; ri < rules.length; ri++) {
        const r = rules[ri];
        if ((r.fam & famBit) === 0 || (r.proto >= 0 && pkt.proto !== r.proto)) continue;
        c.ruleId = r.id;
        const m = r.matches;
        for (let k = 0; k < m.length; k++) {
          if (m[k](c)) continue;
          if (c.verdict !== RULE_VERDICT_CONTINUE) { c.verdict = RULE_VERDICT_CONTINUE; return -1; }
          continue rule;
        }
        if (!this.probing) {
          this.packets[r.id] += 1;
          this.bytes[r.id] += pkt.len;
        }
        if (r.verdict === 3) return r.id;
        if (r.verdict === 4 || r.verdict === 5) { if (!this.probing) this.drops[r.id * 3 + pkt.cls] += 1; return NAT_LOOKUP_DROP; }
        if (r.verdict !== 0) break; // accept or return: this chain ends, the next one runs
      }
    }
    return -1;
  }

  bindInterner(interner: AddrInterner): void {
    this.ctx.interner = interner;
  }

  /**
   * The interned id (in the bound interner) of rule `id`'s IPv6 NAT address when the statement
   * maps to a single address (`minAddr6` = `maxAddr6`, or numgen value `k`), so the NAT core can
   * put it in a tuple; -1 for an IPv6 range (ids carry no order) or no IPv6 address.
   */
  natAddr6Id(id: number, k = -1): number {
    const n = this.rules[id]?.nat;
    if (n === undefined || n.l3 !== 6) return -1;
    if (this.ctx.interner === undefined) throw new Error('Ruleset.natAddr6Id: no AddrInterner bound (call bindInterner first)');
    if (k >= 0) { const b = n.numgen?.addrs6?.[k]; return b === undefined ? -1 : this.ctx.interner.intern(b, 0); }
    const a = n.minAddr6, b = n.maxAddr6;
    if (a === undefined || b === undefined || a.some((x, i) => x !== b[i])) return -1;
    return this.ctx.interner.intern(a, 0);
  }

  /** The same rules with fresh (zero) counters and its own evaluation state: one per run. */
  clone(): LoadedRuleset {
    const r = this.recompile !== undefined ? this.recompile() : new LoadedRuleset(this.rules, this.natChains, this.source, this.filterChains);
    r.ctx.interner = this.ctx.interner;
    return r;
  }

  /** The `type filter` chains at `hook`, by table/chain name, in evaluation order (docs, tests). */
  filterChainOrder(hook: Hook): string[] {
    return this.filterChains[hookIndex(hook)].map((ch) => {
      const r = this.rules.find((x) => ch.rules.length > 0 && x.id === ch.rules[0].id);
      return r ? `${r.table}/${r.chain}` : '';
    });
  }

  /** The `type nat` chains at `hook`, by table/chain name, in evaluation order (docs, tests). */
  natChainOrder(hook: Hook): string[] {
    return this.natChains[hookIndex(hook)].map((ch) => {
      const r = this.rules.find((x) => ch.rules.length > 0 && x.id === ch.rules[0].id);
      return r ? `${r.table}/${r.chain}` : '';
    });
  }

  /** Prints as its source: the text of an inline ruleset, the path of a ruleset file. */
  toJSON(): string {
    return this.source.inline ? this.source.text : this.source.file;
  }
}

/** `natLookup` result when a `drop`/`reject` rule in a nat chain ends the hook (the packet is dropped). */
export const NAT_LOOKUP_DROP = -2;

function hookIndex(h: Hook): number {
  switch (h) {
    case 'prerouting': return 0;
    case 'input': return 1;
    case 'forward': return 2;
    case 'output': return 3;
    case 'postrouting': return 4;
  }
  throw new Error(`unknown hook ${String(h)}`);
}

/** Which hooks each NAT statement may run at (nft_nat.c nft_nat_validate(), nft_masq.c, nft_redir.c). */
const NAT_HOOKS: Readonly<Record<string, readonly Hook[]>> = {
  snat: ['postrouting', 'input'],
  dnat: ['prerouting', 'output'],
  masquerade: ['postrouting'],
  redirect: ['prerouting', 'output'],
};
/** Hooks a `type nat` chain may use (nft_chain_nat.c: hook_mask). */
const NAT_CHAIN_HOOKS: readonly Hook[] = ['prerouting', 'input', 'output', 'postrouting'];
/** NF_IP_PRI_CONNTRACK: a nat chain must run after conntrack (nf_tables_api.c: nft_chain_parse_hook()). */
const NF_IP_PRI_CONNTRACK = -200;

/**
 * Parses and checks ruleset `text` (from `file`) against `routes` and compiles it. Throws
 * RulesetError (`file:line:col: message`) on anything outside the subset or inconsistent.
 */
export function loadRuleset(text: string, file: string, routes: Routes | undefined, origin: RulesetOrigin & { inline?: boolean } = {}): LoadedRuleset {
  const lo = origin.lineOffset ?? 0, co = origin.colOffset ?? 0;
  try {
    const rs = compile(parseRuleset(text), routes, { text, file, inline: origin.inline ?? false }, lo);
    if (co !== 0) rs.requires = rs.requires.map((q) => ({ ...q, col: q.col + co }));
    return rs;
  } catch (e) {
    if (e instanceof RuleSyntaxError) throw new RulesetError(file, e.line + lo, e.col + co, e.detail);
    throw e;
  }
}

const err = (loc: { line: number; col: number }, msg: string): never => { throw new RuleSyntaxError(loc.line, loc.col, msg); };

/**
 * Hooks each built-in statement may be used at. `notrack` and `ct zone set` have none: nft_ct.c
 * gives them no validate hook, so nft accepts them at every hook; after conntrack they do nothing
 * for a packet that has an entry (docs/rules.md §8.3, §8.7).
 */
const STMT_HOOKS: Readonly<Record<string, readonly Hook[]>> = {};
/** Hooks `reject` may be used at (nft_reject.c: nft_reject_validate(); nft_reject_inet.c adds prerouting for inet). */
const REJECT_HOOKS: readonly Hook[] = ['input', 'forward', 'output'];
const REJECT_HOOKS_INET: readonly Hook[] = ['prerouting', 'input', 'forward', 'output'];

function compile(ast: RulesetAst, routes: Routes | undefined, source: { text: string; file: string; inline: boolean }, lineOffset: number): LoadedRuleset {
  const infos: RuleInfo[] = [];
  const binders: RuleExpr[] = [];
  const requires: RuleRequirement[] = [];
  const shapes: RuleShape[] = [];
  for (const ch of ast.chains) if (ch.base) for (const r of ch.rules) shapes.push(ruleShape(ch, r));
  const perHook: CompiledChain[][] = HOOKS.map(() => []);
  const perHookFilter: CompiledChain[][] = HOOKS.map(() => []);
  ast.chains.forEach((ch, order) => {
    if (!ch.base) err(ch.loc, `chain ${ch.name} has no "type ... hook ... priority ...;": regular chains need jump/goto, which this subset does not have`);
    const b = ch.base!;
    if (b.type !== 'nat' && b.type !== 'filter') {
      err(b.typeLoc, b.type === 'route'
        ? `"type route" chains are not supported; supported: type filter, type nat`
        : `unknown chain type "${b.type}"; supported: type filter, type nat`);
    }
    const type = b.type as ChainType;
    if (type === 'nat') {
      if (!NAT_CHAIN_HOOKS.includes(b.hook)) err(b.hookLoc, `a type nat chain cannot use hook ${b.hook}; supported: ${NAT_CHAIN_HOOKS.join(', ')}`);
      if (b.priority <= NF_IP_PRI_CONNTRACK) {
        err(b.priorityLoc, `priority ${b.priority} is not above ${NF_IP_PRI_CONNTRACK} (NF_IP_PRI_CONNTRACK); the kernel refuses a type nat chain that would run before conntrack`);
      }
      if (ch.policy === 'drop') err(ch.policyLoc!, 'policy drop in a type nat chain is not supported (use it in a type filter chain)');
    }
    const rules = ch.rules.map((r, index) => {
      const id = infos.length;
      const env = compileEnv(ast, ch, type, id, shapes[id]!, shapes, requires);
      const compiled = compileRule(id, ch, r, routes, env, binders);
      const info = ruleInfo(id, ch, r, index, routes, type);
      info.line += lineOffset;
      infos.push(info);
      return compiled;
    });
    (type === 'nat' ? perHook : perHookFilter)[HOOKS.indexOf(b.hook)].push({ priority: b.priority, order, rules, policyDrop: ch.policy === 'drop' });
  });
  // Equal priorities: nf_hook_entries_grow() (core.c) places a newly registered hook before the
  // existing ones of the same priority, and nft registers base chains in file order.
  const sortChains = (cs: CompiledChain[]): CompiledChain[] => cs.sort((a, b) => a.priority - b.priority || b.order - a.order);
  const natChains = perHook.map(sortChains);
  const filterChains = perHookFilter.map(sortChains);
  const rs = new LoadedRuleset(infos, natChains, source, filterChains, () => compile(ast, routes, source, lineOffset), binders);
  rs.requires = requires.map((q) => ({ ...q, line: q.line + lineOffset }));
  return rs;
}

/** The view of a rule extension statements get (RuleShape in types.ts). */
function ruleShape(ch: ChainAst, r: RuleAst): RuleShape {
  const b = ch.base!;
  let ctState = 0, ctStateNeg = false;
  const flags: ((f: number) => boolean)[] = [];
  for (const m of r.matches) {
    if (m.key === 'ct state') { if (m.neg) ctStateNeg = true; else ctState |= m.mask; }
    if (m.key === 'tcp flags') {
      const mask = m.mask, value = m.value, values = m.values;
      const f = m.op === 'any' ? (x: number) => (x & mask) !== 0
        : m.op === 'eq' ? (x: number) => x === value
        : m.op === 'ne' ? (x: number) => x !== value
        : m.op === 'mask' ? (x: number) => (x & mask) === value
        : m.op === 'masknot' ? (x: number) => (x & mask) !== value
        : (x: number) => values.includes(x);
      flags.push(f);
    }
  }
  const statements: string[] = [];
  for (const x of r.seq) if ('s' in x) statements.push(x.s.key === 'ext' ? x.s.def.keyword : x.s.key);
  return {
    hook: b.hook, priority: b.priority, chainType: b.type as ChainType, line: r.loc.line, col: r.loc.col,
    ctState, ctStateNeg, hasTcpFlags: flags.length > 0, tcpFlagsAccept: (x) => flags.every((f) => f(x)), statements,
  };
}

function compileEnv(ast: RulesetAst, ch: ChainAst, type: ChainType, id: number, rule: RuleShape, allRules: readonly RuleShape[], requires: RuleRequirement[]): RuleCompileEnv {
  const b = ch.base!;
  return {
    rule, allRules, require: (q) => { requires.push(q); },
    ruleId: id, hook: b.hook, chainType: type, priority: b.priority, family: ch.family, table: ch.table,
    object: (kind, name) => ast.objects.find((o) => o.family === ch.family && o.table === ch.table && o.kind === kind && o.name === name)?.value,
    fail: (loc, msg) => err(loc, msg),
  };
}

function ruleInfo(id: number, ch: ChainAst, r: RuleAst, index: number, routes: Routes | undefined, type: ChainType): RuleInfo {
  const b = ch.base!;
  const info: RuleInfo = {
    id, table: ch.table, chain: ch.name, hook: b.hook, priority: b.priority, index, line: r.loc.line, text: r.text,
    family: ch.family, counter: r.counter, verdict: r.verdict, chainType: type,
  };
  if (r.reject !== undefined) {
    info.reject = { kind: r.reject.kind, code: r.reject.code };
    const hooks = ch.family === 'inet' ? REJECT_HOOKS_INET : REJECT_HOOKS;
    if (!hooks.includes(b.hook)) err(r.reject.loc, `reject is not allowed at hook ${b.hook}; it runs at ${hooks.join(', ')} (nft_reject_validate())`);
    if (r.reject.kind === 'icmp' && ch.family === 'ip6') err(r.reject.loc, 'reject with icmp in a table of family ip6; use icmpv6 or icmpx');
    if (r.reject.kind === 'icmpv6' && ch.family === 'ip') err(r.reject.loc, 'reject with icmpv6 in a table of family ip; use icmp or icmpx');
    if (r.reject.kind === 'tcp-reset' && !r.matches.some((m) => m.key.startsWith('tcp ') || ((m.key === 'meta l4proto' || m.key === 'ip protocol') && !m.neg && m.protos.lo.length === 1 && m.protos.lo[0] === IPPROTO_TCP && m.protos.hi[0] === IPPROTO_TCP))) {
      err(r.reject.loc, 'reject with tcp reset needs a TCP match before it in the rule (e.g. meta l4proto tcp, tcp dport 80), as nft requires');
    }
  }
  const n = r.nat;
  if (n !== undefined && type !== 'nat') err(n.loc, `${n.kind} is only allowed in a type nat chain (chain ${ch.name} is type ${type})`);
  if (n === undefined) return info;
  const hooks = NAT_HOOKS[n.kind];
  if (!hooks.includes(b.hook)) err(n.loc, `${n.kind} is not allowed at hook ${b.hook}; it runs at ${hooks.join(' or ')}`);
  // A port mapping needs a transport protocol match before it (nftables evaluate.c: "transport protocol mapping is only valid after transport protocol match").
  if (n.ports !== undefined && !hasTransport(r)) {
    err(n.ports.loc, 'a port mapping needs a transport protocol match before it in the rule (e.g. meta l4proto { tcp, udp }, tcp dport 80, ip protocol udp)');
  }
  let l3: 4 | 6;
  const ruleFam = famOfMatches(r, ch.family);
  if (n.kind === 'snat' || n.kind === 'dnat') {
    if (n.addr === undefined && n.explicitFamily) l3 = n.family === 'ip6' ? 6 : 4;
    else if (n.addr !== undefined) l3 = n.addr.l3;
    else l3 = ruleFam === 2 ? 6 : 4;
    if (n.addr !== undefined && ch.family === 'inet' && !n.explicitFamily && famOfMatches({ ...r, nat: undefined }, ch.family) === 3) {
      err(n.loc, `specify "${n.kind} ip" or "${n.kind} ip6" in an inet table to disambiguate (or match ip/ip6 addresses before it)`);
    }
    if (n.addr !== undefined && (ruleFam & (n.addr.l3 === 4 ? 1 : 2)) === 0) err(n.addr.loc, `an IPv${n.addr.l3} address in a rule that only matches IPv${n.addr.l3 === 4 ? 6 : 4} packets`);
  } else {
    l3 = ruleFam === 2 ? 6 : 4;
  }
  const st: NatStatement = {
    kind: n.kind, l3, flags: n.flags | (n.addr ? NF_NAT_RANGE_MAP_IPS : 0) | (n.ports ? NF_NAT_RANGE_PROTO_SPECIFIED : 0),
    minAddr: 0, maxAddr: 0, minPort: n.ports?.min ?? 0, maxPort: n.ports?.max ?? 0,
  };
  if (n.addr?.l3 === 4) { st.minAddr = n.addr.min | 0; st.maxAddr = n.addr.max | 0; }
  if (n.addr?.l3 === 6) { st.minAddr6 = wordsToBytes(n.addr.min6); st.maxAddr6 = wordsToBytes(n.addr.max6); }
  if (n.numgen !== undefined) {
    const g = n.numgen;
    st.numgen = { mode: g.mode, mod: g.mod, offset: g.offset, addrs: g.addrs.map((x) => (x.l3 === 4 ? x.a : 0)) };
    if (g.addrs[0].l3 === 6) st.numgen.addrs6 = g.addrs.map((x) => (x.l3 === 6 ? wordsToBytes(x.a6) : new Uint8Array(16)));
  }
  info.nat = st;
  // masquerade takes the outgoing interface's address; redirect at prerouting the incoming one's
  // (at output it uses 127.0.0.1 / ::1, nf_nat_redirect.c).
  const side = n.kind === 'masquerade' ? 'out' : n.kind === 'redirect' && b.hook === 'prerouting' ? 'in' : undefined;
  if (side !== undefined) {
    if (routes === undefined) {
      err(n.loc, `${n.kind} takes the address of the ${side === 'out' ? 'outgoing' : 'incoming'} interface, and no routes were declared (routes: in a scenario, --route PREFIX=IFNAME@ADDR in replay)`);
    } else if ((ruleFam & 1) !== 0) checkIfaceAddr(r, routes!, n.loc, n.kind, side);
  }
  return info;
}

/** Does the rule carry a transport protocol (tcp/udp match, or a positive l4proto / ip protocol match)? */
function hasTransport(r: RuleAst): boolean {
  return r.matches.some((m) => m.key.startsWith('tcp ') || m.key.startsWith('udp ') || ((m.key === 'meta l4proto' || m.key === 'ip protocol') && !m.neg));
}

/** Families the rule's matches allow: bit 1 IPv4, bit 2 IPv6. */
function famOfMatches(r: RuleAst, family: string): number {
  let fam = family === 'ip' ? 1 : family === 'ip6' ? 2 : 3;
  for (const m of r.matches) {
    if (m.key.startsWith('ip ')) fam &= 1;
    else if (m.key.startsWith('ip6 ')) fam &= 2;
  }
  if (r.nat?.explicitFamily) fam &= r.nat.family === 'ip6' ? 2 : 1;
  else if (r.nat?.addr) fam &= r.nat.addr.l3 === 4 ? 1 : 2;
  return fam;
}

/**
 * Masquerade takes the outgoing interface's address, redirect the incoming one's; with none the
 * kernel drops the packet (nf_nat_masquerade.c: "... ate my IP address"; nf_nat_redirect.c).
 * Refused at load when an interface the rule names (positive oif/oifname, iif/iifname matches)
 * has no IPv4 address, or when none of the interfaces has one. Packets that leave (or enter) by
 * an interface without address under an unrestricted rule are the NAT core's runtime drop.
 */
function checkIfaceAddr(r: RuleAst, routes: Routes, loc: { line: number; col: number }, kind: string, side: 'in' | 'out'): void {
  const keys = side === 'out' ? ['oif', 'oifname'] : ['iif', 'iifname'];
  let candidates = Array.from({ length: routes.count }, (_, i) => i);
  let named = false;
  for (const m of r.matches) {
    if (keys.includes(m.key) && !m.neg && 'names' in m) { candidates = candidates.filter((i) => nameMatches(m.names, routes.name(i))); named = true; }
  }
  const without = candidates.filter((i) => routes.addr(i) === undefined);
  if (candidates.length === 0) err(loc, `${kind}: no declared interface matches the rule's ${keys.join('/')} match`);
  if (named ? without.length > 0 : without.length === candidates.length) {
    const which = without.map((i) => routes.name(i)).join(', ');
    const eg = routes.name(without[0]);
    err(loc, `${kind} needs an address on the ${side === 'out' ? 'outgoing' : 'incoming'} interface, and ${which} has none; declare it with the route (e.g. --route 0.0.0.0/0=${eg}@203.0.113.1, or addr: in routes:)`);
  }
}

function nameMatches(names: readonly NamePattern[], name: string): boolean {
  return names.some((p) => (p.wildcard ? name.startsWith(p.name) : name === p.name));
}

function compileRule(id: number, ch: ChainAst, r: RuleAst, routes: Routes | undefined, env: RuleCompileEnv, binders: RuleExpr[]): CompiledRule {
  let proto = -1;
  let protoLoc: { line: number; col: number } | undefined;
  const matches: Match[] = [];
  for (const m of r.matches) {
    if (m.key.startsWith('tcp ') || m.key.startsWith('udp ')) {
      const p = m.key.startsWith('tcp ') ? IPPROTO_TCP : IPPROTO_UDP;
      if (proto >= 0 && proto !== p) err(m.loc, `conflicting transport protocols in one rule (${proto === IPPROTO_TCP ? 'tcp' : 'udp'} at ${protoLoc!.line}:${protoLoc!.col})`);
      proto = p; protoLoc = m.loc;
    }
  }
  for (const item of r.seq) {
    if ('m' in item) matches.push(compileMatch(item.m, routes));
    else matches.push(compileStmt(item.s, env, binders));
  }
  if (proto >= 0) {
    for (const m of r.matches) {
      if ((m.key === 'meta l4proto' || m.key === 'ip protocol') && !m.neg && !m.protos.lo.some((lo, i) => proto >= lo && proto <= m.protos.hi[i])) {
        err(m.loc, `conflicting protocols: this ${m.key} match excludes ${proto === IPPROTO_TCP ? 'tcp' : 'udp'}, which the ${proto === IPPROTO_TCP ? 'tcp' : 'udp'} port match at ${protoLoc!.line}:${protoLoc!.col} needs, so no packet can match`);
      }
    }
  }
  let fam = famOfMatches(r, ch.family);
  if (fam === 0) err(r.loc, 'this rule matches both ip and ip6 fields, so no packet can match it (conflicting protocols)');
  // `ip protocol` carries the IPv4 dependency already (famOfMatches); `meta l4proto` applies to both families.
  // `reject with icmp` / `icmpv6` carry their family as a dependency (nftables evaluate.c: stmt_evaluate_reject_inet_family)
  const rj = r.reject;
  if (rj?.kind === 'icmp') fam &= 1;
  if (rj?.kind === 'icmpv6') fam &= 2;
  if (rj?.kind === 'tcp-reset') proto = IPPROTO_TCP;
  const codes = rj === undefined ? [3, 4] : rejectCodes(rj.kind, rj.code);
  return {
    id, fam, proto, matches, verdict: VERDICT[r.verdict],
    rejKind: rj?.kind === 'tcp-reset' ? REJECT_TCP_RST : REJECT_ICMP_UNREACH, rejCode4: codes[0], rejCode6: codes[1],
  };
}

/** ICMP type 3 codes (RFC 792/1812) and ICMPv6 type 1 codes (RFC 4443) of a reject type; icmpx maps to both (nf_tables.h: nft_reject_icmpx_code). */
const ICMP4_CODES: Readonly<Record<string, number>> = {
  'net-unreachable': 0, 'host-unreachable': 1, 'prot-unreachable': 2, 'port-unreachable': 3, 'frag-needed': 4,
  'net-prohibited': 9, 'host-prohibited': 10, 'admin-prohibited': 13,
};
const ICMP6_CODES: Readonly<Record<string, number>> = {
  'no-route': 0, 'admin-prohibited': 1, 'addr-unreachable': 3, 'port-unreachable': 4, 'policy-fail': 5, 'reject-route': 6,
};
const ICMPX_CODES: Readonly<Record<string, readonly [number, number]>> = {
  'no-route': [0, 0], 'port-unreachable': [3, 4], 'host-unreachable': [1, 3], 'admin-prohibited': [13, 1],
};

/** [IPv4 ICMP code, ICMPv6 code] of a reject; `reject` alone is port-unreachable (nft's default, icmpx in inet). */
function rejectCodes(kind: string, code: string): [number, number] {
  if (kind === 'icmp') return [ICMP4_CODES[code]!, 4];
  if (kind === 'icmpv6') return [3, ICMP6_CODES[code]!];
  if (kind === 'icmpx') return [...ICMPX_CODES[code]!] as [number, number];
  return [3, 4];
}

/** A built-in statement, or a registered one (its hooks and chain types checked here). */
function compileStmt(st: StmtAst, env: RuleCompileEnv, binders: RuleExpr[]): Match {
  const hooks = st.key === 'ext' ? st.def.hooks : STMT_HOOKS[st.key];
  const what = st.key === 'ext' ? st.def.keyword : st.key;
  if (hooks !== undefined && !hooks.includes(env.hook)) err(st.loc, `${what} is not allowed at hook ${env.hook}; it runs at ${hooks.join(' or ')}`);
  switch (st.key) {
    case 'notrack':
      // nft_notrack_eval(): only a packet without an entry (and not already untracked) becomes UNTRACKED
      return (c) => { if (c.slot < 0) c.untracked = true; return true; };
    case 'ct zone set': {
      // nft_ct_set_zone_eval(): a template with the zone, only for a packet not yet tracked
      const z = st.value;
      return (c) => { if (c.slot < 0) c.zone = z; return true; };
    }
    case 'meta mark set': {
      const v = st.value | 0;
      if (st.from === 'ct mark') return (c) => { if (c.slot >= 0 && c.ct !== undefined) c.pkt.mark = c.ct.mark[c.slot]!; return true; };
      if (st.from === 'meta mark') return () => true;
      return (c) => { c.pkt.mark = v; return true; };
    }
    case 'ct mark set': {
      // nft_ct_set_eval() NFT_CT_MARK: only with an entry; a change caches IPCT_MARK
      const v = st.value | 0;
      const fromPkt = st.from === 'meta mark';
      return (c) => {
        const ct = c.ct;
        if (c.slot < 0 || ct === undefined) return true;
        const nv = fromPkt ? c.pkt.mark | 0 : v;
        if (ct.markOf(c.slot) !== nv) { ct.setMark(c.slot, nv); ct.ruleEvents |= 1 << IPCT_MARK; }
        return true;
      };
    }
    case 'ext': {
      const types = st.def.chainTypes;
      if (types !== undefined && !types.includes(env.chainType)) err(st.loc, `${st.def.keyword} is not allowed in a type ${env.chainType} chain; it goes in a type ${types.join(' or ')} chain`);
      const e = st.def.compile(st.node, env, st.loc);
      if (e.bind !== undefined) binders.push(e);
      return (c) => e.eval(c);
    }
  }
}

/** The `ct state` bits of the packet (nft_ct.c: nft_ct_get_eval() NFT_CT_STATE). */
function ctStateBits(c: EvalCtx): number {
  if (c.slot >= 0) return 1 << ((c.ctinfo % 3) + 1);
  return c.untracked ? CT_STATE_UNTRACKED : CT_STATE_INVALID;
}

function compileMatch(m: MatchAst, routes: Routes | undefined): Match {
  const neg = m.neg;
  switch (m.key) {
    case 'tcp flags': {
      const mask = m.mask, value = m.value;
      switch (m.op) {
        case 'any': return (c) => (c.pkt.tcpFlags & mask) !== 0;
        case 'eq': return (c) => c.pkt.tcpFlags === value;
        case 'ne': return (c) => c.pkt.tcpFlags !== value;
        case 'mask': return (c) => (c.pkt.tcpFlags & mask) === value;
        case 'masknot': return (c) => (c.pkt.tcpFlags & mask) !== value;
        case 'set': { const vs = Int32Array.from(m.values); return (c) => { const f = c.pkt.tcpFlags; for (let i = 0; i < vs.length; i++) if (vs[i] === f) return true; return false; }; }
      }
      break;
    }
    case 'ct state': { const mask = m.mask; return (c) => ((ctStateBits(c) & mask) !== 0) !== neg; }
    case 'ct status': {
      // no entry: NFT_BREAK whatever the operator
      const mask = m.mask;
      return (c) => c.slot >= 0 && c.ct !== undefined && ((c.ct.table.statusOf(c.slot) & mask) !== 0) !== neg;
    }
    case 'ct mark': {
      const f = inMark(m.marks), a = m.and;
      return (c) => c.slot >= 0 && c.ct !== undefined && f((c.ct.markOf(c.slot) & a) >>> 0) !== neg;
    }
    case 'ct table above': {
      // strictly above: count * 100 > P * nf_conntrack_max (never with an unlimited table)
      const pct = m.pct;
      return (c) => { const ct = c.ct; return ct !== undefined && ct.max > 0 && ct.count * 100 > pct * ct.max; };
    }
    case 'meta mark': {
      const f = inMark(m.marks), a = m.and;
      return (c) => f((c.pkt.mark & a) >>> 0) !== neg;
    }
    case 'ip saddr': { const f = in4(m.v4); return neg ? (c) => !f(c.pkt.src) : (c) => f(c.pkt.src); }
    case 'ip daddr': { const f = in4(m.v4); return neg ? (c) => !f(c.pkt.dst) : (c) => f(c.pkt.dst); }
    case 'ip6 saddr': { const f = in6(m.v6); return (c) => f(c.src6()) !== neg; }
    case 'ip6 daddr': { const f = in6(m.v6); return (c) => f(c.dst6()) !== neg; }
    case 'tcp sport': case 'udp sport': { const f = inN(m.ports); return neg ? (c) => !f(c.pkt.sport) : (c) => f(c.pkt.sport); }
    case 'tcp dport': case 'udp dport': { const f = inN(m.ports); return neg ? (c) => !f(c.pkt.dport) : (c) => f(c.pkt.dport); }
    case 'meta l4proto': case 'ip protocol': { const f = inN(m.protos); return neg ? (c) => !f(c.pkt.proto) : (c) => f(c.pkt.proto); }
    case 'iif': case 'oif': case 'iifname': case 'oifname': {
      // A table over the interfaces (index iface + 1; 0 is "no device", whose name is "").
      if (routes === undefined) err(m.loc, `${m.key} needs interfaces, and no routes were declared (routes: in a scenario, --route PREFIX=IFNAME in replay)`);
      const byName = m.key === 'iifname' || m.key === 'oifname';
      for (const p of m.names) {
        if (!p.wildcard && routes!.find(p.name) < 0) {
          err(p.loc, `unknown interface "${p.name}"${byName ? '' : ' (iif/oif need an existing interface)'}; the routes declare: ${listIfaces(routes!)}`);
        }
      }
      const table = new Uint8Array(routes!.count + 1);
      for (let i = 0; i < routes!.count; i++) table[i + 1] = nameMatches(m.names, routes!.name(i)) !== neg ? 1 : 0;
      table[0] = (byName && nameMatches(m.names, '')) !== neg ? 1 : 0;
      // iif/oif compare ifindex: no device never equals an interface, so `oif != eth0` holds without a device as nft_meta stores 0.
      return m.key === 'iif' || m.key === 'iifname' ? (c) => table[c.iif + 1] === 1 : (c) => table[c.oif + 1] === 1;
    }
  }
}

function listIfaces(routes: Routes): string {
  return Array.from({ length: routes.count }, (_, i) => routes.name(i)).join(', ') || '(none)';
}

/** Membership in sorted disjoint intervals of IPv4 addresses (as int32, compared unsigned). */
function in4(v: Intervals): (a: number) => boolean {
  const lo = Uint32Array.from(v.lo), hi = Uint32Array.from(v.hi);
  if (lo.length === 1) { const l = lo[0], h = hi[0]; return (a) => { const x = a >>> 0; return x >= l && x <= h; }; }
  return (a) => search(lo, hi, a >>> 0);
}

/** Membership in sorted disjoint intervals of unsigned 32-bit marks. */
function inMark(v: Intervals): (a: number) => boolean {
  const lo = Float64Array.from(v.lo), hi = Float64Array.from(v.hi);
  return (x) => { for (let i = 0; i < lo.length; i++) if (x >= lo[i] && x <= hi[i]) return true; return false; };
}

/** Membership in sorted disjoint intervals of small non-negative integers (ports, protocols). */
function inN(v: Intervals): (a: number) => boolean {
  const lo = Int32Array.from(v.lo), hi = Int32Array.from(v.hi);
  if (lo.length === 1) { const l = lo[0], h = hi[0]; return (x) => x >= l && x <= h; }
  return (x) => search(lo, hi, x);
}

function search(lo: Uint32Array | Int32Array, hi: Uint32Array | Int32Array, x: number): boolean {
  let a = 0, b = lo.length - 1;
  while (a <= b) {
    const m = (a + b) >> 1;
    if (x < lo[m]) b = m - 1;
    else if (x > hi[m]) a = m + 1;
    else return true;
  }
  return false;
}

function in6(v: Intervals6): (w: Int32Array) => boolean {
  const n = v.lo.length;
  const lo = new Uint32Array(4 * n), hi = new Uint32Array(4 * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < 4; k++) { lo[4 * i + k] = v.lo[i][k] >>> 0; hi[4 * i + k] = v.hi[i][k] >>> 0; }
  const cmp = (w: Int32Array, t: Uint32Array, o: number): number => {
    for (let k = 0; k < 4; k++) { const x = w[k] >>> 0, y = t[o + k]; if (x !== y) return x < y ? -1 : 1; }
    return 0;
  };
  return (w) => {
    for (let i = 0; i < n; i++) if (cmp(w, lo, 4 * i) >= 0 && cmp(w, hi, 4 * i) <= 0) return true;
    return false;
  };
}
