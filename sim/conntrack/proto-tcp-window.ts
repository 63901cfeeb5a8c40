/**
 * TCP window tracking (§4.7 of docs/model.md): the per-direction sequence/ack bounds and
 * the four window checks, modelled on the kernel's `tcp_in_window()` (Linux 6.x). Written from
 * a reading of the kernel's behaviour; the checks are applied in the kernel's order:
 *
 * 1. initialise the sender from a first SYN / SYN-ACK, or from a first mid-stream segment;
 *    re-initialise it for a SYN with a higher sequence in SYN_SENT / SYN_RECV;
 * 2. substitute the receiver's `td_end` for the ack of segments without ACK (and of RST+ACK
 *    with ack 0), and the sender's `td_end` for the seq/end of an RST with seq 0 in SYN_SENT;
 * 3. I (seq ≤ sender.td_maxend, else the overshoot case or INVALID), III (sack ≤
 *    receiver.td_end, else INVALID), II (end ≥ sender.td_end − receiver.td_maxwin, else
 *    IGNORE), IV (sack ≥ receiver.td_end − MAXACKWINDOW, else IGNORE); a liberal sender turns
 *    any of these outcomes into ACCEPT *without* the updates of step 4;
 * 4. update sender (td_maxwin, td_end + DATA_UNACKNOWLEDGED, td_maxack) and receiver
 *    (td_maxwin growth, td_maxend, DATA_UNACKNOWLEDGED cleared), then count retransmissions of
 *    ACK-class segments.
 *
 * Sequence adjustment (`nf_ct_seq_offset()`): the caller passes the receiver's offset (SEQADJ
 * extension, set by SYNPROXY; 0 otherwise), subtracted from ack and sack as the kernel does.
 */
import { TH_ACK, TH_FIN, TH_RST, TH_SYN } from './constants.js';
import type { Pkt } from './packet.js';
import {
  IP_CT_TCP_FLAG_BE_LIBERAL, IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED, IP_CT_TCP_FLAG_MAXACK_SET,
  IP_CT_TCP_FLAG_SACK_PERM, IP_CT_TCP_FLAG_WINDOW_SCALE, TCP_ACK_SET, TCP_CONNTRACK_SYN_RECV,
  TCP_CONNTRACK_SYN_SENT, after, before,
} from './proto-tcp-const.js';
import type { TcpStore } from './tcp-store.js';
import { B_LAST_DIR, B_RETRANS, B_TD_FLAGS, B_TD_SCALE, T_LAST_ACK, T_LAST_END, T_LAST_SEQ, T_LAST_WIN, T_TD_END, T_TD_MAXACK, T_TD_MAXEND, T_TD_MAXWIN, tdb, tdw } from './tcp-store.js';

/** Outcomes of the window check (`enum nf_ct_tcp_action`). */
export const NFCT_TCP_IGNORE = 0;
export const NFCT_TCP_INVALID = 1;
export const NFCT_TCP_ACCEPT = 2;

/** Constant floor of the ack lower bound (check IV). @see MAXACKWINCONST */
export const MAXACKWINCONST = 66000;
/** Largest window-scale shift honoured. @see TCP_MAX_WSCALE */
export const TCP_MAX_WSCALE = 14;

/** The subset of sysctls the window check reads. */
export interface TcpWindowSysctl {
  tcp_be_liberal: number;
}

/**
 * End of a segment in sequence space: seq + payload + SYN + FIN (as int32).
 * @see segment_seq_plus_len
 */
export function tcpSegmentEnd(pkt: Pkt): number {
  const f = pkt.tcpFlags;
  return (pkt.seq + pkt.dataLen + (f & TH_SYN ? 1 : 0) + (f & TH_FIN ? 1 : 0)) | 0;
}

