/**
 * A `conntrack -E -o timestamp`-style event log, fed by the conntrack observer's `event` hook.
 *
 * Message type (ctnetlink_conntrack_event, §9.1): DESTROY bit → `[DESTROY]`; else NEW or
 * RELATED bit → `[NEW]`; else `[UPDATE]`. The entry part follows what the kernel puts in the
 * message: DESTROY messages carry the remaining timeout only when it is at least 1 s and always
 * the protocol info (so the TCP state) — `ctnetlink_dump_timeout(skb, ct, true)` and
 * `ctnetlink_dump_protoinfo(skb, ct, true)`, as a 6.18 kernel was observed to print
 * (`ctsim kernel-diff`); other messages carry the timeout, and the TCP state only when the
 * PROTOINFO bit is set; events
 * carry neither `use` nor a zero `mark`. Layout as conntrack-tools prints it:
 * `[<sec>.<usec>]\t<type right-aligned in 9> <entry>`, e.g.
 * `[1700000000.123456]\t    [NEW] tcp      6 120 SYN_SENT src=… [UNREPLIED] src=…`
 * (microseconds zero-padded to 6 digits; conntrack-tools pads them with trailing spaces).
 *
 * Lines are joined into chunks of `chunkLines` lines; full chunks go to the `sink` if one was
 * given, else they are kept (`chunks`). No I/O here: the caller writes.
 */
import type { AddrInterner } from './addr.js';
import { IPCT_DESTROY, IPCT_NEW, IPCT_PROTOINFO, IPCT_RELATED } from './constants.js';
import type { Conntrack, ConntrackObserver } from './conntrack.js';
import { formatEntryWith, type EntryFormat } from './listing.js';

const DESTROY_FORMAT: EntryFormat = { timeout: 'skipZero', state: true, markUse: false };
const UPDATE_FORMAT: EntryFormat = { timeout: true, state: false, markUse: false, ext: false };
const UPDATE_PROTO_FORMAT: EntryFormat = { timeout: true, state: true, markUse: false, ext: false };

/** Options of an `EventLog`. */
export interface EventLogOptions {
  /** Added to `ct.nowUs` to get the printed timestamp (µs since the epoch). @defaultValue 0 */
  epochOffsetUs?: number;
  /** Receives each finished chunk (lines ending in "\n"); without it chunks are kept in memory. */
  sink?: (chunk: string) => void;
  /** Lines per chunk. @defaultValue 4096 */
  chunkLines?: number;
}

/** Message type label of an event mask (§9.1). */
export function eventType(mask: number): '[DESTROY]' | '[NEW]' | '[UPDATE]' {
  if ((mask & (1 << IPCT_DESTROY)) !== 0) return '[DESTROY]';
  if ((mask & ((1 << IPCT_NEW) | (1 << IPCT_RELATED))) !== 0) return '[NEW]';
  return '[UPDATE]';
}

/** `[sec.usec]` of an epoch time in µs (floored, non-negative). */
export function formatTimestamp(epochUs: number): string {
  const t = Math.max(0, Math.floor(epochUs));
  const sec = Math.floor(t / 1e6);
  return `[${sec}.${String(t - sec * 1e6).padStart(6, '0')}]`;
}

/** Collects `conntrack -E` lines for every event the conntrack delivers. Set it as `ct.observer`. */
export class EventLog implements ConntrackObserver {
  /** Lines formatted so far. */
  lines = 0;
  private readonly done: string[] = [];
  private batch: string[] = [];
  private readonly offset: number;
  private readonly sink: ((chunk: string) => void) | undefined;
  private readonly chunkLines: number;

  constructor(private readonly ct: Conntrack, private readonly interner: AddrInterner, opts: EventLogOptions = {}) {
    this.offset = opts.epochOffsetUs ?? 0;
    this.sink = opts.sink;
    this.chunkLines = Math.max(1, opts.chunkLines ?? 4096);
  }

  /** The observer hook: one message for one entry. */
  event(slot: number, mask: number): void {
    this.batch.push(this.format(slot, mask));
    this.lines++;
    if (this.batch.length >= this.chunkLines) this.flush();
  }

  /** The line for an event, without a newline. */
  format(slot: number, mask: number): string {
    const type = eventType(mask);
    const f = type === '[DESTROY]' ? DESTROY_FORMAT : (mask & (1 << IPCT_PROTOINFO)) !== 0 ? UPDATE_PROTO_FORMAT : UPDATE_FORMAT;
    return `${formatTimestamp(this.ct.nowUs + this.offset)}\t${type.padStart(9)} ${formatEntryWith(this.ct, slot, this.interner, f, this.offset)}`;
  }

  /** Ends the current chunk (call once at the end so the last lines reach the sink). */
  flush(): void {
    if (this.batch.length === 0) return;
    const chunk = this.batch.join('\n') + '\n';
    this.batch = [];
    if (this.sink) this.sink(chunk);
    else this.done.push(chunk);
  }

  /** Chunks kept in memory (no sink), including the unfinished one. */
  get chunks(): readonly string[] {
    this.flush();
    return this.done;
  }

  /** The whole log kept in memory as one string (no sink). */
  text(): string {
    return this.chunks.join('');
  }
}
