/**
 * §4.6 post-table special cases, §4.8 timeout ladder, §4.9 ASSURED, nf_tcp_handle_invalid().
 */
import test from 'ava';
import { IPS_ASSURED, IPS_CONFIRMED, IPS_DYING, IPS_FIXED_TIMEOUT, IPS_SEEN_REPLY } from './constants.js';
import {
  IP_CT_EXP_CHALLENGE_ACK, IP_CT_TCP_FLAG_BE_LIBERAL, IP_CT_TCP_FLAG_CLOSE_INIT,
  IP_CT_TCP_FLAG_SACK_PERM, IP_CT_TCP_FLAG_WINDOW_SCALE, IP_CT_TCP_SIMULTANEOUS_OPEN, TCP_ACK_SET,
  TCP_CONNTRACK_CLOSE, TCP_CONNTRACK_ESTABLISHED, TCP_CONNTRACK_LAST_ACK, TCP_CONNTRACK_RETRANS,
  TCP_CONNTRACK_SYN_RECV, TCP_CONNTRACK_SYN_SENT, TCP_CONNTRACK_SYN_SENT2, TCP_CONNTRACK_TIME_WAIT,
  TCP_CONNTRACK_UNACK, TCP_FIN_SET, TCP_RST_SET, TCP_SYN_SET, selectTcpTimeout, tcpPacket,
  tcpTimeoutsJiffies,
} from './proto-tcp.js';
import { Conn, EV_ASSURED, EV_PROTOINFO, HZ, parseFlags, sec } from './proto-tcp-testkit.js';
import { TrackerOut, VERDICT_ACCEPT, VERDICT_DROP, VERDICT_INVALID, VERDICT_REPEAT } from './tracker.js';
import { B_LAST_DIR, B_LAST_FLAGS, B_LAST_INDEX, B_LAST_WSCALE, B_RETRANS, B_TD_FLAGS, B_TD_SCALE, T_LAST_ACK, T_LAST_END, T_LAST_SEQ, T_LAST_WIN, T_TD_END, T_TD_MAXACK, T_TD_MAXEND, T_TD_MAXWIN, tdb, tdw } from './tcp-store.js';

const W = 65535;

/** SYN 1000 → SYN-ACK 5000 → ACK: ESTABLISHED + ASSURED, next seqs 1001 / 5001. */
function established(c: Conn): void {
  c.o('S', 1000, 0, W);
  c.r('SA', 5000, 1001, W);
  c.o('A', 1001, 5001, W);
}

/** established() then a FIN close initiated by the originator, ending in TIME_WAIT. */
function timeWait(c: Conn): void {
  established(c);
  c.o('FA', 1001, 5001, W);
  c.r('A', 5001, 1002, W);
  c.r('FA', 5001, 1002, W);
  c.o('A', 1002, 5002, W);
}

