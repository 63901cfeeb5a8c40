/**
 * SYNPROXY (docs/synproxy.md), modelled on the kernel's `net/netfilter/nf_synproxy_core.c`,
 * `nft_synproxy.c` and the SEQADJ extension (`nf_conntrack_seqadj.c`), Linux 6.x:
 *
 * - `ruleEval()` is the `synproxy` statement (`nft_synproxy_do_eval()`): a client SYN is answered
 *   with a cookie SYN-ACK and consumed (no conntrack entry); the client's ACK is checked and, when
 *   valid, replaced by a SYN to the server carrying the SYNPROXY template, whose conntrack pass
 *   creates the entry with the SEQADJ + SYNPROXY extensions;
 * - `hook()` is `ipv4_synproxy_hook()` (LOCAL_IN / POST_ROUTING, priority CONFIRM − 1) for packets
 *   of entries with the SYNPROXY extension: it records the cookie ISN on the proxy's SYN, consumes
 *   the server's SYN-ACK (ACK to the server, sequence offset, window update to the client),
 *   re-sends the server SYN for a client keep-alive, and adjusts timestamps;
 * - `seqAdjust()` is `nf_ct_seq_adjust()` (run at confirm time for IPS_SEQ_ADJUST entries).
 *
 * Per-slot state (the extensions' payload) lives here in typed arrays indexed by conntrack slot:
 * `isn`, `its`, `tsoff` (`struct nf_conn_synproxy`) and the per-direction offset of
 * `struct nf_conn_seqadj` (correction_pos stays 0 and offset_before = offset_after for SYNPROXY,
 * so one offset per direction describes it). Nothing is allocated per packet: the packets the
 * proxy sends are two scratch `Pkt`s (`toClient`, `toServer`), and what the last call sent is
 * in `emitted` (EMIT_* bits).
 */
import { T_TD_MAXWIN, tdw } from '../conntrack/tcp-store.js';
import { IPPROTO_TCP, TH_ACK, TH_CWR, TH_ECE, TH_RST, TH_SYN } from '../conntrack/constants.js';
import { IP_CT_ESTABLISHED_REPLY, NF_ACCEPT, NF_DROP, NF_STOLEN, type Conntrack, type SeqAdjProvider } from '../conntrack/conntrack.js';
import { jiffiesAt } from '../core/time.js';
import { Pkt } from '../conntrack/packet.js';
import { TCP_CONNTRACK_CLOSE, TCP_CONNTRACK_SYN_RECV, TCP_CONNTRACK_SYN_SENT } from '../conntrack/proto-tcp-const.js';
import { CT_EXT_SEQADJ, CT_EXT_SYNPROXY } from '../conntrack/sizing.js';
import { IPS_SEQ_ADJUST } from '../nat/constants.js';
import { SynCookies, type SecretSource } from './cookie.js';

/** The packet was consumed (and maybe answered) by the proxy (conntrack.ts: NF_STOLEN = 2). */
export { NF_STOLEN };

/** `NF_SYNPROXY_OPT_*` (include/uapi/linux/netfilter/nf_synproxy.h). */
export const SP_OPT_MSS = 0x01;
export const SP_OPT_WSCALE = 0x02;
export const SP_OPT_SACK_PERM = 0x04;
export const SP_OPT_TIMESTAMP = 0x08;
export const SP_OPT_ECN = 0x10;

/** What the last call sent (bits of `emitted`). */
export const EMIT_CLIENT_SYNACK = 1;
export const EMIT_SERVER_SYN = 2;
export const EMIT_SERVER_ACK = 4;
export const EMIT_CLIENT_ACK = 8;

/** The statement's arguments: `synproxy mss M wscale W [timestamp] [sack-perm]`. @see struct nf_synproxy_info */
export interface SynproxyInfo {
  mss: number;
  wscale: number;
  /** SP_OPT_* bits: MSS and WSCALE when given, TIMESTAMP, SACK_PERM. */
  options: number;
}

/** `/proc/net/stat/synproxy` columns (`synproxy_cpu_seq_show()`; `entries` is always printed as 0). */
export class SynproxyStats {
  entries = 0;
  syn_received = 0;
  cookie_invalid = 0;
  cookie_valid = 0;
  cookie_retrans = 0;
  conn_reopened = 0;
}