/**
 * Parse the SYN options into per-direction state `idx` (= slot * 2 + dir): scale reset, flags
 * reduced to BE_LIBERAL, then WINDOW_SCALE (shift capped at 14) and SACK_PERM from the packet.
 * Approximation: the kernel does nothing when the header has no option bytes at all; `Pkt`
 * cannot express "no options", so every SYN is treated as carrying an option area (real SYNs
 * carry at least MSS).
 * @see tcp_options
 */
export function tcpOptions(store: TcpStore, idx: number, pkt: Pkt): void {
  let fl = store.b[tdb(idx) + B_TD_FLAGS] & IP_CT_TCP_FLAG_BE_LIBERAL;
  let scale = 0;
  if (pkt.optSackPerm) fl |= IP_CT_TCP_FLAG_SACK_PERM;
  if (pkt.optWscale >= 0) {
    scale = pkt.optWscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : pkt.optWscale;
    fl |= IP_CT_TCP_FLAG_WINDOW_SCALE;
  }
  store.b[tdb(idx) + B_TD_SCALE] = scale;
  store.b[tdb(idx) + B_TD_FLAGS] = fl;
}

/**
 * (Re)initialise the sender of a SYN / SYN-ACK. For the REPLY direction, window scaling is
 * switched off for both sides unless both SYNs carried the option (RFC 1323 / 7323).
 * @see tcp_init_sender
 */
function tcpInitSender(store: TcpStore, s: number, r: number, dir: number, pkt: Pkt, end: number, win: number): void {
  store.w[tdw(s) + T_TD_END] = end;
  store.w[tdw(s) + T_TD_MAXEND] = end;
  store.w[tdw(s) + T_TD_MAXWIN] = win === 0 ? 1 : win;
  tcpOptions(store, s, pkt);
  if (dir === 1 && !((store.b[tdb(s) + B_TD_FLAGS] & IP_CT_TCP_FLAG_WINDOW_SCALE) && (store.b[tdb(r) + B_TD_FLAGS] & IP_CT_TCP_FLAG_WINDOW_SCALE))) {
    store.b[tdb(s) + B_TD_SCALE] = 0;
    store.b[tdb(r) + B_TD_SCALE] = 0;
  }
}

/** An out-of-window verdict, unless the sender (or the netns) is liberal. @see nf_tcp_store_invalid */
function storeInvalid(store: TcpStore, s: number, sys: TcpWindowSysctl, res: number): number {
  if ((store.b[tdb(s) + B_TD_FLAGS] & IP_CT_TCP_FLAG_BE_LIBERAL) || sys.tcp_be_liberal) return NFCT_TCP_ACCEPT;
  return res;
}

/**
 * The window check for one packet of class `index` in direction `dir`. Returns NFCT_TCP_ACCEPT
 * (and updates the window data), NFCT_TCP_IGNORE or NFCT_TCP_INVALID. Reads the stored state
 * (`store.stateOf(slot)`, not yet committed for this packet).
 * @see tcp_in_window
 */
