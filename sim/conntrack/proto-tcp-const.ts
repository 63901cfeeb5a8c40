/**
 * TCP tracker constants, transition tables and flag classification (§4.1–§4.5 of
 * docs/model.md). Re-exported by `proto-tcp.ts`; import from there.
 */
import { TH_ACK, TH_CWR, TH_ECE, TH_FIN, TH_PSH, TH_RST, TH_SYN, TH_URG } from './constants.js';

/** `enum tcp_conntrack` (include/uapi/linux/netfilter/nf_conntrack_tcp.h). */
export const TCP_CONNTRACK_NONE = 0;
export const TCP_CONNTRACK_SYN_SENT = 1;
export const TCP_CONNTRACK_SYN_RECV = 2;
export const TCP_CONNTRACK_ESTABLISHED = 3;
export const TCP_CONNTRACK_FIN_WAIT = 4;
export const TCP_CONNTRACK_CLOSE_WAIT = 5;
export const TCP_CONNTRACK_LAST_ACK = 6;
export const TCP_CONNTRACK_TIME_WAIT = 7;
export const TCP_CONNTRACK_CLOSE = 8;
/** Simultaneous open (obsolete name LISTEN). */
export const TCP_CONNTRACK_SYN_SENT2 = 9;
/** Table value "invalid" (sIV). */
export const TCP_CONNTRACK_MAX = 10;
/** Table value "ignore this packet" (sIG). */
export const TCP_CONNTRACK_IGNORE = 11;
/** Timeout index used after `tcp_max_retrans` identical segments. */
export const TCP_CONNTRACK_RETRANS = 12;
/** Timeout index used while data is unacknowledged. */
export const TCP_CONNTRACK_UNACK = 13;
/** Length of the TCP timeout array. */
export const TCP_CONNTRACK_TIMEOUT_MAX = 14;

/** State names as `conntrack -L` / /proc/net/nf_conntrack print them. @see tcp_conntrack_names */
export const TCP_STATE_NAMES: readonly string[] = Object.freeze([
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT',
  'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
]);

/** Per-direction `ip_ct_tcp_state.flags` bits. */
export const IP_CT_TCP_FLAG_WINDOW_SCALE = 0x01;
export const IP_CT_TCP_FLAG_SACK_PERM = 0x02;
/** This side sent the first FIN. */
export const IP_CT_TCP_FLAG_CLOSE_INIT = 0x04;
export const IP_CT_TCP_FLAG_BE_LIBERAL = 0x08;
/** This side has sent data the other side has not acknowledged yet. */
export const IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED = 0x10;
/** `td_maxack` holds a value. */
export const IP_CT_TCP_FLAG_MAXACK_SET = 0x20;
/** `last_flags` bits. */
export const IP_CT_EXP_CHALLENGE_ACK = 0x40;
export const IP_CT_TCP_SIMULTANEOUS_OPEN = 0x80;

/** Packet classes (`enum tcp_bit_set`): the table row index. */
export const TCP_SYN_SET = 0;
export const TCP_SYNACK_SET = 1;
export const TCP_FIN_SET = 2;
export const TCP_ACK_SET = 3;
export const TCP_RST_SET = 4;
export const TCP_NONE_SET = 5;
export const TCP_CLASS_NAMES: readonly string[] = Object.freeze(['SYN', 'SYN-ACK', 'FIN', 'ACK', 'RST', 'NONE']);

const sSS = TCP_CONNTRACK_SYN_SENT, sSR = TCP_CONNTRACK_SYN_RECV;
const sES = TCP_CONNTRACK_ESTABLISHED, sFW = TCP_CONNTRACK_FIN_WAIT, sCW = TCP_CONNTRACK_CLOSE_WAIT;
const sLA = TCP_CONNTRACK_LAST_ACK, sTW = TCP_CONNTRACK_TIME_WAIT, sCL = TCP_CONNTRACK_CLOSE;
const sS2 = TCP_CONNTRACK_SYN_SENT2, sIV = TCP_CONNTRACK_MAX, sIG = TCP_CONNTRACK_IGNORE;