/** The column order of `/proc/net/stat/synproxy`. */
export const SYNPROXY_STAT_COLUMNS = ['entries', 'syn_received', 'cookie_invalid', 'cookie_valid', 'cookie_retrans', 'conn_reopened'] as const;

/** TCP header bytes of the options `synproxy_build_options()` writes. @see synproxy_options_size */
export function optionsSize(options: number): number {
  let n = 0;
  if (options & SP_OPT_MSS) n += 4;
  if (options & SP_OPT_TIMESTAMP) n += 12;
  else if (options & SP_OPT_SACK_PERM) n += 4;
  if (options & SP_OPT_WSCALE) n += 4;
  return n;
}

/** The parsed options of one segment. @see struct synproxy_options */
class Opts {
  options = 0;
  mssOption = 0;
  mssEncode = 0;
  wscale = 0;
  tsval = 0;
  tsecr = 0;
  /** `synproxy_parse_options()` from a packet's option fields. */
  parse(p: Pkt): this {
    this.options = 0;
    this.mssOption = 0; this.mssEncode = 0; this.wscale = 0; this.tsval = 0; this.tsecr = 0;
    if (p.optMss >= 0) { this.mssOption = p.optMss; this.options |= SP_OPT_MSS; }
    if (p.optWscale >= 0) { this.wscale = p.optWscale > 14 ? 14 : p.optWscale; this.options |= SP_OPT_WSCALE; }
    if (p.optTs) { this.tsval = p.tsval >>> 0; this.tsecr = p.tsecr >>> 0; this.options |= SP_OPT_TIMESTAMP; }
    if (p.optSackPerm) this.options |= SP_OPT_SACK_PERM;
    return this;
  }
}

export class Synproxy implements SeqAdjProvider {
  readonly stats = new SynproxyStats();
  readonly cookies: SynCookies;
  /** The packet last sent towards the client (cookie SYN-ACK or window update) and towards the server (SYN or ACK). */
  readonly toClient = new Pkt();
  readonly toServer = new Pkt();
  /** EMIT_* bits of what the last `ruleEval`/`hook` call sent. */
  emitted = 0;
  /** Verdict of the last server-bound packet's conntrack pass (NF_ACCEPT / NF_DROP). */
  serverVerdict = NF_ACCEPT;
  /** Verdict of the last cookie SYN-ACK's conntrack pass (NF_DROP: table full, not sent). */
  clientVerdict = NF_ACCEPT;
  /** Slot of the entry the last server SYN created or found (-1: none). */
  serverSlot = -1;

  // per slot: struct nf_conn_synproxy
  isn: Int32Array;
  its: Int32Array;
  tsoff: Int32Array;
  /** Per slot and direction (slot * 2 + dir): the SEQADJ offset. */
  seqOff: Int32Array;

  private readonly opts = new Opts();

  constructor(readonly ct: Conntrack, secret: SecretSource) {
    this.cookies = new SynCookies(secret);
    const cap = ct.table.capacity;
    this.isn = new Int32Array(cap);
    this.its = new Int32Array(cap);
    this.tsoff = new Int32Array(cap);
    this.seqOff = new Int32Array(cap * 2);
    ct.seqadj = this;
    ct.confirmHook = (pkt, slot, dir) => {
      const h = this.hook(pkt, slot, dir);
      if (h === NF_ACCEPT) this.seqAdjust(pkt, slot, dir);
      return h;
    };
  }

  /** Sequence offset of an entry's direction. @see nf_ct_seq_offset */
  offset(slot: number, dir: number): number {
    this.ensure(slot);
    return this.seqOff[slot * 2 + dir]!;
  }

  /** Grows the per-slot arrays with an unlimited table. */
  private ensure(slot: number): void {
    if (slot < this.isn.length) return;
    let n = this.isn.length;
    while (n <= slot) n *= 2;
    const g = (a: Int32Array, m: number) => { const b = new Int32Array(n * m); b.set(a); return b; };
    this.isn = g(this.isn, 1); this.its = g(this.its, 1); this.tsoff = g(this.tsoff, 1); this.seqOff = g(this.seqOff, 2);
  }

