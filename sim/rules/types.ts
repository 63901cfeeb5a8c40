/**
 * The contract between the rule language (sim/rules/) and its users (the NAT core, the packet
 * path, the scenario loader and replay). Everything here is data and interfaces; the parser
 * lives in parse.ts, the compiled matcher in ruleset.ts, the route table in routes.ts.
 *
 * Where the data comes from:
 *  - Scenarios: `scenario.ruleset` (a loaded `Ruleset`, or undefined when the scenario has no
 *    `ruleset:`) and `scenario.routes` (a `Routes`, or undefined when it has no `routes:`).
 *  - Replay: `ReplayOptions.ruleset` / `ReplayOptions.routes`, built from `--ruleset FILE` and
 *    `--route PREFIX=IFNAME[@ADDR]`.
 *  - Programmatic: `loadRuleset(text, file, routes)` (index.ts) and `buildRoutes(entries)`.
 *
 * Addresses: IPv4 addresses are int32 holding the wire value's bits (as sim/conntrack/addr.ts:
 * `10.0.0.1` → 0x0a000001); ranges are compared unsigned (`x >>> 0`). IPv6 addresses in a `Pkt`
 * are interned ids (see AddrInterner); the rule language keeps IPv6 constants in their 16-byte
 * form and resolves a packet's id through the interner bound with `Ruleset.bindInterner()` /
 * `Routes.bindInterner()`.
 *
 * Hooks and priorities follow the kernel (nf_nat_proto.c nf_nat_ipv4_ops[], nft chain priorities):
 * a `type nat` chain at prerouting/output does DST manip, at postrouting/input SRC manip
 * (nft_nat.c: nft_nat_validate()).
 *
 * ---------------------------------------------------------------------------------------------
 * EXTENSION POINT: adding a statement or match without touching the evaluator (docs/rules.md §8)
 * ---------------------------------------------------------------------------------------------
 * A rule compiles to an ordered array of `RuleExpr` objects, one per match or statement, in the
 * order written (as nft's expressions run). The evaluator (ruleset.ts) calls `expr.eval(ctx)` on
 * each in turn: `true` = go on, `false` = stop this rule (NFT_BREAK: the next rule runs). An
 * expression that decides the packet's fate (synproxy consuming a SYN, a hotdrop) sets
 * `ctx.verdict` to a terminal `RULE_VERDICT_*` code and returns false: the evaluator then ends the
 * whole hook with that verdict (drop/reject/stolen are counted in `Ruleset.drops` for the rule).
 *
 * To add a keyword (`limit rate ...`, `ct count over N`, `add @set { ... }`, `ct timeout set
 * "name"`, `synproxy ...`), call `registerStatement(def)` (registry.ts, re-exported by index.ts)
 * from a module that is imported before rulesets are loaded (e.g. imported by sim/rules/index.ts
 * or by the module that implements it):
 *   - `def.keyword`: the word(s) that introduce it, e.g. 'limit', 'synproxy', 'add', 'meter',
 *     'ct count', 'ct timeout set' (a two/three-word keyword starting with `ct` is tried before
 *     the built-in `ct` matches; the longest registered keyword wins).
 *   - `def.parse(p, loc)`: reads the rest of the statement from the token stream `p`
 *     (`RuleTokens`: peek/take/fail/int/expect/…), and returns an opaque node (anything). It may
 *     not read past the statement; the rule's remaining words stay for later statements.
 *   - `def.compile(node, env)`: returns the `RuleExpr` for one run. It is called again for every
 *     `Ruleset.clone()` (one per simulation run), so state kept in the returned object (token
 *     buckets, conncount lists) is per run and starts fresh. `env` names the chain (hook, type,
 *     priority, family), the rule id, the ruleset's table objects (`env.object(kind, name)`), and
 *     `env.fail(loc, msg)` for load-time errors (exit 2 with file:line:col).
 *   - `def.hooks` / `def.chainTypes`: where it may appear (checked at load, as nft_*_validate()).
 *   - `def.terminal`: true when nothing may follow it in the rule (synproxy).
 *   - `RuleExpr.bind?(ct)`: called once per run when the ruleset is attached to a conntrack
 *     instance (register timeout policies with `ct.addTimeoutPolicy`, size per-slot arrays).
 * Table-level objects (`ct timeout NAME { ... }`, `set NAME { ... }` for dynamic sets) use
 * `registerTableObject(def)`: `def.keyword` ('ct timeout', 'set'), `def.parse(p, loc, name)`
 * returning an opaque object stored under (keyword, name) and reachable from `env.object()`.
 *
 * The evaluation context (`RuleEvalCtx`) is one object per ruleset, reused for every packet:
 * expressions must not keep references to `ctx.pkt` across packets and must not allocate.
 */
