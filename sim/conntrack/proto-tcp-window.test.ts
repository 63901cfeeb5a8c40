/**
 * §4.7 window tracking (tcp_in_window): checks I–IV, overshoot, liberal modes, scaling, SACK,
 * per-direction bookkeeping.
 */
import test from 'ava';
import {
  IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED, IP_CT_TCP_FLAG_MAXACK_SET, IP_CT_TCP_FLAG_SACK_PERM,
  IP_CT_TCP_FLAG_WINDOW_SCALE, MAXACKWINCONST, NFCT_TCP_ACCEPT, NFCT_TCP_IGNORE, NFCT_TCP_INVALID,
  TCP_ACK_SET, TCP_CONNTRACK_CLOSE, TCP_CONNTRACK_ESTABLISHED, tcpInWindow, tcpSegmentEnd,
} from './proto-tcp.js';
import { Conn, parseFlags, sec, type PktOpts } from './proto-tcp-testkit.js';
import { VERDICT_ACCEPT, VERDICT_INVALID } from './tracker.js';
import { B_LAST_DIR, B_LAST_INDEX, B_RETRANS, B_TD_FLAGS, B_TD_SCALE, T_LAST_ACK, T_LAST_END, T_LAST_SEQ, T_LAST_WIN, T_TD_END, T_TD_MAXACK, T_TD_MAXEND, T_TD_MAXWIN, tdb, tdw } from './tcp-store.js';

const DU = IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED;

/** Handshake with small unscaled windows: SYN 1000 / SYN-ACK 5000, next seqs 1001 / 5001. */
function small(c: Conn, winO = 1000, winR = 1000, oo: PktOpts = {}, ro: PktOpts = {}, ackWin = winO): void {
  c.o('S', 1000, 0, winO, 0, oo);
  c.r('SA', 5000, 1001, winR, 0, ro);
  c.o('A', 1001, 5001, ackWin);
}

test('tcpSegmentEnd: seq + payload + SYN + FIN, 32-bit wrap', (t) => {
  const c = new Conn();
  t.is(tcpSegmentEnd(c.fill(parseFlags('S'), 100, 0, 1, 0)), 101);
  t.is(tcpSegmentEnd(c.fill(parseFlags('FA'), 100, 0, 1, 10)), 111);
  t.is(tcpSegmentEnd(c.fill(parseFlags('A'), 100, 0, 1, 10)), 110);
  t.is(tcpSegmentEnd(c.fill(parseFlags('PA'), 0xffffffff, 0, 1, 2)) >>> 0, 1);
  t.is(MAXACKWINCONST, 66000);
});

test('docs/model.md §4.7: handshake bookkeeping (td_end, td_maxend, td_maxwin, td_maxack, flags)', (t) => {
  const c = new Conn();
  small(c, 1000, 800, { sackPerm: true }, { sackPerm: true });
  const s0 = c.idx(0), s1 = c.idx(1), st = c.store;
  t.is(st.w[tdw(s0) + T_TD_END], 1001);
  t.is(st.w[tdw(s0) + T_TD_MAXEND], 1001 + 800, 'ack + window of the SYN-ACK');
  t.is(st.w[tdw(s0) + T_TD_MAXWIN], 1000);
  t.is(st.w[tdw(s0) + T_TD_MAXACK], 5001);
  t.is(st.b[tdb(s0) + B_TD_FLAGS], IP_CT_TCP_FLAG_SACK_PERM | IP_CT_TCP_FLAG_MAXACK_SET);
  t.is(st.w[tdw(s1) + T_TD_END], 5001);
  t.is(st.w[tdw(s1) + T_TD_MAXEND], 5001 + 1000);
  t.is(st.w[tdw(s1) + T_TD_MAXWIN], 800);
  t.is(st.w[tdw(s1) + T_TD_MAXACK], 1001);
  t.is(st.b[tdb(s1) + B_TD_FLAGS], IP_CT_TCP_FLAG_SACK_PERM | IP_CT_TCP_FLAG_MAXACK_SET);
  t.is(st.b[(c.slot << 6) + B_LAST_INDEX], TCP_ACK_SET);
});

test('docs/model.md §4.7 check I: seq far beyond td_maxend → INVALID (no refresh, state kept)', (t) => {
  const c = new Conn();
  small(c);
  t.is(c.store.w[tdw(c.idx(0)) + T_TD_MAXEND], 2001);
  const r = c.o('PA', 5000, 5001, 1000, 10);
  t.is(r.verdict, VERDICT_INVALID);
  t.false(r.refresh);
  t.is(r.state, TCP_CONNTRACK_ESTABLISHED);
  t.is(c.store.w[tdw(c.idx(0)) + T_TD_END], 1001);
  // Boundary: seq == td_maxend is fine.
  t.is(c.o('PA', 2001, 5001, 1000, 0).verdict, VERDICT_ACCEPT);
});

