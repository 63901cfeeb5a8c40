/**
 * Replaying a packet capture through the conntrack model, as the forwarding firewall that
 * captured both directions would have tracked it. Pure: bytes in, result out (no fs, no clock).
 *
 * Time base. The kernel has normally been up long before a capture starts, so the gc worker
 * runs on its steady schedule rather than just after boot. The model therefore boots
 * `BOOT_LEAD_SECONDS` (60 s) before the first frame: the gc's first invocation (1 s after
 * boot, §3.1) scans an empty table and sleeps ~60 s, so the next invocation falls ~1 s after
 * the first frame and the gc then follows its adaptive 1–60 s rhythm. Frame i is processed at
 * simulated time lead + (ts_i − ts_0). A frame whose timestamp goes back is processed at the
 * current time (the clock never moves back) and counted in `reordered`. Before each frame,
 * every gc invocation due at or before its time runs first; timeline samples due strictly
 * before it are taken first. After the last frame the clock runs `idleSeconds` more (gc and
 * samples continue).
 *
 * Frames. Non-IP frames (`nonIp`), non-first IP fragments (`fragments`: the kernel reassembles
 * before conntrack), frames whose link header is cut (`truncatedLink`) and packets with an
 * unusable IP header (`badIpHeader`: IPv4 `ip_rcv()` drops them before conntrack; truncated
 * IPv6 extension headers are counted here too) are skipped. Every other IP packet goes to
 * `packetIn`; a DROP verdict does not remove later packets of the capture (they were seen on
 * the wire). L4 checksums are verified when `nf_conntrack_checksum` is 1 (complete frames only).
 */
import { AddrInterner } from '../conntrack/addr.js';
import { NF_DROP, NF_REJECT, type Conntrack } from '../conntrack/conntrack.js';
import { createConntrack, DEFAULT_KERNEL_VERSION, parseKernelVersion } from '../conntrack/create.js';
import { EventLog } from '../conntrack/events-log.js';
import { GcWorker } from '../conntrack/gc.js';
import { listEntries, summariseStates } from '../conntrack/listing.js';
import { Malformed, Pkt } from '../conntrack/packet.js';
import { CONNTRACK_S_KEYS, CtStats } from '../conntrack/stats.js';
import type { SysctlName } from '../conntrack/sysctl.js';
import { decodeFrame, DECODE_FRAGMENT, DECODE_IP, DECODE_NON_IP, DECODE_TRUNCATED_LINK } from '../capture/decode.js';
import { readCapture } from '../capture/pcap-read.js';
import type { LoadedRuleset, RouteTable, Ruleset } from '../rules/index.js';
import { setupRules } from '../rules/path.js';
import { RngStreams } from '../core/rng.js';
import { insideReplyToOutside } from '../nat/inside-view.js';
import { natSummary } from '../nat/report.js';
import { setupNat } from '../nat/setup.js';

/** How long before the first frame the simulated kernel boots. */
export const BOOT_LEAD_SECONDS = 60;
/** Largest timeline `replayCapture` builds (a guard against a tiny sampling period). */
export const MAX_TIMELINE_POINTS = 1_000_000;

/** The timeline would exceed MAX_TIMELINE_POINTS: the sampling period is too small for the run. */
export class TimelineTooLongError extends RangeError {
  constructor(sampleSeconds: number) {
    super(`the timeline would exceed ${MAX_TIMELINE_POINTS} points at one sample every ${sampleSeconds} s; sample less often`);
    this.name = 'TimelineTooLongError';
  }
}

/** Default gc scan speed (hash buckets per ms of gc CPU time). */
export const DEFAULT_GC_BUCKETS_PER_MS = 8192;

