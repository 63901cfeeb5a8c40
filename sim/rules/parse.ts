/**
 * Parser of the nft file-syntax subset (docs/rules.md): tables, base chains, `define`, anonymous
 * sets, the matches and statements of NAT rules. It produces a syntax tree whose values are
 * already parsed (intervals of addresses, ports, protocols; interface names); compile.ts checks
 * what needs the whole ruleset or the routes and builds the matcher.
 *
 * The grammar follows nftables' parser_bison.y where the subset overlaps it; anything else is a
 * RuleSyntaxError naming line, column and what is supported.
 */
import { formatIPv4 } from '../conntrack/addr.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, IPPROTO_GRE } from '../conntrack/constants.js';
import { cmp4, cmp6, ipv4, ipv6Words, mask4, mask6 } from './addr.js';
import { lex, RuleSyntaxError, type Tok } from './lexer.js';
import {
  type Hook, type NatKind, type RuleTokens, type StatementDef, HOOKS,
  CT_STATE_ESTABLISHED, CT_STATE_INVALID, CT_STATE_NEW, CT_STATE_RELATED, CT_STATE_UNTRACKED,
  NF_NAT_RANGE_PERSISTENT, NF_NAT_RANGE_PROTO_RANDOM, NF_NAT_RANGE_PROTO_RANDOM_FULLY,
} from './types.js';
import { findStatement, findTableObject, registeredStatements, registeredTableObjects } from './registry.js';
import {
  IPS_ASSURED, IPS_CONFIRMED, IPS_DYING, IPS_EXPECTED, IPS_SEEN_REPLY,
} from '../conntrack/constants.js';

export type Family = 'ip' | 'ip6' | 'inet';
export const FAMILIES: readonly Family[] = ['ip', 'ip6', 'inet'];

export interface Loc { line: number; col: number }

/** Sorted, merged, inclusive intervals of unsigned values (IPv4 addresses, ports, protocol numbers). */
export interface Intervals { lo: number[]; hi: number[] }
/** Sorted, merged, inclusive intervals of IPv6 addresses: 4 words each. */
export interface Intervals6 { lo: Int32Array[]; hi: Int32Array[] }
/** Interface names: exact, or a prefix when written with a trailing `*`. */
export interface NamePattern { name: string; wildcard: boolean; loc: Loc }

export type MatchAst =
  | { key: 'ip saddr' | 'ip daddr'; neg: boolean; v4: Intervals; loc: Loc }
  | { key: 'ip6 saddr' | 'ip6 daddr'; neg: boolean; v6: Intervals6; loc: Loc }
  | { key: 'tcp sport' | 'tcp dport' | 'udp sport' | 'udp dport'; neg: boolean; ports: Intervals; loc: Loc }
  | { key: 'meta l4proto' | 'ip protocol'; neg: boolean; protos: Intervals; loc: Loc }
  | { key: 'iif' | 'oif' | 'iifname' | 'oifname'; neg: boolean; names: NamePattern[]; loc: Loc }
  /**
   * `tcp flags`: `op` 'any' = implicit flag list ((flags & mask) != 0), 'eq'/'ne' = `==`/`!=` a
   * value, 'set' = one of `values` exactly, 'mask' = (flags & mask) == value (`& M == V`,
   * `V / M`), 'masknot' = (flags & mask) != value.
   */
  | { key: 'tcp flags'; op: 'any' | 'eq' | 'ne' | 'set' | 'mask' | 'masknot'; mask: number; value: number; values: number[]; neg: boolean; loc: Loc }
  /** `ct state` / `ct status`: (bits of the packet & mask) != 0, negated by `!=`. */
  | { key: 'ct state' | 'ct status'; neg: boolean; mask: number; loc: Loc }
  /** `ct mark` / `meta mark` (and `mark`): the 32-bit mark in the intervals (optionally `and MASK` first). */
  | { key: 'ct mark' | 'meta mark'; neg: boolean; and: number; marks: Intervals; loc: Loc }
  /** `ct table above P%`: the seed paper's occupancy condition (not an nft keyword; docs/rules.md §10). */
  | { key: 'ct table above'; neg: boolean; pct: number; loc: Loc };

/** A statement of a rule (runs where written, between matches). */
export type StmtAst =
  | { key: 'notrack'; loc: Loc }
  | { key: 'meta mark set' | 'ct mark set'; from: 'const' | 'meta mark' | 'ct mark'; value: number; loc: Loc }
  | { key: 'ct zone set'; value: number; loc: Loc }
  /** A registered extension (registry.ts): its definition and the node its `parse` returned. */
  | { key: 'ext'; def: StatementDef; node: unknown; loc: Loc };

/** One element of a rule in the order written. */
export type SeqItem = { m: MatchAst } | { s: StmtAst };
/** A NAT statement as written; `family` is the address family given or inferred (`inet` = any). */
export interface NatAst {
  kind: NatKind;
  loc: Loc;
  family: Family | undefined;
  explicitFamily: boolean;
  addr?: { l3: 4; min: number; max: number; loc: Loc } | { l3: 6; min6: Int32Array; max6: Int32Array; loc: Loc };
  ports?: { min: number; max: number; loc: Loc };
  flags: number;
  /** `numgen random|inc mod N [offset M] map { K : ADDR, ... }`: one address per generated value (index value - offset). */
  numgen?: { mode: 'random' | 'inc'; mod: number; offset: number; addrs: ({ l3: 4; a: number } | { l3: 6; a6: Int32Array })[]; loc: Loc };
}

export interface RuleAst {
  loc: Loc;
  /** The rule as written, on one line. */
  text: string;
  matches: MatchAst[];
  /** Matches and statements in the order written (what the evaluator runs). */
  seq: SeqItem[];
  counter: boolean;
  verdict: 'none' | 'accept' | 'return' | 'nat' | 'drop' | 'reject';
  verdictLoc?: Loc;
  nat?: NatAst;
  /** `reject [with ...]`. */
  reject?: { kind: 'default' | 'tcp-reset' | 'icmp' | 'icmpv6' | 'icmpx'; code: string; loc: Loc };
}

export interface ChainAst {
  family: Family;
  table: string;
  name: string;
  loc: Loc;
  /** Base chain declaration; undefined for a chain without `type ... hook ...`. */
  base?: { type: string; typeLoc: Loc; hook: Hook; hookLoc: Loc; priority: number; priorityName?: string; priorityLoc: Loc };
  policy: 'accept' | 'drop';
  policyLoc?: Loc;
  rules: RuleAst[];
}

/** A table object (registerTableObject), by table. */
export interface TableObjectAst { family: Family; table: string; kind: string; name: string; loc: Loc; value: unknown }

export interface RulesetAst { chains: ChainAst[]; objects: TableObjectAst[] }

const SUPPORTED_TOP = 'supported at the top level: table ip|ip6|inet NAME { ... }, define NAME = VALUE, flush ruleset';
const supportedTable = (): string => `supported in a table: chain NAME { ... }, define NAME = VALUE${registeredTableObjects().map((k) => `, ${k} NAME { ... }`).join('')}`;
const SUPPORTED_RULE_BASE =
  'supported: ip saddr|daddr|protocol, ip6 saddr|daddr, tcp sport|dport|flags, udp sport|dport, meta l4proto|iif|oif|iifname|oifname|mark, ' +
  'iif, oif, iifname, oifname, mark, ct state|status|mark, ct table above P%, meta mark set, ct mark set, ct zone set, notrack, counter, accept, drop, reject, return, snat, dnat, masquerade, redirect';
const supportedRule = (): string => SUPPORTED_RULE_BASE + registeredStatements().map((k) => `, ${k}`).join('');
/** Words of the nft language outside this subset that users may well write (for a precise message). */
const NOT_YET = new Set(['limit', 'log', 'jump', 'goto', 'queue', 'th', 'icmp', 'icmpv6',
  'synproxy', 'meter', 'quota', 'dup', 'fwd', 'continue', 'netmap', 'tproxy', 'fib', 'rt', 'ether', 'vlan', 'sctp', 'dccp', 'ah', 'esp', 'comp', 'udplite', 'add', 'update']);