import type { AddrInterner } from '../conntrack/addr.js';
import type { Pkt } from '../conntrack/packet.js';
import type { Conntrack } from '../conntrack/conntrack.js';
import type { Tok } from './lexer.js';

// ---- nf_nat_range2.flags (include/uapi/linux/netfilter/nf_nat.h) ----
export const NF_NAT_RANGE_MAP_IPS = 1;
export const NF_NAT_RANGE_PROTO_SPECIFIED = 2;
export const NF_NAT_RANGE_PROTO_RANDOM = 4;
export const NF_NAT_RANGE_PERSISTENT = 8;
export const NF_NAT_RANGE_PROTO_RANDOM_FULLY = 16;
export const NF_NAT_RANGE_PROTO_OFFSET = 32;
export const NF_NAT_RANGE_NETMAP = 64;
/** NF_NAT_RANGE_PROTO_RANDOM | NF_NAT_RANGE_PROTO_RANDOM_FULLY (the core tests only this union). */
export const NF_NAT_RANGE_PROTO_RANDOM_ALL = NF_NAT_RANGE_PROTO_RANDOM | NF_NAT_RANGE_PROTO_RANDOM_FULLY;

/** Netfilter hooks (NF_INET_*), by their nft names. */
export type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
export const HOOKS: readonly Hook[] = ['prerouting', 'input', 'forward', 'output', 'postrouting'];

/** The NAT statement kinds of the subset (nft_nat.c, nft_masq.c, nft_redir.c). */
export type NatKind = 'snat' | 'dnat' | 'masquerade' | 'redirect';

/**
 * A NAT statement as the kernel's nf_nat_range2 sees it (nft_nat.c: nft_nat_eval()).
 * - `flags`: NF_NAT_RANGE_* bits. MAP_IPS only when an address is given (snat/dnat with an
 *   address); masquerade and redirect carry no address (the core takes the outgoing interface's
 *   address, `Routes.addr(oif)`, for masquerade, and the incoming interface's for redirect) and
 *   port-only statements (`snat to :1024-2047`) lack MAP_IPS. PROTO_SPECIFIED when a port is given.
 * - `minAddr`/`maxAddr`: IPv4 int32 (compare unsigned). 0 when no address, or when `l3 = 6`
 *   (then `minAddr6`/`maxAddr6` hold the 16-byte addresses).
 * - `minPort`/`maxPort`: host-order ports, 0 when not specified.
 */
export interface NatStatement {
  kind: NatKind;
  l3: 4 | 6;
  flags: number;
  minAddr: number;
  maxAddr: number;
  minPort: number;
  maxPort: number;
  /** IPv6 range bounds (16 bytes each) when `l3 = 6` and an address is given. */
  minAddr6?: Uint8Array;
  maxAddr6?: Uint8Array;
  /**
   * `dnat to numgen random|inc mod N [offset M] map { K : ADDR, ... }`: the address is chosen per
   * packet (nft_numgen.c), `addrs[k]` for generated value offset + k (IPv4 int32; `addrs6` for
   * IPv6). Pick with `LoadedRuleset.numgenIndex(ruleId, draw32)`; `minAddr = maxAddr = addrs[0]`
   * until then.
   */
  numgen?: { mode: 'random' | 'inc'; mod: number; offset: number; addrs: number[]; addrs6?: Uint8Array[] };
}

/** Verdict/terminal action of a rule. */
export type RuleVerdict = 'none' | 'accept' | 'return' | 'nat' | 'drop' | 'reject';

/** Chain types of the subset (nft_chain_filter.c, nft_chain_nat.c). */
export type ChainType = 'nat' | 'filter';