test('docs/model.md §4.7 check I overshoot: slightly past the window → IGNORE, td_end advanced so the ACK passes III', (t) => {
  const c = new Conn();
  small(c);
  c.remaining = 999;
  const r = c.o('PA', 2002, 5001, 1000, 10);
  t.is(r.verdict, VERDICT_ACCEPT);
  t.false(r.refresh);
  t.is(c.remaining, 999);
  t.is(c.store.w[tdw(c.idx(0)) + T_TD_END], 2012);
  t.is(c.store.b[tdb(c.idx(0)) + B_TD_FLAGS] & DU, DU);
  const ack = c.r('A', 5001, 2012, 1000);
  t.is(ack.verdict, VERDICT_ACCEPT);
  t.true(ack.refresh);
  // Without the overshoot bookkeeping the same ACK is over the upper bound (check III).
  const c2 = new Conn();
  small(c2);
  t.is(c2.r('A', 5001, 2012, 1000).verdict, VERDICT_INVALID);
});

test('docs/model.md §4.7 check III: ack of data not seen yet → INVALID; ack == td_end is fine', (t) => {
  const c = new Conn();
  small(c);
  t.is(c.r('A', 5001, 1002, 1000).verdict, VERDICT_INVALID);
  t.is(c.r('A', 5001, 1001, 1000).verdict, VERDICT_ACCEPT);
});

test('docs/model.md §4.7 check II: retransmission of long-acknowledged data → IGNORE (boundary exact)', (t) => {
  const c = new Conn();
  small(c);
  c.o('PA', 1001, 5001, 1000, 1000);
  c.r('A', 5001, 2001, 1000);
  c.o('PA', 2001, 5001, 1000, 1000);
  c.r('A', 5001, 3001, 1000);
  t.is(c.store.w[tdw(c.idx(0)) + T_TD_END], 3001);
  t.is(c.store.w[tdw(c.idx(1)) + T_TD_MAXWIN], 1000);
  c.remaining = 5;
  const old = c.o('PA', 1001, 5001, 1000, 999); // end 2000 = td_end - maxwin - 1
  t.is(old.verdict, VERDICT_ACCEPT);
  t.false(old.refresh);
  t.is(c.remaining, 5);
  const edge = c.o('PA', 1001, 5001, 1000, 1000); // end 2001
  t.true(edge.refresh);
});

test('docs/model.md §4.7 check IV: overly delayed ack (≤ td_end − MAXACKWINDOW − 1) → IGNORE', (t) => {
  const c = new Conn();
  small(c);
  let seq = 5001;
  for (let i = 0; i < 67; i++) {
    t.is(c.r('PA', seq, 1001, 1000, 1000).verdict, VERDICT_ACCEPT);
    seq += 1000;
    t.is(c.o('A', 1001, seq, 1000).verdict, VERDICT_ACCEPT);
  }
  t.is(c.store.w[tdw(c.idx(1)) + T_TD_END], 72001);
  const stale = c.o('A', 1001, 6000, 999);
  t.is(stale.verdict, VERDICT_ACCEPT);
  t.false(stale.refresh);
  const ok = c.o('A', 1001, 6001, 999);
  t.true(ok.refresh);
});

test('docs/model.md §4.7: MAXACKWINDOW uses the sender\'s td_maxwin when above 66000', (t) => {
  const c = new Conn();
  small(c, 1000, 1000, { wscale: 4 }, { wscale: 4 });
  // Orig advertises 5000 << 4 = 80000 bytes.
  c.o('A', 1001, 5001, 5000);
  t.is(c.store.w[tdw(c.idx(0)) + T_TD_MAXWIN], 80000);
  let seq = 5001;
  for (let i = 0; i < 9; i++) {
    c.r('PA', seq, 1001, 1000, 10000);
    seq += 10000;
    c.o('A', 1001, seq, 5000 - (i % 2));
  }
  t.is(c.store.w[tdw(c.idx(1)) + T_TD_END], 95001);
  // 95001 - 80000 - 1 = 15000: ack 15000 ignored, 15001 accepted (with 66000 it would be 29000).
  t.false(c.o('A', 1001, 15000, 4000).refresh);
  t.true(c.o('A', 1001, 15001, 4000).refresh);
});

test('docs/model.md §4.7/§4.10: tcp_be_liberal=1 accepts out-of-window segments without updating window data', (t) => {
  const c = new Conn({ tcp_be_liberal: 1 });
  small(c);
  const r = c.o('PA', 5000, 5001, 1000, 10);
  t.is(r.verdict, VERDICT_ACCEPT);
  t.true(r.refresh);
  t.is(c.store.w[tdw(c.idx(0)) + T_TD_END], 1001, 'early return: td_end not advanced');
  const iii = c.r('A', 5001, 999999, 1000);
  t.is(iii.verdict, VERDICT_ACCEPT);
  t.is(c.store.w[tdw(c.idx(1)) + T_TD_MAXACK], 1001);
});