/** TCP flag names (nftables proto.c: tcp_flag_type; TH_* bits). */
export const TCP_FLAG_BITS: Readonly<Record<string, number>> = {
  fin: 0x01, syn: 0x02, rst: 0x04, psh: 0x08, ack: 0x10, urg: 0x20, ecn: 0x40, cwr: 0x80,
};
/** `ct state` names (nft ct.c: ct_state_tbl). */
export const CT_STATE_BITS: Readonly<Record<string, number>> = {
  invalid: CT_STATE_INVALID, established: CT_STATE_ESTABLISHED, related: CT_STATE_RELATED, new: CT_STATE_NEW, untracked: CT_STATE_UNTRACKED,
};
/** `ct status` names (nft ct.c: ct_status_tbl; IPS_* bits). */
export const CT_STATUS_BITS: Readonly<Record<string, number>> = {
  expected: IPS_EXPECTED, 'seen-reply': IPS_SEEN_REPLY, assured: IPS_ASSURED, confirmed: IPS_CONFIRMED,
  snat: 1 << 4, dnat: 1 << 5, dying: IPS_DYING,
};

/** nft's standard priority names for ip/ip6/inet (nftables rule.c: std_prios[]), with the hooks each may be used at. */
export const STD_PRIOS: Readonly<Record<string, { value: number; hooks?: readonly Hook[] }>> = {
  raw: { value: -300 },
  mangle: { value: -150 },
  dstnat: { value: -100, hooks: ['prerouting', 'output'] },
  filter: { value: 0 },
  security: { value: 50 },
  srcnat: { value: 100, hooks: ['input', 'postrouting'] },
};

/** Protocol names nft knows for `meta l4proto` / `ip protocol` (the subset's list; numbers 0..255 for any other). */
const PROTOCOLS: Readonly<Record<string, number>> = {
  icmp: IPPROTO_ICMP, tcp: IPPROTO_TCP, udp: IPPROTO_UDP, gre: IPPROTO_GRE, esp: 50, ah: 51, icmpv6: IPPROTO_ICMPV6, 'ipv6-icmp': IPPROTO_ICMPV6,
  sctp: 132, dccp: 33, udplite: IPPROTO_UDPLITE,
};

/** Service names accepted for ports (a fixed subset of /etc/services; numbers for any other). */
const SERVICES: Readonly<Record<string, number>> = {
  ftp: 21, ssh: 22, telnet: 23, smtp: 25, domain: 53, http: 80, pop3: 110, ntp: 123, imap: 143, snmp: 161,
  ldap: 389, https: 443, submission: 587, imaps: 993, pop3s: 995, openvpn: 1194, mysql: 3306, 'http-alt': 8080,
};

const at = (t: Tok, k = 0): Loc => ({ line: t.line, col: t.col + k });
const fail = (loc: Loc, msg: string): never => { throw new RuleSyntaxError(loc.line, loc.col, msg); };
const show = (t: Tok): string => (t.kind === 'eof' ? 'the end of the file' : t.kind === 'nl' ? 'the end of the line' : t.kind === 'str' ? `"${t.text}"` : `"${t.text}"`);

/** Parses ruleset text; throws RuleSyntaxError (line and column in `text`). */
export function parseRuleset(text: string): RulesetAst {
  return new Parser(lex(text), text).file();
}

class Parser {
  private pos = 0;
  private readonly defs = new Map<string, Tok[]>();
  private readonly chains: ChainAst[] = [];

  constructor(private readonly toks: Tok[], private readonly src: string) {}

  private peek(): Tok { return this.toks[this.pos]; }
  private take(): Tok { return this.toks[this.pos++]; }
  private isSep(t: Tok): boolean { return t.kind === 'nl' || (t.kind === 'punct' && t.text === ';'); }
  private skipSeps(): void { while (this.isSep(this.peek())) this.pos++; }
  private word(what: string): Tok {
    const t = this.take();
    if (t.kind !== 'word') fail(at(t), `expected ${what}, got ${show(t)}`);
    return t;
  }
  private name(what: string): Tok {
    const t = this.take();
    if (t.kind !== 'word' && t.kind !== 'str') fail(at(t), `expected ${what}, got ${show(t)}`);
    return t;
  }
  private punct(p: string): Tok {
    const t = this.take();
    if (t.kind !== 'punct' || t.text !== p) fail(at(t), `expected "${p}", got ${show(t)}`);
    return t;
  }
  private endOfStatement(): void {
    const t = this.peek();
    if (this.isSep(t)) { this.pos++; return; }
    if (t.kind === 'eof' || (t.kind === 'punct' && t.text === '}')) return;
    fail(at(t), `expected ";" or a new line, got ${show(t)}`);
  }

  file(): RulesetAst {
    for (;;) {
      this.skipSeps();
      const t = this.peek();
      if (t.kind === 'eof') break;
      if (t.kind === 'word' && t.text === 'table') this.table();
      else if (t.kind === 'word' && t.text === 'define') this.define();
      else if (t.kind === 'word' && t.text === 'flush') {
        this.take();
        const w = this.word('"ruleset" after flush');
        if (w.text !== 'ruleset') fail(at(w), `expected "ruleset" after flush (only "flush ruleset" is supported), got "${w.text}"`);
        this.endOfStatement();
      } else fail(at(t), `unexpected ${show(t)}; ${SUPPORTED_TOP}`);
    }
    return { chains: this.chains, objects: this.objects };
  }

  private readonly objects: TableObjectAst[] = [];