// ---- terminal verdict codes an evaluation ends with (RuleEvalCtx.verdict) ----
/** No terminal verdict yet: the evaluation goes on. */
export const RULE_VERDICT_CONTINUE = -1;
/** NF_DROP. */
export const RULE_VERDICT_DROP = 0;
/** NF_ACCEPT. */
export const RULE_VERDICT_ACCEPT = 1;
/** NF_STOLEN: an expression consumed the packet (synproxy answering a SYN). */
export const RULE_VERDICT_STOLEN = 2;
/** The packet is dropped and an error goes back (nft_reject: not a kernel verdict value; the kernel returns NF_DROP after sending). */
export const RULE_VERDICT_REJECT = 16;

/** What a reject sends back (nft_reject.h: NFT_REJECT_TCP_RST, NFT_REJECT_ICMP_UNREACH; icmpx resolves to the latter per family). */
export const REJECT_ICMP_UNREACH = 0;
export const REJECT_TCP_RST = 1;

/** `ct state` bits (nf_conntrack_common.h: NF_CT_STATE_BIT(), NF_CT_STATE_INVALID_BIT, NF_CT_STATE_UNTRACKED_BIT). */
export const CT_STATE_INVALID = 1;
export const CT_STATE_ESTABLISHED = 2;
export const CT_STATE_RELATED = 4;
export const CT_STATE_NEW = 8;
export const CT_STATE_UNTRACKED = 64;

/**
 * What every rule expression sees (one object per ruleset, reused for every packet).
 * `slot` is the conntrack entry attached to the packet (-1: none), `ctinfo` its
 * `enum ip_conntrack_info` (IP_CT_* in conntrack.ts; IP_CT_NONE -1 without an entry),
 * `untracked` whether the packet is UNTRACKED (notrack, or ICMPv6 ND/MLD).
 */
export interface RuleEvalCtx {
  readonly pkt: Pkt;
  readonly slot: number;
  readonly ctinfo: number;
  untracked: boolean;
  /** The hook being evaluated. */
  readonly hook: Hook;
  /** Interfaces (Routes numbers, -1: none). */
  readonly iif: number;
  readonly oif: number;
  /** The conntrack instance (bound per run); undefined for a ruleset not attached to one. */
  readonly ct: Conntrack | undefined;
  /** Id of the rule being evaluated. */
  readonly ruleId: number;
  /** Set to a RULE_VERDICT_* code (and return false) to end the hook with that verdict. */
  verdict: number;
  /** Zone a `ct zone set` attached to the packet's template (-1: none). */
  zone: number;
}

/** One compiled match or statement (see the extension point above). */
export interface RuleExpr {
  /** true: continue with the next expression; false: this rule stops (or ends the hook when `ctx.verdict` was set). */
  eval(ctx: RuleEvalCtx): boolean;
  /** Called once per run when the ruleset is attached to a conntrack instance. */
  bind?(ct: Conntrack): void;
}

/** Location in the ruleset text (1-based). */
export interface RuleLoc { line: number; col: number }

/** The token stream an extension's `parse` reads one statement from. */
export interface RuleTokens {
  /** The next token (kind 'eof' at the end of the rule), without consuming it. */
  peek(): Tok;
  /** Consumes and returns the next token ('eof' stays). */
  take(): Tok;
  /** Location of a token (plus `k` columns). */
  at(t: Tok, k?: number): RuleLoc;
  /** Throws a load error at `loc` (file:line:col: msg). */
  fail(loc: RuleLoc, msg: string): never;
  /** Consumes a word equal to `word` or fails naming it. */
  expect(word: string): Tok;
  /** Consumes an unsigned integer (decimal or 0x hex) in 0..max. */
  int(what: string, max: number): number;
  /** The table's family. */
  readonly family: 'ip' | 'ip6' | 'inet';
}

/**
 * A read-only view of one rule for statements that need a rule shape (synproxy: `ct state
 * invalid,untracked` on its own rule, a raw `tcp flags syn notrack` rule somewhere).
 */
