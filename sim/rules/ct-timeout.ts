/**
 * nft `ct timeout` objects and the `ct timeout set "NAME"` statement (docs/rules.md §20.3):
 *
 *   table ip filter {
 *     ct timeout short { protocol tcp; l3proto ip; policy = { established: 120, close: 10 } }
 *     chain pre { type filter hook prerouting priority raw; ct timeout set "short" }
 *   }
 *
 *  - An object is a full timeout array: nft fills every state it is not given from its built-in
 *    defaults (nftables evaluate.c ct_timeout_evaluate(), the `dflt_timeout` tables of ct.c,
 *    equal to the kernel's compiled defaults) and the kernel stores it
 *    (nft_ct_timeout_obj_init() → the protocol's nlattr_to_obj). nft knows the states of tcp
 *    (syn_sent syn_recv established fin_wait close_wait last_ack time_wait close syn_sent2
 *    retrans unack) and udp (unreplied replied); values are seconds or a time like 2m, 1h30m.
 *  - `ct timeout set` (nft_ct_timeout_obj_eval()) acts only when the packet's L4 protocol is the
 *    object's, the packet has an entry, and the entry is neither a template nor confirmed: it
 *    attaches the timeout extension (8 B, §10.2 of docs/model.md's memory table) and re-applies the
 *    policy's first timeout (TCP: syn_sent, UDP: unreplied) as the still relative timeout. Later
 *    refreshes use the policy. On a confirmed entry it does nothing.
 *
 * In the model a policy is a `TimeoutSet` registered with `Conntrack.addTimeoutPolicy()`; the
 * entry carries its index in `Conntrack.tpol`, exactly as the per-entry policies of
 * sim/conntrack/timeout-policy.ts.
 */
import type { Conntrack } from '../conntrack/conntrack.js';
import type { Pkt } from '../conntrack/packet.js';
import { IPS_CONFIRMED, IPPROTO_TCP, IPPROTO_UDP } from '../conntrack/constants.js';
import { CT_EXT_TIMEOUT } from '../conntrack/sizing.js';
import { RuleSyntaxError, type Tok } from './lexer.js';
import type { TokCursor } from './limit.js';

/** nft's state names and built-in defaults (seconds), per protocol, in nft's order. */
export const NFT_CT_TIMEOUT_STATES: Readonly<Record<'tcp' | 'udp', readonly (readonly [string, number])[]>> = {
  tcp: [['syn_sent', 120], ['syn_recv', 60], ['established', 432000], ['fin_wait', 120], ['close_wait', 60], ['last_ack', 30],
    ['time_wait', 120], ['close', 10], ['syn_sent2', 120], ['retrans', 300], ['unack', 300]],
  udp: [['unreplied', 30], ['replied', 120]],
};

/** nft's name → the field name of sim/conntrack/timeout-policy.ts (only `unack` differs). */
const MODEL_FIELD: Readonly<Record<string, string>> = { unack: 'unacknowledged' };

export interface CtTimeoutObject {
  name: string;
  /** Table (family and name) the object belongs to; rules refer to objects of their own table. */
  family: string;
  table: string;
  protocol: 'tcp' | 'udp';
  l3proto: 'ip' | 'ip6' | 'inet';
  /** Every state of the protocol in seconds (nft's defaults for those not given). */
  seconds: Record<string, number>;
  /** The states as written. */
  given: Record<string, number>;
  line: number;
  col: number;
}

const failAt = (t: { line: number; col: number }, msg: string): never => { throw new RuleSyntaxError(t.line, t.col, msg); };
const show = (t: Tok): string => (t.kind === 'eof' ? 'the end of the file' : t.kind === 'nl' ? 'the end of the line' : `"${t.text}"`);

