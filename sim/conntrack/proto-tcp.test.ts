import test from 'ava';
import { TH_ACK, TH_CWR, TH_ECE, TH_FIN, TH_PSH, TH_RST, TH_SYN, TH_URG } from './constants.js';
import {
  IP_CT_EXP_CHALLENGE_ACK, IP_CT_TCP_FLAG_BE_LIBERAL, IP_CT_TCP_FLAG_CLOSE_INIT,
  IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED, IP_CT_TCP_FLAG_MAXACK_SET, IP_CT_TCP_FLAG_SACK_PERM,
  IP_CT_TCP_FLAG_WINDOW_SCALE, IP_CT_TCP_SIMULTANEOUS_OPEN, TCP_ACK_SET, TCP_CLASS_NAMES,
  TCP_CONNTRACK_CLOSE, TCP_CONNTRACK_CLOSE_WAIT, TCP_CONNTRACK_ESTABLISHED, TCP_CONNTRACK_FIN_WAIT,
  TCP_CONNTRACK_IGNORE, TCP_CONNTRACK_LAST_ACK, TCP_CONNTRACK_MAX, TCP_CONNTRACK_NONE,
  TCP_CONNTRACK_RETRANS, TCP_CONNTRACK_SYN_RECV, TCP_CONNTRACK_SYN_SENT, TCP_CONNTRACK_SYN_SENT2,
  TCP_CONNTRACK_TIME_WAIT, TCP_CONNTRACK_TIMEOUT_MAX, TCP_CONNTRACK_UNACK, TCP_FIN_SET,
  TCP_NONE_SET, TCP_RST_SET, TCP_STATE_NAMES, TCP_SYNACK_SET, TCP_SYN_SET, TCP_TIMEOUT_SYSCTLS,
  TCP_TRANSITIONS, after, before, tcpCanEarlyDrop, tcpNew, tcpPacket, tcpPacketClass,
  tcpTimeoutsJiffies, tcpValidFlags,
} from './proto-tcp.js';
import { Conn, DEFAULT_TIMEOUTS, HZ, parseFlags, sec } from './proto-tcp-testkit.js';
import { TcpStore } from './tcp-store.js';
import { TrackerOut, VERDICT_ACCEPT, VERDICT_INVALID } from './tracker.js';
import { B_CLS, B_EXT, B_TPOL, H_OWNER, TCP_BYTES, B_LAST_DIR, B_LAST_FLAGS, B_LAST_INDEX, B_LAST_WSCALE, B_RETRANS, B_STATE, B_TD_FLAGS, B_TD_SCALE, T_LAST_ACK, T_LAST_END, T_LAST_SEQ, T_LAST_WIN, T_TD_END, T_TD_MAXACK, T_TD_MAXEND, T_TD_MAXWIN, tdb, tdw } from './tcp-store.js';

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

test('docs/model.md §4.1: tcp_conntrack enum values and names', (t) => {
  t.deepEqual(
    [TCP_CONNTRACK_NONE, TCP_CONNTRACK_SYN_SENT, TCP_CONNTRACK_SYN_RECV, TCP_CONNTRACK_ESTABLISHED,
      TCP_CONNTRACK_FIN_WAIT, TCP_CONNTRACK_CLOSE_WAIT, TCP_CONNTRACK_LAST_ACK, TCP_CONNTRACK_TIME_WAIT,
      TCP_CONNTRACK_CLOSE, TCP_CONNTRACK_SYN_SENT2, TCP_CONNTRACK_MAX, TCP_CONNTRACK_IGNORE,
      TCP_CONNTRACK_RETRANS, TCP_CONNTRACK_UNACK, TCP_CONNTRACK_TIMEOUT_MAX],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
  );
  t.deepEqual([...TCP_STATE_NAMES], ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT',
    'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2']);
});

test('docs/model.md §4.1: per-direction and last_flags bits', (t) => {
  t.deepEqual(
    [IP_CT_TCP_FLAG_WINDOW_SCALE, IP_CT_TCP_FLAG_SACK_PERM, IP_CT_TCP_FLAG_CLOSE_INIT, IP_CT_TCP_FLAG_BE_LIBERAL,
      IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED, IP_CT_TCP_FLAG_MAXACK_SET, IP_CT_EXP_CHALLENGE_ACK, IP_CT_TCP_SIMULTANEOUS_OPEN],
    [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80],
  );
});

