/**
 * Test helpers for the TCP tracker: a one-entry stand-in for the conntrack core (creation,
 * confirmation, IPS_SEEN_REPLY after the tracker, ASSURED, refresh, kill, re-open repeat) and
 * a packetdrill-like trace runner. Used only by the proto-tcp*.test.ts files.
 */
import type { ExecutionContext } from 'ava';
import {
  IPCT_ASSURED, IPCT_PROTOINFO, IPS_ASSURED, IPS_CONFIRMED, IPS_SEEN_REPLY, TH_ACK, TH_CWR, TH_ECE,
  TH_FIN, TH_PSH, TH_RST, TH_SYN, TH_URG,
} from './constants.js';
import { Pkt } from './packet.js';
import {
  TCP_STATE_NAMES, TCP_SYSCTL_DEFAULTS, type TcpSysctl, tcpNew, tcpPacket, tcpTimeoutsJiffies,
} from './proto-tcp.js';
import { TcpStore } from './tcp-store.js';
import { TrackerOut, VERDICT_ACCEPT, VERDICT_DROP, VERDICT_INVALID, VERDICT_REPEAT } from './tracker.js';

export const HZ = 250;
export const sec = (s: number): number => s * HZ;
export const DEFAULT_TIMEOUTS = tcpTimeoutsJiffies({}, HZ);
export const EV_PROTOINFO = 1 << IPCT_PROTOINFO;
export const EV_ASSURED = 1 << IPCT_ASSURED;

/** 'S', 'SA', 'A', 'PA', 'FA', 'R', 'RA', 'U', 'E', 'C', '' → TH_* bits. */
export function parseFlags(f: string): number {
  let v = 0;
  for (const ch of f) {
    switch (ch) {
      case 'S': v |= TH_SYN; break;
      case 'A': v |= TH_ACK; break;
      case 'F': v |= TH_FIN; break;
      case 'R': v |= TH_RST; break;
      case 'P': v |= TH_PSH; break;
      case 'U': v |= TH_URG; break;
      case 'E': v |= TH_ECE; break;
      case 'C': v |= TH_CWR; break;
      case '.': break;
      default: throw new Error(`bad flag ${ch}`);
    }
  }
  return v;
}

export const VERDICT_NAMES = ['ACCEPT', 'INVALID', 'REPEAT', 'DROP'];

export interface PktOpts {
  wscale?: number;
  sackPerm?: boolean;
  sackMax?: number;
}

/** What one fed packet produced (copied out of TrackerOut for assertions). */
export interface StepResult {
  verdict: number;
  /** Verdict name; 'REPEAT→…' is not used: `repeated` tells whether a re-open happened. */
  verdictName: string;
  repeated: boolean;
  refresh: boolean;
  timeout: number;
  events: number;
  kill: boolean;
  /** State after the packet (NONE when no entry exists). */
  state: number;
  stateName: string;
  exists: boolean;
}

/**
 * One conntrack entry driven like the core drives it (§1.6): the first packet creates an
 * unconfirmed entry (tcpNew + tcpPacket), which is confirmed when accepted; IPS_SEEN_REPLY is
 * set after the tracker for an accepted REPLY packet; ASSURED is applied from `setStatus`;
 * refreshes set `remaining`; `kill` deletes; REPEAT deletes and re-creates from the packet, whose
 * sender becomes the ORIGINAL side of the new entry (`flipped` maps directions).
 */
export class Conn {
  readonly store = new TcpStore(4);
  readonly slot = 1;
  readonly out = new TrackerOut();
  readonly pkt = new Pkt();
  status = 0;
  exists = false;
  /** Remaining lifetime in jiffies. */
  remaining = 0;
  /** When true, the caller's 'orig' is the entry's REPLY side (after a role-switching re-open). */
  flipped = false;
  sys: TcpSysctl;
  timeouts: Int32Array;
  /** Extra status bits to pretend are set (e.g. IPS_FIXED_TIMEOUT, IPS_DYING). */
  extraStatus = 0;

  constructor(sys: Partial<TcpSysctl> = {}, timeouts: Int32Array = DEFAULT_TIMEOUTS) {
    this.sys = { ...TCP_SYSCTL_DEFAULTS, hz: HZ, ...sys };
    this.timeouts = timeouts;
  }

  get state(): number {
    return this.exists ? this.store.stateOf(this.slot) : 0;
  }

  /** Per-direction index in the store for the caller's direction `d` (0 orig, 1 reply). */
  idx(d: number): number {
    return this.slot * 2 + (d ^ (this.flipped ? 1 : 0));
  }