/** nft time: a number of seconds, or d/h/m/s parts (`2m`, `1h30m`, `90s`). */
export function parseTimeSeconds(text: string): number | undefined {
  if (/^[0-9]+$/.test(text)) return Number(text);
  const m = /^(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$/.exec(text);
  if (!m || text === '') return undefined;
  return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
}

/**
 * Parses `ct timeout NAME { ... }` inside a table, the tokens `ct` and `timeout` already taken
 * (`kw` is the `ct` token). The cursor yields newline tokens, which separate configuration lines.
 */
export function parseCtTimeoutObject(p: TokCursor, kw: Tok, family: string, table: string): CtTimeoutObject {
  const nameTok = p.take();
  if (nameTok.kind !== 'word' && nameTok.kind !== 'str') failAt(nameTok, `expected a name after "ct timeout", got ${show(nameTok)}`);
  return parseCtTimeoutBody(p, kw, nameTok.text, family, table);
}

/** The `{ ... }` block of `ct timeout NAME { ... }` (the name already read). */
export function parseCtTimeoutBody(p: TokCursor, kw: { line: number; col: number }, name: string, family: string, table: string): CtTimeoutObject {
  const nameTok = { text: name, line: kw.line, col: kw.col };
  const open = p.take();
  if (!(open.kind === 'punct' && open.text === '{')) failAt(open, `expected "{" after ct timeout ${nameTok.text}, got ${show(open)}`);
  let protocol: 'tcp' | 'udp' | undefined;
  let protoTok: Tok | undefined;
  let l3proto: 'ip' | 'ip6' | 'inet' | undefined;
  const states: { name: string; tok: Tok; value: number }[] = [];
  const sep = (t: Tok) => t.kind === 'nl' || (t.kind === 'punct' && t.text === ';');
  for (;;) {
    while (sep(p.peek())) p.take();
    const t = p.take();
    if (t.kind === 'punct' && t.text === '}') break;
    if (t.kind === 'eof') failAt(open, `missing "}" closing ct timeout ${nameTok.text}`);
    if (t.kind !== 'word') failAt(t, `unexpected ${show(t)} in ct timeout ${nameTok.text}; expected protocol, l3proto or policy`);
    if (t.text === 'protocol') {
      const v = p.take();
      if (v.kind !== 'word' || (v.text !== 'tcp' && v.text !== 'udp')) failAt(v, `ct timeout protocol ${show(v)} is not supported; nft has timeout policies for tcp and udp`);
      protocol = v.text as 'tcp' | 'udp'; protoTok = v;
    } else if (t.text === 'l3proto') {
      const v = p.take();
      if (v.kind !== 'word' || !['ip', 'ip6', 'inet'].includes(v.text)) failAt(v, `expected ip, ip6 or inet after l3proto, got ${show(v)}`);
      l3proto = v.text as 'ip' | 'ip6' | 'inet';
    } else if (t.text === 'policy') {
      const eq = p.take();
      if (!(eq.kind === 'punct' && eq.text === '=')) failAt(eq, `expected "=" after policy, got ${show(eq)}`);
      const ob = p.take();
      if (!(ob.kind === 'punct' && ob.text === '{')) failAt(ob, `expected "{" after policy =, got ${show(ob)}`);
      for (;;) {
        while (p.peek().kind === 'nl') p.take();
        const s = p.take();
        if (s.kind === 'punct' && s.text === '}') break;
        if (s.kind !== 'word') failAt(s, `expected STATE: SECONDS in the policy, got ${show(s)}`);
        // "established:120", "established: 120", "established : 120"
        let name = s.text, valueText = '', vt = s;
        const c = name.indexOf(':');
        if (c >= 0) { valueText = name.slice(c + 1); name = name.slice(0, c); }
        if (c < 0) {
          const colon = p.take();
          if (colon.kind === 'word' && colon.text.startsWith(':')) { valueText = colon.text.slice(1); vt = colon; }
          else failAt(colon, `expected ":" after the state ${name}, got ${show(colon)}`);
        }
        if (valueText === '') { vt = p.take(); valueText = vt.text; }
        const v = parseTimeSeconds(valueText);
        if (v === undefined) failAt(vt, `"${valueText}" is not a timeout (seconds, or a time such as 2m, 1h30m)`);
        if (v! > 0xffffffff / 1000) failAt(vt, `timeout ${v} s is too large`);
        states.push({ name, tok: s, value: v! });
        const n = p.peek();
        if (n.kind === 'punct' && n.text === ',') p.take();
      }
    } else failAt(t, `unexpected "${t.text}" in ct timeout ${nameTok.text}; expected protocol, l3proto or policy`);
  }
  if (protocol === undefined) failAt(nameTok, `ct timeout ${nameTok.text} needs "protocol tcp" or "protocol udp"`);
  const table0 = NFT_CT_TIMEOUT_STATES[protocol!];
  const known = table0.map(([n]) => n);
  const seconds: Record<string, number> = Object.fromEntries(table0);
  const given: Record<string, number> = {};
  for (const s of states) {
    if (!known.includes(s.name)) failAt(s.tok, `invalid state "${s.name}" for protocol ${protocol}; valid states: ${known.join(', ')}`);
    seconds[s.name] = s.value;
    given[s.name] = s.value;
  }
  void protoTok;
  return { name, family, table, protocol: protocol!, l3proto: l3proto ?? (family as 'ip'), seconds, given, line: kw.line, col: kw.col };
}

/** Registers an object's policy with a run's conntrack; returns its index for `ctTimeoutSet`. */
export function registerCtTimeout(ct: Conntrack, o: CtTimeoutObject): number {
  const fields: Record<string, number> = {};
  for (const [k, v] of Object.entries(o.seconds)) fields[MODEL_FIELD[k] ?? k] = v;
  return ct.addTimeoutPolicy(o.name, o.protocol, fields);
}

/**
 * nft_ct_timeout_obj_eval(): attaches policy `index` (protocol `l4proto`) to the packet's entry
 * `slot` when the protocols agree and the entry is not confirmed, and re-applies the policy's
 * first timeout. Returns true when it acted.
 */
export function ctTimeoutSet(ct: Conntrack, pkt: Pkt, slot: number, index: number, l4proto: number): boolean {
  if (pkt.proto !== l4proto || slot < 0) return false;
  const tb = ct.table;
  if ((tb.statusOf(slot) & IPS_CONFIRMED) !== 0) return false;
  ct.setTpol(slot, index);
  ct.addExtension(slot, CT_EXT_TIMEOUT);
  const set = ct.timeoutSets[index]!;
  const v = l4proto === IPPROTO_TCP ? set.tcp[0]! : l4proto === IPPROTO_UDP ? set.udpUnreplied : set.generic;
  // nf_ct_refresh() on an unconfirmed entry: the timeout stays relative (confirm adds now)
  const th = ct.hooks.timeout;
  tb.setTimeoutOf(slot, th === undefined ? v : th(slot, v));
  return true;
}

/** The protocol number of an object's protocol. */
export function ctTimeoutProto(o: CtTimeoutObject): number {
  return o.protocol === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
}