test('TcpStore: one 64-byte record per slot and clear() zeroes one slot only', (t) => {
  t.is(TcpStore.BYTES_PER_SLOT, 64);
  const st = new TcpStore(3);
  t.is(st.w.buffer, st.b.buffer, 'the int32 and byte views share the records');
  t.is(st.w.byteLength, 64 * 3);
  // every field lies inside its slot's record, and no two fields overlap (58 bytes used)
  const offs = [T_LAST_SEQ, T_LAST_ACK, T_LAST_END, T_LAST_WIN, T_TD_END, T_TD_END + 1, T_TD_MAXEND, T_TD_MAXEND + 1,
    T_TD_MAXWIN, T_TD_MAXWIN + 1, T_TD_MAXACK, T_TD_MAXACK + 1].flatMap((w) => [4 * w, 4 * w + 1, 4 * w + 2, 4 * w + 3])
    .concat([B_STATE, B_LAST_DIR, B_LAST_INDEX, B_RETRANS, B_LAST_WSCALE, B_LAST_FLAGS, B_TD_SCALE, B_TD_SCALE + 1, B_TD_FLAGS, B_TD_FLAGS + 1]);
  t.is(new Set(offs).size, 58);
  t.true(offs.every((o) => o >= 0 && o < 64));
  t.is(tdw(2 * 1 + 1), 16 * 1 + 1, 'direction 1 of slot 1');
  t.is(tdb(2 * 2 + 1), 64 * 2 + 1);
  st.b.fill(7);
  st.clear(1);
  t.is(st.stateOf(1), 0); t.is(st.w[(1 << 4) + T_LAST_SEQ], 0); t.is(st.w[tdw(2) + T_TD_END], 0); t.is(st.w[tdw(3) + T_TD_END], 0); t.is(st.b[tdb(3) + B_TD_FLAGS], 0);
  t.true(st.b.subarray(64, 64 + TCP_BYTES).every((x) => x === 0), 'the TCP part of slot 1 is zero');
  t.deepEqual([...st.b.subarray(64 + TCP_BYTES, 128)], [7, 7, 7, 7, 7, 7], 'the entry fields in the spare bytes stay');
  t.deepEqual([B_CLS, B_TPOL, B_EXT, 2 * H_OWNER, 2 * H_OWNER + 1].filter((o) => offs.includes(o) || o < TCP_BYTES || o > 63), [], 'entry fields lie in the spare bytes');
  t.is(st.stateOf(0), 7); t.is(st.stateOf(2), 7); t.is(st.w[tdw(1) + T_TD_END], 0x07070707); t.is(st.w[tdw(4) + T_TD_END], 0x07070707);
  t.is(st.w[15], 0x07070707); t.is(st.w[32], 0x07070707, 'neighbouring records untouched');
});

test('before()/after(): 32-bit sequence comparison with wrap-around', (t) => {
  t.true(before(1, 2)); t.false(before(2, 1)); t.false(before(5, 5));
  t.true(after(2, 1)); t.false(after(5, 5));
  t.true(before(0xfffffff0, 0x10)); // wraps
  t.true(after(0x10, 0xfffffff0));
  t.true(after(0x10, -16)); // int32 and uint32 spellings agree
  t.true(before(0x7fffffff, 0x80000000));
});

// ---------------------------------------------------------------------------------------------
// §4.2 / §4.3: packet class and valid flag sets
// ---------------------------------------------------------------------------------------------

