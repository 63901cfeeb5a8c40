/**
 * Per-entry TCP tracking state (`struct ip_ct_tcp`, §4.1 of docs/model.md) kept in typed
 * arrays, one slot per table entry, so the hot path allocates nothing.
 *
 * Layout: one 64-byte record per slot (one cache line: a new entry's `clear` writes one line, and
 * every packet of the flow reads one), 58 bytes of TCP state (the kernel struct is 60 bytes), the
 * UDP `stream_ts` in a union with them, and in the spare bytes the per-entry fields every protocol
 * has (class, timeout set, extension bits, owner; see B_CLS..H_OWNER). `w` is the Int32Array view,
 * `b` the Uint8Array view and `h` the Uint16Array view of the same buffer:
 * - int32 words (index `(slot << 4) + T_*`): `lastSeq`, `lastAck`, `lastEnd`, `lastWin`;
 * - per direction (`seen[dir]`, `struct ip_ct_tcp_state`), int32 index `tdw(slot * 2 + dir) + T_TD_*`:
 *   `end`, `maxend`, `maxwin`, `maxack`;
 * - bytes (index `(slot << 6) + B_*`): `state`, `lastDir`, `lastIndex`, `retrans`, `lastWscale`,
 *   `lastFlags`; per direction (index `tdb(slot * 2 + dir) + B_TD_*`): `scale`, `flags`.
 *
 * 32-bit unsigned kernel values (sequence numbers, windows) are stored with `|0` and read back
 * with `>>>0` where an unsigned value is needed.
 *
 * @see struct ip_ct_tcp, struct ip_ct_tcp_state (include/net/netfilter/nf_conntrack_tcp.h)
 */
/** Int32 words per record. */
export const TCP_WORDS = 16;
export const T_LAST_SEQ = 0;
export const T_LAST_ACK = 1;
export const T_LAST_END = 2;
/** Raw (unscaled) window of the last recorded packet. */
export const T_LAST_WIN = 3;
/** Per direction: highest seq + len sent. */
export const T_TD_END = 4;
/** Per direction: highest ack + window advertised by the peer (right edge for this sender). */
export const T_TD_MAXEND = 6;
/** Per direction: largest (scaled) window seen from this sender. */
export const T_TD_MAXWIN = 8;
/** Per direction: highest ack sent by this sender. */
export const T_TD_MAXACK = 10;
/** `enum tcp_conntrack` value (TCP_CONNTRACK_NONE..SYN_SENT2). */
export const B_STATE = 48;
/** Direction of the last packet recorded (0 ORIGINAL, 1 REPLY). */
export const B_LAST_DIR = 49;
/** Packet class (TCP_SYN_SET..TCP_NONE_SET) of the last packet recorded. */
export const B_LAST_INDEX = 50;
/** Count of identical consecutive ACK-class segments (a u8: wraps 255 → 0 like the kernel field). */
export const B_RETRANS = 51;
/** Window-scale shift of the last ignored ORIGINAL SYN. */
export const B_LAST_WSCALE = 52;
/** Options of the last ignored SYN (WINDOW_SCALE, SACK_PERM) plus EXP_CHALLENGE_ACK, SIMULTANEOUS_OPEN. */
export const B_LAST_FLAGS = 53;
/** Per direction: window-scale shift. */
export const B_TD_SCALE = 54;
/** Per direction: IP_CT_TCP_FLAG_* bits. */
export const B_TD_FLAGS = 56;
/** End of the TCP part of the record (bytes 0..57: what `clear` zeroes). */
export const TCP_BYTES = 58;
/** UDP `stream_ts` (jiffies), in a union with the TCP fields as in the kernel's `ct->proto`. */
export const T_UDP_STREAM_TS = 0;
// Entry fields of every protocol in the record's spare bytes (written at allocation, not cleared):
/** Traffic class of the flow that created the entry. */
export const B_CLS = 58;
/** Index of the entry's timeout set (0 = the netns defaults). */
export const B_TPOL = 59;
/** CT_EXT_* bits of the extensions the entry carries. */
export const B_EXT = 60;
/** Uint16 index (in `h`, add to `slot << 5`) of the generator that created the entry (index + 1; 0 none). */
export const H_OWNER = 31;

/** Int32 index base of direction `i & 1` of slot `i >> 1` (add T_TD_*). */
export function tdw(i: number): number {
  return (i << 3) - 7 * (i & 1);
}

/** Byte index base of direction `i & 1` of slot `i >> 1` (add B_TD_*). */
export function tdb(i: number): number {
  return (i << 5) - 31 * (i & 1);
}

export class TcpStore {
  readonly maxSlots: number;
  /** The records as int32 words (16 per slot). */
  readonly w: Int32Array;
  /** The same records as bytes (64 per slot). */
  readonly b: Uint8Array;
  /** The same records as uint16 (32 per slot). */
  readonly h: Uint16Array;

  constructor(maxSlots: number) {
    if (!Number.isInteger(maxSlots) || maxSlots < 0) throw new RangeError(`TcpStore: bad maxSlots ${maxSlots}`);
    this.maxSlots = maxSlots;
    this.w = new Int32Array(maxSlots * TCP_WORDS);
    this.b = new Uint8Array(this.w.buffer);
    this.h = new Uint16Array(this.w.buffer);
  }

  /** `enum tcp_conntrack` state of a slot. */
  stateOf(slot: number): number {
    return this.b[(slot << 6) + B_STATE]!;
  }

  /**
   * Zero every TCP field of `slot` (the kernel's memset of `ct->proto.tcp`; bytes 0..57 of its
   * record, one cache line; the entry fields in the spare bytes stay). @see tcp_new
   */
  clear(slot: number): void {
    const w = this.w;
    const i = slot << 4;
    w[i] = 0; w[i + 1] = 0; w[i + 2] = 0; w[i + 3] = 0; w[i + 4] = 0; w[i + 5] = 0; w[i + 6] = 0; w[i + 7] = 0;
    w[i + 8] = 0; w[i + 9] = 0; w[i + 10] = 0; w[i + 11] = 0; w[i + 12] = 0; w[i + 13] = 0;
    this.h[(slot << 5) + 28] = 0; // bytes 56, 57: tdFlags of both directions
  }

  /** Copies the records of the first `slots` slots from another store (an unlimited table grew). */
  copyFrom(o: TcpStore): void {
    this.w.set(o.w.subarray(0, Math.min(o.w.length, this.w.length)));
  }

  /** Bytes of typed-array storage per slot (58 used of a 64-byte record). */
  static readonly BYTES_PER_SLOT = TCP_WORDS * 4;
}
