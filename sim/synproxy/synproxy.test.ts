import test from 'ava';
import { IPPROTO_UDP, IPS_ASSURED, TH_ACK, TH_SYN } from '../conntrack/constants.js';
import { NF_ACCEPT, NF_DROP, type Conntrack } from '../conntrack/conntrack.js';
import { createConntrack } from '../conntrack/create.js';
import { Pkt } from '../conntrack/packet.js';
import {
  TCP_CONNTRACK_CLOSE, TCP_CONNTRACK_ESTABLISHED, TCP_CONNTRACK_SYN_RECV, TCP_CONNTRACK_SYN_SENT,
} from '../conntrack/proto-tcp-const.js';
import { CT_EXT_SEQADJ, CT_EXT_SYNPROXY } from '../conntrack/sizing.js';
import { ip, tcp } from '../conntrack/testing.js';
import { Rng } from '../core/rng.js';
import { IPS_SEQ_ADJUST } from '../nat/constants.js';
import { MSSTAB, SynCookies } from './cookie.js';
import { PATH_INVALID, PATH_TRACKED, PATH_UNTRACKED, SynproxyPath } from './path.js';
import {
  EMIT_CLIENT_ACK, EMIT_CLIENT_SYNACK, EMIT_SERVER_ACK, EMIT_SERVER_SYN, NF_STOLEN, SP_OPT_MSS, SP_OPT_SACK_PERM,
  SP_OPT_TIMESTAMP, SP_OPT_WSCALE, Synproxy, optionsSize, type SynproxyInfo,
} from './synproxy.js';

const C = ip(192, 0, 2, 10); // client
const V = ip(10, 0, 0, 80); // server
const S = 1_000_000;
const HZ = 250;
const ISN = 0x10000000;
const SISN = 0x70000000;

/** The selftest's `synproxy mss 1460 wscale 7 timestamp sack-perm`. */
const FULL: SynproxyInfo = { mss: 1460, wscale: 7, options: SP_OPT_MSS | SP_OPT_WSCALE | SP_OPT_TIMESTAMP | SP_OPT_SACK_PERM };
const NO_TS: SynproxyInfo = { mss: 1460, wscale: 7, options: SP_OPT_MSS | SP_OPT_WSCALE | SP_OPT_SACK_PERM };

function setup(info = FULL, sysctl: Record<string, number> = {}) {
  const ct = createConntrack({ hz: HZ, seed: 3, sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024, nf_conntrack_tcp_loose: 0, ...sysctl } });
  const sp = new Synproxy(ct, new Rng('test/synproxy/cookie-secret'));
  const path = new SynproxyPath(ct, sp, info, 80);
  return { ct, sp, path };
}

function at(ct: Conntrack, us: number): void {
  ct.setNow(us);
}

/** A client SYN with MSS, wscale, SACK-perm and timestamp options. */
function clientSyn(p: Pkt, mss = 1460, sport = 40000, tsval = 1000): Pkt {
  tcp(p, C, sport, V, 80, 'S', ISN, 0, 64240);
  p.optMss = mss; p.optWscale = 7; p.optSackPerm = true; p.optTs = true; p.tsval = tsval; p.tsecr = 0;
  return p;
}

/** The client's third-handshake ACK answering the proxy's SYN-ACK `sa`. */
function clientAck(p: Pkt, sa: Pkt, sport = 40000, tsval = 1010): Pkt {
  tcp(p, C, sport, V, 80, 'A', ISN + 1, (sa.seq + 1) >>> 0, 502);
  if (sa.optTs) { p.optTs = true; p.tsval = tsval; p.tsecr = sa.tsval; }
  return p;
}

/** Runs SYN and ACK through the path; returns the cookie SYN-ACK's seq. */
function handshakeClient(ct: Conntrack, path: SynproxyPath, p: Pkt, t0 = 10 * S, mss = 1460): number {
  at(ct, t0);
  if (path.packet(clientSyn(p, mss), true) !== NF_STOLEN) throw new Error('SYN not stolen');
  const sa = path.sp.toClient;
  const cookie = sa.seq;
  const q = new Pkt();
  at(ct, t0 + 20_000);
  if (path.packet(clientAck(q, sa), true) !== NF_STOLEN) throw new Error('ACK not stolen');
  return cookie;
}