  /** The cookie counter now. */
  private counter(): number {
    const ct = this.ct;
    return SynCookies.counter(jiffiesAt(ct.nowUs, ct.hz), ct.hz);
  }

  /** `tcp_clock_ms()`: the proxy's millisecond clock for timestamp cookies. */
  private clockMs(): number {
    return Math.floor(this.ct.nowUs / 1000) >>> 0;
  }

  /**
   * The `synproxy` statement for a packet the rule matched (its `ct state` is invalid or
   * untracked). Returns NF_STOLEN (consumed: a SYN answered, or a valid ACK turned into a
   * server SYN), NF_DROP (unparsable header, or an ACK with an invalid cookie) or NF_ACCEPT
   * (not TCP, or neither SYN nor ACK: the rule has no effect and evaluation continues).
   * @see nft_synproxy_do_eval, nft_synproxy_eval_v4
   */
  ruleEval(pkt: Pkt, info: SynproxyInfo): number {
    this.emitted = 0;
    if (pkt.proto !== IPPROTO_TCP) return NF_ACCEPT;
    if (pkt.malformed !== 0) return NF_DROP;
    const o = this.opts.parse(pkt);
    const f = pkt.tcpFlags;
    if ((f & TH_SYN) !== 0) {
      // nft_synproxy_tcp_options()
      this.stats.syn_received++;
      if ((f & TH_ECE) !== 0 && (f & TH_CWR) !== 0) o.options |= SP_OPT_ECN;
      o.options &= info.options;
      o.mssEncode = o.mssOption;
      o.mssOption = info.mss;
      if ((o.options & SP_OPT_TIMESTAMP) !== 0) this.initTimestampCookie(info, o);
      else o.options &= ~(SP_OPT_WSCALE | SP_OPT_SACK_PERM | SP_OPT_ECN);
      this.sendClientSynack(pkt, o);
      return NF_STOLEN;
    }
    if ((f & TH_ACK) !== 0) return this.recvClientAck(pkt, o, pkt.seq) ? NF_STOLEN : NF_DROP;
    return NF_ACCEPT;
  }

  /** TSval of the SYN-ACK encodes the client's wscale, SACK-perm and ECN. @see synproxy_init_timestamp_cookie */
  private initTimestampCookie(info: SynproxyInfo, o: Opts): void {
    o.tsecr = o.tsval;
    let v = (this.clockMs() & ~0x3f) >>> 0;
    if ((o.options & SP_OPT_WSCALE) !== 0) {
      v |= o.wscale;
      o.wscale = info.wscale;
    } else v |= 0xf;
    if ((o.options & SP_OPT_SACK_PERM) !== 0) v |= 1 << 4;
    if ((o.options & SP_OPT_ECN) !== 0) v |= 1 << 5;
    o.tsval = v >>> 0;
  }

  /** Recovers the client's options from the echoed TSval. @see synproxy_check_timestamp_cookie */
  private static checkTimestampCookie(o: Opts): void {
    o.wscale = o.tsecr & 0xf;
    if (o.wscale !== 0xf) o.options |= SP_OPT_WSCALE;
    if ((o.tsecr & (1 << 4)) !== 0) o.options |= SP_OPT_SACK_PERM;
    if ((o.tsecr & (1 << 5)) !== 0) o.options |= SP_OPT_ECN;
  }

  /** Writes the options of `o` into a packet's option fields. @see synproxy_build_options */
  private static buildOptions(p: Pkt, o: Opts): void {
    const x = o.options;
    p.optMss = (x & SP_OPT_MSS) !== 0 ? o.mssOption : -1;
    p.optTs = (x & SP_OPT_TIMESTAMP) !== 0;
    p.tsval = p.optTs ? o.tsval >>> 0 : 0;
    p.tsecr = p.optTs ? o.tsecr >>> 0 : 0;
    p.optSackPerm = (x & SP_OPT_SACK_PERM) !== 0;
    p.optWscale = (x & SP_OPT_WSCALE) !== 0 ? o.wscale : -1;
    p.len = 40 + optionsSize(x);
  }