test('docs/model.md §4.2, get_conntrack_index: packet classes', (t) => {
  const cases: [string, number][] = [
    ['S', TCP_SYN_SET], ['SA', TCP_SYNACK_SET], ['FA', TCP_FIN_SET], ['F', TCP_FIN_SET], ['A', TCP_ACK_SET],
    ['PA', TCP_ACK_SET], ['UA', TCP_ACK_SET], ['R', TCP_RST_SET], ['RA', TCP_RST_SET], ['SR', TCP_RST_SET],
    ['FR', TCP_RST_SET], ['SF', TCP_SYN_SET], ['SFA', TCP_SYNACK_SET], ['', TCP_NONE_SET], ['U', TCP_NONE_SET],
    ['P', TCP_NONE_SET], ['EC', TCP_NONE_SET], ['SEC', TCP_SYN_SET],
  ];
  for (const [f, cls] of cases) t.is(tcpPacketClass(parseFlags(f)), cls, f);
  t.deepEqual([...TCP_CLASS_NAMES], ['SYN', 'SYN-ACK', 'FIN', 'ACK', 'RST', 'NONE']);
});

test('docs/model.md §4.3, tcp_valid_flags: exactly nine combinations valid after masking ECE/CWR/PSH', (t) => {
  const valid = new Set([
    TH_SYN, TH_SYN | TH_URG, TH_SYN | TH_ACK, TH_RST, TH_RST | TH_ACK, TH_FIN | TH_ACK,
    TH_FIN | TH_ACK | TH_URG, TH_ACK, TH_ACK | TH_URG,
  ]);
  let count = 0;
  for (let f = 0; f < 256; f++) {
    const masked = f & ~(TH_ECE | TH_CWR | TH_PSH);
    const exp = valid.has(masked);
    if (exp) count++;
    t.is(tcpValidFlags(f), exp, `flags 0x${f.toString(16)}`);
  }
  t.is(count, 9 * 8); // 9 sets × 2^3 ECE/CWR/PSH variants
  for (const bad of ['F', '', 'SF', 'SR', 'FR', 'U', 'SFA', 'RFA']) t.false(tcpValidFlags(parseFlags(bad)), bad);
});

test('docs/model.md §4.3: an invalid flag combination on an existing entry is INVALID, state untouched', (t) => {
  const c = new Conn();
  c.o('S', 1000, 0, 65535); c.r('SA', 5000, 1001, 65535); c.o('A', 1001, 5001, 65535);
  for (const f of ['', 'F', 'SF', 'SR', 'U', 'P']) {
    const r = c.o(f, 1001, 5001, 65535);
    t.is(r.verdict, VERDICT_INVALID, f);
    t.false(r.refresh);
    t.is(r.state, TCP_CONNTRACK_ESTABLISHED);
  }
});

// ---------------------------------------------------------------------------------------------
// §4.5: transition tables, every cell, data check and behaviour check
// ---------------------------------------------------------------------------------------------

/** Hand transcription of the two tables in docs/model.md §4.5 (rows SYN, SYN-ACK, FIN, ACK, RST, NONE). */
const REF_TABLES = {
  ORIGINAL: `
| SYN | SS | SS | IG | IG | IG | IG | IG | SS | SS | S2 |
| SYN-ACK | IV | IV | SR | IV | IV | IV | IV | IV | IV | SR |
| FIN | IV | IV | FW | FW | LA | LA | LA | TW | CL | IV |
| ACK | ES | IV | ES | ES | CW | CW | TW | TW | CL | IV |
| RST | IV | CL | CL | CL | CL | CL | CL | CL | CL | CL |
| NONE | IV | IV | IV | IV | IV | IV | IV | IV | IV | IV |`,
  REPLY: `
| SYN | IV | S2 | IV | IV | IV | IV | IV | SS | IV | S2 |
| SYN-ACK | IV | SR | IG | IG | IG | IG | IG | IG | IG | SR |
| FIN | IV | IV | FW | FW | LA | LA | LA | TW | CL | IV |
| ACK | IV | IG | SR | ES | CW | CW | TW | TW | CL | IG |
| RST | IV | CL | CL | CL | CL | CL | CL | CL | CL | CL |
| NONE | IV | IV | IV | IV | IV | IV | IV | IV | IV | IV |`,
};
const ABBR: Record<string, number> = {
  NO: 0, SS: 1, SR: 2, ES: 3, FW: 4, CW: 5, LA: 6, TW: 7, CL: 8, S2: 9, IV: 10, IG: 11,
};
const STATE_ABBR = ['NO', 'SS', 'SR', 'ES', 'FW', 'CW', 'LA', 'TW', 'CL', 'S2'];
const DIR_NAMES = ['ORIGINAL', 'REPLY'] as const;

