import { readFileSync } from 'node:fs';
import { AddrInterner } from '../conntrack/addr.js';
import { decodeFrame, DECODE_IP } from '../capture/decode.js';
import { readCapture, type Capture } from '../capture/pcap-read.js';
import { Malformed } from '../conntrack/packet.js';
import { fail, make, type Schema } from '../scenario/schema-dsl.js';
import { BaseGenerator, sendCounted, type GeneratorInit, type TrafficContext } from './generator.js';

/**
 * A capture file read and checked while the scenario is validated, so that a missing or damaged
 * file is reported like any other scenario issue (file, line, path in the scenario). It prints
 * as its path (manifest, resolved scenario).
 */
export class CaptureFile {
  constructor(readonly path: string, readonly bytes: Uint8Array, readonly frames: number) {}
  toJSON(): string {
    return this.path;
  }
}

/** Reads and walks a pcap/pcapng file; returns the file, or why it cannot be used. */
export function loadCaptureFile(path: string): CaptureFile | string {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return `cannot read capture "${path}": ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`;
  }
  try {
    const cap = readCapture(bytes, path);
    let n = 0;
    while (cap.next()) n++;
    if (n === 0) return `capture "${path}" has no packets`;
    return new CaptureFile(path, bytes, n);
  } catch (e) {
    return `cannot use capture "${path}": ${(e as Error).message}`;
  }
}

/** A pcap/pcapng path (relative to the current directory), read and checked at validation. */
export function captureFile(opts: { doc?: string } = {}): Schema<CaptureFile, string> {
  return make<CaptureFile, string>(opts, 'the path of a pcap or pcapng file', () => ({ type: 'string' }), (v, path, issues) => {
    if (v instanceof CaptureFile) return v;
    if (typeof v !== 'string' || v === '') return fail(issues, path, `expected the path of a pcap or pcapng file, got ${JSON.stringify(v)}`);
    const r = loadCaptureFile(v);
    return typeof r === 'string' ? fail(issues, path, r) : r;
  }, (c) => c.path);
}

export interface CaptureParams {
  file: CaptureFile;
  /** When the capture's first frame plays, and the time scale (2 = twice as fast). */
  startUs: number;
  speed: number;
  /** Play the capture again after its end (`loop_gap` later) until the run ends. */
  loop: boolean;
  loopGapUs: number;
}

/**
 * A packet capture replayed as one generator among others: each IP frame is decoded into the
 * scratch packet and sent at start + (ts − ts₀) / speed, tagged with this generator's class.
 * Non-IP frames, non-first fragments and frames with a cut link header are skipped (the kernel
 * defragments before conntrack); packets with unusable IP headers too (ip_rcv drops them).
 * Timestamps that go back play at the current time. One pending event: the next frame.
 * Counts packets and drops; flows are not reconstructed, so `started` stays 0.
 */
export class CaptureReplay extends BaseGenerator {
  readonly kind = 'capture';
  private readonly p: CaptureParams;
  private cap: Capture;
  /** The run's interner: IPv6 addresses of the capture and of generators share ids. */
  private readonly interner: AddrInterner;
  private ts0 = -1;
  private base: number;
  private lastAt = 0;

  constructor(init: GeneratorInit<CaptureParams>) {
    super(init);
    this.p = init.params;
    this.interner = this.addrs;
    this.cap = readCapture(this.p.file.bytes, this.p.file.path);
    this.base = this.p.startUs;
  }

  start(ctx: TrafficContext): void {
    this.advance(ctx);
  }

  fire(_arg: number, ctx: TrafficContext): void {
    const fr = this.cap.frame;
    const pkt = ctx.pkt;
    const r = decodeFrame(fr.linkType, fr.data, pkt, this.interner);
    if (r === DECODE_IP && pkt.malformed !== Malformed.TruncatedL3) {
      pkt.cls = this.cls;
      pkt.owner = this.index + 1;
      pkt.flow = -1;
      sendCounted(ctx, this.outcomes, false); // the capture's own lengths
    }
    this.advance(ctx);
  }

  /** Moves to the next frame and schedules it (looping if asked). */
  private advance(ctx: TrafficContext): void {
    if (!this.cap.next()) {
      if (!this.p.loop || this.ts0 < 0) return;
      this.cap = readCapture(this.p.file.bytes, this.p.file.path);
      this.base = this.lastAt + this.p.loopGapUs;
      this.ts0 = -1;
      if (!this.cap.next()) return;
    }
    const ts = this.cap.frame.tsUs;
    if (this.ts0 < 0) this.ts0 = ts;
    const at = Math.max(ctx.now, this.base + Math.round((ts - this.ts0) / this.p.speed));
    if (at > this.endUs) return;
    this.lastAt = at;
    ctx.schedule(at, 0);
  }

  /** Capture endpoints are not simulated: probes are answered as for live hosts. */
  override endpointsAlive(): boolean {
    return true;
  }
}