/** What `replayCapture` needs besides the bytes. All values are already validated. */
export interface ReplayOptions {
  /** Refuse a forward jump between consecutive frames longer than this (seconds): {@link TimeJumpError}. */
  maxGapSeconds?: number;
  /** Sysctl overrides by kernel name. */
  sysctl?: Partial<Record<SysctlName, number>>;
  /** @defaultValue 250 */
  hz?: number;
  /** Seed of the bucket hash key and the chain-length draws. @defaultValue 1 */
  seed?: number;
  /** Kernel version "major.minor". @defaultValue "6.12" (create.ts) */
  version?: string;
  /** Usable RAM in bytes (default table sizing). @defaultValue 24 GiB (create.ts) */
  memory?: number;
  /** @defaultValue 8192 */
  gcBucketsPerMs?: number;
  /** Seconds to keep the clock running after the last frame. @defaultValue 0 */
  idleSeconds?: number;
  /** Timeline sampling period in seconds (> 0). @defaultValue 1 */
  sampleSeconds?: number;
  /** Attach a `conntrack -E` listener for the whole run (sets eventListener). @defaultValue false */
  events?: boolean;
  /** Receives event-log chunks; without it the log is returned in `events`. */
  eventSink?: (chunk: string) => void;
  /** Override `nf_conntrack_checksum` for decoding. */
  verifyChecksums?: boolean;
  /** Called every 16384 frames with the bytes of the capture read so far (a progress bar; cannot change the replay). */
  onProgress?: (bytesRead: number, bytesTotal: number) => void;
  /** NAT rules (`--ruleset FILE`), loaded against `routes`; one replay uses it once (its counters are the replay's). */
  ruleset?: LoadedRuleset;
  /** Route table (`--route PREFIX=IFNAME[@ADDR]`): interfaces of packets by longest prefix. */
  routes?: RouteTable;
}

/** What a replay produced. Keys are built in this order, so JSON output is stable. */
export interface ReplayResult {
  file: string;
  frames: number;
  ipPackets: number;
  nonIp: number;
  fragments: number;
  truncatedLink: number;
  badIpHeader: number;
  /** IP packets given to conntrack whose L3/L4 headers were unusable (counted as invalid/error). */
  malformed: number;
  /** Malformed packets by reason (only reasons that occurred). */
  malformedReasons: Record<string, number>;
  /** Frame numbers (1-based, as Wireshark numbers them) of the first malformed packets (at most 5). */
  malformedFrames: number[];
  /** Whether TCP/UDP/ICMP checksums were verified (`nf_conntrack_checksum`). */
  checksumsVerified: boolean;
  /**
   * TCP/UDP packets whose checksum field holds only the pseudo-header sum (offloaded by the
   * capturing host): unverifiable, tracked like good ones, not malformed.
   */
  checksumPartial: number;
  /** Packets dropped: by conntrack (table full, tracker verdict) or by a rule (drop, policy drop). */
  dropped: number;
  /** Packets a `reject` rule answered (RST / ICMP error sent back). */
  rejected: number;
  reordered: number;
  /** Seconds from the first frame to the end of the run (last frame + idle). */
  durationSeconds: number;
  /** `conntrack -S` counters (kernel names). */
  stats: Record<string, number>;
  /** The simulator's breakdown counters (CtStats fields outside `conntrack -S`). */
  model: Record<string, number>;
  /** Final `nf_conntrack_count` (includes expired entries not yet reaped). */
  count: number;
  max: number;
  buckets: number;
  hz: number;
  /** Kernel version "major.minor" the model followed. */
  version: string;
  /** Live entries at the end, summarised like `conntrack -L` (see listing.ts). */
  states: Record<string, number>;
  /** [seconds since the first frame, count] at every sampling boundary, plus the final point. */
  timeline: [number, number][];
  /** Number of event lines (when `events`). */
  eventLines?: number;
  /** The `conntrack -E` log (when `events` and no `eventSink`). */
  events?: string;
  /** Loud warnings about the capture (e.g. a large share of malformed packets). */
  warnings: string[];
  /** The final table as `conntrack -L` prints it, one line per live entry (listing.ts). */
  listing: string[];
  /** NAT counters (docs/nat.md §6.2), when a ruleset was given. */
  nat?: Record<string, number>;
  /** Per-rule counters (every rule of the ruleset, filter and NAT), when a ruleset was given. */
  rules?: ReplayRuleCounters[];
}