export interface RuleShape {
  hook: Hook;
  priority: number;
  chainType: ChainType;
  /** 1-based line and column of the rule's first token (in the ruleset text). */
  line: number;
  col: number;
  /** The `ct state` matches of the rule: OR of their non-negated masks (CT_STATE_* bits), 0 when none. */
  ctState: number;
  /** Whether the rule has a negated (`!=`) ct state match. */
  ctStateNeg: boolean;
  /** Whether the rule has `tcp flags` matches, and whether all of them accept a packet with exactly `flags`. */
  hasTcpFlags: boolean;
  tcpFlagsAccept(flags: number): boolean;
  /** Statements in order: 'notrack', 'ct zone set', 'ct mark set', ... and registered keywords. */
  statements: readonly string[];
}

/** A scenario setting a statement needs (checked by the scenario loader against its sysctls). */
export interface RuleRequirement {
  sysctl: string;
  value: number;
  line: number;
  col: number;
  /** Why, for the message. */
  why: string;
}

/** What `compile` knows about where the statement sits. */
export interface RuleCompileEnv {
  /** The rule the statement is in, and every rule of the ruleset (file order). */
  rule: RuleShape;
  allRules: readonly RuleShape[];
  /** Records a sysctl value the statement needs (reported at load against the scenario's sysctls). */
  require(r: RuleRequirement): void;
  ruleId: number;
  hook: Hook;
  chainType: ChainType;
  priority: number;
  family: 'ip' | 'ip6' | 'inet';
  table: string;
  /** A table object registered with registerTableObject (undefined when not defined in this table). */
  object(kind: string, name: string): unknown;
  fail(loc: RuleLoc, msg: string): never;
}

/** A statement or match added through `registerStatement` (registry.ts). */
export interface StatementDef {
  keyword: string;
  parse(p: RuleTokens, loc: RuleLoc): unknown;
  compile(node: unknown, env: RuleCompileEnv, loc: RuleLoc): RuleExpr;
  /** Hooks it may be used at (default: all). */
  hooks?: readonly Hook[];
  /** Chain types it may be used in (default: filter and nat). */
  chainTypes?: readonly ChainType[];
  /** Nothing may follow it in a rule. */
  terminal?: boolean;
  /** Short syntax for messages (`limit rate [over] N/UNIT [burst N packets]`). */
  syntax?: string;
}

/** A table-level object added through `registerTableObject` (`ct timeout NAME { ... }`). */
export interface TableObjectDef {
  keyword: string;
  /** Reads the object after its name (the `{ ... }` block included). */
  parse(p: RuleTokens, loc: RuleLoc, name: string): unknown;
  syntax?: string;
}

/** One rule, as loaded: where it is, and what it does. Ids are 0..rules.length-1 in file order. */
export interface RuleInfo {
  id: number;
  /** Table name as written (`nat`), with the family in `family`. */
  table: string;
  chain: string;
  hook: Hook;
  /** Numeric chain priority (`dstnat` = -100, `srcnat` = 100, `dstnat + 5` = -95). */
  priority: number;
  /** Position of the rule in its chain (0-based). */
  index: number;
  /** 1-based line of the rule's first token in the ruleset file (or in the scenario file for an inline ruleset). */
  line: number;
  /** The rule's text as written (trimmed, on one line). */
  text: string;
  nat?: NatStatement;
  /** Table family: `ip`, `ip6` or `inet`. */
  family?: 'ip' | 'ip6' | 'inet';
  /** Whether the rule has a `counter` statement (counters are kept for every rule regardless). */
  counter?: boolean;
  /** The rule's terminal verdict. */
  verdict?: RuleVerdict;
  /** The chain's type (`nat` or `filter`). */
  chainType?: ChainType;
  /** `reject` kind: 'tcp-reset', 'icmp', 'icmpx', 'default' (with `verdict = 'reject'`). */
  reject?: { kind: 'default' | 'tcp-reset' | 'icmp' | 'icmpv6' | 'icmpx'; code: string };
}

/**
 * The interface model: a route table (longest prefix match) whose entries name interfaces.
 * Interfaces are numbered 0..count-1 in order of first appearance.
 */