test('docs/synproxy.md §2 cookies: every MSS class round-trips; a smaller MSS takes the largest class below it', (t) => {
  const c = new SynCookies(new Rng('t'));
  const cases: [number, number][] = [[0, 536], [535, 536], [536, 536], [1299, 536], [1300, 1300], [1439, 1300], [1440, 1440], [1459, 1440], [1460, 1460], [9000, 1460]];
  for (const [mss, cls] of cases) {
    const cookie = c.initSequence(C, V, 40000, 80, ISN, mss, 5);
    t.is(c.mss, cls, `mss ${mss}`);
    t.is(c.check(C, V, 40000, 80, ISN + 1, cookie + 1, 5), cls, `check mss ${mss}`);
  }
  t.deepEqual([...MSSTAB], [536, 1300, 1440, 1460]);
});

test('docs/synproxy.md §2 cookies: valid for the counter it was issued in and the next one, not the one after', (t) => {
  const c = new SynCookies(new Rng('t'));
  // counter = floor(jiffies / (60 HZ)): issued at 59.996 s (counter 0), checked at 60 s (1) and at 120 s (2)
  const j = (sec: number) => Math.floor(sec * HZ);
  const k0 = SynCookies.counter(j(59.996), HZ);
  t.is(k0, 0);
  t.is(SynCookies.counter(j(60), HZ), 1);
  t.is(SynCookies.counter(j(119.996), HZ), 1);
  t.is(SynCookies.counter(j(120), HZ), 2);
  const cookie = c.initSequence(C, V, 40000, 80, ISN, 1460, k0);
  t.is(c.check(C, V, 40000, 80, ISN + 1, cookie + 1, 0), 1460);
  t.is(c.check(C, V, 40000, 80, ISN + 1, cookie + 1, 1), 1460, 'one counter later (≥ 4 ms after issue here)');
  t.is(c.check(C, V, 40000, 80, ISN + 1, cookie + 1, 2), 0, 'two counters later: too old');
  t.is(c.check(C, V, 40000, 80, ISN + 1, cookie + 1, 0xffffffff), 0, 'a counter before issue is not valid either');
});

test('docs/synproxy.md §2 cookies: a wrong tuple, ISN or cookie fails; an ISN one too small decodes the next class', (t) => {
  const c = new SynCookies(new Rng('t'));
  const cookie = c.initSequence(C, V, 40000, 80, ISN, 1460, 7);
  t.is(c.check(C, V, 40001, 80, ISN + 1, cookie + 1, 7), 0, 'other source port');
  t.is(c.check(C + 1, V, 40000, 80, ISN + 1, cookie + 1, 7), 0, 'other source address');
  t.is(c.check(C, V, 40000, 80, ISN + 1001, cookie + 1, 7), 0, 'another ISN');
  t.is(c.check(C, V, 40000, 80, ISN + 2, cookie + 1, 7), 1440, 'the ISN enters linearly: one too large decodes the class below');
  t.is(c.check(C, V, 40000, 80, ISN + 1, cookie + 2, 7), 0, 'cookie off by one');
  // the check subtracts seq − 1: an ACK with seq = ISN (a keep-alive) shifts the decoded index by one
  t.is(c.check(C, V, 40000, 80, ISN, cookie + 1, 7), 0, 'class 3 + 1 is out of msstab');
  const c1 = c.initSequence(C, V, 40000, 80, ISN, 1300, 7);
  t.is(c.check(C, V, 40000, 80, ISN, c1 + 1, 7), 1440, 'class 1 decodes as class 2');
});

