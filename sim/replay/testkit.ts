/**
 * Synthetic captures for the replay tests: TCP connections, SYN floods, UDP exchanges, built
 * with the frame encoder and the pcap writer. Not used by the simulator itself.
 */
import { encodeArpRequest, encodeFrame, type FrameSpec } from '../capture/encode.js';
import { writePcap, type WriteFrame } from '../capture/pcap-write.js';
import { TH_ACK, TH_FIN, TH_SYN } from '../conntrack/constants.js';

/** 2023-11-14T22:13:20Z in µs: the first frame's timestamp in the tests. */
export const T0 = 1_700_000_000_000_000;

/** Collects frames and writes them as an Ethernet pcap. */
export class CaptureBuilder {
  readonly frames: WriteFrame[] = [];

  add(tsUs: number, spec: FrameSpec): this {
    this.frames.push({ tsUs, data: encodeFrame(spec) });
    return this;
  }

  arp(tsUs: number): this {
    this.frames.push({ tsUs, data: encodeArpRequest('10.0.0.1', '10.0.0.254') });
    return this;
  }

  /**
   * A TCP connection client:cport → server:sport: handshake at `t`, then (if `close`) a FIN
   * exchange started by the client that leaves the entry in TIME_WAIT. `gapUs` between frames.
   */
  tcpConnection(t: number, client: string, cport: number, server: string, sport: number,
    opts: { close?: boolean; gapUs?: number } = {}): this {
    const g = opts.gapUs ?? 1000;
    const x = 1000, y = 5000;
    const c2s = (flags: number, seq: number, ack: number): FrameSpec =>
      ({ src: client, dst: server, sport: cport, dport: sport, tcp: { flags, seq, ack } });
    const s2c = (flags: number, seq: number, ack: number): FrameSpec =>
      ({ src: server, dst: client, sport, dport: cport, tcp: { flags, seq, ack } });
    this.add(t, c2s(TH_SYN, x, 0));
    this.add(t + g, s2c(TH_SYN | TH_ACK, y, x + 1));
    this.add(t + 2 * g, c2s(TH_ACK, x + 1, y + 1));
    if (opts.close) {
      this.add(t + 3 * g, c2s(TH_FIN | TH_ACK, x + 1, y + 1));
      this.add(t + 4 * g, s2c(TH_ACK, y + 1, x + 2));
      this.add(t + 5 * g, s2c(TH_FIN | TH_ACK, y + 1, x + 2));
      this.add(t + 6 * g, c2s(TH_ACK, x + 2, y + 2));
    }
    return this;
  }

  /** `n` SYNs from spoofed sources 10.x.y.z to server:80, one every `gapUs` from `t`. */
  synFlood(t: number, n: number, gapUs: number, server = '192.0.2.80'): this {
    for (let i = 0; i < n; i++) {
      const src = `10.${100 + ((i >> 16) & 127)}.${(i >> 8) & 255}.${i & 255}`;
      this.add(t + i * gapUs, { src, dst: server, sport: 1024 + ((i * 7) % 60000), dport: 80, tcp: { flags: TH_SYN, seq: i * 7919 } });
    }
    return this;
  }

  pcap(): Uint8Array {
    return writePcap(this.frames, 1);
  }
}

/** Address of the i-th client in 172.16.0.0/12 (i < 2^20). */
export const clientAddr = (i: number): string => `172.${16 + ((i >> 16) & 15)}.${(i >> 8) & 255}.${i & 255}`;
