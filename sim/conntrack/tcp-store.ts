/**
 * Per-entry TCP tracking state (`struct ip_ct_tcp`, §4.1 of docs/model.md) kept in typed
 * arrays, one slot per table entry, so the hot path allocates nothing.
 *
 * Layout (58 bytes per slot; the kernel struct is 60 bytes):
 * - per slot (Uint8Array): `state`, `lastDir`, `lastIndex`, `retrans`, `lastWscale`, `lastFlags`;
 * - per slot (Int32Array): `lastSeq`, `lastAck`, `lastEnd`, `lastWin`;
 * - per slot and direction, index `slot * 2 + dir` (`seen[dir]`, `struct ip_ct_tcp_state`):
 *   `tdEnd`, `tdMaxend`, `tdMaxwin`, `tdMaxack` (Int32Array), `tdScale`, `tdFlags` (Uint8Array).
 *
 * 32-bit unsigned kernel values (sequence numbers, windows) are stored with `|0` and read back
 * with `>>>0` where an unsigned value is needed.
 *
 * @see struct ip_ct_tcp, struct ip_ct_tcp_state (include/net/netfilter/nf_conntrack_tcp.h)
 */
export class TcpStore {
  readonly maxSlots: number;

  /** `enum tcp_conntrack` value (TCP_CONNTRACK_NONE..SYN_SENT2). */
  readonly state: Uint8Array;
  /** Direction of the last packet recorded (0 ORIGINAL, 1 REPLY). */
  readonly lastDir: Uint8Array;
  /** Packet class (TCP_SYN_SET..TCP_NONE_SET) of the last packet recorded. */
  readonly lastIndex: Uint8Array;
  /** Count of identical consecutive ACK-class segments (a u8: wraps 255 → 0 like the kernel field). */
  readonly retrans: Uint8Array;
  /** Window-scale shift of the last ignored ORIGINAL SYN. */
  readonly lastWscale: Uint8Array;
  /** Options of the last ignored SYN (WINDOW_SCALE, SACK_PERM) plus EXP_CHALLENGE_ACK, SIMULTANEOUS_OPEN. */
  readonly lastFlags: Uint8Array;
  readonly lastSeq: Int32Array;
  readonly lastAck: Int32Array;
  readonly lastEnd: Int32Array;
  /** Raw (unscaled) window of the last recorded packet. */
  readonly lastWin: Int32Array;

  /** Per direction: highest seq + len sent. */
  readonly tdEnd: Int32Array;
  /** Per direction: highest ack + window advertised by the peer (right edge for this sender). */
  readonly tdMaxend: Int32Array;
  /** Per direction: largest (scaled) window seen from this sender. */
  readonly tdMaxwin: Int32Array;
  /** Per direction: highest ack sent by this sender. */
  readonly tdMaxack: Int32Array;
  /** Per direction: window-scale shift. */
  readonly tdScale: Uint8Array;
  /** Per direction: IP_CT_TCP_FLAG_* bits. */
  readonly tdFlags: Uint8Array;

  constructor(maxSlots: number) {
    if (!Number.isInteger(maxSlots) || maxSlots < 0) throw new RangeError(`TcpStore: bad maxSlots ${maxSlots}`);
    this.maxSlots = maxSlots;
    this.state = new Uint8Array(maxSlots);
    this.lastDir = new Uint8Array(maxSlots);
    this.lastIndex = new Uint8Array(maxSlots);
    this.retrans = new Uint8Array(maxSlots);
    this.lastWscale = new Uint8Array(maxSlots);
    this.lastFlags = new Uint8Array(maxSlots);
    this.lastSeq = new Int32Array(maxSlots);
    this.lastAck = new Int32Array(maxSlots);
    this.lastEnd = new Int32Array(maxSlots);
    this.lastWin = new Int32Array(maxSlots);
    const n2 = maxSlots * 2;
    this.tdEnd = new Int32Array(n2);
    this.tdMaxend = new Int32Array(n2);
    this.tdMaxwin = new Int32Array(n2);
    this.tdMaxack = new Int32Array(n2);
    this.tdScale = new Uint8Array(n2);
    this.tdFlags = new Uint8Array(n2);
  }

  /** Zero every field of `slot` (the kernel's memset of `ct->proto.tcp`). @see tcp_new */
  clear(slot: number): void {
    this.state[slot] = 0;
    this.lastDir[slot] = 0;
    this.lastIndex[slot] = 0;
    this.retrans[slot] = 0;
    this.lastWscale[slot] = 0;
    this.lastFlags[slot] = 0;
    this.lastSeq[slot] = 0;
    this.lastAck[slot] = 0;
    this.lastEnd[slot] = 0;
    this.lastWin[slot] = 0;
    const a = slot * 2;
    const b = a + 1;
    this.tdEnd[a] = 0; this.tdEnd[b] = 0;
    this.tdMaxend[a] = 0; this.tdMaxend[b] = 0;
    this.tdMaxwin[a] = 0; this.tdMaxwin[b] = 0;
    this.tdMaxack[a] = 0; this.tdMaxack[b] = 0;
    this.tdScale[a] = 0; this.tdScale[b] = 0;
    this.tdFlags[a] = 0; this.tdFlags[b] = 0;
  }

  /** Bytes of typed-array storage per slot (58). */
  static readonly BYTES_PER_SLOT = 6 + 4 * 4 + 2 * (4 * 4 + 2);
}