  private define(): void {
    this.take();
    const n = this.word('a variable name after define');
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n.text)) fail(at(n), `"${n.text}" is not a variable name (letters, digits, "_")`);
    if (this.defs.has(n.text)) fail(at(n), `variable "${n.text}" is already defined`);
    this.punct('=');
    const value: Tok[] = [];
    let depth = 0;
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') break;
      if (depth === 0 && this.isSep(t)) break;
      if (depth === 0 && t.kind === 'punct' && t.text === '}') break;
      this.pos++;
      if (t.kind === 'punct' && t.text === '{') depth++;
      if (t.kind === 'punct' && t.text === '}') depth--;
      if (t.kind === 'var') value.push(...this.expand(t, 0));
      else value.push(t);
    }
    if (value.length === 0) fail(at(n), `variable "${n.text}" has no value`);
    this.defs.set(n.text, value);
    this.endOfStatement();
  }

  private expand(v: Tok, depth: number): Tok[] {
    const d = this.defs.get(v.text);
    if (d === undefined) fail(at(v), `unknown variable "$${v.text}" (define it before use: define ${v.text} = ...)`);
    if (depth > 16) fail(at(v), 'variables nested too deeply');
    return d!;
  }

  private table(): void {
    this.take();
    const f = this.word('a family (ip, ip6 or inet) after table');
    if (!FAMILIES.includes(f.text as Family)) {
      fail(at(f), `unsupported table family "${f.text}"; supported: ip, ip6, inet`);
    }
    const family = f.text as Family;
    const name = this.name('a table name');
    this.punct('{');
    for (;;) {
      this.skipSeps();
      const t = this.peek();
      if (t.kind === 'punct' && t.text === '}') { this.take(); break; }
      if (t.kind === 'eof') fail(at(t), `missing "}" closing table ${name.text}`);
      if (t.kind === 'word' && t.text === 'chain') this.chain(family, name.text);
      else if (t.kind === 'word' && t.text === 'define') this.define();
      else if (!this.tableObject(family, name.text)) fail(at(t), `unexpected ${show(t)} in table ${name.text}; ${supportedTable()}`);
    }
    this.endOfStatement();
  }

  /** A registered table object (`ct timeout NAME { ... }`); false when the words name none. */
  private tableObject(family: Family, table: string): boolean {
    const words: string[] = [];
    for (let k = this.pos; k < this.toks.length && words.length < 3 && this.toks[k].kind === 'word'; k++) words.push(this.toks[k].text);
    const f = findTableObject(words);
    if (f === undefined) return false;
    const first = this.peek();
    this.pos += f.words;
    const name = this.name(`a name after ${f.def.keyword}`);
    if (this.objects.some((o) => o.family === family && o.table === table && o.kind === f.def.keyword && o.name === name.text)) {
      fail(at(name), `${f.def.keyword} "${name.text}" is already defined in table ${table}`);
    }
    const value = f.def.parse(this.tokens(family), at(first), name.text);
    this.objects.push({ family, table, kind: f.def.keyword, name: name.text, loc: at(first), value });
    this.endOfStatement();
    return true;
  }

  /** The file's token stream as an extension sees it (new lines are tokens of kind 'nl'). */
  private tokens(family: Family): RuleTokens {
    return makeTokens(() => this.peek(), () => (this.peek().kind === 'eof' ? this.peek() : this.take()), family);
  }

  private chain(family: Family, table: string): void {
    const kw = this.take();
    const name = this.name('a chain name');
    this.punct('{');
    const chain: ChainAst = { family, table, name: name.text, loc: at(kw), policy: 'accept', rules: [] };
    const prev = this.chains.find((c) => c.family === family && c.table === table && c.name === name.text);
    let sawRule = false;
    for (;;) {
      this.skipSeps();
      const t = this.peek();
      if (t.kind === 'punct' && t.text === '}') { this.take(); break; }
      if (t.kind === 'eof') fail(at(t), `missing "}" closing chain ${name.text}`);
      if (t.kind === 'word' && t.text === 'type') {
        if (sawRule || chain.base) fail(at(t), 'the chain declaration (type ... hook ... priority ...;) comes first in a chain, once');
        this.chainDecl(chain);
      } else if (t.kind === 'word' && t.text === 'policy') {
        this.take();
        const p = this.word('a policy');
        if (p.text !== 'accept' && p.text !== 'drop') fail(at(p), `policy "${p.text}" is not supported; supported: policy accept, policy drop`);
        if (!chain.base) fail(at(t), 'a policy needs a base chain (type ... hook ... priority ...;) declared before it');
        chain.policy = p.text as 'accept' | 'drop';
        chain.policyLoc = at(p);
        this.endOfStatement();
      } else if (t.kind === 'word' && t.text === 'define') {
        this.define();
      } else {
        sawRule = true;
        chain.rules.push(this.rule(family));
      }
    }
    this.endOfStatement();
    if (prev) {
      // nft merges a chain declared again in the same table; its hook cannot change.
      if (chain.base && prev.base && (chain.base.hook !== prev.base.hook || chain.base.priority !== prev.base.priority || chain.base.type !== prev.base.type)) {
        fail(chain.base.typeLoc, `chain ${name.text} is already declared at line ${prev.loc.line} with another type, hook or priority`);
      }
      if (chain.base && !prev.base) fail(chain.base.typeLoc, `chain ${name.text} was declared at line ${prev.loc.line} without a hook`);
      prev.rules.push(...chain.rules);
      if (chain.policyLoc !== undefined) { prev.policy = chain.policy; prev.policyLoc = chain.policyLoc; }
    } else this.chains.push(chain);
  }

  private chainDecl(chain: ChainAst): void {
    const typeTok = this.take();
    const type = this.word('a chain type (nat) after type');
    const hk = this.word('"hook"');
    if (hk.text !== 'hook') fail(at(hk), `expected "hook" after the chain type, got "${hk.text}"`);
    const h = this.word('a hook name');
    if (!HOOKS.includes(h.text as Hook)) fail(at(h), `unknown hook "${h.text}"; supported: ${HOOKS.join(', ')}`);
    const hook = h.text as Hook;
    const pk = this.peek();
    if (!(pk.kind === 'word' && pk.text === 'priority')) {
      fail(at(pk), pk.kind === 'word' && pk.text === 'device' ? 'device is not supported (netdev chains are outside the subset)' : `expected "priority" after the hook, got ${show(pk)}`);
    }
    this.take();
    const parts: Tok[] = [];
    while (!this.isSep(this.peek()) && this.peek().kind === 'word') parts.push(this.take());
    if (parts.length === 0) fail(at(this.peek()), `expected a priority (a number, or ${Object.keys(STD_PRIOS).join('|')} with an optional + N or - N)`);
    const ptext = parts.map((p) => p.text).join('');
    const m = /^(?:([a-z]+)(?:([+-])([0-9]+))?|(-?[0-9]+))$/.exec(ptext);
    const ploc = at(parts[0]);
    let priority: number, priorityName: string | undefined;
    if (m === null) fail(ploc, `bad priority "${ptext}"; expected a number, or ${Object.keys(STD_PRIOS).join('|')} with an optional + N or - N`);
    if (m![4] !== undefined) {
      priority = Number(m![4]);
      if (!Number.isSafeInteger(priority) || priority < -(2 ** 31) || priority > 2 ** 31 - 1) fail(ploc, `priority ${m![4]} is outside the 32-bit signed range`);
    } else {
      const std = STD_PRIOS[m![1]];
      if (std === undefined) fail(ploc, `unknown priority name "${m![1]}"; supported: ${Object.keys(STD_PRIOS).join(', ')}`);
      if (std.hooks && !std.hooks.includes(hook)) fail(ploc, `priority "${m![1]}" is invalid at hook ${hook} (nft allows it at ${std.hooks.join(' and ')})`);
      priorityName = m![1];
      priority = std.value + (m![2] === undefined ? 0 : (m![2] === '+' ? 1 : -1) * Number(m![3]));
    }
    chain.base = { type: type.text, typeLoc: at(typeTok), hook, hookLoc: at(h), priority: priority!, priorityLoc: ploc, ...(priorityName ? { priorityName } : {}) };
    this.endOfStatement();
  }

  /** Collects one rule's tokens (variables expanded, newlines inside sets ignored) and parses them. */
  private rule(family: Family): RuleAst {
    const toks: Tok[] = [];
    let depth = 0;
    const first = this.peek();
    let last = first;
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') break;
      if (depth === 0 && (this.isSep(t) || (t.kind === 'punct' && t.text === '}'))) break;
      this.pos++;
      last = t;
      if (t.kind === 'nl') continue;
      if (t.kind === 'punct' && t.text === '{') depth++;
      if (t.kind === 'punct' && t.text === '}') depth--;
      if (t.kind === 'var') toks.push(...this.expand(t, 0));
      else toks.push(t);
    }
    if (depth > 0) fail(at(first), 'a set "{" in this rule is not closed');
    this.endOfStatement();
    const text = this.src.slice(first.start, last.end).replace(/\s+/g, ' ').trim();
    return new RuleParser(toks, family, at(first), text).parse();
  }
}

/** Parses one rule's tokens. */
class RuleParser {
  private i = 0;
  private readonly r: RuleAst;
  constructor(private readonly toks: Tok[], private readonly family: Family, loc: Loc, text: string) {
    this.r = { loc, text, matches: [], seq: [], counter: false, verdict: 'none' };
    toks.push({ kind: 'eof', text: '', line: loc.line, col: loc.col + text.length, start: 0, end: 0 });
  }
  private peek(): Tok { return this.toks[this.i]; }
  private take(): Tok { return this.toks[this.i]?.kind === 'eof' ? this.toks[this.i] : this.toks[this.i++]; }