test('docs/model.md §4.7: per-direction BE_LIBERAL (loose pickup) accepts out-of-window, both directions', (t) => {
  const c = new Conn();
  c.o('A', 1000, 2000, 1000);
  c.r('A', 2000, 1000, 1000);
  c.o('A', 1000, 2000, 1000);
  t.is(c.o('PA', 0x30000000, 2000, 1000, 10).verdict, VERDICT_ACCEPT);
  t.is(c.r('PA', 0x30000000, 0x70000000, 1000, 10).verdict, VERDICT_ACCEPT);
});

test('docs/model.md §4.7: keep-alive answer on pickup bumps the receiver td_end', (t) => {
  const c = new Conn();
  c.o('A', 1000, 2000, 1000);
  t.is(c.store.w[tdw(c.idx(0)) + T_TD_END], 1000);
  c.r('A', 2000, 1001, 1000);
  t.is(c.store.w[tdw(c.idx(0)) + T_TD_END], 1001);
  t.is(c.store.w[tdw(c.idx(1)) + T_TD_END], 2000);
  t.is(c.store.w[tdw(c.idx(1)) + T_TD_MAXEND], 3000);
});

test('docs/model.md §4.7: window scaling applies when both SYNs carry the option', (t) => {
  const c = new Conn();
  small(c, 1000, 1000, { wscale: 7 }, { wscale: 5 }, 100);
  t.is(c.store.b[tdb(c.idx(0)) + B_TD_SCALE], 7);
  t.is(c.store.b[tdb(c.idx(1)) + B_TD_SCALE], 5);
  t.is(c.store.b[tdb(c.idx(0)) + B_TD_FLAGS] & IP_CT_TCP_FLAG_WINDOW_SCALE, IP_CT_TCP_FLAG_WINDOW_SCALE);
  t.is(c.store.w[tdw(c.idx(0)) + T_TD_MAXWIN], 12800, 'SYN window 1000 unscaled, ACK window 100 << 7');
  t.is(c.store.w[tdw(c.idx(1)) + T_TD_MAXEND], 5001 + 12800);
  t.is(c.store.w[tdw(c.idx(0)) + T_TD_MAXEND], 1001 + 1000, 'SYN-ACK window is never scaled');
  c.r('A', 5001, 1001, 100);
  t.is(c.store.w[tdw(c.idx(1)) + T_TD_MAXWIN], 3200);
  t.is(c.store.w[tdw(c.idx(0)) + T_TD_MAXEND], 1001 + 3200);
});

test('docs/model.md §4.7: only the SYN carries window scale → no scaling in either direction', (t) => {
  const c = new Conn();
  small(c, 1000, 1000, { wscale: 7 }, {}, 100);
  t.is(c.store.b[tdb(c.idx(0)) + B_TD_SCALE], 0);
  t.is(c.store.b[tdb(c.idx(1)) + B_TD_SCALE], 0);
  t.is(c.store.w[tdw(c.idx(1)) + T_TD_MAXEND], 5101, 'window 100 unscaled');
  t.is(c.store.w[tdw(c.idx(0)) + T_TD_MAXWIN], 1000);
});

test('docs/model.md §4.7: only the SYN-ACK carries window scale → no scaling; shift capped at 14', (t) => {
  const c = new Conn();
  small(c, 1000, 1000, {}, { wscale: 9 });
  t.is(c.store.b[tdb(c.idx(0)) + B_TD_SCALE], 0);
  t.is(c.store.b[tdb(c.idx(1)) + B_TD_SCALE], 0);
  const d = new Conn();
  small(d, 1000, 1000, { wscale: 2 }, { wscale: 30 });
  t.is(d.store.b[tdb(d.idx(1)) + B_TD_SCALE], 14);
});

test('docs/model.md §4.7: SACK right edge replaces ack for III only when the receiver allowed SACK', (t) => {
  const c = new Conn();
  small(c, 1000, 1000, { sackPerm: true }, { sackPerm: true });
  c.o('PA', 1001, 5001, 1000, 500);
  t.is(c.r('A', 5001, 1001, 1000, 0, { sackMax: 1501 }).verdict, VERDICT_ACCEPT);
  t.is(c.store.w[tdw(c.idx(1)) + T_TD_MAXWIN], 1500, 'swin = win + (sack - ack)');
  t.is(c.r('A', 5001, 1001, 1000, 0, { sackMax: 1502 }).verdict, VERDICT_INVALID);
  const d = new Conn();
  small(d); // no SACK_PERM: SACK blocks are not parsed
  d.o('PA', 1001, 5001, 1000, 500);
  t.is(d.r('A', 5001, 1001, 1000, 0, { sackMax: 999999 }).verdict, VERDICT_ACCEPT);
});