export interface Routes {
  /** Interface routing `addr` (longest prefix), -1 when none. For `l3 = 6`, `addr` is an interned id (needs `bindInterner`). */
  ifaceOf(l3: number, addr: number): number;
  /** Interface name (`""` for -1, as the kernel reports a missing device to `iifname`/`oifname`). */
  name(iface: number): string;
  /** Primary IPv4 address (int32) for masquerade/redirect, undefined when none was declared. */
  addr(iface: number): number | undefined;
  /** Number of interfaces. */
  count: number;
  /** Interface number of a name, -1 when unknown. */
  find(name: string): number;
  /** Bind the interner that gives IPv6 ids in packets their 16 bytes (needed before `ifaceOf(6, id)`). */
  bindInterner(interner: AddrInterner): void;
}

/**
 * A loaded ruleset. `natLookup` never allocates: matches are compiled at load time.
 */
export interface Ruleset {
  rules: readonly RuleInfo[];
  /**
   * Id of the first matching NAT rule in the `type nat` chains at `hook`, chains in priority
   * order (then file order), rules in chain order; -1 when none. `iif`/`oif` are interface
   * numbers from `Routes` (-1: no such device at this hook). A matched rule with `accept` ends
   * its chain (later chains at the hook still run, as nf_nat_inet_fn() runs each nat chain
   * until one initialises the manip); `return` from a base chain ends it with its policy
   * (accept). Packet and byte counters of every rule evaluated as matching are incremented.
   * `slot`/`ctinfo`: the packet's entry for `ct` matches (-1: none). -2 (NAT_LOOKUP_DROP in
   * ruleset.ts): a `drop`/`reject` rule in the nat chain dropped the packet.
   */
  natLookup(hook: Hook, pkt: Pkt, iif: number, oif: number, slot?: number, ctinfo?: number): number;
  /** Per rule id: packets matched. */
  packets: Float64Array;
  /** Per rule id: bytes matched (Pkt.len). */
  bytes: Float64Array;
  /**
   * Packets a rule dropped or rejected, by rule id and traffic class: index `id * 3 + pkt.cls`
   * (CLASS_NONE 0, CLASS_LEGIT 1, CLASS_ATTACK 2 from sim/conntrack/stats.ts). Length
   * `rules.length * 3`. A terminal verdict set by an extension expression (synproxy's drop of an
   * invalid cookie) counts for the rule it is in; NF_STOLEN does not count.
   */
  drops: Float64Array;
  /**
   * Runs the `type filter` chains registered at `hook` whose priority p satisfies
   * `prioLo <= p < prioHi`, in the kernel's order (priority, then the chain declared last first),
   * for a packet attached to `slot` (-1 none) with `ctinfo` (IP_CT_*, -1 none) and `untracked`.
   * Returns a RULE_VERDICT_* code (RULE_VERDICT_ACCEPT when no rule decided: the chains'
   * policy is accept). Allocation-free. After it, `lastUntracked` / `lastZone` tell what a
   * `notrack` / `ct zone set` did to the packet.
   */
  filterHook(hook: Hook, prioLo: number, prioHi: number, pkt: Pkt, slot: number, ctinfo: number, untracked: boolean, iif: number, oif: number): number;
  /**
   * After a filterHook that returned RULE_VERDICT_REJECT: what to send back, REJECT_* (REJECT_TCP_RST
   * or REJECT_ICMP_UNREACH), and the ICMP (IPv4) or ICMPv6 code for the packet's family.
   */
  readonly lastRejectKind: number;
  readonly lastRejectCode: number;
  /** Whether the last filterHook made the packet UNTRACKED (`notrack`, nft_notrack_eval()). */
  readonly lastUntracked: boolean;
  /** Zone a `ct zone set` in the last filterHook attached to the packet's template (-1: none). */
  readonly lastZone: number;
  /** Whether any `type filter` chain is registered at `hook`. */
  hasFilter(hook: Hook): boolean;
  /** Whether the ruleset has a `type nat` chain (the NAT hooks are registered: null bindings for every new entry). */
  hasNatChains(): boolean;
  /** Attaches the ruleset to a run's conntrack (expressions' `bind`, `ct` matches/statements). */
  bindConntrack(ct: Conntrack): void;
  /** Bind the interner that gives IPv6 ids in packets their 16 bytes (needed for `ip6 saddr/daddr` matches). */
  bindInterner(interner: AddrInterner): void;
  /** The same rules with zeroed counters and their own evaluation state (one per run: a scenario's ruleset is shared by its runs). */
  clone(): Ruleset;
}