  parse(): RuleAst {
    while (this.peek().kind !== 'eof') {
      const t = this.take();
      if (this.r.verdict !== 'none' || this.terminalExt !== undefined) {
        const what = this.terminalExt ?? (this.r.verdict === 'nat' ? this.r.nat!.kind : this.r.verdict);
        fail(at(t), `"${t.text}" follows a terminal statement (${what}), which ends the rule; nothing after it has an effect`);
      }
      if (t.kind !== 'word') fail(at(t), `unexpected ${show(t)}; ${supportedRule()}`);
      const before = this.r.matches.length;
      switch (t.text) {
        case 'ip': this.ipMatch(t, 4); break;
        case 'ip6': this.ipMatch(t, 6); break;
        case 'tcp':
          if (this.peek().kind === 'word' && this.peek().text === 'flags') { this.take(); this.tcpFlags(t); } else this.portMatch(t);
          break;
        case 'udp': this.portMatch(t); break;
        case 'meta': {
          const k = this.take();
          if (k.kind !== 'word' || !['l4proto', 'iif', 'oif', 'iifname', 'oifname', 'mark'].includes(k.text)) {
            fail(at(k), `unsupported meta key ${show(k)}; supported: meta l4proto|iif|oif|iifname|oifname|mark`);
          }
          if (k.text === 'l4proto') this.protoMatch(t, 'meta l4proto');
          else if (k.text === 'mark') this.mark(t, 'meta mark');
          else this.ifMatch(t, k.text as 'iif');
          break;
        }
        case 'mark': this.mark(t, 'meta mark'); break;
        case 'ct': this.ct(t); break;
        case 'iif': case 'oif': case 'iifname': case 'oifname': this.ifMatch(t, t.text); break;
        case 'counter': {
          const n = this.peek();
          if (n.kind === 'word' && (n.text === 'packets' || n.text === 'bytes' || n.text === 'name')) fail(at(n), `"counter ${n.text}" is not supported; supported: counter`);
          this.r.counter = true;
          break;
        }
        case 'notrack': this.r.seq.push({ s: { key: 'notrack', loc: at(t) } }); break;
        case 'accept': case 'return': case 'drop': this.r.verdict = t.text; this.r.verdictLoc = at(t); break;
        case 'reject': this.reject(t); break;
        case 'snat': case 'dnat': this.nat(t, t.text); break;
        case 'masquerade': case 'redirect': this.masqRedir(t, t.text); break;
        default:
          if (this.ext(t)) break;
          if (NOT_YET.has(t.text)) fail(at(t), `"${t.text}" is not supported in this version (see docs/rules.md §6); ${supportedRule()}`);
          fail(at(t), `unknown or unsupported "${t.text}"; ${supportedRule()}`);
      }
      for (let k = before; k < this.r.matches.length; k++) this.r.seq.push({ m: this.r.matches[k] });
    }
    return this.r;
  }

  /** Keyword of a terminal extension statement already in the rule. */
  private terminalExt: string | undefined;

  /** A registered statement starting at `t` (already taken); false when none is registered for these words. */
  private ext(t: Tok): boolean {
    const words = [t.text];
    for (let k = this.i; k < this.toks.length && words.length < 3 && this.toks[k].kind === 'word'; k++) words.push(this.toks[k].text);
    const f = findStatement(words);
    if (f === undefined) return false;
    this.i += f.words - 1;
    const node = f.def.parse(makeTokens(() => this.peek(), () => this.take(), this.family), at(t));
    this.r.seq.push({ s: { key: 'ext', def: f.def, node, loc: at(t) } });
    if (f.def.terminal) this.terminalExt = f.def.keyword;
    return true;
  }

  /** `ct state|status|mark|zone ...` (and registered `ct ...` extensions). */
  private ct(t: Tok): void {
    const k = this.peek();
    if (k.kind === 'word' && !['state', 'status', 'mark', 'zone', 'table'].includes(k.text) && this.ext(t)) return;
    if (k.kind === 'word' && k.text === 'table') { this.take(); this.tableAbove(t); return; }
    if (k.kind === 'word' && ['state', 'status', 'mark', 'zone'].includes(k.text)) {
      const w = [t.text, k.text];
      const n2 = this.toks[this.i + 1];
      if (n2?.kind === 'word') w.push(n2.text);
      const f = findStatement(w);
      if (f !== undefined && f.words === 3 && this.ext(t)) return;
    }
    this.take();
    if (k.kind !== 'word' || !['state', 'status', 'mark', 'zone'].includes(k.text)) {
      const extra = registeredStatements().filter((x) => x.startsWith('ct ')).map((x) => x.slice(3));
      fail(at(k), `unsupported ct key ${show(k)}; supported: ct state, ct status, ct mark, ct mark set, ct zone set, ct table above P%${extra.map((x) => `, ct ${x}`).join('')}`);
    }
    if (k.text === 'mark') { this.mark(t, 'ct mark'); return; }
    if (k.text === 'zone') {
      const s = this.take();
      if (s.kind !== 'word' || s.text !== 'set') fail(at(s), `expected "set" after ct zone (supported: ct zone set N), got ${show(s)}`);
      const v = this.num('a zone id', 65535);
      this.r.seq.push({ s: { key: 'ct zone set', value: v, loc: at(t) } });
      return;
    }
    const names = k.text === 'state' ? CT_STATE_BITS : CT_STATUS_BITS;
    const neg = this.op();
    const what = `a ct ${k.text} name (${Object.keys(names).join(', ')})`;
    let mask = 0;
    const one = (e: Tok): number => {
      const b = names[e.text];
      if (b === undefined) fail(at(e), `unknown ct ${k.text} "${e.text}"; expected one of ${Object.keys(names).join(', ')}`);
      return b!;
    };
    const n = this.peek();
    if (n.kind === 'punct' && n.text === '{') {
      for (const b of this.values(what, one).items) mask |= b;
    } else {
      // a comma list `new,established` (nft's flag list: any of them)
      for (;;) {
        const e = this.take();
        if (e.kind !== 'word') fail(at(e), `expected ${what}, got ${show(e)}`);
        mask |= one(e);
        const c = this.peek();
        if (!(c.kind === 'punct' && c.text === ',')) break;
        this.take();
      }
    }
    this.r.matches.push({ key: k.text === 'state' ? 'ct state' : 'ct status', neg, mask, loc: at(t) });
  }

  /** `ct table above P%` (P an integer 0..100; the `%` may be written apart). */
  private tableAbove(t: Tok): void {
    const a = this.take();
    if (a.kind !== 'word' || a.text !== 'above') fail(at(a), `expected "above" after ct table (ct table above P%, the seed paper's occupancy match), got ${show(a)}`);
    const v = this.take();
    let text = v.kind === 'word' ? v.text : '';
    if (!text.endsWith('%') && this.peek().kind === 'word' && this.peek().text === '%') { this.take(); text += '%'; }
    const m = /^([0-9]{1,3})%$/.exec(text);
    if (m === null || Number(m[1]) > 100) fail(at(v), `expected a percentage 0%..100% after ct table above (e.g. 75%), got ${show(v)}`);
    this.r.matches.push({ key: 'ct table above', neg: false, pct: Number(m![1]), loc: at(t) });
  }

  /** An unsigned 32-bit number (decimal or 0x hex) no larger than `max`. */
  private num(what: string, max: number): number {
    const v = this.take();
    const x = v.kind === 'word' ? parseUint(v.text) : undefined;
    if (x === undefined || x > max) fail(at(v), `expected ${what} (0..${max}, decimal or 0x hex), got ${show(v)}`);
    return x!;
  }

  /** `meta mark|ct mark [and M] [op] VALUE|SET` or `... set VALUE|meta mark|ct mark`. */
  private mark(t: Tok, key: 'meta mark' | 'ct mark'): void {
    const n = this.peek();
    if (n.kind === 'word' && n.text === 'set') {
      this.take();
      const v = this.peek();
      let from: 'const' | 'meta mark' | 'ct mark' = 'const', value = 0;
      if (v.kind === 'word' && (v.text === 'meta' || v.text === 'ct' || v.text === 'mark')) {
        this.take();
        if (v.text !== 'mark') {
          const m2 = this.take();
          if (m2.kind !== 'word' || m2.text !== 'mark') fail(at(m2), `expected "mark" after ${v.text} (${key} set ${v.text} mark), got ${show(m2)}`);
          from = v.text === 'meta' ? 'meta mark' : 'ct mark';
        } else from = 'meta mark';
      } else value = this.num('a mark value', 0xffffffff);
      this.r.seq.push({ s: { key: key === 'meta mark' ? 'meta mark set' : 'ct mark set', from, value, loc: at(t) } });
      return;
    }
    let and = -1;
    if (n.kind === 'word' && n.text === 'and') { this.take(); and = this.num('a mask', 0xffffffff) | 0; }
    else if (n.kind === 'punct' && n.text === '&') { this.take(); and = this.num('a mask', 0xffffffff) | 0; }
    const neg = this.op();
    const v = this.values('a mark value, range or set', (e) => markElem(e));
    this.r.matches.push({ key, neg, and, marks: merge(v.items), loc: at(t) });
  }