/** One rule's counters in a replay: where it is, packets/bytes it matched, packets it dropped or rejected. */
export interface ReplayRuleCounters {
  line: number;
  table: string;
  chain: string;
  hook: string;
  text: string;
  packets: number;
  bytes: number;
  drops: number;
}

/** Per-rule counters of a ruleset (captures carry no traffic class: drops summed over classes). */
export function ruleCounters(rs: Ruleset): ReplayRuleCounters[] {
  return rs.rules.map((r) => ({
    line: r.line, table: `${r.family ?? 'ip'} ${r.table}`, chain: r.chain, hook: r.hook, text: r.text,
    packets: rs.packets[r.id]!, bytes: rs.bytes[r.id]!, drops: rs.drops[r.id * 3]! + rs.drops[r.id * 3 + 1]! + rs.drops[r.id * 3 + 2]!,
  }));
}

/** Share of malformed IP packets from which a replay warns. */
export const MALFORMED_WARN_SHARE = 0.1;
/** How many malformed frames a replay names. */
export const MALFORMED_FRAMES_NAMED = 5;
const MALFORMED_NAMES: Record<number, string> = {};
for (const [k, v] of Object.entries(Malformed)) MALFORMED_NAMES[v] = k.replace(/[A-Z]/g, (c, i: number) => (i ? '_' : '') + c.toLowerCase());

const MODEL_KEYS = Object.keys(new CtStats()).filter((k) => !(CONNTRACK_S_KEYS as readonly string[]).includes(k));

/** Drives the gc worker and the timeline up to a point in simulated time. */
class Clock {
  gcAt: number;
  nextSample: number;
  readonly timeline: [number, number][] = [];

  constructor(private readonly ct: Conntrack, private readonly gc: GcWorker, private readonly originUs: number,
    private readonly sampleUs: number) {
    this.gcAt = gc.firstRunUs();
    this.nextSample = originUs;
  }

  /** Runs gc invocations due at or before `t`, and takes samples due before `t` (or at it, if `inclusive`). */
  advance(t: number, inclusive: boolean): void {
    for (;;) {
      const sampleDue = inclusive ? this.nextSample <= t : this.nextSample < t;
      if (this.gcAt <= t && (!sampleDue || this.gcAt <= this.nextSample)) {
        this.gcAt = this.gc.run(this.gcAt);
      } else if (sampleDue) {
        this.sample(this.nextSample);
        this.nextSample += this.sampleUs;
      } else {
        return;
      }
    }
  }

  sample(at: number): void {
    if (this.timeline.length >= MAX_TIMELINE_POINTS) throw new TimelineTooLongError(this.sampleUs / 1e6);
    this.timeline.push([seconds(at - this.originUs), this.ct.count]);
  }
}

/** µs → seconds rounded to the µs (avoids float noise in JSON). */
function seconds(us: number): number {
  return Math.round(us) / 1e6;
}

/** A capture whose timestamps jump forward further than the allowed gap (checked before simulating it). */
export class TimeJumpError extends Error {
  constructor(readonly frame: number, readonly gapSeconds: number, readonly maxGapSeconds: number) {
    super(`packet ${frame}: the timestamp jumps ${gapSeconds.toFixed(gapSeconds < 10 ? 3 : 0)} s forward after packet ${frame - 1}; ` +
      `simulating that gap is refused beyond ${maxGapSeconds} s (raise it with --max-gap ${Math.ceil(gapSeconds)}, or cut the capture there, e.g. editcap -A/-B)`);
    this.name = 'TimeJumpError';
  }
}

/**
 * Reads the whole capture once before simulating anything: a damaged block or a timestamp jump
 * longer than `maxGapSeconds` is reported at once, not after simulating the packets before it.
 */
