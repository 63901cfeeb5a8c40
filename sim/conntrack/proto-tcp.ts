/**
 * The TCP connection tracker (§4 of docs/model.md), modelled on the kernel's
 * `nf_conntrack_proto_tcp.c` (Linux 6.x): entry creation, the state tables, the post-table
 * special cases, window tracking (proto-tcp-window.ts) and the timeout choice.
 *
 * The tracker never touches the table or the clock: it reads and writes the per-entry TCP
 * state in a `TcpStore` slot and reports its decision in a `TrackerOut`.
 */
import {
  IPCT_ASSURED, IPCT_PROTOINFO, IPS_ASSURED, IPS_DYING, IPS_FIXED_TIMEOUT, IPS_SEEN_REPLY, TH_RST,
} from './constants.js';
import type { Pkt } from './packet.js';
import {
  IP_CT_EXP_CHALLENGE_ACK, IP_CT_TCP_FLAG_BE_LIBERAL, IP_CT_TCP_FLAG_CLOSE_INIT,
  IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED, IP_CT_TCP_FLAG_MAXACK_SET, IP_CT_TCP_FLAG_SACK_PERM,
  IP_CT_TCP_FLAG_WINDOW_SCALE, IP_CT_TCP_SIMULTANEOUS_OPEN, TCP_ACK_SET, TCP_CONNTRACK_CLOSE,
  TCP_CONNTRACK_ESTABLISHED, TCP_CONNTRACK_FIN_WAIT, TCP_CONNTRACK_IGNORE,
  TCP_CONNTRACK_LAST_ACK, TCP_CONNTRACK_MAX, TCP_CONNTRACK_NONE,
  TCP_CONNTRACK_SYN_RECV, TCP_CONNTRACK_SYN_SENT, TCP_CONNTRACK_SYN_SENT2, TCP_CONNTRACK_TIME_WAIT,
  TCP_CONNTRACK_UNACK, TCP_FIN_SET, TCP_NONE_SET, TCP_RST_SET,
  TCP_SYNACK_SET, TCP_SYN_SET, TCP_TRANSITIONS_FLAT, before, tcpPacketClass, tcpValidFlags,
} from './proto-tcp-const.js';
import {
  NFCT_TCP_IGNORE, NFCT_TCP_INVALID, TCP_MAX_WSCALE, tcpInWindow, tcpOptions, tcpSegmentEnd,
} from './proto-tcp-window.js';
import { selectTcpTimeout } from './proto-tcp-timeout.js';
import type { TcpStore } from './tcp-store.js';
import { VERDICT_ACCEPT, VERDICT_DROP, VERDICT_INVALID, VERDICT_REPEAT, type TrackerOut } from './tracker.js';
import { B_LAST_DIR, B_LAST_FLAGS, B_LAST_INDEX, B_LAST_WSCALE, B_RETRANS, B_STATE, B_TD_FLAGS, B_TD_SCALE, T_LAST_ACK, T_LAST_END, T_LAST_SEQ, T_LAST_WIN, T_TD_END, T_TD_MAXACK, T_TD_MAXEND, T_TD_MAXWIN, tdb, tdw } from './tcp-store.js';

export * from './proto-tcp-const.js';
export * from './proto-tcp-timeout.js';
export {
  MAXACKWINCONST, NFCT_TCP_ACCEPT, NFCT_TCP_IGNORE, NFCT_TCP_INVALID, TCP_MAX_WSCALE,
  tcpInWindow, tcpSegmentEnd,
} from './proto-tcp-window.js';