  /**
   * `tcp flags`: `F[,F]` (any of them set), `== F|F` / `!= F|F` (exactly), `{ F, F|F }` (exactly one
   * of), `& (F|F) == F` / `& (F|F) != F`, `F / F,F` (masked equality). nftables evaluate.c gives
   * an implicit flag list the meaning `(flags & list) != 0`.
   */
  private tcpFlags(t: Tok): void {
    const loc = at(t);
    const n = this.peek();
    const push = (op: 'any' | 'eq' | 'ne' | 'set' | 'mask' | 'masknot', mask: number, value: number, values: number[] = []): void => {
      this.r.matches.push({ key: 'tcp flags', op, mask, value, values, neg: op === 'ne' || op === 'masknot', loc });
    };
    if (n.kind === 'punct' && n.text === '&') {
      this.take();
      const mask = this.flagExpr(true);
      const o = this.take();
      if (!(o.kind === 'punct' && (o.text === '==' || o.text === '!=')) && !(o.kind === 'word' && (o.text === 'eq' || o.text === 'ne'))) {
        fail(at(o), `expected "==" or "!=" after tcp flags & MASK, got ${show(o)}`);
      }
      const value = this.flagExpr(true);
      push(o.text === '!=' || o.text === 'ne' ? 'masknot' : 'mask', mask, value);
      return;
    }
    const explicitOp = (n.kind === 'punct' && (n.text === '==' || n.text === '!=')) || (n.kind === 'word' && (n.text === 'eq' || n.text === 'ne'));
    const neg = this.op();
    const s = this.peek();
    if (s.kind === 'punct' && s.text === '{') {
      // a set of exact combinations: { syn, syn|ack }
      this.take();
      const values: number[] = [];
      for (;;) {
        const e = this.peek();
        if (e.kind === 'punct' && e.text === '}') { this.take(); if (values.length === 0) fail(at(e), 'empty set; expected TCP flag combinations'); break; }
        if (e.kind === 'eof') fail(at(s), 'set not closed with "}"');
        values.push(this.flagExpr(false));
        const c = this.take();
        if (c.kind === 'punct' && c.text === '}') break;
        if (!(c.kind === 'punct' && c.text === ',')) fail(at(c), `expected "," or "}" in the set, got ${show(c)}`);
      }
      if (neg) fail(at(s), 'tcp flags != { ... } is not supported; write the flags a packet must not have with & MASK != VALUE');
      push('set', 0xff, 0, values);
      return;
    }
    // a flag expression, maybe followed by `/ MASK`
    const value = this.flagExpr(!explicitOp, true);
    const sl = this.peek();
    if (sl.kind === 'word' && sl.text === '/') {
      this.take();
      const mask = this.flagExpr(true, true);
      if (explicitOp && neg) push('masknot', mask, value); else push('mask', mask, value);
      return;
    }
    if (this.slashMask !== undefined) {
      const mask = this.slashMask;
      this.slashMask = undefined;
      if (explicitOp && neg) push('masknot', mask, value); else push('mask', mask, value);
      return;
    }
    if (explicitOp) push(neg ? 'ne' : 'eq', 0xff, value);
    else push('any', value, 0);
  }

  /** Mask after a `/` written without spaces (`syn/syn,ack`), read by flagExpr. */
  private slashMask: number | undefined;

  /** Flags joined by `|` (optionally in parentheses), or by `,` when `commas`. */
  private flagExpr(commas: boolean, allowSlash = false): number {
    let v = 0;
    let paren = false;
    if (this.peek().kind === 'punct' && this.peek().text === '(') { this.take(); paren = true; }
    for (;;) {
      const e = this.take();
      if (e.kind !== 'word') fail(at(e), `expected a TCP flag (${Object.keys(TCP_FLAG_BITS).join(', ')}), got ${show(e)}`);
      let text = e.text;
      const slash = allowSlash ? text.indexOf('/') : -1;
      if (slash > 0) {
        // `syn/syn,ack` lexes as `syn/syn` `,` `ack`
        v |= flagWord({ ...e, text: text.slice(0, slash) });
        let m = flagWord({ ...e, text: text.slice(slash + 1), col: e.col + slash + 1 });
        while (this.peek().kind === 'punct' && this.peek().text === ',') { this.take(); m |= flagWord(this.take()); }
        this.slashMask = m;
        return v;
      }
      v |= flagWord({ ...e, text });
      const c = this.peek();
      if (c.kind === 'punct' && (c.text === '|' || (commas && c.text === ','))) { this.take(); continue; }
      break;
    }
    if (paren) {
      const c = this.take();
      if (!(c.kind === 'punct' && c.text === ')')) fail(at(c), `expected ")" closing the flag list, got ${show(c)}`);
    }
    return v;
  }

  /** `reject [with tcp reset | with icmp [type] CODE | with icmpv6 [type] CODE | with icmpx [type] CODE]`. */
  private reject(t: Tok): void {
    this.r.verdict = 'reject';
    this.r.verdictLoc = at(t);
    const w = this.peek();
    if (!(w.kind === 'word' && w.text === 'with')) { this.r.reject = { kind: 'default', code: '', loc: at(t) }; return; }
    this.take();
    const k = this.take();
    if (k.kind === 'word' && k.text === 'tcp') {
      const r = this.take();
      if (r.kind !== 'word' || r.text !== 'reset') fail(at(r), `expected "reset" after reject with tcp, got ${show(r)}`);
      this.r.reject = { kind: 'tcp-reset', code: 'reset', loc: at(t) };
      return;
    }
    if (k.kind !== 'word' || !['icmp', 'icmpv6', 'icmpx'].includes(k.text)) fail(at(k), `expected tcp reset, icmp, icmpv6 or icmpx after reject with, got ${show(k)}`);
    if (this.peek().kind === 'word' && this.peek().text === 'type') this.take();
    const c = this.take();
    const codes = REJECT_CODES[k.text]!;
    if (c.kind !== 'word' || !codes.includes(c.text)) fail(at(c), `unknown ${k.text} reject type ${show(c)}; supported: ${codes.join(', ')}`);
    this.r.reject = { kind: k.text as 'icmp', code: c.text, loc: at(t) };
  }

  /** An optional relational operator: implicit or `==` (equal), `!=` (not equal). */
  private op(): boolean {
    const t = this.peek();
    if (t.kind === 'punct' && (t.text === '!=' || t.text === '==')) { this.take(); return t.text === '!='; }
    if (t.kind === 'word' && (t.text === 'eq' || t.text === 'ne')) { this.take(); return t.text === 'ne'; }
    if (t.kind === 'word' && /^(<|>|lt|gt|le|ge)/.test(t.text)) fail(at(t), `operator "${t.text}" is not supported; supported: ==, != (or a range a-b)`);
    return false;
  }

  /** The right-hand side: one element (word or string), or an anonymous set `{ a, b, ... }`; each element parsed by `elem`. */
  private values<T>(what: string, elem: (t: Tok) => T): { items: T[]; loc: Loc } {
    const t = this.take();
    if (t.kind === 'punct' && t.text === '{') {
      const items: T[] = [];
      for (;;) {
        const e = this.take();
        if (e.kind === 'punct' && e.text === '}') { if (items.length === 0) fail(at(e), `empty set; expected ${what}`); break; }
        if (e.kind === 'eof') fail(at(t), 'set not closed with "}"');
        if (e.kind === 'punct' && e.text === '{') fail(at(e), 'nested sets are not supported');
        if (e.kind !== 'word' && e.kind !== 'str') fail(at(e), `expected ${what} in the set, got ${show(e)}`);
        items.push(elem(e));
        const s = this.take();
        if (s.kind === 'punct' && s.text === '}') break;
        if (!(s.kind === 'punct' && s.text === ',')) fail(at(s), `expected "," or "}" in the set, got ${show(s)}`);
        const n = this.peek();
        if (n.kind === 'punct' && n.text === '}') { this.take(); break; } // trailing comma
      }
      return { items, loc: at(t) };
    }
    if (t.kind !== 'word' && t.kind !== 'str') fail(at(t), `expected ${what}, got ${show(t)}`);
    return { items: [elem(t)], loc: at(t) };
  }