export function precheckCapture(bytes: Uint8Array, fileName: string, maxGapSeconds: number): void {
  const cap = readCapture(bytes, fileName);
  const maxGapUs = maxGapSeconds * 1e6;
  let n = 0;
  let prev = 0;
  while (cap.next()) {
    const ts = cap.frame.tsUs;
    n++;
    if (n > 1 && ts - prev > maxGapUs) throw new TimeJumpError(n, (ts - prev) / 1e6, maxGapSeconds);
    if (n === 1 || ts > prev) prev = ts;
  }
}

/**
 * Replays every frame of a pcap/pcapng capture held in memory. Throws `CaptureError` (with the
 * packet index) for a damaged file or an unsupported link type, `TimelineTooLongError` when
 * the sampling period is too small for the run.
 */
export function replayCapture(bytes: Uint8Array, fileName: string, opts: ReplayOptions = {}): ReplayResult {
  if (opts.maxGapSeconds !== undefined) precheckCapture(bytes, fileName, opts.maxGapSeconds);
  const cap = readCapture(bytes, fileName);
  const events = opts.events === true;
  const ct = createConntrack({
    version: opts.version, hz: opts.hz ?? 250, memory: opts.memory, sysctl: opts.sysctl, seed: opts.seed ?? 1,
    eventListener: events,
  });
  const gc = new GcWorker(ct, opts.gcBucketsPerMs ?? DEFAULT_GC_BUCKETS_PER_MS);
  const verify = opts.verifyChecksums ?? (opts.sysctl?.nf_conntrack_checksum ?? 1) === 1;
  const sampleUs = Math.max(1, Math.round((opts.sampleSeconds ?? 1) * 1e6));
  const idleUs = Math.max(0, Math.round((opts.idleSeconds ?? 0) * 1e6));
  const origin = BOOT_LEAD_SECONDS * 1e6;
  const interner = new AddrInterner();
  // NAT (docs/nat.md): a ruleset installs the NAT core; replies of an inside capture are seen
  // from the outside before they enter (nat/inside-view.ts)
  // one copy of the ruleset for this replay (its counters), shared by NAT and the filter path
  const ruleset = opts.ruleset?.clone();
  const nat = setupNat(ct, {
    version: parseKernelVersion(opts.version ?? DEFAULT_KERNEL_VERSION), ruleset, routes: opts.routes, interner,
  }, new RngStreams(opts.seed ?? 1, 0));
  // filter/raw chains (docs/rules.md §8): notrack, ct state, drop, reject, ... in front of conntrack
  setupRules(ct, ruleset, opts.routes, interner);
  const clock = new Clock(ct, gc, origin, sampleUs);
  let log: EventLog | undefined;

  const r = {
    frames: 0, ipPackets: 0, nonIp: 0, fragments: 0, truncatedLink: 0, badIpHeader: 0, malformed: 0,
    malformedReasons: {} as Record<string, number>, malformedFrames: [] as number[], checksumsVerified: verify,
    checksumPartial: 0, dropped: 0, rejected: 0, reordered: 0,
  };
  const pkt = new Pkt();
  let firstTs = 0;
  let prevTs = 0;
  let now = origin;
  const decodeOpts = { verifyChecksums: verify };
  const maxGapUs = opts.maxGapSeconds === undefined ? undefined : opts.maxGapSeconds * 1e6;
  while (cap.next()) {
    const f = cap.frame;
    if (r.frames === 0) {
      firstTs = f.tsUs;
      prevTs = f.tsUs;
      if (events) {
        log = new EventLog(ct, interner, { epochOffsetUs: firstTs - origin, sink: opts.eventSink });
        ct.observer = log;
      }
    }
    r.frames++;
    if (maxGapUs !== undefined && f.tsUs - prevTs > maxGapUs) throw new TimeJumpError(r.frames, (f.tsUs - prevTs) / 1e6, opts.maxGapSeconds!);
    if (opts.onProgress && (r.frames & 0x3fff) === 0) opts.onProgress(f.offset, bytes.length);
    if (f.tsUs < prevTs) r.reordered++;
    else prevTs = f.tsUs;
    const t = origin + (f.tsUs - firstTs);
    if (t > now) now = t;
    clock.advance(now, false);
    const kind = decodeFrame(f.linkType, f.data, pkt, interner, decodeOpts);
    if (kind === DECODE_NON_IP) { r.nonIp++; continue; }
    if (kind === DECODE_FRAGMENT) { r.fragments++; continue; }
    if (kind === DECODE_TRUNCATED_LINK) { r.truncatedLink++; continue; }
    if (kind !== DECODE_IP) throw new Error(`decodeFrame returned ${kind}`);
    if (pkt.malformed === Malformed.TruncatedL3) { r.badIpHeader++; continue; }
    r.ipPackets++;
    if (pkt.malformed !== 0) {
      r.malformed++;
      const why = MALFORMED_NAMES[pkt.malformed]!;
      r.malformedReasons[why] = (r.malformedReasons[why] ?? 0) + 1;
      if (r.malformedFrames.length < MALFORMED_FRAMES_NAMED) r.malformedFrames.push(f.index + 1);
    } else if (pkt.csumPartial) {
      r.checksumPartial++;
    }
    ct.setNow(now);
    if (nat !== undefined) insideReplyToOutside(ct, pkt);
    const v = ct.packetIn(pkt);
    if (v === NF_DROP) r.dropped++;
    else if (v === NF_REJECT) r.rejected++;
  }
  const end = now + idleUs;
  clock.advance(end, true);
  const last = clock.timeline[clock.timeline.length - 1];
  const endS = seconds(end - origin);
  if (last === undefined || last[0] !== endS) clock.sample(end);
  if (end > ct.nowUs) ct.setNow(end);
  log?.flush();

  const stats: Record<string, number> = {};
  for (const k of CONNTRACK_S_KEYS) stats[k] = ct.stats[k];
  const model: Record<string, number> = {};
  const st = ct.stats as unknown as Record<string, number>;
  for (const k of MODEL_KEYS) model[k] = st[k];
  const out: ReplayResult = {
    file: fileName,
    ...r,
    durationSeconds: endS,
    stats,
    model,
    count: ct.count,
    max: ct.max,
    buckets: ct.table.nbuckets,
    hz: ct.hz,
    version: opts.version ?? DEFAULT_KERNEL_VERSION,
    states: summariseStates(ct),
    timeline: clock.timeline,
    warnings: malformedWarnings(r),
    listing: listEntries(ct, interner),
  };
  if (nat !== undefined) {
    const { rules: _r, port_keys: _k, ...counters } = natSummary(nat, ct.stats, opts.ruleset?.rules);
    out.nat = counters;
  }
  if (ruleset !== undefined) out.rules = ruleCounters(ruleset);
  if (events) {
    out.eventLines = log?.lines ?? 0;
    if (!opts.eventSink) out.events = log?.text() ?? '';
  }
  return out;
}

/** The warning a replay gives when at least MALFORMED_WARN_SHARE of its IP packets are malformed. */
function malformedWarnings(r: { ipPackets: number; malformed: number; malformedReasons: Record<string, number>;
  malformedFrames: number[]; checksumsVerified: boolean }): string[] {
  if (r.malformed === 0 || r.malformed < MALFORMED_WARN_SHARE * r.ipPackets) return [];
  const share = Math.round((1000 * r.malformed) / r.ipPackets) / 10;
  const why = Object.entries(r.malformedReasons).map(([k, v]) => `${k} ${v}`).join(', ');
  const more = r.malformed > r.malformedFrames.length ? ', …' : '';
  let w = `${r.malformed} of ${r.ipPackets} IP packets (${share}%) are malformed (${why}); first at frame ` +
    `${r.malformedFrames.join(', ')}${more}. Conntrack counts them invalid and creates no entry for them, ` +
    'so the results describe a damaged capture.';
  if ((r.malformedReasons['bad_checksum'] ?? 0) > 0 && r.checksumsVerified) {
    w += ' If the checksums were damaged by the capture itself (e.g. a rewriting tool), replay with ' +
      '--sysctl nf_conntrack_checksum=0.';
  }
  return [w];
}