test('docs/synproxy.md §3 the client SYN is untracked, answered by a cookie SYN-ACK (window 0) and consumed; no entry', (t) => {
  const { ct, sp, path } = setup();
  const p = clientSyn(new Pkt());
  at(ct, 10 * S);
  t.is(path.packet(p, true), NF_STOLEN);
  t.is(path.lastState, PATH_UNTRACKED);
  t.is(ct.count, 0);
  // the SYN-ACK passes conntrack in OUTPUT without an entry: allocated, refused by tcp_new(), freed
  t.is(ct.stats.allocated, 1);
  t.is(ct.stats.freed_unconfirmed, 1);
  t.is(ct.stats.invalid, 1);
  t.is(ct.stats.confirmed, 0);
  t.is(sp.stats.syn_received, 1);
  t.is(sp.emitted, EMIT_CLIENT_SYNACK);
  const sa = sp.toClient;
  t.is(sa.tcpFlags, TH_SYN | TH_ACK);
  t.is(sa.src, V); t.is(sa.dst, C); t.is(sa.sport, 80); t.is(sa.dport, 40000);
  t.is(sa.ack, ISN + 1);
  t.is(sa.win, 0);
  t.is(sa.optMss, 1460, "the rule's mss");
  t.is(sa.optWscale, 7, "the rule's wscale");
  t.true(sa.optSackPerm);
  t.true(sa.optTs);
  t.is(sa.tsecr, 1000, "echoes the client's TSval");
  // TSval: clock ms (10000) with the low 6 bits replaced by wscale 7 | SACK-perm (bit 4)
  t.is(sa.tsval, ((10_000 & ~0x3f) | 7 | 16) >>> 0);
  t.is(sp.cookies.check(C, V, 40000, 80, ISN + 1, sa.seq + 1, 0), 1460, 'the seq is a cookie for the client ISN');
  t.is(sa.len, 40 + optionsSize(SP_OPT_MSS | SP_OPT_TIMESTAMP | SP_OPT_SACK_PERM | SP_OPT_WSCALE));
});

test('docs/synproxy.md §3 without `timestamp` the SYN-ACK carries only MSS: wscale and SACK-perm cannot be remembered', (t) => {
  const { ct, sp, path } = setup(NO_TS);
  at(ct, S);
  t.is(path.packet(clientSyn(new Pkt()), true), NF_STOLEN);
  const sa = sp.toClient;
  t.is(sa.optMss, 1460);
  t.is(sa.optWscale, -1);
  t.false(sa.optSackPerm);
  t.false(sa.optTs);
  // the client's ACK then brings MSS only to the server
  at(ct, S + 10_000);
  t.is(path.packet(clientAck(new Pkt(), sa), true), NF_STOLEN);
  const syn = sp.toServer;
  t.is(syn.optMss, 1460);
  t.is(syn.optWscale, -1);
  t.false(syn.optSackPerm);
  t.false(syn.optTs);
});

test('docs/synproxy.md §3 an ACK with a bad cookie is dropped (cookie_invalid) and creates nothing', (t) => {
  const { ct, sp, path } = setup();
  at(ct, S);
  path.packet(clientSyn(new Pkt()), true);
  const sa = sp.toClient;
  const q = clientAck(new Pkt(), sa);
  q.ack = (q.ack + 1) >>> 0;
  t.is(path.packet(q, true), NF_DROP);
  t.is(path.lastState, PATH_INVALID, 'tcp_loose 0: an ACK without entry is invalid');
  t.is(sp.stats.cookie_invalid, 1);
  t.is(sp.stats.cookie_valid, 0);
  t.is(ct.count, 0);
  t.is(ct.stats.invalid, 2, 'the SYN-ACK (OUTPUT, no entry) and the ACK');
});

test('docs/synproxy.md §3 an ACK 120 s after its SYN is refused; 60 s after a SYN at the start of a minute it is still valid', (t) => {
  const { ct, sp, path } = setup();
  at(ct, 0);
  path.packet(clientSyn(new Pkt()), true);
  const cookie = sp.toClient.seq;
  at(ct, 119 * S);
  t.is(path.packet(clientAck(new Pkt(), sp.toClient), true), NF_STOLEN, 'counter 1 (119 s): valid');
  const sa = new Pkt(); sa.seq = cookie; sa.optTs = false;
  const { ct: ct2, sp: sp2, path: path2 } = setup();
  at(ct2, 0);
  path2.packet(clientSyn(new Pkt()), true);
  at(ct2, 120 * S);
  t.is(path2.packet(clientAck(new Pkt(), sp2.toClient), true), NF_DROP, 'counter 2 (120 s): too old');
  t.is(sp2.stats.cookie_invalid, 1);
});