  fill(flags: number, seq: number, ack: number, win: number, len: number, o: PktOpts = {}): Pkt {
    const p = this.pkt.reset();
    p.tcpFlags = flags;
    p.seq = seq >>> 0;
    p.ack = ack >>> 0;
    p.win = win;
    p.dataLen = len;
    p.optWscale = o.wscale ?? -1;
    p.optSackPerm = o.sackPerm ?? false;
    p.sackMax = o.sackMax ?? -1;
    return p;
  }

  /** Feed one packet from the caller's direction `d` (0 = side that opened, 1 = other). */
  feed(d: number, flags: number, seq: number, ack: number, win: number, len: number, o: PktOpts = {}): StepResult {
    const p = this.fill(flags, seq, ack, win, len, o);
    let repeated = false;
    for (;;) {
      const out = this.out.reset();
      if (!this.exists) {
        if (!tcpNew(this.store, this.slot, p, this.sys)) {
          out.verdict = VERDICT_INVALID;
          break;
        }
        this.flipped = d === 1;
        tcpPacket(this.store, this.slot, 0, p, this.extraStatus, this.timeouts, 0, this.sys, out);
        if (out.verdict === VERDICT_ACCEPT && !out.kill) {
          this.exists = true;
          this.status = IPS_CONFIRMED | out.setStatus;
          if (out.refresh) this.remaining = out.timeout;
        }
        break;
      }
      const dir = d ^ (this.flipped ? 1 : 0);
      tcpPacket(this.store, this.slot, dir, p, this.status | this.extraStatus, this.timeouts, this.remaining, this.sys, out);
      if (out.verdict === VERDICT_REPEAT) {
        this.exists = false;
        this.status = 0;
        repeated = true;
        continue;
      }
      if (out.refresh) this.remaining = out.timeout;
      if (out.verdict === VERDICT_ACCEPT) {
        this.status |= out.setStatus;
        if (dir === 1) this.status |= IPS_SEEN_REPLY;
        if (out.kill) {
          this.exists = false;
          this.status = 0;
        }
      }
      break;
    }
    const out = this.out;
    return {
      verdict: out.verdict, verdictName: VERDICT_NAMES[out.verdict], repeated,
      refresh: out.refresh, timeout: out.timeout, events: out.events, kill: out.kill,
      state: this.state, stateName: this.exists ? TCP_STATE_NAMES[this.state] : '-', exists: this.exists,
    };
  }

  o(f: string, seq: number, ack: number, win: number, len = 0, o: PktOpts = {}): StepResult {
    return this.feed(0, parseFlags(f), seq, ack, win, len, o);
  }

  r(f: string, seq: number, ack: number, win: number, len = 0, o: PktOpts = {}): StepResult {
    return this.feed(1, parseFlags(f), seq, ack, win, len, o);
  }

  /** Let `j` jiffies pass. */
  advance(j: number): void {
    this.remaining = Math.max(0, this.remaining - j);
  }

  get assured(): boolean {
    return (this.status & IPS_ASSURED) !== 0;
  }
}

/** Events mask → 'P' (PROTOINFO) and/or 'A' (ASSURED), e.g. 'PA'. */
export function eventsStr(ev: number): string {
  return (ev & EV_PROTOINFO ? 'P' : '') + (ev & EV_ASSURED ? 'A' : '');
}

/**
 * One trace step: direction, flags, seq, ack, window, payload length, then the expectations:
 * state name after the packet ('-' = no entry), verdict name ('REPEAT' when the packet re-opened
 * the connection as a new entry), timeout in seconds or null for "no refresh", events ('P', 'A').
 */
export type TraceStep = [
  'orig' | 'reply', string, number, number, number, number,
  string, string, number | null, string, PktOpts?,
];

/** Feed a trace through `c` and assert every step; messages cite the step number. */
export function runTrace(t: ExecutionContext, c: Conn, steps: TraceStep[]): void {
  steps.forEach((s, i) => {
    const [dir, fl, seq, ack, win, len, expState, expVerdict, expTimeout, expEvents, opts] = s;
    const res = c.feed(dir === 'orig' ? 0 : 1, parseFlags(fl), seq, ack, win, len, opts ?? {});
    const tag = `step ${i + 1} (${dir} ${fl} seq=${seq} ack=${ack} win=${win} len=${len})`;
    t.is(res.stateName, expState, `${tag}: state`);
    t.is(res.repeated ? 'REPEAT' : res.verdictName, expVerdict, `${tag}: verdict`);
    if (expTimeout === null) t.false(res.refresh, `${tag}: no refresh expected`);
    else {
      t.true(res.refresh, `${tag}: refresh expected`);
      t.is(res.timeout, sec(expTimeout), `${tag}: timeout`);
    }
    t.is(eventsStr(res.events), expEvents, `${tag}: events`);
  });
}

export { VERDICT_ACCEPT, VERDICT_DROP, VERDICT_INVALID, VERDICT_REPEAT };
