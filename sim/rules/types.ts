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
 */
import type { AddrInterner } from '../conntrack/addr.js';
import type { Pkt } from '../conntrack/packet.js';

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

/** Verdict/terminal action of a rule (issue 13 adds drop, reject, notrack, ...). */
export type RuleVerdict = 'none' | 'accept' | 'return' | 'nat';

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
   */
  natLookup(hook: Hook, pkt: Pkt, iif: number, oif: number): number;
  /** Per rule id: packets matched. */
  packets: Float64Array;
  /** Per rule id: bytes matched (Pkt.len). */
  bytes: Float64Array;
  /** Bind the interner that gives IPv6 ids in packets their 16 bytes (needed for `ip6 saddr/daddr` matches). */
  bindInterner(interner: AddrInterner): void;
  /** The same rules with zeroed counters and their own evaluation state (one per run: a scenario's ruleset is shared by its runs). */
  clone(): Ruleset;
}