  /** Copies the flow attribution of the packet that caused a proxy packet. */
  private static head(out: Pkt, from: Pkt): Pkt {
    out.reset();
    out.l3 = from.l3; out.proto = IPPROTO_TCP; out.cls = from.cls; out.owner = from.owner; out.flow = from.flow;
    return out;
  }

  /** The cookie SYN-ACK (window 0), to the client. @see synproxy_send_client_synack */
  private sendClientSynack(pkt: Pkt, o: Opts): void {
    const c = this.cookies;
    const p = Synproxy.head(this.toClient, pkt);
    p.src = pkt.dst; p.dst = pkt.src; p.sport = pkt.dport; p.dport = pkt.sport;
    p.seq = c.initSequence(pkt.src, pkt.dst, pkt.sport, pkt.dport, pkt.seq, o.mssEncode, this.counter());
    p.ack = (pkt.seq + 1) >>> 0;
    p.tcpFlags = TH_SYN | TH_ACK | ((o.options & SP_OPT_ECN) !== 0 ? TH_ECE : 0);
    p.win = 0;
    Synproxy.buildOptions(p, o);
    // The SYN was untracked, which leaves no entry pointer for skb_nfct(): the SYN-ACK passes
    // conntrack in OUTPUT as a packet without entry. An entry is allocated (so a full table with
    // nothing early-droppable drops the SYN-ACK), then tcp_new() refuses a SYN-ACK: `invalid`.
    const ct = this.ct;
    const slot = ct.lastSlot, info = ct.lastCtinfo;
    this.clientVerdict = this.outputPass(p);
    ct.lastSlot = slot; ct.lastCtinfo = info;
    if (this.clientVerdict === NF_ACCEPT) this.emitted |= EMIT_CLIENT_SYNACK;
  }

  /**
   * Hands one of the proxy's packets to conntrack as locally generated (OUTPUT); filter rules of
   * the forward/prerouting hooks do not see it. Overridden by the rule path (`outputPass`).
   */
  outputPass: (p: Pkt) => number = (p) => {
    // locally generated: OUTPUT conntrack only (the forward/prerouting chains never see it, and
    // output chains are not modelled), then this engine's POST_ROUTING hook (localOut)
    const ct = this.ct, rules = ct.rules;
    ct.rules = undefined;
    try {
      return ct.packetIn(p);
    } finally {
      ct.rules = rules;
    }
  };

  /**
   * Checks the cookie of a client ACK; if valid, sends the server SYN (through conntrack, with
   * the template). @see synproxy_recv_client_ack
   */
  private recvClientAck(pkt: Pkt, o: Opts, recvSeq: number): boolean {
    const mss = this.cookies.check(pkt.src, pkt.dst, pkt.sport, pkt.dport, pkt.seq, pkt.ack, this.counter());
    if (mss === 0) {
      this.stats.cookie_invalid++;
      return false;
    }
    this.stats.cookie_valid++;
    o.mssOption = mss;
    o.options |= SP_OPT_MSS;
    if ((o.options & SP_OPT_TIMESTAMP) !== 0) Synproxy.checkTimestampCookie(o);
    this.sendServerSyn(pkt, o, recvSeq);
    return true;
  }

  /**
   * The SYN to the server: the client's addresses, ISN (`recv_seq − 1`) and window, the recovered
   * options, and in its ack field the cookie ISN (relayed to the hook). It carries the template:
   * conntrack creates the entry with SEQADJ + SYNPROXY. @see synproxy_send_server_syn
   */
  private sendServerSyn(pkt: Pkt, o: Opts, recvSeq: number): void {
    const p = Synproxy.head(this.toServer, pkt);
    p.src = pkt.src; p.dst = pkt.dst; p.sport = pkt.sport; p.dport = pkt.dport;
    p.seq = (recvSeq - 1) >>> 0;
    p.ack = (pkt.ack - 1) >>> 0;
    p.tcpFlags = TH_SYN | ((o.options & SP_OPT_ECN) !== 0 ? TH_ECE | TH_CWR : 0);
    p.win = pkt.win;
    Synproxy.buildOptions(p, o);
    p.tmplExt = CT_EXT_SEQADJ | CT_EXT_SYNPROXY;
    this.emitted |= EMIT_SERVER_SYN;
    this.localOut(p, true);
  }