export function tcpInWindow(
  store: TcpStore, slot: number, dir: number, index: number, pkt: Pkt, sys: TcpWindowSysctl, receiverOffset = 0,
): number {
  const s = slot * 2 + dir;
  const r = slot * 2 + (dir ^ 1);
  const flags = pkt.tcpFlags;
  const isSyn = (flags & TH_SYN) !== 0;
  const hasAck = (flags & TH_ACK) !== 0;
  let seq = pkt.seq | 0;
  let ack = pkt.ack | 0;
  let sack = ack;
  const winRaw = pkt.win & 0xffff;
  let win = winRaw;
  let end = tcpSegmentEnd(pkt);

  if ((store.b[tdb(r) + B_TD_FLAGS] & IP_CT_TCP_FLAG_SACK_PERM) && pkt.sackMax !== -1 && after(pkt.sackMax, sack)) {
    sack = pkt.sackMax | 0;
  }
  // NAT / SYNPROXY sequence mangling: acks refer to the peer's adjusted sequence space
  if (receiverOffset !== 0) {
    ack = (ack - receiverOffset) | 0;
    sack = (sack - receiverOffset) | 0;
  }

  if (store.w[tdw(s) + T_TD_MAXWIN] === 0) {
    if (isSyn) {
      // First SYN-ACK, or the first SYN of the reply side in a simultaneous open.
      tcpInitSender(store, s, r, dir, pkt, end, win);
      if (!hasAck) return NFCT_TCP_ACCEPT;
    } else {
      // First segment seen from this side in the middle of a connection: take its values.
      store.w[tdw(s) + T_TD_END] = end;
      const swin = (win << store.b[tdb(s) + B_TD_SCALE]) | 0;
      store.w[tdw(s) + T_TD_MAXWIN] = swin === 0 ? 1 : swin;
      store.w[tdw(s) + T_TD_MAXEND] = (end + store.w[tdw(s) + T_TD_MAXWIN]) | 0;
      if (store.w[tdw(r) + T_TD_MAXWIN] === 0) {
        // Nothing seen from the other side either: make checks III and IV pass for now.
        store.w[tdw(r) + T_TD_END] = sack;
        store.w[tdw(r) + T_TD_MAXEND] = sack;
      } else if (sack === ((store.w[tdw(r) + T_TD_END] + 1) | 0)) {
        // Probably the answer to a keep-alive probe (needed for check III).
        store.w[tdw(r) + T_TD_END] = (store.w[tdw(r) + T_TD_END] + 1) | 0;
      }
    }
  } else if (isSyn && after(end, store.w[tdw(s) + T_TD_END])) {
    const st = store.stateOf(slot);
    if (st === TCP_CONNTRACK_SYN_SENT || st === TCP_CONNTRACK_SYN_RECV) {
      // A retried SYN / SYN-ACK with a higher ISN: start this side again (RFC 793).
      tcpInitSender(store, s, r, dir, pkt, end, win);
      if (dir === 1 && !hasAck) return NFCT_TCP_ACCEPT;
    }
  }

  if (!hasAck) {
    ack = store.w[tdw(r) + T_TD_END];
    sack = ack;
  } else if ((flags & TH_RST) && ack === 0) {
    // Stacks that send RST+ACK with a zero ack field.
    ack = store.w[tdw(r) + T_TD_END];
    sack = ack;
  }

  if ((flags & TH_RST) && seq === 0 && store.stateOf(slot) === TCP_CONNTRACK_SYN_SENT) {
    // RST answering a SYN.
    seq = store.w[tdw(s) + T_TD_END];
    end = seq;
  }

  const maxackwin = (store.w[tdw(s) + T_TD_MAXWIN] >>> 0) > MAXACKWINCONST ? store.w[tdw(s) + T_TD_MAXWIN] : MAXACKWINCONST;

  // Check I: seq must not exceed the right edge the receiver advertised.
  if (!before(seq, (store.w[tdw(s) + T_TD_MAXEND] + 1) | 0)) {
    const overshot = (end - store.w[tdw(s) + T_TD_MAXEND] + 1) >>> 0;
    const rMaxwin = store.w[tdw(r) + T_TD_MAXWIN];
    const ackOk = after(sack, (store.w[tdw(r) + T_TD_END] - maxackwin - 1) | 0);
    const inRecvWin = rMaxwin !== 0 && after(end, (store.w[tdw(s) + T_TD_END] - rMaxwin - 1) | 0);
    if (inRecvWin && ackOk && overshot <= (rMaxwin >>> 0) && before(sack, (store.w[tdw(r) + T_TD_END] + 1) | 0)) {
      // Sender exceeded the window by a little: remember the data so the peer's ACK for it
      // does not fail check III later, but ignore the segment itself.
      store.w[tdw(s) + T_TD_END] = end;
      store.b[tdb(s) + B_TD_FLAGS] |= IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED;
      return storeInvalid(store, s, sys, NFCT_TCP_IGNORE);
    }
    return storeInvalid(store, s, sys, NFCT_TCP_INVALID);
  }

  // Check III: no ack for data not seen yet.
  if (!before(sack, (store.w[tdw(r) + T_TD_END] + 1) | 0)) return storeInvalid(store, s, sys, NFCT_TCP_INVALID);

  // Check II: end within the receive window (not a retransmission of long-acknowledged data).
  if (store.w[tdw(r) + T_TD_MAXWIN] !== 0 && !after(end, (store.w[tdw(s) + T_TD_END] - store.w[tdw(r) + T_TD_MAXWIN] - 1) | 0)) {
    return storeInvalid(store, s, sys, NFCT_TCP_IGNORE);
  }

  // Check IV: ack not overly delayed.
  if (!after(sack, (store.w[tdw(r) + T_TD_END] - maxackwin - 1) | 0)) return storeInvalid(store, s, sys, NFCT_TCP_IGNORE);

  // In window. Scale the advertised window (never on SYNs).
  if (!isSyn) win = (win << store.b[tdb(s) + B_TD_SCALE]) >>> 0;

  // Sender update.
  const swin = (win + (sack - ack)) >>> 0;
  if ((store.w[tdw(s) + T_TD_MAXWIN] >>> 0) < swin) store.w[tdw(s) + T_TD_MAXWIN] = swin | 0;
  if (after(end, store.w[tdw(s) + T_TD_END])) {
    store.w[tdw(s) + T_TD_END] = end;
    store.b[tdb(s) + B_TD_FLAGS] |= IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED;
  }
  if (hasAck) {
    if (!(store.b[tdb(s) + B_TD_FLAGS] & IP_CT_TCP_FLAG_MAXACK_SET)) {
      store.w[tdw(s) + T_TD_MAXACK] = ack;
      store.b[tdb(s) + B_TD_FLAGS] |= IP_CT_TCP_FLAG_MAXACK_SET;
    } else if (after(ack, store.w[tdw(s) + T_TD_MAXACK])) {
      store.w[tdw(s) + T_TD_MAXACK] = ack;
    }
  }

  // Receiver update.
  if (store.w[tdw(r) + T_TD_MAXWIN] !== 0 && after(end, store.w[tdw(s) + T_TD_MAXEND])) {
    store.w[tdw(r) + T_TD_MAXWIN] = (store.w[tdw(r) + T_TD_MAXWIN] + (end - store.w[tdw(s) + T_TD_MAXEND])) | 0;
  }
  const edge = (sack + win) | 0;
  if (after(edge, (store.w[tdw(r) + T_TD_MAXEND] - 1) | 0)) {
    store.w[tdw(r) + T_TD_MAXEND] = win === 0 ? (edge + 1) | 0 : edge;
  }
  if (ack === store.w[tdw(r) + T_TD_END]) store.b[tdb(r) + B_TD_FLAGS] &= ~IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED;

  // Retransmission counting (ACK-class segments only).
  if (index === TCP_ACK_SET) {
    if (store.b[(slot << 6) + B_LAST_DIR] === dir && store.w[(slot << 4) + T_LAST_SEQ] === seq && store.w[(slot << 4) + T_LAST_ACK] === ack &&
        store.w[(slot << 4) + T_LAST_END] === end && store.w[(slot << 4) + T_LAST_WIN] === winRaw) {
      store.b[(slot << 6) + B_RETRANS] = store.b[(slot << 6) + B_RETRANS] + 1; // u8: wraps at 256 like the kernel field
    } else {
      store.b[(slot << 6) + B_LAST_DIR] = dir;
      store.w[(slot << 4) + T_LAST_SEQ] = seq;
      store.w[(slot << 4) + T_LAST_ACK] = ack;
      store.w[(slot << 4) + T_LAST_END] = end;
      store.w[(slot << 4) + T_LAST_WIN] = winRaw;
      store.b[(slot << 6) + B_RETRANS] = 0;
    }
  }
  return NFCT_TCP_ACCEPT;
}