test('docs/synproxy.md §5 a valid ACK becomes the server SYN, whose conntrack pass creates the entry (SYN_SENT, SEQADJ+SYNPROXY)', (t) => {
  const { ct, sp, path } = setup();
  const base = ct.kernelBytes();
  const cookie = handshakeClient(ct, path, new Pkt());
  t.is(sp.stats.cookie_valid, 1);
  t.is(sp.emitted, EMIT_SERVER_SYN);
  t.is(ct.count, 1);
  const slot = sp.serverSlot;
  t.true(slot >= 0);
  t.is(ct.tcp.stateOf(slot), TCP_CONNTRACK_SYN_SENT);
  t.is(ct.extMaskOf(slot) & (CT_EXT_SEQADJ | CT_EXT_SYNPROXY), CT_EXT_SEQADJ | CT_EXT_SYNPROXY);
  // 256-byte nf_conn + one 128-byte extension area (16 header + 24 SEQADJ + 16 (12 aligned) SYNPROXY < 128)
  t.is(ct.kernelBytes() - base, 256 + 128);
  t.is(ct.table.srcOf(slot), C, 'the entry has the client as its ORIGINAL source');
  const syn = sp.toServer;
  t.is(syn.tcpFlags, TH_SYN);
  t.is(syn.src, C); t.is(syn.dst, V);
  t.is(syn.seq, ISN, "the client's ISN");
  t.is(syn.ack, cookie, 'the cookie ISN relayed in the ack field');
  t.is(syn.win, 502, "the client's window");
  t.is(syn.optMss, 1460, 'MSS decoded from the cookie');
  t.is(syn.optWscale, 7, 'wscale recovered from the timestamp echo');
  t.true(syn.optSackPerm);
  t.is(syn.tsval, 1010); t.is(syn.tsecr, sp.its[slot]! >>> 0);
  t.is(sp.isn[slot]! >>> 0, cookie, 'the hook recorded the cookie ISN');
  t.is(ct.table.statusOf(slot) & IPS_SEQ_ADJUST, 0, 'no offset yet');
});

test('docs/synproxy.md §5 the server SYN-ACK: SYN_RECV, consumed; ACK to the server (ESTABLISHED, ASSURED), offset, window update', (t) => {
  const { ct, sp, path } = setup();
  const cookie = handshakeClient(ct, path, new Pkt());
  const slot = sp.serverSlot;
  const its = sp.its[slot]! >>> 0;
  at(ct, 10 * S + 50_000);
  const sa = tcp(new Pkt(), V, 80, C, 40000, 'SA', SISN, ISN + 1, 65160);
  sa.optMss = 1460; sa.optWscale = 7; sa.optSackPerm = true; sa.optTs = true; sa.tsval = 777_000; sa.tsecr = 1010;
  // the conntrack step alone: SYN_SENT → SYN_RECV
  t.is(ct.packetIn(sa), NF_ACCEPT);
  t.is(ct.tcp.stateOf(slot), TCP_CONNTRACK_SYN_RECV);
  // then the POST_ROUTING synproxy hook
  t.is(sp.hook(sa, slot, 1), NF_STOLEN);
  t.is(sp.emitted, EMIT_SERVER_ACK | EMIT_CLIENT_ACK);
  t.is(ct.tcp.stateOf(slot), TCP_CONNTRACK_ESTABLISHED, "the proxy's ACK went through conntrack");
  t.not(ct.table.statusOf(slot) & IPS_ASSURED, 0);
  t.is(sp.tsoff[slot], (777_000 - its) | 0);
  const ack = sp.toServer;
  t.is(ack.tcpFlags, TH_ACK);
  t.is(ack.src, C); t.is(ack.dst, V);
  t.is(ack.seq, ISN + 1);
  t.is(ack.ack, SISN + 1);
  t.is(ack.optMss, -1); t.is(ack.optWscale, -1); t.false(ack.optSackPerm);
  t.is(ack.tsval, 1010, "TSval: the server's echo");
  t.is(ack.tsecr, (777_000 + (777_000 - its)) >>> 0, 'TSecr: the server TSval, then moved by tsoff in POST_ROUTING as the kernel does');
  t.not(ct.table.statusOf(slot) & IPS_SEQ_ADJUST, 0);
  t.is(sp.seqOff[slot * 2 + 1], (cookie - SISN) | 0, 'offset = cookie ISN − server ISN on the REPLY direction');
  t.is(sp.seqOff[slot * 2], 0);
  const up = sp.toClient;
  t.is(up.tcpFlags, TH_ACK);
  t.is(up.src, V); t.is(up.dst, C);
  t.is(up.seq, (cookie + 1) >>> 0, 'server ISN + 1, adjusted into the cookie space');
  t.is(up.ack, ISN + 1);
  t.is(up.win, 65160 >>> 7);
  t.is(up.tsval, its, 'server TSval moved back into the proxy clock');
  t.is(up.tsecr, 1010);
});