  /**
   * A proxy packet towards the server through OUTPUT: conntrack (when `track`), then the
   * POST_ROUTING synproxy hook and the sequence adjustment. Sets serverVerdict / serverSlot.
   */
  private localOut(p: Pkt, track: boolean): void {
    const ct = this.ct;
    const before = ct.stats.allocated;
    const v = this.outputPass(p);
    this.serverVerdict = v;
    this.serverSlot = ct.lastSlot;
    if (v !== NF_ACCEPT || ct.lastSlot < 0 || !track) return;
    const slot = ct.lastSlot;
    this.ensure(slot);
    if (ct.stats.allocated !== before) {
      // a fresh entry: its extension data starts zeroed (nf_ct_ext_add)
      this.isn[slot] = 0; this.its[slot] = 0; this.tsoff[slot] = 0;
      this.seqOff[slot * 2] = 0; this.seqOff[slot * 2 + 1] = 0;
    }
    const dir = ct.lastCtinfo >= IP_CT_ESTABLISHED_REPLY ? 1 : 0;
    const saved = this.emitted;
    const h = this.hook(p, slot, dir);
    this.emitted |= saved;
    if (h === NF_ACCEPT) this.seqAdjust(p, slot, dir);
  }

  /** `nf_ct_seqadj_init()`: an offset of 0 changes nothing (not even IPS_SEQ_ADJUST). */
  private seqadjInit(slot: number, dir: number, off: number): void {
    if ((off | 0) === 0) return;
    this.ct.table.orStatus(slot, IPS_SEQ_ADJUST);
    this.seqOff[slot * 2 + dir] = off | 0;
  }

  /**
   * `ipv4_synproxy_hook()` for a packet attached to `slot` in direction `dir` (call it for every
   * packet of an entry; it returns NF_ACCEPT at once for entries without the SYNPROXY extension).
   * Returns NF_ACCEPT (timestamps adjusted), NF_DROP, or NF_STOLEN.
   */
  hook(pkt: Pkt, slot: number, dir: number): number {
    const ct = this.ct;
    this.emitted = 0;
    if ((ct.extMaskOf(slot) & CT_EXT_SYNPROXY) === 0 || pkt.proto !== IPPROTO_TCP) return NF_ACCEPT;
    if (pkt.malformed !== 0) return NF_DROP;
    this.ensure(slot);
    const f = pkt.tcpFlags;
    const syn = (f & TH_SYN) !== 0, ack = (f & TH_ACK) !== 0;
    const state = ct.tcp.stateOf(slot);
    if (state === TCP_CONNTRACK_CLOSE || state === TCP_CONNTRACK_SYN_SENT) {
      if (state === TCP_CONNTRACK_CLOSE) {
        if ((f & TH_RST) !== 0 && dir !== 0) {
          this.seqadjInit(slot, dir, (this.isn[slot]! - pkt.seq + 1) | 0);
          return this.tstampAdjust(pkt, slot, dir);
        }
        if (!syn || ack || dir !== 0) return this.tstampAdjust(pkt, slot, dir);
        // reopened: the adjustments start again once the connection is re-established
        this.seqadjInit(slot, dir, 0);
        this.tsoff[slot] = 0;
        this.stats.conn_reopened++;
      }
      const o = this.opts.parse(pkt);
      if (!syn && ack && dir === 0) {
        // a client keep-alive (seq = SND.NXT − 1): re-validate and send the server SYN again
        if (this.recvClientAck(pkt, o, (pkt.seq + 1) >>> 0)) {
          this.stats.cookie_retrans++;
          return NF_STOLEN;
        }
        return NF_DROP;
      }
      this.isn[slot] = pkt.ack | 0;
      if ((o.options & SP_OPT_TIMESTAMP) !== 0) this.its[slot] = o.tsecr | 0;
      return this.tstampAdjust(pkt, slot, dir);
    }
    if (state === TCP_CONNTRACK_SYN_RECV) {
      if (!syn || !ack) return this.tstampAdjust(pkt, slot, dir);
      const o = this.opts.parse(pkt);
      if ((o.options & SP_OPT_TIMESTAMP) !== 0) this.tsoff[slot] = (o.tsval - this.its[slot]!) | 0;
      o.options &= ~(SP_OPT_MSS | SP_OPT_WSCALE | SP_OPT_SACK_PERM);
      let t = o.tsval; o.tsval = o.tsecr; o.tsecr = t;
      this.sendServerAck(pkt, slot, o);
      this.seqadjInit(slot, dir, (this.isn[slot]! - pkt.seq) | 0);
      t = o.tsval; o.tsval = o.tsecr; o.tsecr = t;
      this.sendClientAck(pkt, slot, o);
      this.emitted |= EMIT_SERVER_ACK;
      return NF_STOLEN;
    }
    return this.tstampAdjust(pkt, slot, dir);
  }