/**
 * The state transition tables, indexed `[dir][class][state]` (dir 0 ORIGINAL, 1 REPLY; class
 * TCP_SYN_SET..TCP_NONE_SET; state NONE..SYN_SENT2). Cell = new state, TCP_CONNTRACK_MAX
 * (invalid) or TCP_CONNTRACK_IGNORE.
 * @see tcp_conntracks
 */
export const TCP_TRANSITIONS: readonly (readonly (readonly number[])[])[] = Object.freeze([
  Object.freeze([
    //             NO   SS   SR   ES   FW   CW   LA   TW   CL   S2
    Object.freeze([sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2]), // SYN
    Object.freeze([sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR]), // SYN-ACK
    Object.freeze([sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV]), // FIN
    Object.freeze([sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV]), // ACK
    Object.freeze([sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL]), // RST
    Object.freeze([sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV]), // NONE
  ]),
  Object.freeze([
    //             NO   SS   SR   ES   FW   CW   LA   TW   CL   S2
    Object.freeze([sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2]), // SYN
    Object.freeze([sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR]), // SYN-ACK
    Object.freeze([sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV]), // FIN
    Object.freeze([sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG]), // ACK
    Object.freeze([sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL]), // RST
    Object.freeze([sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV]), // NONE
  ]),
]);

/** Flat copy of TCP_TRANSITIONS for the hot path: index `(dir * 6 + class) * 10 + state`. */
export const TCP_TRANSITIONS_FLAT: Uint8Array = (() => {
  const t = new Uint8Array(2 * 6 * TCP_CONNTRACK_MAX);
  for (let d = 0; d < 2; d++)
    for (let c = 0; c < 6; c++)
      for (let s = 0; s < TCP_CONNTRACK_MAX; s++) t[(d * 6 + c) * TCP_CONNTRACK_MAX + s] = TCP_TRANSITIONS[d][c][s];
  return t;
})();

/**
 * Packet class (table row) from the TCP flag byte: RST wins, then SYN (SYN-ACK with ACK), then
 * FIN, then ACK, else NONE.
 * @see get_conntrack_index
 */
export function tcpPacketClass(flags: number): number {
  if (flags & TH_RST) return TCP_RST_SET;
  if (flags & TH_SYN) return flags & TH_ACK ? TCP_SYNACK_SET : TCP_SYN_SET;
  if (flags & TH_FIN) return TCP_FIN_SET;
  if (flags & TH_ACK) return TCP_ACK_SET;
  return TCP_NONE_SET;
}

const VALID_FLAGS: Uint8Array = (() => {
  const v = new Uint8Array(64);
  v[TH_SYN] = 1;
  v[TH_SYN | TH_URG] = 1;
  v[TH_SYN | TH_ACK] = 1;
  v[TH_RST] = 1;
  v[TH_RST | TH_ACK] = 1;
  v[TH_FIN | TH_ACK] = 1;
  v[TH_FIN | TH_ACK | TH_URG] = 1;
  v[TH_ACK] = 1;
  v[TH_ACK | TH_URG] = 1;
  return v;
})();

/**
 * True when the flag combination is legal: after masking ECE, CWR and PSH it must be one of
 * SYN, SYN|URG, SYN|ACK, RST, RST|ACK, FIN|ACK, FIN|ACK|URG, ACK, ACK|URG.
 * @see tcp_error, tcp_valid_flags
 */
export function tcpValidFlags(flags: number): boolean {
  return VALID_FLAGS[flags & 0xff & ~(TH_ECE | TH_CWR | TH_PSH)] === 1;
}

/** True when `a` comes before `b` in 32-bit sequence space. @see before */
export function before(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** True when `a` comes after `b` in 32-bit sequence space. @see after */
export function after(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}