  private ipMatch(t: Tok, l3: 4 | 6): void {
    const fam = l3 === 4 ? 'ip' : 'ip6';
    if (this.family !== 'inet' && this.family !== fam) fail(at(t), `"${fam}" matches do not apply in a table of family ${this.family} (conflicting protocols)`);
    const k = this.take();
    const keys = l3 === 4 ? ['saddr', 'daddr', 'protocol'] : ['saddr', 'daddr'];
    if (k.kind !== 'word' || !keys.includes(k.text)) fail(at(k), `unsupported ${fam} field ${show(k)}; supported: ${keys.map((x) => `${fam} ${x}`).join(', ')}`);
    if (k.text === 'protocol') { this.protoMatch(t, 'ip protocol'); return; }
    const neg = this.op();
    if (l3 === 4) {
      const v = this.values('an IPv4 address, prefix or range', (e) => addrElem4(e));
      this.r.matches.push({ key: `ip ${k.text}` as 'ip saddr', neg, v4: merge(v.items), loc: at(t) });
    } else {
      const v = this.values('an IPv6 address, prefix or range', (e) => addrElem6(e));
      this.r.matches.push({ key: `ip6 ${k.text}` as 'ip6 saddr', neg, v6: merge6(v.items), loc: at(t) });
    }
  }

  private portMatch(t: Tok): void {
    const k = this.take();
    if (k.kind !== 'word' || (k.text !== 'sport' && k.text !== 'dport')) {
      fail(at(k), `unsupported ${t.text} field ${show(k)}; supported: ${t.text} sport, ${t.text} dport${k.text === 'flags' ? ' (tcp flags comes with the ruleset issue)' : ''}`);
    }
    const neg = this.op();
    const v = this.values('a port, port range or set of ports', (e) => portElem(e, 0));
    this.r.matches.push({ key: `${t.text} ${k.text}` as 'tcp dport', neg, ports: merge(v.items), loc: at(t) });
  }

  private protoMatch(t: Tok, key: 'meta l4proto' | 'ip protocol'): void {
    const neg = this.op();
    const v = this.values('a protocol name (tcp, udp, icmp, ...) or number 0..255', (e) => protoElem(e));
    this.r.matches.push({ key, neg, protos: merge(v.items), loc: at(t) });
  }

  private ifMatch(t: Tok, key: 'iif' | 'oif' | 'iifname' | 'oifname'): void {
    const neg = this.op();
    const byName = key === 'iifname' || key === 'oifname';
    const v = this.values('an interface name', (e): NamePattern => {
      const wildcard = e.text.endsWith('*');
      const name = wildcard ? e.text.slice(0, -1) : e.text;
      const q = e.kind === 'str' ? 1 : 0;
      if (!byName && wildcard) fail(at(e), `${key} takes an existing interface; use ${key}name "${e.text}" for a wildcard`);
      if (name.includes('*')) fail(at(e, q + name.indexOf('*')), 'a wildcard "*" may only end an interface name');
      if (name.length > 15 || (!wildcard && name.length === 0) || !/^[A-Za-z0-9_.@-]*$/.test(name)) fail(at(e), `"${e.text}" is not an interface name (at most 15 characters)`);
      return { name, wildcard, loc: at(e) };
    });
    this.r.matches.push({ key, neg, names: v.items, loc: at(t) });
  }

  private nat(t: Tok, kind: 'snat' | 'dnat'): void {
    const n: NatAst = { kind, loc: at(t), family: undefined, explicitFamily: false, flags: 0 };
    let w = this.peek();
    if (w.kind === 'word' && (w.text === 'ip' || w.text === 'ip6')) {
      this.take();
      if (this.family !== 'inet' && this.family !== w.text) fail(at(w), `${kind} ${w.text} in a table of family ${this.family}`);
      n.family = w.text; n.explicitFamily = true;
      w = this.peek();
    }
    if (w.kind === 'word' && w.text === 'to') { this.take(); w = this.peek(); }
    if (w.kind === 'word' && (w.text === 'prefix' || w.text === 'netmap')) fail(at(w), `"${kind} ... ${w.text}" is not supported; supported: ${kind} [ip|ip6] to ADDR[-ADDR][:PORT[-PORT]] | :PORT[-PORT]`);
    if (w.kind !== 'word') fail(at(w), `expected an address or :PORT after ${kind} to, got ${show(w)}`);
    if (w.text === 'numgen') { this.numgen(n, w); return; }
    this.take();
    let text = w.text;
    // `ADDR :PORT` written with a space, or a variable followed by `:PORT`
    const nx = this.peek();
    if (nx.kind === 'word' && nx.text.startsWith(':') && !text.startsWith(':') && !text.includes(']:') && !/^[0-9.\-]+:/.test(text)) {
      this.take();
      this.natAddrPorts(n, w, text);
      this.natPorts(n, nx, nx.text.slice(1), 1);
    } else this.natAddrPorts(n, w, text);
    this.flags(n);
    if (n.addr && n.family === undefined) n.family = n.addr.l3 === 4 ? (this.family === 'ip6' ? fail(n.addr.loc, 'an IPv4 address in a table of family ip6') : 'ip') : (this.family === 'ip' ? fail(n.addr.loc, 'an IPv6 address in a table of family ip') : 'ip6');
    if (n.addr && n.explicitFamily && ((n.family === 'ip') !== (n.addr.l3 === 4))) fail(n.addr.loc, `the address does not belong to family ${n.family}`);
    this.r.nat = n;
    this.r.verdict = 'nat';
  }

  /**
   * `numgen random|inc mod N [offset M] map { K : ADDR, ... }` (nft_numgen.c feeding a map lookup,
   * nft_lookup.c): every value the generator can produce must have an address (the kernel lets a
   * missing key end the rule without NAT; ctsim refuses such maps).
   */
  private numgen(n: NatAst, w: Tok): void {
    this.take();
    const mode = this.take();
    if (mode.kind !== 'word' || (mode.text !== 'random' && mode.text !== 'inc')) fail(at(mode), `expected "random" or "inc" after numgen, got ${show(mode)}`);
    const int = (what: string, max: number): number => {
      const v = this.take();
      if (v.kind !== 'word' || !/^[0-9]+$/.test(v.text) || Number(v.text) > max) fail(at(v), `expected ${what} (an integer 0..${max}), got ${show(v)}`);
      return Number(v.text);
    };
    const kw = (word: string): Tok => {
      const k = this.take();
      if (k.kind !== 'word' || k.text !== word) fail(at(k), `expected "${word}", got ${show(k)}`);
      return k;
    };
    const modTok = kw('mod');
    const mod = int('the modulus', 65536);
    if (mod === 0) fail(at(modTok), 'numgen mod 0: the modulus must be at least 1');
    let offset = 0;
    if (this.peek().kind === 'word' && this.peek().text === 'offset') { this.take(); offset = int('the offset', 2 ** 32 - mod); }
    kw('map');
    const open = this.take();
    if (!(open.kind === 'punct' && open.text === '{')) fail(at(open), `expected "{" after map (an anonymous map such as { 0 : 10.0.0.1, 1 : 10.0.0.2 }), got ${show(open)}`);
    const addrs: ({ l3: 4; a: number } | { l3: 6; a6: Int32Array })[] = new Array(mod);
    for (;;) {
      const parts: Tok[] = [];
      let e = this.take();
      while (!(e.kind === 'punct' && (e.text === ',' || e.text === '}')) && e.kind !== 'eof') { parts.push(e); e = this.take(); }
      if (e.kind === 'eof') fail(at(open), 'map not closed with "}"');
      if (parts.length === 0) { if (e.text === '}') break; fail(at(e), 'expected KEY : ADDRESS in the map'); }
      const text = parts.map((p) => p.text).join('');
      const c = text.indexOf(':');
      if (c <= 0 || !/^[0-9]+$/.test(text.slice(0, c))) fail(at(parts[0]), `expected KEY : ADDRESS in the map (KEY a number), got "${text}"`);
      const key = Number(text.slice(0, c));
      if (key < offset || key >= offset + mod) fail(at(parts[0]), `map key ${key} is never generated by numgen ${mode.text} mod ${mod}${offset ? ` offset ${offset}` : ''} (values ${offset}..${offset + mod - 1})`);
      if (addrs[key - offset] !== undefined) fail(at(parts[0]), `map key ${key} is given twice`);
      const last = parts[parts.length - 1];
      const r = addrRange(text.slice(c + 1), last, 0);
      if (r.l3 === 4 ? r.lo !== r.hi : cmp6(r.lo6, 0, r.hi6, 0) !== 0) fail(at(last), 'a numgen map value is one address');
      addrs[key - offset] = r.l3 === 4 ? { l3: 4, a: r.lo | 0 } : { l3: 6, a6: r.lo6 };
      if (e.text === '}') break;
    }
    for (let k = 0; k < mod; k++) {
      if (addrs[k] === undefined) fail(at(open), `map has no address for value ${k + offset}: every value numgen ${mode.text} mod ${mod} generates needs one (a missing key makes the kernel skip the NAT)`);
    }
    const l3 = addrs[0].l3;
    if (addrs.some((x) => x.l3 !== l3)) fail(at(open), 'the map mixes IPv4 and IPv6 addresses');
    n.numgen = { mode: mode.text as 'random' | 'inc', mod, offset, addrs, loc: at(w) };
    n.addr = addrs[0].l3 === 4 ? { l3: 4, min: addrs[0].a >>> 0, max: addrs[0].a >>> 0, loc: at(w) } : { l3: 6, min6: addrs[0].a6, max6: addrs[0].a6, loc: at(w) };
    if (this.peek().kind === 'word' && this.peek().text.startsWith(':')) fail(at(this.peek()), 'a port after a numgen map is not supported');
    this.flags(n);
    if (n.family === undefined) n.family = l3 === 4 ? (this.family === 'ip6' ? fail(at(w), 'an IPv4 address in a table of family ip6') : 'ip') : (this.family === 'ip' ? fail(at(w), 'an IPv6 address in a table of family ip') : 'ip6');
    this.r.nat = n;
    this.r.verdict = 'nat';
  }

