/**
 * The `synproxy` statement of the rule language (docs/synproxy.md §3, §4), registered through the
 * rule language's extension point (sim/rules/registry.ts):
 *
 *   synproxy [mss N] [wscale N] [timestamp] [sack-perm]
 *
 * Allowed in `type filter` chains at input and forward only (`nft_synproxy_validate()`), terminal.
 * Load-time checks of the rule shape the kernel needs (the selftest `nft_synproxy.sh`): the rule
 * matches `ct state` invalid and/or untracked only; some raw prerouting rule (priority below
 * NF_IP_PRI_CONNTRACK) untracks SYNs (`tcp flags syn notrack`); and the scenario has
 * `nf_conntrack_tcp_loose = 0` (a requirement checked by the scenario loader).
 */
import { IPPROTO_TCP, TH_SYN } from '../conntrack/constants.js';
import { NF_ACCEPT, NF_DROP, type Conntrack } from '../conntrack/conntrack.js';
import { Rng } from '../core/rng.js';
import { registerStatement } from '../rules/registry.js';
import {
  CT_STATE_INVALID, CT_STATE_UNTRACKED, RULE_VERDICT_DROP, RULE_VERDICT_STOLEN,
  type RuleCompileEnv, type RuleEvalCtx, type RuleExpr, type RuleLoc, type RuleTokens,
} from '../rules/types.js';
import { NF_STOLEN, SP_OPT_MSS, SP_OPT_SACK_PERM, SP_OPT_TIMESTAMP, SP_OPT_WSCALE, Synproxy, synproxyOf, type SynproxyInfo } from './synproxy.js';

/** NF_IP_PRI_CONNTRACK: a raw chain runs below it. */
const NF_IP_PRI_CONNTRACK = -200;
/** Largest window scale (TCP_MAX_WSCALE) and MSS (u16). */
const MAX_WSCALE = 14;

export const SYNPROXY_SYNTAX = 'synproxy [mss N] [wscale N] [timestamp] [sack-perm]';

/** Parses the statement's arguments (any order, each at most once). */
function parse(p: RuleTokens, loc: RuleLoc): SynproxyInfo {
  const info: SynproxyInfo = { mss: 0, wscale: 0, options: 0 };
  const seen = new Set<string>();
  for (;;) {
    const t = p.peek();
    if (t.kind !== 'word' || !['mss', 'wscale', 'timestamp', 'sack-perm'].includes(t.text)) break;
    p.take();
    if (seen.has(t.text)) p.fail(p.at(t), `"${t.text}" given twice; ${SYNPROXY_SYNTAX}`);
    seen.add(t.text);
    if (t.text === 'mss') { info.mss = p.int('an MSS', 65535); info.options |= SP_OPT_MSS; }
    else if (t.text === 'wscale') { info.wscale = p.int('a window scale', MAX_WSCALE); info.options |= SP_OPT_WSCALE; }
    else if (t.text === 'timestamp') info.options |= SP_OPT_TIMESTAMP;
    else info.options |= SP_OPT_SACK_PERM;
  }
  void loc;
  return info;
}

/** The statement for one run. */
class SynproxyExpr implements RuleExpr {
  private sp: Synproxy | undefined;
  constructor(private readonly info: SynproxyInfo) {}

  bind(ct: Conntrack): void {
    // the run's engine (Simulation installs one with its own cookie-secret substream); replay and
    // other users without one get the fixed substream name
    this.sp = synproxyOf(ct) ?? new Synproxy(ct, new Rng('synproxy/cookie-secret'));
  }

  eval(ctx: RuleEvalCtx): boolean {
    const sp = this.sp;
    if (sp === undefined) throw new Error('synproxy: the ruleset is not bound to a conntrack instance');
    if (ctx.pkt.proto !== IPPROTO_TCP) return false; // NFT_BREAK
    const v = sp.ruleEval(ctx.pkt, this.info);
    if (v === NF_STOLEN) { ctx.verdict = RULE_VERDICT_STOLEN; return false; }
    if (v === NF_DROP) { ctx.verdict = RULE_VERDICT_DROP; return false; }
    return v === NF_ACCEPT; // neither SYN nor ACK: no effect, evaluation goes on
  }
}

function compile(node: unknown, env: RuleCompileEnv, loc: RuleLoc): RuleExpr {
  const r = env.rule;
  const allowed = CT_STATE_INVALID | CT_STATE_UNTRACKED;
  if (r.ctState === 0 || r.ctStateNeg || (r.ctState & ~allowed) !== 0) {
    env.fail(loc, 'synproxy needs "ct state invalid,untracked" (or one of them) before it in its rule: the SYN it answers is untracked and '
      + "the client's ACK is invalid (no entry, tcp_loose 0); any other state would send established packets to the proxy (docs/synproxy.md §4)");
  }
  const raw = env.allRules.some((x) => x.hook === 'prerouting' && x.priority < NF_IP_PRI_CONNTRACK && x.statements.includes('notrack')
    && x.hasTcpFlags && x.tcpFlagsAccept(TH_SYN));
  if (!raw) {
    env.fail(loc, 'synproxy needs the clients\' SYNs untracked: a rule "tcp flags syn notrack" in a type filter chain at hook prerouting '
      + 'with priority raw (below -200), else every SYN of a flood allocates an entry before the proxy sees it (docs/synproxy.md §4)');
  }
  env.require({
    sysctl: 'nf_conntrack_tcp_loose', value: 0, line: loc.line, col: loc.col,
    why: "synproxy needs nf_conntrack_tcp_loose: 0, else the client's ACK is picked up as a new connection and never reaches the proxy (docs/synproxy.md §4)",
  });
  return new SynproxyExpr(node as SynproxyInfo);
}

registerStatement({
  keyword: 'synproxy', parse, compile, hooks: ['input', 'forward'], chainTypes: ['filter'], terminal: true, syntax: SYNPROXY_SYNTAX,
});