function parseRef(text: string): number[][] {
  return text.trim().split('\n').map((line) => line.split('|').map((x) => x.trim()).filter((x) => x !== '').slice(1).map((a) => {
    const v = ABBR[a];
    if (v === undefined) throw new Error(`bad cell ${a}`);
    return v;
  }));
}
const REF = [parseRef(REF_TABLES.ORIGINAL), parseRef(REF_TABLES.REPLY)];

test('docs/model.md §4.5, tcp_conntracks: table shape is [2][6][10]', (t) => {
  t.is(TCP_TRANSITIONS.length, 2);
  for (const d of TCP_TRANSITIONS) {
    t.is(d.length, 6);
    for (const row of d) t.is(row.length, 10);
  }
  t.is(REF[0].length, 6);
  t.is(REF[1][5].length, 10);
});

for (let d = 0; d < 2; d++) {
  for (let c = 0; c < 6; c++) {
    for (let s = 0; s < 10; s++) {
      const exp = REF[d][c][s];
      test(`docs/model.md §4.5, tcp_conntracks: ${DIR_NAMES[d]} ${TCP_CLASS_NAMES[c]} in ${STATE_ABBR[s]} = ${Object.keys(ABBR)[exp]}`, (t) => {
        t.is(TCP_TRANSITIONS[d][c][s], exp);
      });
    }
  }
}

/** Drives a connection with automatic seq/ack (everything sent so far is acknowledged). */
class Auto {
  readonly c = new Conn();
  readonly isn = [1000, 5000];
  readonly nxt = [1000, 5000];
  send(d: number, f: string, len = 0) {
    const fl = parseFlags(f);
    let seq: number;
    if (fl & TH_SYN) {
      seq = this.isn[d];
      this.nxt[d] = this.isn[d] + 1;
    } else {
      seq = this.nxt[d];
      this.nxt[d] += len + (fl & TH_FIN ? 1 : 0);
    }
    const ack = fl & TH_ACK ? this.nxt[d ^ 1] : 0;
    return this.c.feed(d, fl, seq, ack, 65535, len);
  }
}

/** Packets that bring an entry into each state (index = state). */
const SETUP: [number, string][][] = [
  [],
  [[0, 'S']],
  [[0, 'S'], [1, 'SA']],
  [[0, 'S'], [1, 'SA'], [0, 'A']],
  [[0, 'S'], [1, 'SA'], [0, 'A'], [0, 'FA']],
  [[0, 'S'], [1, 'SA'], [0, 'A'], [0, 'FA'], [1, 'A']],
  [[0, 'S'], [1, 'SA'], [0, 'A'], [0, 'FA'], [1, 'A'], [1, 'FA']],
  [[0, 'S'], [1, 'SA'], [0, 'A'], [0, 'FA'], [1, 'A'], [1, 'FA'], [0, 'A']],
  [[0, 'S'], [1, 'SA'], [0, 'A'], [0, 'R']],
  [[0, 'S'], [1, 'S']],
];
const CLASS_FLAGS = ['S', 'SA', 'FA', 'A', 'R', ''];

/**
 * Observable outcome of each cell through tcpPacket (with the §4.6 special cases that apply to
 * the setups above): a state abbreviation = accepted, refreshed, new state; '~XX' = accepted,
 * new state XX, no refresh (§4.6-12 SYN in SYN_SENT before a reply); IG = accepted, nothing
 * changed, no refresh; IV = INVALID; KILL = entry deleted (RST before a reply, §4.6-12);
 * RE = re-open (§4.6-1): entry killed, packet creates a fresh SYN_SENT entry.
 */
