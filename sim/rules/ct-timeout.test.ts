import test from 'ava';
import { lex, RuleSyntaxError } from './lexer.js';
import { parseCtTimeoutObject, registerCtTimeout, ctTimeoutSet, parseTimeSeconds, type CtTimeoutObject } from './ct-timeout.js';
import type { TokCursor } from './limit.js';
import { createConntrack } from '../conntrack/create.js';
import { Pkt } from '../conntrack/packet.js';
import { send, tcp, udp, ip } from '../conntrack/testing.js';
import { IPS_CONFIRMED, IPPROTO_TCP, IPPROTO_UDP } from '../conntrack/constants.js';

const HZ = 250;
const A = ip(10, 0, 0, 1), B = ip(10, 0, 0, 2);

function cursor(text: string): TokCursor {
  const toks = lex(text);
  let i = 0;
  return { peek: () => toks[i], take: () => (toks[i].kind === 'eof' ? toks[i] : toks[i++]) };
}
function parseObj(text: string): CtTimeoutObject {
  const c = cursor(text);
  const kw = c.take();
  c.take(); // timeout
  return parseCtTimeoutObject(c, kw, 'ip', 'filter');
}

test('rules.md §20.3 parse: states given replace nft defaults, the others keep them; seconds or time units', (t) => {
  const o = parseObj('ct timeout short {\n  protocol tcp;\n  l3proto ip\n  policy = { established: 120, close : 10, time_wait:1m }\n}');
  t.is(o.name, 'short');
  t.is(o.protocol, 'tcp');
  t.deepEqual(o.given, { established: 120, close: 10, time_wait: 60 });
  t.is(o.seconds.established, 120);
  t.is(o.seconds.syn_sent, 120);
  t.is(o.seconds.unack, 300);
  t.is(o.seconds.fin_wait, 120);
  t.is(parseTimeSeconds('1h30m'), 5400);
  t.is(parseTimeSeconds('2d'), 172800);
  t.is(parseTimeSeconds('x'), undefined);
});

test('rules.md §20.3 parse errors: unknown state lists the valid ones; protocol required; other protocols refused', (t) => {
  const e = t.throws(() => parseObj('ct timeout x { protocol udp; policy = { established: 5 } }'), { instanceOf: RuleSyntaxError });
  t.is(e!.message, '1:41: invalid state "established" for protocol udp; valid states: unreplied, replied');
  const e2 = t.throws(() => parseObj('ct timeout x { policy = { established: 5 } }'), { instanceOf: RuleSyntaxError });
  t.regex(e2!.message, /needs "protocol tcp" or "protocol udp"/);
  const e3 = t.throws(() => parseObj('ct timeout x { protocol icmp; }'), { instanceOf: RuleSyntaxError });
  t.regex(e3!.message, /^1:25: ct timeout protocol "icmp" is not supported/);
  const e4 = t.throws(() => parseObj('ct timeout x { protocol tcp; policy = { established: soon } }'), { instanceOf: RuleSyntaxError });
  t.regex(e4!.message, /"soon" is not a timeout/);
});

function ct0() {
  return createConntrack({ hz: HZ, seed: 2, sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024 } });
}

test('rules.md §20.3 ct timeout set acts on an unconfirmed entry of its protocol: policy attached, first timeout (syn_sent) re-applied, later refreshes use the policy', (t) => {
  const ct = ct0();
  const o = parseObj('ct timeout short { protocol tcp; policy = { syn_sent: 7, established: 100 } }');
  const idx = registerCtTimeout(ct, o);
  const p = new Pkt();
  send(ct, 0, tcp(p, A, 40000, B, 80, 'S', 1000, 0));
  const slot = ct.lastSlot;
  const before = ct.kernelBytes();
  // the rule runs before confirm: the entry is not yet CONFIRMED and its timeout is relative
  ct.table.clearStatus(slot, IPS_CONFIRMED);
  ct.table.setTimeoutOf(slot, 120 * HZ);
  t.true(ctTimeoutSet(ct, p, slot, idx, IPPROTO_TCP));
  t.is(ct.table.timeoutOf(slot), 7 * HZ, 'the policy first timeout (syn_sent 7 s), relative');
  t.is(ct.tpolOf(slot), idx);
  t.is(ct.kernelBytes() - before, 128, 'first extension: a kmalloc-128 area');
  ct.table.orStatus(slot, IPS_CONFIRMED);
  ct.table.setTimeoutOf(slot, (ct.table.timeoutOf(slot) + ct.now32) | 0); // what confirm does
  send(ct, 0, tcp(p, B, 80, A, 40000, 'SA', 5000, 1001));
  send(ct, 0, tcp(p, A, 40000, B, 80, 'A', 1001, 5001));
  t.is(ct.remaining(slot), 100 * HZ, 'ESTABLISHED refresh from the policy');
});

test('rules.md §20.3 ct timeout set does nothing on a confirmed entry, another protocol, or no entry', (t) => {
  const ct = ct0();
  const idx = registerCtTimeout(ct, parseObj('ct timeout u { protocol udp; policy = { unreplied: 3 } }'));
  const p = new Pkt();
  send(ct, 0, udp(p, A, 5000, B, 53));
  const slot = ct.lastSlot;
  const to = ct.table.timeoutOf(slot);
  t.false(ctTimeoutSet(ct, p, slot, idx, IPPROTO_UDP), 'confirmed');
  t.is(ct.table.timeoutOf(slot), to);
  t.is(ct.tpolOf(slot), 0);
  ct.table.clearStatus(slot, IPS_CONFIRMED);
  t.false(ctTimeoutSet(ct, tcp(new Pkt(), A, 1, B, 2, 'S'), slot, idx, IPPROTO_UDP), 'packet protocol differs');
  t.false(ctTimeoutSet(ct, p, -1, idx, IPPROTO_UDP), 'no entry');
  t.true(ctTimeoutSet(ct, p, slot, idx, IPPROTO_UDP));
  t.is(ct.table.timeoutOf(slot), 3 * HZ, 'UDP: unreplied is the first timeout');
});