/**
 * Per-netns TCP sysctls (§4.10), kernel meanings:
 * - `tcp_loose`: non-zero → an ACK without an entry picks the connection up (ESTABLISHED, both
 *   sides BE_LIBERAL); 0 → such packets are INVALID;
 * - `tcp_be_liberal`: non-zero → window checks never yield INVALID/IGNORE;
 * - `tcp_ignore_invalid_rst`: non-zero → an RST with seq before the peer's td_maxack is not INVALID;
 * - `tcp_max_retrans`: identical ACK-class segments before the RETRANS timeout applies;
 * - `hz` (not a sysctl): jiffies per second of the run, for the 120 s threshold of
 *   `nf_tcp_handle_invalid()`; defaults to 250 (the research host) when absent.
 */
export interface TcpSysctl {
  tcp_loose: number;
  tcp_be_liberal: number;
  tcp_ignore_invalid_rst: number;
  tcp_max_retrans: number;
  hz?: number;
}

const DEFAULT_HZ = 250;

/**
 * Create the TCP part of a fresh (unconfirmed) entry from its first packet. Returns false when
 * the packet is INVALID and the entry must be discarded: illegal flag combination
 * (`tcp_error()`), a first packet that is neither SYN nor ACK, or an ACK with `tcp_loose` = 0.
 * A SYN initialises the ORIGINAL side from the packet (end, window, options); an ACK
 * ("mid-stream pickup") initialises it with td_maxend = end + window and marks both sides
 * SACK_PERM | BE_LIBERAL. The state stays NONE until `tcpPacket` runs for the same packet.
 * @see tcp_new
 */
export function tcpNew(store: TcpStore, slot: number, pkt: Pkt, sys: TcpSysctl): boolean {
  const flags = pkt.tcpFlags;
  if (!tcpValidFlags(flags)) return false;
  const ns = TCP_TRANSITIONS_FLAT[tcpPacketClass(flags) * TCP_CONNTRACK_MAX + TCP_CONNTRACK_NONE];
  if (ns >= TCP_CONNTRACK_MAX) return false;
  const win = pkt.win & 0xffff;
  const s = slot * 2;
  if (ns === TCP_CONNTRACK_SYN_SENT) {
    store.clear(slot);
    const end = tcpSegmentEnd(pkt);
    store.w[tdw(s) + T_TD_END] = end;
    store.w[tdw(s) + T_TD_MAXWIN] = win === 0 ? 1 : win;
    store.w[tdw(s) + T_TD_MAXEND] = end;
    tcpOptions(store, s, pkt);
  } else if (sys.tcp_loose === 0) {
    return false;
  } else {
    store.clear(slot);
    const end = tcpSegmentEnd(pkt);
    const maxwin = win === 0 ? 1 : win;
    store.w[tdw(s) + T_TD_END] = end;
    store.w[tdw(s) + T_TD_MAXWIN] = maxwin;
    store.w[tdw(s) + T_TD_MAXEND] = (end + maxwin) | 0;
    store.b[tdb(s) + B_TD_FLAGS] = IP_CT_TCP_FLAG_SACK_PERM | IP_CT_TCP_FLAG_BE_LIBERAL;
    store.b[tdb(s + 1) + B_TD_FLAGS] = IP_CT_TCP_FLAG_SACK_PERM | IP_CT_TCP_FLAG_BE_LIBERAL;
  }
  store.b[(slot << 6) + B_LAST_INDEX] = TCP_NONE_SET;
  return true;
}

/** True in the closing states FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE. @see tcp_can_early_drop */
export function tcpCanEarlyDrop(store: TcpStore, slot: number): boolean {
  const st = store.stateOf(slot);
  return st >= TCP_CONNTRACK_FIN_WAIT && st <= TCP_CONNTRACK_CLOSE;
}

/**
 * An out-of-window (INVALID) FIN/RST on an ASSURED entry without IPS_FIXED_TIMEOUT. If the last
 * recorded packet (`last_index`/`last_dir`, written by committed packets and by this function)
 * was a FIN or RST from the other direction: when at least 120 s remain and the remainder is
 * longer than the UNACK timeout, cut the lifetime to UNACK (reported as `refresh` with
 * `timeout` = UNACK). Otherwise record this packet's class and direction as the last ones.
 * @see nf_tcp_handle_invalid
 */