const OUTCOME = [
  [
    ['SS', '~SS', 'IG', 'IG', 'IG', 'IG', 'IG', 'RE', 'RE', 'S2'],
    ['IV', 'IV', 'SR', 'IV', 'IV', 'IV', 'IV', 'IV', 'IV', 'SR'],
    ['IV', 'IV', 'FW', 'FW', 'LA', 'LA', 'LA', 'TW', 'CL', 'IV'],
    ['ES', 'IV', 'ES', 'ES', 'CW', 'CW', 'TW', 'TW', 'CL', 'IV'],
    ['IV', 'KILL', 'CL', 'CL', 'CL', 'CL', 'CL', 'CL', 'CL', 'CL'],
    ['IV', 'IV', 'IV', 'IV', 'IV', 'IV', 'IV', 'IV', 'IV', 'IV'],
  ],
  [
    ['IV', '~S2', 'IV', 'IV', 'IV', 'IV', 'IV', 'RE', 'IV', 'S2'],
    ['IV', 'SR', 'IG', 'IG', 'IG', 'IG', 'IG', 'IG', 'IG', 'SR'],
    ['IV', 'IV', 'FW', 'FW', 'LA', 'LA', 'LA', 'TW', 'CL', 'IV'],
    ['IV', 'IG', 'SR', 'ES', 'CW', 'CW', 'TW', 'TW', 'CL', 'IG'],
    ['IV', 'KILL', 'CL', 'CL', 'CL', 'CL', 'CL', 'CL', 'CL', 'CL'],
    ['IV', 'IV', 'IV', 'IV', 'IV', 'IV', 'IV', 'IV', 'IV', 'IV'],
  ],
];