/** Raw tcpPacket on the Conn's entry, to see the tracker's own verdict (no core loop). */
function raw(c: Conn, d: number, f: string, seq: number, ack: number, win: number, len = 0): TrackerOut {
  const p = c.fill(parseFlags(f), seq, ack, win, len);
  const out = new TrackerOut();
  tcpPacket(c.store, c.slot, d, p, c.status | c.extraStatus, c.timeouts, c.remaining, c.sys, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// §4.6-1 re-open
// ---------------------------------------------------------------------------------------------

test('docs/model.md §4.6-1: SYN in TIME_WAIT after a FIN close (CLOSE_INIT) → REPEAT, fresh SYN_SENT entry', (t) => {
  const c = new Conn();
  timeWait(c);
  t.is(c.state, TCP_CONNTRACK_TIME_WAIT);
  t.true((c.store.b[tdb(c.idx(0)) + B_TD_FLAGS] & IP_CT_TCP_FLAG_CLOSE_INIT) !== 0);
  t.is(c.store.b[tdb(c.idx(1)) + B_TD_FLAGS] & IP_CT_TCP_FLAG_CLOSE_INIT, 0);
  const out = raw(c, 0, 'S', 90000, 0, W);
  t.is(out.verdict, VERDICT_REPEAT);
  t.false(out.refresh);
  t.is(out.events, 0);
  t.is(c.state, TCP_CONNTRACK_TIME_WAIT, 'tracker leaves the old entry to the core');
  const r = c.o('S', 90000, 0, W);
  t.true(r.repeated);
  t.is(r.state, TCP_CONNTRACK_SYN_SENT);
  t.is(r.timeout, sec(120));
  t.is(c.status, IPS_CONFIRMED, 'fresh entry: no SEEN_REPLY / ASSURED');
  t.is(c.store.w[tdw(c.idx(0)) + T_TD_END], 90001);
});

test('docs/model.md §4.6-1: REPLY SYN in TIME_WAIT (roles switched) → REPEAT', (t) => {
  const c = new Conn();
  timeWait(c);
  t.is(raw(c, 1, 'S', 70000, 0, W).verdict, VERDICT_REPEAT);
  const r = c.r('S', 70000, 0, W);
  t.true(r.repeated);
  t.true(c.flipped);
  t.is(r.state, TCP_CONNTRACK_SYN_SENT);
});

test('docs/model.md §4.6-1: SYN in CLOSE after own RST (last_dir == dir, last_index RST) → REPEAT', (t) => {
  const c = new Conn();
  established(c);
  c.o('R', 1001, 0, 0);
  t.is(c.state, TCP_CONNTRACK_CLOSE);
  t.is(c.store.b[(c.slot << 6) + B_LAST_INDEX], TCP_RST_SET);
  t.is(raw(c, 0, 'S', 3000, 0, W).verdict, VERDICT_REPEAT);
});

test('docs/model.md §4.6-1: re-open while the entry is already dying → DROP', (t) => {
  const c = new Conn();
  timeWait(c);
  c.extraStatus = IPS_DYING;
  const out = raw(c, 0, 'S', 90000, 0, W);
  t.is(out.verdict, VERDICT_DROP);
  t.false(out.refresh);
});

test('docs/model.md §4.6-1/2: SYN in CLOSE reached by the peer\'s RST falls through to IGNORE, then SYN-ACK resync', (t) => {
  const c = new Conn();
  established(c);
  const rst = c.r('R', 5001, 0, 0);
  t.is(rst.state, TCP_CONNTRACK_CLOSE);
  t.is(rst.timeout, sec(10));
  // Originator re-opens: no CLOSE_INIT anywhere, last RST came from the other side → ignored.
  const syn = c.o('S', 9000, 0, 4000, 0, { wscale: 6, sackPerm: true });
  t.is(syn.verdict, VERDICT_ACCEPT);
  t.false(syn.repeated);
  t.false(syn.refresh);
  t.is(syn.events, 0);
  t.is(syn.state, TCP_CONNTRACK_CLOSE);
  t.is(c.store.b[(c.slot << 6) + B_LAST_INDEX], TCP_SYN_SET);
  t.is(c.store.b[(c.slot << 6) + B_LAST_DIR], 0);
  t.is(c.store.w[(c.slot << 4) + T_LAST_END], 9001);
  // The server answers the SYN: the tracker resynchronises on the recorded SYN.
  const sa = c.r('SA', 20000, 9001, 3000, 0, { wscale: 6, sackPerm: true });
  t.is(sa.verdict, VERDICT_ACCEPT);
  t.is(sa.state, TCP_CONNTRACK_SYN_RECV);
  t.is(sa.timeout, sec(60));
  t.is(sa.events, EV_PROTOINFO);
  const s0 = c.idx(0), s1 = c.idx(1);
  t.is(c.store.w[tdw(s0) + T_TD_END], 9001);
  t.is(c.store.w[tdw(s0) + T_TD_MAXWIN], 4000);
  t.is(c.store.b[tdb(s0) + B_TD_SCALE], 6);
  t.is(c.store.b[tdb(s0) + B_TD_FLAGS], IP_CT_TCP_FLAG_WINDOW_SCALE | IP_CT_TCP_FLAG_SACK_PERM);
  t.is(c.store.w[tdw(s1) + T_TD_END], 20001);
  t.is(c.store.b[tdb(s1) + B_TD_SCALE], 6);
  t.is(c.store.w[tdw(s0) + T_TD_MAXEND], 9001 + 3000, 'receiver right edge from the SYN-ACK (SYN window unscaled)');
  const ack = c.o('A', 9001, 20001, 100);
  t.is(ack.state, TCP_CONNTRACK_ESTABLISHED);
  t.is(ack.timeout, sec(432000));
  t.is(ack.events, EV_PROTOINFO, 'already ASSURED: no second ASSURED event');
});

// ---------------------------------------------------------------------------------------------
// §4.6-2 IGNORE bookkeeping and resync
// ---------------------------------------------------------------------------------------------

test('docs/model.md §4.6-2: ignored ORIGINAL SYN records seq/end/win and its options; no refresh', (t) => {
  const c = new Conn();
  established(c);
  c.remaining = 12345;
  const r = c.o('S', 7000, 0, 1234, 0, { wscale: 9, sackPerm: true });
  t.is(r.verdict, VERDICT_ACCEPT);
  t.false(r.refresh);
  t.is(r.state, TCP_CONNTRACK_ESTABLISHED);
  t.is(c.remaining, 12345);
  const st = c.store, s = c.slot;
  t.is(st.b[(s << 6) + B_LAST_INDEX], TCP_SYN_SET);
  t.is(st.b[(s << 6) + B_LAST_DIR], 0);
  t.is(st.w[(s << 4) + T_LAST_SEQ], 7000);
  t.is(st.w[(s << 4) + T_LAST_END], 7001);
  t.is(st.w[(s << 4) + T_LAST_WIN], 1234);
  t.is(st.b[(s << 6) + B_LAST_FLAGS], IP_CT_TCP_FLAG_WINDOW_SCALE | IP_CT_TCP_FLAG_SACK_PERM);
  t.is(st.b[(s << 6) + B_LAST_WSCALE], 9);
  t.is(st.w[tdw(c.idx(0)) + T_TD_END], 1001, 'window data untouched');
});

test('docs/model.md §4.6-2: ignored SYN without options clears last_flags/last_wscale', (t) => {
  const c = new Conn();
  established(c);
  c.o('S', 7000, 0, 1234, 0, { wscale: 9, sackPerm: true });
  c.o('S', 7000, 0, 1234, 0);
  t.is(c.store.b[(c.slot << 6) + B_LAST_FLAGS], 0);
  t.is(c.store.b[(c.slot << 6) + B_LAST_WSCALE], 0);
});

test('docs/model.md §4.6-2: ignored REPLY ACK in SYN_SENT records its ack as last_ack', (t) => {
  const c = new Conn();
  c.o('S', 1000, 0, W);
  const r = c.r('A', 444, 777777, W);
  t.is(r.verdict, VERDICT_ACCEPT);
  t.false(r.refresh);
  t.is(r.state, TCP_CONNTRACK_SYN_SENT);
  t.is(c.store.w[(c.slot << 4) + T_LAST_ACK], 777777);
  t.is(c.store.b[(c.slot << 6) + B_LAST_INDEX], TCP_ACK_SET);
  t.is(c.store.b[(c.slot << 6) + B_LAST_DIR], 1);
  t.is(c.store.w[(c.slot << 4) + T_LAST_END], 444);
  t.is(c.status & IPS_SEEN_REPLY, IPS_SEEN_REPLY, 'core marks SEEN_REPLY for an ignored (accepted) reply');
});

test('docs/model.md §4.6-2: SYN-ACK whose ack does not match the ignored SYN stays ignored', (t) => {
  const c = new Conn();
  established(c);
  c.o('S', 7000, 0, 1234);
  const r = c.r('SA', 20000, 7002, W);
  t.is(r.verdict, VERDICT_ACCEPT);
  t.false(r.refresh);
  t.is(r.state, TCP_CONNTRACK_ESTABLISHED);
  t.is(c.store.b[(c.slot << 6) + B_LAST_INDEX], 1 /* SYN-ACK recorded */);
});

test('docs/model.md §4.6-2: SYN-ACK resync in ESTABLISHED (server restarted the connection)', (t) => {
  const c = new Conn();
  established(c);
  c.o('S', 7000, 0, 1234);
  const r = c.r('SA', 20000, 7001, 999);
  t.is(r.state, TCP_CONNTRACK_SYN_RECV);
  t.true(r.refresh);
  t.is(r.timeout, sec(60));
  t.is(r.events, EV_PROTOINFO);
  t.is(c.store.w[tdw(c.idx(0)) + T_TD_MAXWIN], 1234);
  t.is(c.store.w[tdw(c.idx(1)) + T_TD_END], 20001);
  t.is(c.store.w[tdw(c.idx(1)) + T_TD_MAXWIN], 999);
});

// ---------------------------------------------------------------------------------------------
// §4.6-4 challenge ACK in LAST_ACK
// ---------------------------------------------------------------------------------------------

test('docs/model.md §4.6-4: RFC 5961 challenge ACK in LAST_ACK does not move to TIME_WAIT', (t) => {
  const c = new Conn();
  established(c);
  c.o('FA', 1001, 5001, W);
  c.r('A', 5001, 1002, W);
  c.r('FA', 5001, 1002, W);
  t.is(c.state, TCP_CONNTRACK_LAST_ACK);
  c.remaining = 777;
  const syn = c.o('S', 50000, 0, W); // client restarted: SYN in LAST_ACK is ignored
  t.false(syn.refresh);
  t.is(c.store.b[(c.slot << 6) + B_LAST_FLAGS] & IP_CT_EXP_CHALLENGE_ACK, IP_CT_EXP_CHALLENGE_ACK);
  const chal = c.r('A', 5002, 1002, W); // server's challenge ACK
  t.is(chal.verdict, VERDICT_ACCEPT);
  t.false(chal.refresh);
  t.is(chal.events, 0);
  t.is(chal.state, TCP_CONNTRACK_LAST_ACK);
  t.is(c.store.b[(c.slot << 6) + B_LAST_FLAGS] & IP_CT_EXP_CHALLENGE_ACK, 0);
  t.is(c.remaining, 777);
  // Without the flag the same ACK is the last ACK.
  const last = c.r('A', 5002, 1002, W);
  t.is(last.state, TCP_CONNTRACK_TIME_WAIT);
  t.is(last.timeout, sec(120));
});

// ---------------------------------------------------------------------------------------------
// §4.6-5/6 simultaneous open
// ---------------------------------------------------------------------------------------------

test('docs/model.md §4.6-5/6: SYN_SENT2 sets SIMULTANEOUS_OPEN; REPLY ACK in SYN_RECV then means ESTABLISHED', (t) => {
  const c = new Conn();
  c.o('S', 1000, 0, W);
  const s2 = c.r('S', 5000, 0, W);
  t.is(s2.state, TCP_CONNTRACK_SYN_SENT2);
  t.is(c.store.b[(c.slot << 6) + B_LAST_FLAGS] & IP_CT_TCP_SIMULTANEOUS_OPEN, IP_CT_TCP_SIMULTANEOUS_OPEN);
  const sr = c.o('SA', 1000, 5001, W);
  t.is(sr.state, TCP_CONNTRACK_SYN_RECV);
  const es = c.r('A', 5001, 1001, W);
  t.is(es.state, TCP_CONNTRACK_ESTABLISHED);
  t.is(es.events, EV_PROTOINFO | EV_ASSURED);
  t.is(es.timeout, sec(432000));
});

test('docs/model.md §4.6-6: without SIMULTANEOUS_OPEN a REPLY ACK in SYN_RECV keeps SYN_RECV', (t) => {
  const c = new Conn();
  c.o('S', 1000, 0, W);
  c.r('SA', 5000, 1001, W);
  const r = c.r('A', 5001, 1001, W);
  t.is(r.state, TCP_CONNTRACK_SYN_RECV);
  t.is(r.timeout, sec(60));
  t.is(r.events, 0);
});

// ---------------------------------------------------------------------------------------------
// §4.6-7 RST rules
// ---------------------------------------------------------------------------------------------

test('docs/model.md §4.6-7: RST with seq == peer td_maxack closes (CLOSE, 10 s)', (t) => {
  const c = new Conn();
  established(c);
  const r = c.o('R', 1001, 0, 0);
  t.is(r.state, TCP_CONNTRACK_CLOSE);
  t.is(r.timeout, sec(10));
  t.is(r.events, EV_PROTOINFO);
});

test('docs/model.md §4.6-7: RST with seq before td_maxack → INVALID ("invalid rst")', (t) => {
  const c = new Conn();
  established(c);
  c.o('PA', 1001, 5001, W, 500);
  c.r('A', 5001, 1501, W);
  t.is(c.store.w[tdw(c.idx(1)) + T_TD_MAXACK], 1501);
  const r = c.o('R', 1400, 0, 0);
  t.is(r.verdict, VERDICT_INVALID);
  t.false(r.refresh);
  t.is(r.state, TCP_CONNTRACK_ESTABLISHED);
});

test('docs/model.md §4.6-7: invalid RST stays INVALID with tcp_be_liberal=1', (t) => {
  const c = new Conn({ tcp_be_liberal: 1 });
  established(c);
  c.o('PA', 1001, 5001, W, 500);
  c.r('A', 5001, 1501, W);
  t.is(c.o('R', 1400, 0, 0).verdict, VERDICT_INVALID);
});

test('docs/model.md §4.6-7/§4.10: tcp_ignore_invalid_rst=1 → RST before td_maxack keeps ESTABLISHED, CLOSE timeout', (t) => {
  const c = new Conn({ tcp_ignore_invalid_rst: 1 });
  established(c);
  c.o('PA', 1001, 5001, W, 500);
  c.r('A', 5001, 1501, W);
  const r = c.o('R', 1400, 0, 0);
  t.is(r.verdict, VERDICT_ACCEPT);
  t.is(r.state, TCP_CONNTRACK_ESTABLISHED);
  t.is(r.timeout, sec(10));
  t.is(r.events, 0);
});

test('docs/model.md §4.6-7: in-window RST with inexact seq keeps the state (challenge ACK) but sets CLOSE timeout', (t) => {
  const c = new Conn();
  established(c);
  const r = c.o('R', 1500, 0, 0);
  t.is(r.verdict, VERDICT_ACCEPT);
  t.is(r.state, TCP_CONNTRACK_ESTABLISHED);
  t.is(r.timeout, sec(10));
  t.is(r.events, 0);
  t.is(c.store.b[(c.slot << 6) + B_LAST_INDEX], TCP_RST_SET);
});

test('docs/model.md §4.6-7: RST right after own data segment (RST train) closes', (t) => {
  const c = new Conn();
  established(c);
  c.r('PA', 5001, 1001, W, 19);
  const r = c.r('R', 5020, 0, 0);
  t.is(r.state, TCP_CONNTRACK_CLOSE);
  t.is(r.timeout, sec(10));
});

test('docs/model.md §4.6-7: inexact RST closes when the entry is not ESTABLISHED+ASSURED', (t) => {
  const c = new Conn();
  c.o('S', 1000, 0, W);
  c.r('SA', 5000, 1001, W);
  const r = c.o('R', 1500, 0, 0); // not == td_maxack (1001), but state is SYN_RECV
  t.is(r.state, TCP_CONNTRACK_CLOSE);
});

test('docs/model.md §4.6-7: RST in a closing state skips all sequence checks', (t) => {
  const c = new Conn();
  established(c);
  c.o('FA', 1001, 5001, W);
  const r = c.r('R', 0x7abcdef0, 0, 0); // wildly out of window
  t.is(r.verdict, VERDICT_ACCEPT);
  t.is(r.state, TCP_CONNTRACK_CLOSE);
  t.is(r.timeout, sec(10));
});

test('docs/model.md §4.6-7: RST answering an ignored SYN (ack == last_end) skips the window check', (t) => {
  const c = new Conn();
  established(c);
  c.o('S', 7000, 0, W);
  const r = c.r('RA', 0x60000000, 7001, 0);
  t.is(r.verdict, VERDICT_ACCEPT);
  t.is(r.state, TCP_CONNTRACK_CLOSE);
  // Same RST with a non-matching ack goes through the window check and fails check I.
  const c2 = new Conn();
  established(c2);
  c2.o('S', 7000, 0, W);
  t.is(c2.r('RA', 0x60000000, 7002, 0).verdict, VERDICT_INVALID);
});

test('docs/model.md §4.6-7: RST answering a half-open ACK we let through (not ASSURED, ack == last_end)', (t) => {
  const c = new Conn();
  c.o('S', 1000, 0, W);
  c.r('A', 300000, 555, W); // half-open: ignored, recorded (last_end 300000)
  const r = c.o('RA', 0x50000000, 300000, 0);
  t.is(r.verdict, VERDICT_ACCEPT);
  t.is(r.state, TCP_CONNTRACK_CLOSE);
  t.false(r.kill, 'SEEN_REPLY was set by the ignored reply');
});

test('docs/model.md §4.6-7: RST answering a challenge ACK in SYN_SENT (seq == last_ack) skips the window check', (t) => {
  const c = new Conn();
  c.o('S', 1000, 0, W);
  c.r('A', 444, 123456, W); // challenge ACK: last_end 444, last_ack 123456
  const r = c.o('R', 123456, 0, 0);
  t.is(r.verdict, VERDICT_ACCEPT);
  t.is(r.state, TCP_CONNTRACK_CLOSE);
  t.is(r.timeout, sec(10));
  const c2 = new Conn();
  c2.o('S', 1000, 0, W);
  c2.r('A', 444, 123456, W);
  t.is(c2.o('R', 123457, 0, 0).verdict, VERDICT_INVALID, 'other seq: window check I fails');
});

// ---------------------------------------------------------------------------------------------
// §4.6-12
// ---------------------------------------------------------------------------------------------

test('docs/model.md §4.6-12: RST before any reply (connection refused) kills the entry, verdict ACCEPT', (t) => {
  const c = new Conn();
  c.o('S', 1000, 0, W);
  const r = c.r('RA', 0, 1001, 0);
  t.is(r.verdict, VERDICT_ACCEPT);
  t.true(r.kill);
  t.false(r.refresh);
  t.is(r.events, EV_PROTOINFO);
  t.false(r.exists);
  const c2 = new Conn();
  c2.o('S', 1000, 0, W);
  const r2 = c2.o('R', 1001, 0, 0);
  t.true(r2.kill, 'own RST before a reply too');
});

test('docs/model.md §4.6-12: unanswered SYN retransmission in SYN_SENT is not refreshed', (t) => {
  const c = new Conn();
  const first = c.o('S', 1000, 0, W);
  t.true(first.refresh);
  t.is(first.timeout, sec(120));
  t.is(first.events, EV_PROTOINFO);
  c.advance(sec(50));
  const again = c.o('S', 1000, 0, W);
  t.is(again.verdict, VERDICT_ACCEPT);
  t.false(again.refresh);
  t.is(again.events, 0);
  t.is(c.remaining, sec(70));
  // A retry with a new, higher ISN re-initialises the ORIGINAL side, still without refresh.
  const retry = c.o('S', 3000, 0, 1000, 0, { wscale: 3 });
  t.false(retry.refresh);
  t.is(c.store.w[tdw(c.idx(0)) + T_TD_END], 3001);
  t.is(c.store.w[tdw(c.idx(0)) + T_TD_MAXWIN], 1000);
  t.is(c.store.b[tdb(c.idx(0)) + B_TD_SCALE], 3);
});

test('docs/model.md §4.6-12/§4.4: loose pickup → ESTABLISHED capped at UNACK, BE_LIBERAL both sides, ASSURED after a reply', (t) => {
  const c = new Conn();
  const a = c.o('A', 1000, 2000, W);
  t.is(a.state, TCP_CONNTRACK_ESTABLISHED);
  t.is(a.timeout, sec(300));
  t.is(a.events, EV_PROTOINFO);
  t.is(c.store.b[tdb(c.idx(0)) + B_TD_FLAGS] & IP_CT_TCP_FLAG_BE_LIBERAL, IP_CT_TCP_FLAG_BE_LIBERAL);
  t.is(c.store.b[tdb(c.idx(1)) + B_TD_FLAGS] & IP_CT_TCP_FLAG_BE_LIBERAL, IP_CT_TCP_FLAG_BE_LIBERAL);
  const b = c.r('A', 2000, 1000, W);
  t.is(b.timeout, sec(300), 'SEEN_REPLY is set only after the tracker: still capped');
  t.is(b.events, 0);
  t.false(c.assured);
  const d = c.o('A', 1000, 2000, W);
  t.is(d.events, EV_ASSURED);
  t.true(c.assured);
  t.is(d.timeout, sec(432000));
});

test('docs/model.md §4.6-12/§4.9: ASSURED and its event on the 3rd handshake packet only', (t) => {
  const c = new Conn();
  const s = c.o('S', 1000, 0, W);
  t.is(s.events, EV_PROTOINFO);
  const sa = c.r('SA', 5000, 1001, W);
  t.is(sa.events, EV_PROTOINFO);
  t.false(c.assured);
  const a = c.o('A', 1001, 5001, W);
  t.is(c.out.setStatus, IPS_ASSURED);
  t.is(a.events, EV_PROTOINFO | EV_ASSURED);
  t.true(c.assured);
  const more = c.o('A', 1001, 5001, W - 1);
  t.is(more.events, 0);
  t.is(raw(c, 0, 'A', 1001, 5001, W - 2).setStatus, 0);
});

test('docs/model.md §8/§7: IPS_FIXED_TIMEOUT entries are never refreshed', (t) => {
  const c = new Conn();
  established(c);
  c.extraStatus = IPS_FIXED_TIMEOUT;
  const r = c.o('A', 1001, 5001, 1000);
  t.is(r.verdict, VERDICT_ACCEPT);
  t.false(r.refresh);
});

// ---------------------------------------------------------------------------------------------
// §4.6-10 timeout ladder
// ---------------------------------------------------------------------------------------------

/** Distinct RETRANS / UNACK values so the rungs can be told apart. */
const LADDER = tcpTimeoutsJiffies({
  nf_conntrack_tcp_timeout_max_retrans: 200, nf_conntrack_tcp_timeout_unacknowledged: 250,
}, HZ);

test('docs/model.md §4.6-10: selectTcpTimeout rung order', (t) => {
  const ES = TCP_CONNTRACK_ESTABLISHED, CW = 5;
  t.is(selectTcpTimeout(LADDER, ES, 3, 3, true, true, 0), sec(200), 'RETRANS beats RST');
  t.is(selectTcpTimeout(LADDER, ES, 2, 3, true, true, 0), sec(10), 'RST beats UNACK');
  t.is(selectTcpTimeout(LADDER, ES, 2, 3, false, true, 0), sec(250), 'UNACK beats zero window');
  t.is(selectTcpTimeout(LADDER, ES, 2, 3, false, false, 0), sec(200), 'zero window');
  t.is(selectTcpTimeout(LADDER, ES, 2, 3, false, false, 1), sec(432000), 'plain');
  t.is(selectTcpTimeout(LADDER, CW, 9, 3, false, true, 0), sec(60), 'caps only lower a longer timeout');
  t.is(selectTcpTimeout(LADDER, TCP_CONNTRACK_CLOSE, 9, 3, true, false, 1), sec(10));
  t.is(selectTcpTimeout(LADDER, ES, 0, 0, false, false, 1), sec(200), 'max_retrans 0: RETRANS whenever shorter');
  t.is(selectTcpTimeout(LADDER, TCP_CONNTRACK_TIME_WAIT, 0, 0, false, false, 1), sec(120), 'max_retrans 0: TIME_WAIT is shorter');
  t.is(LADDER[TCP_CONNTRACK_RETRANS], sec(200));
  t.is(LADDER[TCP_CONNTRACK_UNACK], sec(250));
});

test('docs/model.md §4.6-10.1: RETRANS after tcp_max_retrans identical ACKs', (t) => {
  const c = new Conn({}, LADDER);
  established(c);
  const first = c.o('A', 1001, 5001, 1000);
  t.is(first.timeout, sec(432000));
  t.is(c.store.b[(c.slot << 6) + B_RETRANS], 0);
  t.is(c.o('A', 1001, 5001, 1000).timeout, sec(432000));
  t.is(c.store.b[(c.slot << 6) + B_RETRANS], 1);
  t.is(c.o('A', 1001, 5001, 1000).timeout, sec(432000));
  t.is(c.store.b[(c.slot << 6) + B_RETRANS], 2);
  const fourth = c.o('A', 1001, 5001, 1000);
  t.is(c.store.b[(c.slot << 6) + B_RETRANS], 3);
  t.is(fourth.timeout, sec(200));
  // A different segment resets the counter.
  const other = c.o('A', 1001, 5001, 1001);
  t.is(c.store.b[(c.slot << 6) + B_RETRANS], 0);
  t.is(other.timeout, sec(432000));
});

test('docs/model.md §4.6-10.1: retransmitted data reaches RETRANS before UNACK; tcp_max_retrans=1', (t) => {
  const c = new Conn({ tcp_max_retrans: 1 }, LADDER);
  established(c);
  t.is(c.o('PA', 1001, 5001, 1000, 100).timeout, sec(250), 'unacked data');
  t.is(c.o('PA', 1001, 5001, 1000, 100).timeout, sec(200), 'first identical repeat with max_retrans 1');
});

test('docs/model.md §4.6-10.2: RST → CLOSE timeout whatever the state', (t) => {
  const c = new Conn({}, LADDER);
  established(c);
  c.o('PA', 1001, 5001, 1000, 100); // unacked data pending
  const r = c.o('R', 1101, 0, 0);
  t.is(r.state, TCP_CONNTRACK_CLOSE);
  t.is(r.timeout, sec(10));
});

test('docs/model.md §4.6-10.3: UNACK while data is unacknowledged, plain timeout once acknowledged', (t) => {
  const c = new Conn({}, LADDER);
  established(c);
  const d = c.o('PA', 1001, 5001, 1000, 100);
  t.is(d.timeout, sec(250));
  t.true((c.store.b[tdb(c.idx(0)) + B_TD_FLAGS] & 0x10) !== 0);
  const partial = c.r('A', 5001, 1050, W);
  t.is(partial.timeout, sec(250), 'partial ack keeps the flag');
  const full = c.r('A', 5001, 1101, W);
  t.is(c.store.b[tdb(c.idx(0)) + B_TD_FLAGS] & 0x10, 0);
  t.is(full.timeout, sec(432000));
});

test('docs/model.md §4.6-10.4: zero window → RETRANS', (t) => {
  const c = new Conn({}, LADDER);
  established(c);
  const z = c.r('A', 5001, 1001, 0);
  t.is(z.timeout, sec(200));
  t.is(c.store.w[(c.slot << 4) + T_LAST_WIN], 0);
  const open = c.r('A', 5001, 1001, 10);
  t.is(open.timeout, sec(432000));
});

test('docs/model.md §4.6-10.5: plain state timeouts', (t) => {
  const c = new Conn({}, LADDER);
  t.is(c.o('S', 1000, 0, W).timeout, sec(120));
  t.is(c.r('SA', 5000, 1001, W).timeout, sec(60));
  t.is(c.o('A', 1001, 5001, W).timeout, sec(432000));
});

// ---------------------------------------------------------------------------------------------
// nf_tcp_handle_invalid
// ---------------------------------------------------------------------------------------------

/** ESTABLISHED+ASSURED entry, an out-of-window ORIGINAL FIN, then an out-of-window REPLY FIN. */
function invalidFins(c: Conn, remaining: number): { first: ReturnType<Conn['o']>; second: ReturnType<Conn['o']> } {
  established(c);
  c.remaining = remaining;
  const first = c.o('FA', 0x40000000, 5001, W); // check I fails
  const second = c.r('FA', 0x40000000, 1001, W);
  return { first, second };
}

test('docs/model.md §4.8, nf_tcp_handle_invalid: out-of-window FIN after one from the other side cuts to UNACK', (t) => {
  const c = new Conn();
  const { first, second } = invalidFins(c, sec(400000));
  t.is(first.verdict, VERDICT_INVALID);
  t.false(first.refresh);
  t.is(c.store.b[(c.slot << 6) + B_LAST_INDEX], TCP_FIN_SET, 'first invalid FIN recorded');
  t.is(c.store.b[(c.slot << 6) + B_LAST_DIR], 0);
  t.is(second.verdict, VERDICT_INVALID);
  t.true(second.refresh);
  t.is(second.timeout, sec(300));
  t.is(c.remaining, sec(300));
  t.is(c.state, TCP_CONNTRACK_ESTABLISHED);
});

test('nf_tcp_handle_invalid: no cut below 120 s remaining, nor when remaining ≤ UNACK', (t) => {
  const a = new Conn();
  t.false(invalidFins(a, sec(120) - 1).second.refresh);
  const b = new Conn();
  t.false(invalidFins(b, sec(300)).second.refresh);
  const b2 = new Conn();
  t.true(invalidFins(b2, sec(300) + 1).second.refresh);
  const h = new Conn({ hz: 1000 });
  h.timeouts = tcpTimeoutsJiffies({}, 1000);
  t.false(invalidFins(h, 119999).second.refresh, 'threshold follows hz');
});

test('nf_tcp_handle_invalid: the 120 s floor is independent of the UNACK timeout (UNACK = 60 s)', (t) => {
  const short = tcpTimeoutsJiffies({ nf_conntrack_tcp_timeout_unacknowledged: 60 }, HZ);
  const below = new Conn({}, short);
  t.false(invalidFins(below, sec(120) - 1).second.refresh, 'remaining < 120 s: left alone');
  const at = new Conn({}, short);
  const r = invalidFins(at, sec(120)).second;
  t.true(r.refresh);
  t.is(r.timeout, sec(60));
});

test('nf_tcp_handle_invalid: not for unassured or FIXED_TIMEOUT entries, not for ACKs, not twice from one side', (t) => {
  const un = new Conn();
  un.o('S', 1000, 0, W);
  un.r('SA', 5000, 1001, W);
  un.remaining = sec(100000);
  un.o('FA', 0x40000000, 5001, W);
  t.false(un.r('FA', 0x40000000, 1001, W).refresh);

  const fx = new Conn();
  established(fx);
  fx.extraStatus = IPS_FIXED_TIMEOUT;
  fx.remaining = sec(100000);
  fx.o('FA', 0x40000000, 5001, W);
  t.false(fx.r('FA', 0x40000000, 1001, W).refresh);

  const same = new Conn();
  established(same);
  same.remaining = sec(100000);
  same.o('FA', 0x40000000, 5001, W);
  t.false(same.o('FA', 0x40000000, 5001, W).refresh, 'same direction twice');

  const ack = new Conn();
  established(ack);
  ack.remaining = sec(100000);
  ack.o('FA', 0x40000000, 5001, W);
  const r = ack.r('A', 0x40000000, 1001, W);
  t.is(r.verdict, VERDICT_INVALID);
  t.false(r.refresh);
  t.is(ack.store.b[(ack.slot << 6) + B_LAST_INDEX], TCP_FIN_SET, 'ACK does not touch last_index');
});

test('nf_tcp_handle_invalid: an out-of-window RST after an invalid FIN from the peer also cuts', (t) => {
  const c = new Conn();
  established(c);
  c.remaining = sec(400000);
  c.o('FA', 0x40000000, 5001, W);
  const r = c.r('R', 0x40000000, 0, 0); // past td_maxack and beyond the window
  t.is(r.verdict, VERDICT_INVALID);
  t.true(r.refresh);
  t.is(r.timeout, sec(300));
});

test('tracker never sets IPS_SEEN_REPLY itself', (t) => {
  const c = new Conn();
  c.o('S', 1000, 0, W);
  const out = raw(c, 1, 'SA', 5000, 1001, W);
  t.is(out.setStatus & IPS_SEEN_REPLY, 0);
  t.is(out.verdict, VERDICT_ACCEPT);
});