  /** `ADDR[-ADDR][:PORT[-PORT]]`, `[V6]:PORT`, `V6[-V6]`, `:PORT[-PORT]` from one word. */
  private natAddrPorts(n: NatAst, w: Tok, text: string): void {
    if (text.startsWith(':')) { this.natPorts(n, w, text.slice(1), 1); return; }
    let addrText = text, portText: string | undefined, portOff = 0;
    if (text.startsWith('[')) {
      const close = text.lastIndexOf(']');
      if (close < 0) fail(at(w), `"${text}": "[" without "]"; write an IPv6 address with a port as [2001:db8::1]:80`);
      const rest = text.slice(close + 1);
      if (rest !== '' && !rest.startsWith(':')) fail(at(w, close + 1), `expected ":PORT" after "]", got "${rest}"`);
      addrText = text.slice(0, close + 1).replace(/\[|\]/g, '');
      if (rest !== '') { portText = rest.slice(1); portOff = close + 2; }
    } else if (!text.includes('::') && (text.match(/:/g) ?? []).length === 1) {
      const c = text.indexOf(':');
      addrText = text.slice(0, c); portText = text.slice(c + 1); portOff = c + 1;
    }
    const a = addrRange(addrText, w, text.startsWith('[') ? 1 : 0);
    n.addr = a.l3 === 4 ? { l3: 4, min: a.lo, max: a.hi, loc: at(w) } : { l3: 6, min6: a.lo6, max6: a.hi6, loc: at(w) };
    if (portText !== undefined) this.natPorts(n, w, portText, portOff);
  }

  private natPorts(n: NatAst, w: Tok, text: string, off: number): void {
    if (text === '') fail(at(w, off), 'expected a port or port range after ":"');
    const p = portElem({ ...w, text }, off);
    if (p.lo === 0) fail(at(w, off), 'NAT ports are 1..65535');
    n.ports = { min: p.lo, max: p.hi, loc: at(w, off) };
  }

  private flags(n: NatAst): void {
    for (let first = true; ; first = false) {
      const t = this.peek();
      if (!first) {
        if (!(t.kind === 'punct' && t.text === ',')) {
          if (t.kind === 'word' && FLAG[t.text] !== undefined) fail(at(t), `expected "," between NAT flags (e.g. random,persistent), got "${t.text}"`);
          return;
        }
        this.take();
      }
      const f = this.peek();
      if (f.kind !== 'word' || FLAG[f.text] === undefined) {
        if (first) return;
        fail(at(f), `expected a NAT flag (random, fully-random, persistent) after ",", got ${show(f)}`);
      }
      this.take();
      n.flags |= FLAG[f.text];
    }
  }

  private masqRedir(t: Tok, kind: 'masquerade' | 'redirect'): void {
    const n: NatAst = { kind, loc: at(t), family: this.family === 'inet' ? undefined : this.family, explicitFamily: false, flags: 0 };
    const w = this.peek();
    if (w.kind === 'word' && w.text === 'to') {
      this.take();
      const p = this.take();
      if (p.kind !== 'word') fail(at(p), `expected ${kind === 'masquerade' ? ':PORT[-PORT]' : '[:]PORT[-PORT]'} after ${kind} to, got ${show(p)}`);
      if (p.text.startsWith(':')) this.natPorts(n, p, p.text.slice(1), 1);
      else if (kind === 'redirect') this.natPorts(n, p, p.text, 0);
      else fail(at(p), `masquerade takes ports only ("masquerade to :1024-65535"); the address is the outgoing interface's, got "${p.text}"`);
    }
    this.flags(n);
    this.r.nat = n;
    this.r.verdict = 'nat';
  }
}

/** Reject types (nftables: icmp_code_type, icmpv6_code_type, icmpx_code_type). */
export const REJECT_CODES: Readonly<Record<string, readonly string[]>> = {
  icmp: ['net-unreachable', 'host-unreachable', 'prot-unreachable', 'port-unreachable', 'net-prohibited', 'host-prohibited', 'admin-prohibited', 'frag-needed'],
  icmpv6: ['no-route', 'admin-prohibited', 'addr-unreachable', 'port-unreachable', 'policy-fail', 'reject-route'],
  icmpx: ['no-route', 'port-unreachable', 'host-unreachable', 'admin-prohibited'],
};

/** An unsigned 32-bit integer, decimal or 0x hex; undefined otherwise. */
export function parseUint(text: string): number | undefined {
  if (/^[0-9]+$/.test(text)) { const n = Number(text); return n <= 0xffffffff ? n : undefined; }
  if (/^0x[0-9a-fA-F]{1,8}$/.test(text)) return parseInt(text.slice(2), 16);
  return undefined;
}

/** A mark value or range `a-b` (unsigned 32-bit). */
function markElem(t: Tok): Ival {
  const dash = t.text.indexOf('-', 1);
  const a = parseUint(dash < 0 ? t.text : t.text.slice(0, dash));
  if (a === undefined) fail(at(t), `"${t.text}" is not a mark (expected 0..4294967295, decimal or 0x hex, or a range a-b)`);
  if (dash < 0) return { lo: a!, hi: a! };
  const b = parseUint(t.text.slice(dash + 1));
  if (b === undefined) fail(at(t, dash + 1), `"${t.text.slice(dash + 1)}" is not a mark`);
  if (a! > b!) fail(at(t), `mark range ${t.text} has its start after its end`);
  return { lo: a!, hi: b! };
}

/** One TCP flag name, or a `|`-joined word such a set element may be (`syn|ack` lexes as three tokens; sets give one word at a time). */
function flagWord(t: Tok): number {
  const b = TCP_FLAG_BITS[t.text];
  if (b === undefined) fail(at(t), `unknown TCP flag "${t.text}"; expected one of ${Object.keys(TCP_FLAG_BITS).join(', ')}`);
  return b!;
}