for (let d = 0; d < 2; d++) {
  for (let cls = 0; cls < 6; cls++) {
    for (let s = 0; s < 10; s++) {
      const exp = OUTCOME[d][cls][s];
      const name = `docs/model.md §4.5, tcp_conntracks via tcpPacket: ${DIR_NAMES[d]} ${TCP_CLASS_NAMES[cls]} in ${STATE_ABBR[s]} → ${exp}`;
      test(name, (t) => {
        // The outcome table must agree with the data table except where a §4.6 rule intervenes.
        const cell = REF[d][cls][s];
        if (exp === 'IV') t.is(cell, TCP_CONNTRACK_MAX);
        else if (exp === 'IG') t.is(cell, TCP_CONNTRACK_IGNORE);
        else if (exp === 'RE') t.is(cell, TCP_CONNTRACK_SYN_SENT);
        else if (exp === 'KILL') t.is(cell, TCP_CONNTRACK_CLOSE);
        else t.is(cell, ABBR[exp.replace('~', '')]);

        if (s === TCP_CONNTRACK_NONE && d === 1) {
          // Unreachable in the kernel (a REPLY packet never meets an entry in NONE): exercise the
          // cell directly on a just-created entry.
          const st = new TcpStore(1);
          const c = new Conn();
          const p = c.fill(TH_SYN, 1000, 0, 65535, 0);
          t.true(tcpNew(st, 0, p, c.sys));
          c.fill(parseFlags(CLASS_FLAGS[cls]), 5000, 1001, 65535, 0);
          const out = new TrackerOut();
          tcpPacket(st, 0, 1, c.pkt, 0, DEFAULT_TIMEOUTS, 0, c.sys, out);
          t.is(out.verdict, VERDICT_INVALID);
          t.false(out.refresh);
          t.is(st.stateOf(0), TCP_CONNTRACK_NONE);
          return;
        }
        const a = new Auto();
        for (const [sd, sf] of SETUP[s]) {
          const r = a.send(sd, sf);
          t.is(r.verdict, VERDICT_ACCEPT, `setup ${sd} ${sf}`);
        }
        t.is(a.c.state, s, 'setup reached the state');
        const prev = a.c.state;
        const existed = a.c.exists;
        const r = a.send(d, CLASS_FLAGS[cls]);
        switch (exp) {
          case 'IV':
            t.is(r.verdict, VERDICT_INVALID);
            t.false(r.refresh);
            t.is(r.exists, existed);
            t.is(r.state, prev);
            break;
          case 'IG':
            t.is(r.verdict, VERDICT_ACCEPT);
            t.false(r.refresh);
            t.is(r.events, 0);
            t.is(r.state, prev);
            break;
          case 'KILL':
            t.is(r.verdict, VERDICT_ACCEPT);
            t.true(r.kill);
            t.false(r.exists);
            break;
          case 'RE':
            t.true(r.repeated);
            t.is(r.verdict, VERDICT_ACCEPT);
            t.true(r.exists);
            t.is(r.state, TCP_CONNTRACK_SYN_SENT);
            t.is(r.timeout, sec(120));
            break;
          default: {
            const noRefresh = exp.startsWith('~');
            t.is(r.verdict, VERDICT_ACCEPT);
            t.is(r.stateName, TCP_STATE_NAMES[ABBR[exp.replace('~', '')]]);
            t.is(r.refresh, !noRefresh);
          }
        }
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// §4.4 tcp_new
// ---------------------------------------------------------------------------------------------

test('docs/model.md §4.4, tcp_new: SYN initialises the ORIGINAL side (end, window ≥ 1, options, scale cap 14)', (t) => {
  const st = new TcpStore(2);
  const c = new Conn();
  for (let i = 0; i < 4; i++) st.b[tdb(i) + B_TD_FLAGS] = 0xff;
  const p = c.fill(TH_SYN, 0xfffffffe, 0, 0, 10, { wscale: 20, sackPerm: true });
  t.true(tcpNew(st, 1, p, c.sys));
  t.is(st.w[tdw(2) + T_TD_END] >>> 0, (0xfffffffe + 10 + 1) % 2 ** 32); // wraps
  t.is(st.w[tdw(2) + T_TD_MAXEND], st.w[tdw(2) + T_TD_END]);
  t.is(st.w[tdw(2) + T_TD_MAXWIN], 1);
  t.is(st.b[tdb(2) + B_TD_SCALE], 14);
  t.is(st.b[tdb(2) + B_TD_FLAGS], IP_CT_TCP_FLAG_WINDOW_SCALE | IP_CT_TCP_FLAG_SACK_PERM);
  t.is(st.b[tdb(3) + B_TD_FLAGS], 0);
  t.is(st.stateOf(1), TCP_CONNTRACK_NONE);
  t.is(st.b[((1) << 6) + B_LAST_INDEX], TCP_NONE_SET);
  t.is(st.b[tdb(0) + B_TD_FLAGS], 0xff, 'other slot untouched');
});

test('docs/model.md §4.4, tcp_new: ACK pickup sets td_maxend = end + window and BE_LIBERAL|SACK_PERM on both sides', (t) => {
  const st = new TcpStore(1);
  const c = new Conn();
  const p = c.fill(TH_ACK, 1000, 2000, 500, 100);
  t.true(tcpNew(st, 0, p, c.sys));
  t.is(st.w[tdw(0) + T_TD_END], 1100);
  t.is(st.w[tdw(0) + T_TD_MAXWIN], 500);
  t.is(st.w[tdw(0) + T_TD_MAXEND], 1600);
  t.is(st.b[tdb(0) + B_TD_FLAGS], IP_CT_TCP_FLAG_SACK_PERM | IP_CT_TCP_FLAG_BE_LIBERAL);
  t.is(st.b[tdb(1) + B_TD_FLAGS], IP_CT_TCP_FLAG_SACK_PERM | IP_CT_TCP_FLAG_BE_LIBERAL);
  t.is(st.w[tdw(1) + T_TD_MAXWIN], 0);
});

test('docs/model.md §4.4/§4.10: first packet SYN-ACK, FIN, RST, NONE or illegal flags → no entry', (t) => {
  const st = new TcpStore(1);
  const c = new Conn();
  for (const f of ['SA', 'FA', 'R', 'RA', '', 'F', 'SF']) {
    t.false(tcpNew(st, 0, c.fill(parseFlags(f), 1, 0, 100, 0), c.sys), f);
  }
});

test('docs/model.md §4.10: tcp_loose=0 → an ACK creates nothing (INVALID), a SYN still does', (t) => {
  const c = new Conn({ tcp_loose: 0 });
  const r = c.o('A', 1000, 2000, 500);
  t.is(r.verdict, VERDICT_INVALID);
  t.false(r.exists);
  const r2 = c.o('S', 1000, 0, 500);
  t.is(r2.verdict, VERDICT_ACCEPT);
  t.is(r2.state, TCP_CONNTRACK_SYN_SENT);
});

// ---------------------------------------------------------------------------------------------
// §4.8 timeouts table and §4.9 early drop
// ---------------------------------------------------------------------------------------------

test('docs/model.md §4.8: TCP_TIMEOUT_SYSCTLS names and defaults', (t) => {
  t.is(TCP_TIMEOUT_SYSCTLS.length, 14);
  const m = TCP_TIMEOUT_SYSCTLS.map((e) => [e.name, e.defaultSeconds]);
  t.deepEqual(m, [
    [null, 120],
    ['nf_conntrack_tcp_timeout_syn_sent', 120],
    ['nf_conntrack_tcp_timeout_syn_recv', 60],
    ['nf_conntrack_tcp_timeout_established', 432000],
    ['nf_conntrack_tcp_timeout_fin_wait', 120],
    ['nf_conntrack_tcp_timeout_close_wait', 60],
    ['nf_conntrack_tcp_timeout_last_ack', 30],
    ['nf_conntrack_tcp_timeout_time_wait', 120],
    ['nf_conntrack_tcp_timeout_close', 10],
    [null, 120],
    [null, 0],
    [null, 0],
    ['nf_conntrack_tcp_timeout_max_retrans', 300],
    ['nf_conntrack_tcp_timeout_unacknowledged', 300],
  ]);
});

test('docs/model.md §4.8: tcpTimeoutsJiffies defaults, overrides, NONE mirrors SYN_SENT, SYN_SENT2 fixed', (t) => {
  const d = tcpTimeoutsJiffies({}, 250);
  t.deepEqual([...d], [30000, 30000, 15000, 108000000, 30000, 15000, 7500, 30000, 2500, 30000, 0, 0, 75000, 75000]);
  const o = tcpTimeoutsJiffies({
    nf_conntrack_tcp_timeout_syn_sent: 5, 'net.netfilter.nf_conntrack_tcp_timeout_established': 3600,
    nf_conntrack_udp_timeout: 1,
  }, 1000);
  t.is(o[TCP_CONNTRACK_NONE], 5000);
  t.is(o[TCP_CONNTRACK_SYN_SENT], 5000);
  t.is(o[TCP_CONNTRACK_SYN_SENT2], 120000);
  t.is(o[TCP_CONNTRACK_ESTABLISHED], 3600000);
  t.is(o[TCP_CONNTRACK_UNACK], 300000);
  t.throws(() => tcpTimeoutsJiffies({ nf_conntrack_tcp_timeout_close: -1 }, 100), { instanceOf: RangeError });
  t.throws(() => tcpTimeoutsJiffies({ nf_conntrack_tcp_timeout_close: 1.5 }, 100), { instanceOf: RangeError });
  t.throws(() => tcpTimeoutsJiffies({ nf_conntrack_tcp_timeout_close: 2147484 }, 1000), { instanceOf: RangeError });
  t.notThrows(() => tcpTimeoutsJiffies({ nf_conntrack_tcp_timeout_close: 2147483 }, 1000));
});

test('docs/model.md §4.9, tcp_can_early_drop: FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE only', (t) => {
  const st = new TcpStore(1);
  const yes = [TCP_CONNTRACK_FIN_WAIT, TCP_CONNTRACK_CLOSE_WAIT, TCP_CONNTRACK_LAST_ACK, TCP_CONNTRACK_TIME_WAIT, TCP_CONNTRACK_CLOSE];
  for (let s = 0; s < 10; s++) {
    st.b[((0) << 6) + B_STATE] = s;
    t.is(tcpCanEarlyDrop(st, 0), yes.includes(s), TCP_STATE_NAMES[s]);
  }
});

test('DEFAULT_TIMEOUTS sanity for the other test files (HZ=250)', (t) => {
  t.is(HZ, 250);
  t.is(DEFAULT_TIMEOUTS[TCP_CONNTRACK_ESTABLISHED], sec(432000));
  t.is(DEFAULT_TIMEOUTS[TCP_CONNTRACK_RETRANS], sec(300));
});