test('docs/synproxy.md §6 later packets are adjusted both ways: client acks −offset, server seqs +offset, timestamps by tsoff', (t) => {
  const { ct, sp, path } = setup();
  const cookie = handshakeClient(ct, path, new Pkt());
  const slot = sp.serverSlot;
  at(ct, 10 * S + 50_000);
  const sa = tcp(new Pkt(), V, 80, C, 40000, 'SA', SISN, ISN + 1, 65160);
  sa.optWscale = 7; sa.optTs = true; sa.tsval = 777_000; sa.tsecr = 1010;
  t.is(path.packet(sa, false), NF_STOLEN);
  const tsoff = sp.tsoff[slot]!;
  // client request: seq ISN+1, ack cookie+1 (what it saw), 100 bytes
  at(ct, 10 * S + 80_000);
  const rq = tcp(new Pkt(), C, 40000, V, 80, 'A', ISN + 1, cookie + 1, 502, 100);
  rq.optTs = true; rq.tsval = 1040; rq.tsecr = sp.its[slot]! >>> 0;
  t.is(path.packet(rq, true), NF_ACCEPT);
  t.is(path.lastState, PATH_TRACKED);
  t.is(rq.seq, ISN + 1, 'client seq unchanged (offset 0 on ORIGINAL)');
  t.is(rq.ack, SISN + 1, 'ack moved into the server space');
  t.is(rq.tsecr, (sp.its[slot]! + tsoff) >>> 0, 'TSecr moved into the server clock');
  // server response: seq SISN+1, ack ISN+101, 200 bytes
  at(ct, 10 * S + 110_000);
  const rs = tcp(new Pkt(), V, 80, C, 40000, 'A', SISN + 1, ISN + 101, 509, 200);
  rs.optTs = true; rs.tsval = 777_060; rs.tsecr = 1040;
  t.is(path.packet(rs, false), NF_ACCEPT);
  t.is(rs.seq, (cookie + 1) >>> 0, 'server seq moved into the cookie space');
  t.is(rs.ack, ISN + 101);
  t.is(rs.tsval, (777_060 - tsoff) >>> 0);
  // the client ACKs the 200 bytes in its space; the tracker takes the offset into account
  at(ct, 10 * S + 140_000);
  const a2 = tcp(new Pkt(), C, 40000, V, 80, 'A', ISN + 101, cookie + 201, 502);
  t.is(path.packet(a2, true), NF_ACCEPT);
  t.is(a2.ack, SISN + 201);
  t.is(ct.tcp.stateOf(slot), TCP_CONNTRACK_ESTABLISHED);
  t.is(ct.stats.invalid, 2, 'only the cookie SYN-ACK and the client ACK of the handshake (no entry) were invalid');
});

test('docs/synproxy.md §1 a spoofed SYN flood creates no entry; without SYNPROXY each SYN takes one', (t) => {
  const { ct, sp, path } = setup();
  const p = new Pkt();
  for (let i = 0; i < 500; i++) {
    at(ct, S + i * 100);
    tcp(p, ip(198, 51, (i >> 8) & 255, i & 255), 1024 + i, V, 80, 'S', i * 7919, 0, 64240);
    t.is(path.packet(p, true), NF_STOLEN);
  }
  t.is(ct.count, 0);
  t.is(sp.stats.syn_received, 500);
  const plain = createConntrack({ hz: HZ, seed: 3, sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024 } });
  for (let i = 0; i < 500; i++) {
    plain.setNow(S + i * 100);
    plain.packetIn(tcp(p, ip(198, 51, (i >> 8) & 255, i & 255), 1024 + i, V, 80, 'S', i * 7919, 0, 64240));
  }
  t.is(plain.count, 500);
});

test('docs/synproxy.md §3 a full table with nothing early-droppable drops the cookie SYN-ACK itself (its OUTPUT allocation)', (t) => {
  const { ct, sp, path } = setup(FULL, { nf_conntrack_max: 1 });
  handshakeClient(ct, path, new Pkt());
  // make the one entry ASSURED (not early-droppable): server SYN-ACK through the proxy, then client data
  const slot = sp.serverSlot;
  at(ct, 10 * S + 50_000);
  path.packet(tcp(new Pkt(), V, 80, C, 40000, 'SA', SISN, ISN + 1, 65160), false);
  t.not(ct.table.statusOf(slot) & IPS_ASSURED, 0);
  at(ct, 11 * S);
  t.is(path.packet(clientSyn(new Pkt(), 1460, 40001), true), NF_STOLEN, 'the SYN is consumed all the same');
  t.is(sp.stats.syn_received, 2);
  t.is(sp.emitted, 0, 'no SYN-ACK left');
  t.is(sp.clientVerdict, NF_DROP);
  t.is(ct.stats.drop, 1);
});