function tcpHandleInvalid(
  store: TcpStore, slot: number, dir: number, index: number, status: number,
  timeouts: Int32Array, remaining: number, hz: number, out: TrackerOut,
): void {
  if (!(status & IPS_ASSURED) || (status & IPS_FIXED_TIMEOUT)) return;
  if (index !== TCP_RST_SET && index !== TCP_FIN_SET) return;
  const li = store.b[(slot << 6) + B_LAST_INDEX];
  if (store.b[(slot << 6) + B_LAST_DIR] !== dir && (li === TCP_FIN_SET || li === TCP_RST_SET)) {
    const expires = remaining >>> 0;
    if (expires < 120 * hz) return;
    const t = timeouts[TCP_CONNTRACK_UNACK];
    if (expires > (t >>> 0)) {
      out.refresh = true;
      out.timeout = t;
    }
  } else {
    store.b[(slot << 6) + B_LAST_INDEX] = index;
    store.b[(slot << 6) + B_LAST_DIR] = dir;
  }
}

/**
 * Track one packet of an entry whose TCP part exists (`tcpNew` already ran for a new entry).
 * Follows §4.6 steps 1–13: table lookup; re-open of TIME_WAIT/CLOSE (VERDICT_REPEAT, or DROP
 * when the entry is already dying); IGNORE bookkeeping and SYN-ACK resync; INVALID cells; the
 * RFC 5961 challenge ACK in LAST_ACK; simultaneous open; the RST rules; the window check (with
 * `nf_tcp_handle_invalid()` on INVALID); commit; timeout choice; PROTOINFO / ASSURED events;
 * kill on an RST before any reply; no refresh for an unanswered SYN retransmission; the UNACK
 * cap for a loose pickup.
 *
 * `status` is the entry's IPS_* bits before this packet (the core sets IPS_SEEN_REPLY after the
 * tracker). `timeouts` are jiffies indexed by state (RETRANS = 12, UNACK = 13). `remaining` is
 * the entry's remaining lifetime in jiffies. `out` must be reset by the caller. A refresh is
 * reported with `out.refresh`/`out.timeout` (relative); entries with IPS_FIXED_TIMEOUT are
 * never refreshed. The timeout cut of `nf_tcp_handle_invalid()` is reported as a refresh
 * together with VERDICT_INVALID. `receiverOffset` is the entry's sequence adjustment of the
 * other direction (`nf_ct_seq_offset()`, SEQADJ extension; 0 without one), `synproxy` whether
 * the entry carries the SYNPROXY extension (the keep-alive exception of step 3).
 * @see nf_conntrack_tcp_packet
 */