/** RuleTokens over a token source (the extension point's stream). */
function makeTokens(peek: () => Tok, take: () => Tok, family: Family): RuleTokens {
  return {
    peek, take, family,
    at: (t: Tok, k = 0) => at(t, k),
    fail: (loc, msg) => fail(loc, msg),
    expect(word: string): Tok {
      const t = take();
      if (t.kind !== 'word' || t.text !== word) fail(at(t), `expected "${word}", got ${show(t)}`);
      return t;
    },
    int(what: string, max: number): number {
      const t = take();
      const x = t.kind === 'word' ? parseUint(t.text) : undefined;
      if (x === undefined || x > max) fail(at(t), `expected ${what} (an integer 0..${max}), got ${show(t)}`);
      return x!;
    },
  };
}

const FLAG: Readonly<Record<string, number>> = {
  random: NF_NAT_RANGE_PROTO_RANDOM,
  'fully-random': NF_NAT_RANGE_PROTO_RANDOM_FULLY,
  persistent: NF_NAT_RANGE_PERSISTENT,
};

interface Ival { lo: number; hi: number }
interface Ival6 { lo6: Int32Array; hi6: Int32Array }

/** One IPv4 element: address, prefix (host bits masked, as nft does) or range. */
function addrElem4(t: Tok): Ival {
  const r = addrRange(t.text, t, t.kind === 'str' ? 1 : 0);
  if (r.l3 !== 4) fail(at(t), `"${t.text}" is an IPv6 value; ip saddr/daddr take IPv4 (use ip6 saddr/daddr)`);
  return r as Ival;
}

function addrElem6(t: Tok): Ival6 {
  const r = addrRange(t.text, t, t.kind === 'str' ? 1 : 0);
  if (r.l3 !== 6) fail(at(t), `"${t.text}" is an IPv4 value; ip6 saddr/daddr take IPv6 (use ip saddr/daddr)`);
  return r as Ival6;
}

type AddrRange = ({ l3: 4 } & Ival) | ({ l3: 6 } & Ival6);

/** `A`, `A/len`, `A-B` for either family; the column offset `q` accounts for a quote or bracket. */
function addrRange(text: string, t: Tok, q: number): AddrRange {
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const a = text.slice(0, slash), lenText = text.slice(slash + 1);
    const v4 = ipv4(a);
    const v6 = v4 === undefined ? ipv6Words(a) : undefined;
    if (v4 === undefined && v6 === undefined) fail(at(t, q), `"${a}" is not an IPv4 or IPv6 address`);
    const max = v4 !== undefined ? 32 : 128;
    if (!/^[0-9]{1,3}$/.test(lenText) || Number(lenText) > max) fail(at(t, q + slash + 1), `bad prefix length "${lenText}" (expected 0..${max})`);
    const len = Number(lenText);
    if (v4 !== undefined) { const m = mask4(len); return { l3: 4, lo: (v4 & m) >>> 0, hi: ((v4 & m) | ~m) >>> 0 }; }
    const m = mask6(len);
    const lo6 = new Int32Array(4), hi6 = new Int32Array(4);
    for (let k = 0; k < 4; k++) { lo6[k] = v6![k] & m[k]; hi6[k] = v6![k] | ~m[k]; }
    return { l3: 6, lo6, hi6 };
  }
  const dash = text.indexOf('-');
  const aText = dash < 0 ? text : text.slice(0, dash);
  const a4 = ipv4(aText);
  const a6 = a4 === undefined ? ipv6Words(aText) : undefined;
  if (a4 === undefined && a6 === undefined) {
    fail(at(t, q), `"${aText}" is not an ${/^[0-9.]+$/.test(aText) ? 'IPv4' : 'IPv4 or IPv6'} address${/^[0-9.]+$/.test(aText) ? ' (four numbers 0..255 separated by dots)' : ''}`);
  }
  if (dash < 0) return a4 !== undefined ? { l3: 4, lo: a4 >>> 0, hi: a4 >>> 0 } : { l3: 6, lo6: a6!, hi6: a6! };
  const bText = text.slice(dash + 1);
  const bLoc = at(t, q + dash + 1);
  if (a4 !== undefined) {
    const b4 = ipv4(bText);
    if (b4 === undefined) fail(bLoc, `"${bText}" is not an IPv4 address (the end of the range ${aText}-...)`);
    if (cmp4(a4, b4!) > 0) fail(at(t, q), `address range ${aText}-${bText} has its start after its end`);
    return { l3: 4, lo: a4 >>> 0, hi: b4! >>> 0 };
  }
  const b6 = ipv6Words(bText);
  if (b6 === undefined) fail(bLoc, `"${bText}" is not an IPv6 address (the end of the range ${aText}-...)`);
  if (cmp6(a6!, 0, b6!, 0) > 0) fail(at(t, q), `address range ${aText}-${bText} has its start after its end`);
  return { l3: 6, lo6: a6!, hi6: b6! };
}

/** A port, a service name from the subset's list, or a range `a-b` (a ≤ b). `off` is the column offset of `t.text` in the token. */
function portElem(t: Tok, off: number): Ival {
  const one = (s: string, k: number): number => {
    if (/^[0-9]+$/.test(s)) {
      const n = Number(s);
      if (n > 65535) fail(at(t, off + k), `port ${s} is out of range (0..65535)`);
      return n;
    }
    const v = SERVICES[s];
    if (v === undefined) fail(at(t, off + k), `"${s}" is not a port (expected a number 0..65535 or one of ${Object.keys(SERVICES).join(', ')})`);
    return v!;
  };
  const dash = t.text.indexOf('-', 1);
  if (dash < 0 || SERVICES[t.text] !== undefined) { const v = one(t.text, 0); return { lo: v, hi: v }; }
  const lo = one(t.text.slice(0, dash), 0), hi = one(t.text.slice(dash + 1), dash + 1);
  if (lo > hi) fail(at(t, off), `port range ${t.text} has min ${lo} > max ${hi}`);
  return { lo, hi };
}

function protoElem(t: Tok): Ival {
  const one = (s: string, k: number): number => {
    if (/^[0-9]+$/.test(s)) {
      const n = Number(s);
      if (n > 255) fail(at(t, k), `protocol ${s} is out of range (0..255)`);
      return n;
    }
    const v = PROTOCOLS[s];
    if (v === undefined) fail(at(t, k), `unknown protocol "${s}"; expected a number 0..255 or one of ${Object.keys(PROTOCOLS).join(', ')}`);
    return v!;
  };
  const dash = t.text.indexOf('-', 1);
  if (dash < 0 || PROTOCOLS[t.text] !== undefined) { const v = one(t.text, 0); return { lo: v, hi: v }; }
  const lo = one(t.text.slice(0, dash), 0), hi = one(t.text.slice(dash + 1), dash + 1);
  if (lo > hi) fail(at(t), `protocol range ${t.text} has its start after its end`);
  return { lo, hi };
}

/** Sort and merge overlapping or adjacent intervals (an anonymous interval set, as nft's auto-merge builds it). */
function merge(items: Ival[]): Intervals {
  const s = [...items].sort((a, b) => a.lo - b.lo);
  const lo: number[] = [], hi: number[] = [];
  for (const x of s) {
    const k = lo.length - 1;
    if (k >= 0 && x.lo <= hi[k] + 1) hi[k] = Math.max(hi[k], x.hi);
    else { lo.push(x.lo); hi.push(x.hi); }
  }
  return { lo, hi };
}

function merge6(items: Ival6[]): Intervals6 {
  const s = [...items].sort((a, b) => cmp6(a.lo6, 0, b.lo6, 0));
  const lo: Int32Array[] = [], hi: Int32Array[] = [];
  for (const x of s) {
    const k = lo.length - 1;
    if (k >= 0 && cmp6(x.lo6, 0, hi[k], 0) <= 0) { if (cmp6(x.hi6, 0, hi[k], 0) > 0) hi[k] = x.hi6; } else { lo.push(x.lo6); hi.push(x.hi6); }
  }
  return { lo, hi };
}

/** Text of an IPv4 interval list (for messages and tests). */
export function formatIntervals4(v: Intervals): string {
  return v.lo.map((l, i) => (l === v.hi[i] ? formatIPv4(l) : `${formatIPv4(l)}-${formatIPv4(v.hi[i])}`)).join(', ');
}