test('docs/model.md §4.7: RST+ACK with ack 0 is checked as if ack = receiver td_end', (t) => {
  const big = 0x90000000;
  const c = new Conn();
  c.o('S', big, 0, 1000);
  c.r('SA', 5000, big + 1, 1000);
  c.o('A', big + 1, 5001, 1000);
  t.is(c.r('A', 5001, 0, 1000).verdict, VERDICT_INVALID, 'plain ACK with ack 0 fails III');
  const r = c.r('RA', 5001, 0, 0);
  t.is(r.verdict, VERDICT_ACCEPT);
  t.is(r.state, TCP_CONNTRACK_CLOSE);
});

test('docs/model.md §4.7: an end past td_maxend grows the receiver td_maxwin; a zero window edge is +1', (t) => {
  const c = new Conn();
  small(c);
  c.o('PA', 1001, 5001, 1000, 1500); // seq within window, end 2501 > td_maxend 2001
  t.is(c.store.w[tdw(c.idx(1)) + T_TD_MAXWIN], 1500);
  t.is(c.store.w[tdw(c.idx(0)) + T_TD_END], 2501);
  const d = new Conn();
  small(d);
  d.o('PA', 1001, 5001, 1000, 1000);
  d.r('A', 5001, 2001, 0);
  t.is(d.store.w[tdw(d.idx(0)) + T_TD_MAXEND], 2002);
});

test('docs/model.md §4.7: DATA_UNACKNOWLEDGED set on new data, cleared only by an exact ack; td_maxack monotonic', (t) => {
  const c = new Conn();
  small(c);
  c.o('PA', 1001, 5001, 1000, 100);
  t.is(c.store.b[tdb(c.idx(0)) + B_TD_FLAGS] & DU, DU);
  c.r('A', 5001, 1100, 1000);
  t.is(c.store.b[tdb(c.idx(0)) + B_TD_FLAGS] & DU, DU);
  t.is(c.store.w[tdw(c.idx(1)) + T_TD_MAXACK], 1100);
  c.r('A', 5001, 1050, 1000);
  t.is(c.store.w[tdw(c.idx(1)) + T_TD_MAXACK], 1100, 'older ack does not lower td_maxack');
  c.r('A', 5001, 1101, 1000);
  t.is(c.store.b[tdb(c.idx(0)) + B_TD_FLAGS] & DU, 0);
});

test('docs/model.md §4.7: retrans counts only identical ACK-class segments in the same direction', (t) => {
  const c = new Conn();
  small(c);
  const s = c.slot;
  c.o('FA', 1001, 5001, 1000);
  c.o('FA', 1001, 5001, 1000);
  t.is(c.store.b[(s << 6) + B_RETRANS], 0, 'FIN class is not counted');
  c.r('A', 5001, 1002, 1000);
  c.r('A', 5001, 1002, 1000);
  t.is(c.store.b[(s << 6) + B_RETRANS], 1);
  c.o('A', 1002, 5001, 1000);
  t.is(c.store.b[(s << 6) + B_RETRANS], 0, 'other direction resets');
  t.is(c.store.b[(s << 6) + B_LAST_DIR], 0);
  t.is(c.store.w[(s << 4) + T_LAST_SEQ], 1002);
  t.is(c.store.w[(s << 4) + T_LAST_END], 1002);
  t.is(c.store.w[(s << 4) + T_LAST_ACK], 5001);
  t.is(c.store.w[(s << 4) + T_LAST_WIN], 1000);
});

test('tcpInWindow direct: IGNORE/INVALID/ACCEPT codes', (t) => {
  const c = new Conn();
  small(c);
  const sys = { tcp_be_liberal: 0 };
  t.is(tcpInWindow(c.store, c.slot, 0, TCP_ACK_SET, c.fill(parseFlags('PA'), 5000, 5001, 1000, 10), sys), NFCT_TCP_INVALID);
  t.is(tcpInWindow(c.store, c.slot, 0, TCP_ACK_SET, c.fill(parseFlags('A'), 1001, 5001 - 67000, 1000, 0), sys), NFCT_TCP_IGNORE);
  t.is(tcpInWindow(c.store, c.slot, 0, TCP_ACK_SET, c.fill(parseFlags('A'), 1001, 5001, 1000, 0), sys), NFCT_TCP_ACCEPT);
  t.is(tcpInWindow(c.store, c.slot, 0, TCP_ACK_SET, c.fill(parseFlags('PA'), 5000, 5001, 1000, 10), { tcp_be_liberal: 1 }), NFCT_TCP_ACCEPT);
  t.is(sec(1), 250);
});