export function tcpPacket(
  store: TcpStore, slot: number, dir: number, pkt: Pkt, status: number,
  timeouts: Int32Array, remaining: number, sys: TcpSysctl, out: TrackerOut,
  receiverOffset = 0, synproxy = false,
): void {
  const flags = pkt.tcpFlags;
  if (!tcpValidFlags(flags)) {
    out.verdict = VERDICT_INVALID;
    return;
  }
  const index = tcpPacketClass(flags);
  const s = slot * 2 + dir;
  const r = slot * 2 + (dir ^ 1);
  let oldState = store.stateOf(slot);
  let newState = TCP_TRANSITIONS_FLAT[(dir * 6 + index) * TCP_CONNTRACK_MAX + oldState];
  let skipWindow = false;

  // Step 1: a SYN re-opening a TIME_WAIT / CLOSE entry.
  let ignore = newState === TCP_CONNTRACK_IGNORE;
  if (newState === TCP_CONNTRACK_SYN_SENT && oldState >= TCP_CONNTRACK_TIME_WAIT) {
    if (((store.b[tdb(s) + B_TD_FLAGS] | store.b[tdb(r) + B_TD_FLAGS]) & IP_CT_TCP_FLAG_CLOSE_INIT) ||
        (store.b[(slot << 6) + B_LAST_DIR] === dir && store.b[(slot << 6) + B_LAST_INDEX] === TCP_RST_SET)) {
      // nf_ct_kill() fails only when the entry is already dying: then the packet is dropped.
      out.verdict = status & IPS_DYING ? VERDICT_DROP : VERDICT_REPEAT;
      return;
    }
    ignore = true;
  }

  if (ignore) {
    // Step 2: the resync case.
    if (index === TCP_SYNACK_SET && store.b[(slot << 6) + B_LAST_INDEX] === TCP_SYN_SET &&
        store.b[(slot << 6) + B_LAST_DIR] !== dir && (pkt.ack | 0) === store.w[(slot << 4) + T_LAST_END]) {
      // A SYN-ACK answering the SYN we ignored: both ends are in sync, we are not. Rebuild the
      // SYN side from the recorded SYN and start this side afresh.
      oldState = TCP_CONNTRACK_SYN_SENT;
      newState = TCP_CONNTRACK_SYN_RECV;
      const lw = store.w[(slot << 4) + T_LAST_WIN];
      store.w[tdw(r) + T_TD_END] = store.w[(slot << 4) + T_LAST_END];
      store.w[tdw(r) + T_TD_MAXEND] = store.w[(slot << 4) + T_LAST_END];
      store.w[tdw(r) + T_TD_MAXWIN] = lw === 0 ? 1 : lw;
      store.b[tdb(r) + B_TD_SCALE] = store.b[(slot << 6) + B_LAST_WSCALE];
      store.b[(slot << 6) + B_LAST_FLAGS] &= ~IP_CT_EXP_CHALLENGE_ACK;
      store.b[tdb(r) + B_TD_FLAGS] = store.b[(slot << 6) + B_LAST_FLAGS];
      // nf_ct_tcp_state_reset() of this direction
      store.w[tdw(s) + T_TD_END] = 0;
      store.w[tdw(s) + T_TD_MAXEND] = 0;
      store.w[tdw(s) + T_TD_MAXWIN] = 0;
      store.w[tdw(s) + T_TD_MAXACK] = 0;
      store.b[tdb(s) + B_TD_SCALE] = 0;
      store.b[tdb(s) + B_TD_FLAGS] &= IP_CT_TCP_FLAG_BE_LIBERAL;
    } else {
      // Step 2: ignore, but remember the packet in case the peer's answer proves it valid.
      store.b[(slot << 6) + B_LAST_INDEX] = index;
      store.b[(slot << 6) + B_LAST_DIR] = dir;
      store.w[(slot << 4) + T_LAST_SEQ] = pkt.seq | 0;
      store.w[(slot << 4) + T_LAST_END] = tcpSegmentEnd(pkt);
      store.w[(slot << 4) + T_LAST_WIN] = pkt.win & 0xffff;
      if (index === TCP_SYN_SET && dir === 0) {
        let lf = 0;
        let lws = 0;
        if (pkt.optWscale >= 0) {
          lf |= IP_CT_TCP_FLAG_WINDOW_SCALE;
          lws = pkt.optWscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : pkt.optWscale;
        }
        if (pkt.optSackPerm) lf |= IP_CT_TCP_FLAG_SACK_PERM;
        // A SYN in LAST_ACK may draw an RFC 5961 challenge ACK that must not close the entry.
        if (oldState === TCP_CONNTRACK_LAST_ACK) lf |= IP_CT_EXP_CHALLENGE_ACK;
        store.b[(slot << 6) + B_LAST_FLAGS] = lf;
        store.b[(slot << 6) + B_LAST_WSCALE] = lws;
      }
      if (oldState === TCP_CONNTRACK_SYN_SENT && index === TCP_ACK_SET && dir === 1) {
        store.w[(slot << 4) + T_LAST_ACK] = pkt.ack | 0; // possible challenge ACK answering the SYN
      }
      out.verdict = VERDICT_ACCEPT;
      return;
    }
  } else if (newState === TCP_CONNTRACK_MAX) {
    // Step 3. SYNPROXY: a client keep-alive (seq = SND.NXT - 1) while the proxied SYN or the
    // server's SYN-ACK was lost must reach the synproxy hook with its entry (docs/synproxy.md §5).
    if (synproxy && oldState === TCP_CONNTRACK_SYN_SENT && index === TCP_ACK_SET && dir === 0 &&
        store.b[(slot << 6) + B_LAST_DIR] === 0 && ((store.w[tdw(s) + T_TD_END]! - 1) | 0) === (pkt.seq | 0)) {
      out.verdict = VERDICT_ACCEPT;
      return;
    }
    out.verdict = VERDICT_INVALID;
    return;
  } else if (newState === TCP_CONNTRACK_TIME_WAIT) {
    // Step 4: RFC 5961 challenge ACK answering an ignored SYN in LAST_ACK.
    if (oldState === TCP_CONNTRACK_LAST_ACK && index === TCP_ACK_SET && store.b[(slot << 6) + B_LAST_DIR] !== dir &&
        store.b[(slot << 6) + B_LAST_INDEX] === TCP_SYN_SET && (store.b[(slot << 6) + B_LAST_FLAGS] & IP_CT_EXP_CHALLENGE_ACK)) {
      store.b[(slot << 6) + B_LAST_FLAGS] &= ~IP_CT_EXP_CHALLENGE_ACK;
      out.verdict = VERDICT_ACCEPT;
      return;
    }
  } else if (newState === TCP_CONNTRACK_SYN_SENT2) {
    // Step 5.
    store.b[(slot << 6) + B_LAST_FLAGS] |= IP_CT_TCP_SIMULTANEOUS_OPEN;
  } else if (newState === TCP_CONNTRACK_SYN_RECV) {
    // Step 6.
    if (dir === 1 && index === TCP_ACK_SET && (store.b[(slot << 6) + B_LAST_FLAGS] & IP_CT_TCP_SIMULTANEOUS_OPEN)) {
      newState = TCP_CONNTRACK_ESTABLISHED;
    }
  } else if (newState === TCP_CONNTRACK_CLOSE && index === TCP_RST_SET) {
    // Step 7: RST rules.
    rst: {
      if (tcpCanEarlyDrop(store, slot)) {
        skipWindow = true; // closing already: the tuple may be reused, skip sequence checks
        break rst;
      }
      if ((store.b[tdb(r) + B_TD_FLAGS] & IP_CT_TCP_FLAG_MAXACK_SET) && store.b[(slot << 6) + B_LAST_INDEX] !== TCP_SYN_SET) {
        const seq = pkt.seq | 0;
        const established = oldState === TCP_CONNTRACK_ESTABLISHED && (status & IPS_ASSURED) !== 0;
        if (seq === 0 && !established) break rst; // answer to a SYN we let through
        if (before(seq, store.w[tdw(r) + T_TD_MAXACK]) && !sys.tcp_ignore_invalid_rst) {
          out.verdict = VERDICT_INVALID; // "invalid rst"
          return;
        }
        if (!established || seq === store.w[tdw(r) + T_TD_MAXACK]) break rst;
        if (store.b[(slot << 6) + B_LAST_INDEX] === TCP_ACK_SET && store.b[(slot << 6) + B_LAST_DIR] === dir && seq === store.w[(slot << 4) + T_LAST_END]) {
          break rst; // RST right after our own data segment (an RST "train")
        }
        newState = oldState; // inexact seq: keep the state, a challenge ACK may follow
      }
      const li = store.b[(slot << 6) + B_LAST_INDEX];
      if ((((status & IPS_SEEN_REPLY) && li === TCP_SYN_SET && store.b[(slot << 6) + B_LAST_DIR] !== dir) ||
           (!(status & IPS_ASSURED) && li === TCP_ACK_SET)) &&
          (pkt.ack | 0) === store.w[(slot << 4) + T_LAST_END]) {
        skipWindow = true; // RST answering a SYN or ACK we ignored
        break rst;
      }
      if (oldState === TCP_CONNTRACK_SYN_SENT && li === TCP_ACK_SET && store.b[(slot << 6) + B_LAST_DIR] === 1 &&
          (pkt.seq | 0) === store.w[(slot << 4) + T_LAST_ACK]) {
        skipWindow = true; // RST answering a challenge ACK we let through
      }
    }
  }

  // Step 8: window check.
  if (!skipWindow) {
    const res = tcpInWindow(store, slot, dir, index, pkt, sys, receiverOffset);
    if (res === NFCT_TCP_IGNORE) {
      out.verdict = VERDICT_ACCEPT;
      return;
    }
    if (res === NFCT_TCP_INVALID) {
      tcpHandleInvalid(store, slot, dir, index, status, timeouts, remaining, sys.hz ?? DEFAULT_HZ, out);
      out.verdict = VERDICT_INVALID;
      return;
    }
  }

  // Step 9: commit.
  store.b[(slot << 6) + B_LAST_INDEX] = index;
  store.b[(slot << 6) + B_LAST_DIR] = dir;
  store.b[(slot << 6) + B_STATE] = newState;
  if (oldState !== newState && newState === TCP_CONNTRACK_FIN_WAIT) store.b[tdb(s) + B_TD_FLAGS] |= IP_CT_TCP_FLAG_CLOSE_INIT;

  // Step 10: timeout.
  let timeout = selectTcpTimeout(
    timeouts, newState, store.b[(slot << 6) + B_RETRANS], sys.tcp_max_retrans, index === TCP_RST_SET,
    ((store.b[tdb(slot * 2) + B_TD_FLAGS] | store.b[tdb(slot * 2 + 1) + B_TD_FLAGS]) & IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED) !== 0,
    store.w[(slot << 4) + T_LAST_WIN],
  );

  // Step 11.
  if (newState !== oldState) out.events |= 1 << IPCT_PROTOINFO;

  // Step 12.
  if (!(status & IPS_SEEN_REPLY)) {
    if (flags & TH_RST) {
      out.kill = true; // only answer is an RST: delete the entry now
      out.verdict = VERDICT_ACCEPT;
      return;
    }
    if (index === TCP_SYN_SET && oldState === TCP_CONNTRACK_SYN_SENT) {
      out.verdict = VERDICT_ACCEPT; // SYN retransmission: no refresh
      return;
    }
    if (newState === TCP_CONNTRACK_ESTABLISHED && timeout > timeouts[TCP_CONNTRACK_UNACK]) {
      timeout = timeouts[TCP_CONNTRACK_UNACK]; // loose pickup
    }
  } else if (!(status & IPS_ASSURED) &&
             (oldState === TCP_CONNTRACK_SYN_RECV || oldState === TCP_CONNTRACK_ESTABLISHED) &&
             newState === TCP_CONNTRACK_ESTABLISHED) {
    out.setStatus |= IPS_ASSURED;
    out.events |= 1 << IPCT_ASSURED;
  }

  // Step 13.
  out.verdict = VERDICT_ACCEPT;
  out.timeout = timeout;
  out.refresh = (status & IPS_FIXED_TIMEOUT) === 0;
}

/** Kernel default TCP sysctls (§4.10; `hz` left to the caller). */
export const TCP_SYSCTL_DEFAULTS: Readonly<TcpSysctl> = Object.freeze({
  tcp_loose: 1, tcp_be_liberal: 0, tcp_ignore_invalid_rst: 0, tcp_max_retrans: 3,
});