test('docs/synproxy.md §3 the statement ignores non-TCP packets and TCP packets that are neither SYN nor ACK', (t) => {
  const { ct, sp } = setup();
  at(ct, S);
  const u = new Pkt(); u.proto = IPPROTO_UDP;
  t.is(sp.ruleEval(u, FULL), NF_ACCEPT);
  t.is(sp.ruleEval(tcp(new Pkt(), C, 1, V, 80, 'R', 5), FULL), NF_ACCEPT);
  t.is(sp.stats.syn_received + sp.stats.cookie_invalid + sp.stats.cookie_valid, 0);
});

test('docs/synproxy.md §7 cookie_retrans: a keep-alive in SYN_SENT re-validates (seq − 1 quirk) and re-sends the server SYN', (t) => {
  // MSS 1300 (class 1): the keep-alive's check decodes class 2 (valid); MSS 1460 (class 3): invalid
  for (const [mss, ok] of [[1300, true], [1460, false]] as const) {
    const { ct, sp, path } = setup();
    const cookie = handshakeClient(ct, path, new Pkt(), 10 * S, mss);
    const slot = sp.serverSlot;
    t.is(ct.tcp.stateOf(slot), TCP_CONNTRACK_SYN_SENT);
    // no SYN-ACK came (server SYN lost); the client probes its zero window: seq = ISN (SND.NXT − 1)
    at(ct, 11 * S);
    const ka = tcp(new Pkt(), C, 40000, V, 80, 'A', ISN, cookie + 1, 502);
    const v = path.packet(ka, true);
    t.is(path.lastState, PATH_TRACKED, 'the tracker lets a SYNPROXY keep-alive in SYN_SENT through (§4.6 step 3)');
    if (ok) {
      t.is(v, NF_STOLEN);
      t.is(sp.stats.cookie_retrans, 1);
      t.is(sp.stats.cookie_valid, 2);
      t.is(sp.toServer.seq, ISN, 'the same ISN as the first server SYN');
      t.is(sp.toServer.optMss, 1440, 'but the class decoded one too high');
      t.is(ct.count, 1, 'the retransmitted SYN reuses the entry');
    } else {
      t.is(v, NF_DROP);
      t.is(sp.stats.cookie_retrans, 0);
      t.is(sp.stats.cookie_invalid, 1);
    }
  }
});

test('docs/synproxy.md §7 conn_reopened: a SYN on a CLOSE entry resets the timestamp offset and records the new ISN', (t) => {
  const { ct, sp, path } = setup();
  const cookie = handshakeClient(ct, path, new Pkt());
  const slot = sp.serverSlot;
  at(ct, 10 * S + 50_000);
  const sa = tcp(new Pkt(), V, 80, C, 40000, 'SA', SISN, ISN + 1, 65160);
  sa.optTs = true; sa.tsval = 777_000; sa.tsecr = 1010;
  path.packet(sa, false);
  t.not(sp.tsoff[slot], 0);
  // the server resets the connection (REPLY RST): CLOSE
  at(ct, 10 * S + 60_000);
  const rst = tcp(new Pkt(), V, 80, C, 40000, 'R', SISN + 1, 0, 0);
  path.packet(rst, false);
  t.is(ct.tcp.stateOf(slot), TCP_CONNTRACK_CLOSE);
  // a tracked SYN from the client side on the CLOSE entry (not notracked: straight to conntrack)
  at(ct, 10 * S + 70_000);
  const syn = tcp(new Pkt(), C, 40000, V, 80, 'S', ISN + 5000, cookie + 9, 64240);
  t.is(ct.packetIn(syn), NF_ACCEPT);
  t.is(ct.lastSlot, slot, 'the tracker ignores the SYN (the RST came from the other side): same entry');
  t.is(sp.hook(syn, slot, 0), NF_ACCEPT);
  t.is(sp.stats.conn_reopened, 1);
  t.is(sp.tsoff[slot], 0);
  t.is(sp.isn[slot]! >>> 0, (cookie + 9) >>> 0);
});
