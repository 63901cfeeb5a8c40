/**
 * Traffic plans for the driver (driver-py.ts) and the builders the cases use: crafted packets
 * from `encodePacket` (correct checksums), TCP conversations with consistent sequence numbers,
 * bursts, and real TCP connections. Every address must lie in the lab's 10.200.0.0/16;
 * `checkPlan` enforces it before anything is sent.
 */
import { encodePacket, type PacketSpec } from '../capture/encode.js';
import { ADDR, LAB_PREFIX } from './lab.js';

/** Which end host sends. */
export type Side = 'c' | 's';

/** One action of a plan, at `at` seconds after the start. */
export type Step =
  | { at: number; op: 'raw'; side: Side; dst: string; hex: string }
  | { at: number; op: 'burst'; side: Side; dst: string; hex: string[]; gapUs: number }
  | { at: number; op: 'tcp'; port: number; request: number; response: number; serverClose: number; clientClose: number };

/** What the driver plays. */
export interface Plan {
  steps: Step[];
  /** Hard end in seconds after the start. */
  duration: number;
  /** Period of the nf_conntrack_count samples. */
  sampleMs: number;
  /** End early: once `after` s have passed and a sample shows count ≤ `countAtMost`, stop `grace` s later (later steps are not sent). */
  until?: { countAtMost: number; after: number; grace: number };
}

/** TCP flag bits. */
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

/** Throws unless every address in the plan is inside the lab and every time is bounded. */
export function checkPlan(p: Plan): void {
  if (!(p.duration > 0 && p.duration <= 600)) throw new Error(`plan duration ${p.duration} s out of (0, 600]`);
  if (!(p.sampleMs >= 5)) throw new Error(`plan sampleMs ${p.sampleMs} < 5`);
  for (const s of p.steps) {
    if (!(s.at >= 0 && s.at < p.duration)) throw new Error(`step at ${s.at} s outside the plan`);
    if (s.op === 'raw' || s.op === 'burst') {
      if (!s.dst.startsWith(LAB_PREFIX)) throw new Error(`destination ${s.dst} outside ${LAB_PREFIX}0.0/16`);
      for (const h of s.op === 'raw' ? [s.hex] : s.hex) {
        const dst = h.slice(32, 40);
        const src = h.slice(24, 32);
        for (const a of [src, dst]) {
          if (parseInt(a.slice(0, 2), 16) !== 10 || parseInt(a.slice(2, 4), 16) !== 200) {
            throw new Error(`crafted packet address ${a} outside 10.200.0.0/16`);
          }
        }
      }
    }
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A raw packet step; the sending side follows the source address. */
export function rawStep(at: number, spec: PacketSpec): Step {
  const side: Side = spec.src === ADDR.client ? 'c' : 's';
  return { at, op: 'raw', side, dst: spec.dst, hex: hex(encodePacket(spec)) };
}

/** A burst of packets from one side to one destination, `gapUs` apart. */
export function burstStep(at: number, specs: readonly PacketSpec[], gapUs: number): Step {
  if (specs.length === 0) throw new Error('empty burst');
  const side: Side = specs[0].src === ADDR.client ? 'c' : 's';
  return { at, op: 'burst', side, dst: specs[0].dst, hex: specs.map((s) => hex(encodePacket(s))), gapUs };
}

/**
 * A TCP conversation between the client and the server with consistent sequence numbers.
 * Each method returns the packet spec and advances the sender's next sequence number.
 */
export class TcpConv {
  /** Next sequence number of the client / server. */
  c: number;
  s: number;

  constructor(readonly sport: number, readonly dport: number, isnC: number, isnS: number) {
    this.c = isnC >>> 0;
    this.s = isnS >>> 0;
  }

  private pkt(fromClient: boolean, flags: number, len = 0, extra: { seq?: number; ack?: number } = {}): PacketSpec {
    const seq = extra.seq ?? (fromClient ? this.c : this.s);
    const ack = extra.ack ?? ((flags & ACK) !== 0 ? (fromClient ? this.s : this.c) : 0);
    const adv = len + ((flags & (SYN | FIN)) !== 0 ? 1 : 0);
    if (extra.seq === undefined) {
      if (fromClient) this.c = (this.c + adv) >>> 0; else this.s = (this.s + adv) >>> 0;
    }
    const syn = (flags & SYN) !== 0;
    return {
      src: fromClient ? ADDR.client : ADDR.server, dst: fromClient ? ADDR.server : ADDR.client,
      sport: fromClient ? this.sport : this.dport, dport: fromClient ? this.dport : this.sport,
      tcp: { flags, seq, ack, win: 64240, ...(syn ? { mss: 1460, sackPerm: true } : {}) },
      payloadLen: len,
    };
  }

  syn(): PacketSpec { return this.pkt(true, SYN); }
  synAck(): PacketSpec { return this.pkt(false, SYN | ACK); }
  /** A server SYN (simultaneous open). */
  synS(): PacketSpec { return this.pkt(false, SYN); }
  ackC(): PacketSpec { return this.pkt(true, ACK); }
  ackS(): PacketSpec { return this.pkt(false, ACK); }
  dataC(n: number): PacketSpec { return this.pkt(true, PSH | ACK, n); }
  dataS(n: number): PacketSpec { return this.pkt(false, PSH | ACK, n); }
  finC(): PacketSpec { return this.pkt(true, FIN | ACK); }
  finS(): PacketSpec { return this.pkt(false, FIN | ACK); }
  rstC(): PacketSpec { return this.pkt(true, RST); }
  rstAckS(): PacketSpec { return this.pkt(false, RST | ACK); }
  /** A packet with explicit fields that does not move the sequence numbers. */
  custom(fromClient: boolean, flags: number, seq: number, ack: number, len = 0): PacketSpec {
    return this.pkt(fromClient, flags, len, { seq, ack });
  }
}

/** Lays packets out in time: the first at `start`, each next one `gap` seconds later. */
export function sequence(start: number, gap: number, specs: readonly PacketSpec[]): Step[] {
  return specs.map((s, i) => rawStep(Math.round((start + i * gap) * 1e6) / 1e6, s));
}