  /** The ACK completing the server's handshake (tracked: no entry attached). @see synproxy_send_server_ack */
  private sendServerAck(pkt: Pkt, slot: number, o: Opts): void {
    const p = Synproxy.head(this.toServer, pkt);
    p.src = pkt.dst; p.dst = pkt.src; p.sport = pkt.dport; p.dport = pkt.sport;
    p.seq = pkt.ack >>> 0;
    p.ack = (pkt.seq + 1) >>> 0;
    p.tcpFlags = TH_ACK;
    p.win = this.ct.tcp.w[tdw(slot * 2) + T_TD_MAXWIN]! & 0xffff;
    Synproxy.buildOptions(p, o);
    const saved = this.emitted;
    this.localOut(p, true);
    this.emitted = saved | EMIT_SERVER_ACK;
  }

  /**
   * The window update to the client: sent with the SYN-ACK's entry attached (not tracked), so
   * only the POST_ROUTING hook's timestamp adjustment and the confirm-time sequence adjustment
   * apply. @see synproxy_send_client_ack
   */
  private sendClientAck(pkt: Pkt, slot: number, o: Opts): void {
    const p = Synproxy.head(this.toClient, pkt);
    p.src = pkt.src; p.dst = pkt.dst; p.sport = pkt.sport; p.dport = pkt.dport;
    p.seq = (pkt.seq + 1) >>> 0;
    p.ack = pkt.ack >>> 0;
    p.tcpFlags = TH_ACK;
    p.win = (pkt.win & 0xffff) >>> o.wscale;
    Synproxy.buildOptions(p, o);
    this.tstampAdjust(p, slot, 1);
    this.seqAdjust(p, slot, 1);
    this.emitted |= EMIT_CLIENT_ACK;
  }

  /** Moves the timestamp option between the two sides' clocks. @see synproxy_tstamp_adjust */
  private tstampAdjust(pkt: Pkt, slot: number, dir: number): number {
    const off = this.tsoff[slot]!;
    if (off === 0 || !pkt.optTs) return NF_ACCEPT;
    if (dir === 1) pkt.tsval = (pkt.tsval - off) >>> 0;
    else pkt.tsecr = (pkt.tsecr + off) >>> 0;
    return NF_ACCEPT;
  }

  /**
   * Sequence adjustment at confirm time for entries with IPS_SEQ_ADJUST: seq moves by this
   * direction's offset, ack by the other direction's. @see nf_ct_seq_adjust
   */
  seqAdjust(pkt: Pkt, slot: number, dir: number): void {
    if ((this.ct.table.statusOf(slot) & IPS_SEQ_ADJUST) === 0 || pkt.proto !== IPPROTO_TCP) return;
    this.ensure(slot);
    const so = this.seqOff[slot * 2 + dir]!, ao = this.seqOff[slot * 2 + (dir ^ 1)]!;
    pkt.seq = (pkt.seq + so) >>> 0;
    pkt.ack = (pkt.ack - ao) >>> 0;
    if (pkt.sackMax !== -1) pkt.sackMax = (pkt.sackMax - ao) >>> 0;
  }

  /** Whether the last packet through conntrack got an entry that the proxy created (for callers). */
  static isProxyEntry(ct: Conntrack, slot: number): boolean {
    return slot >= 0 && (ct.extMaskOf(slot) & CT_EXT_SYNPROXY) !== 0;
  }
}

/** The SYNPROXY engine bound to a run's conntrack, if any (generators read what it sent). */
export function synproxyOf(ct: Conntrack): Synproxy | undefined {
  return ct.seqadj instanceof Synproxy ? ct.seqadj : undefined;
}
