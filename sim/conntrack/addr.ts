/**
 * Address helpers: IPv4 text <-> int32, and an interner that maps 16-byte IPv6 addresses to
 * small int32 ids so that a `Pkt` can hold any address in one number (see packet.ts).
 *
 * IPv4 addresses are not interned: the int32 holds the same bits as the uint32 wire value
 * (`10.0.0.1` → 0x0a000001). IPv6 ids are a separate space, distinguished by `Pkt.l3 = 6`.
 */

/** Parse dotted-quad IPv4 text (`"192.0.2.1"`) to an int32 with the wire value's bits. Throws on bad text. */
export function parseIPv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new Error(`invalid IPv4 address: ${JSON.stringify(text)}`);
  let n = 0;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || Number(p) > 255) throw new Error(`invalid IPv4 address: ${JSON.stringify(text)}`);
    n = (n << 8) | Number(p);
  }
  return n | 0;
}

/** Format an IPv4 address held as int32 (or uint32) as dotted-quad text. */
export function formatIPv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * Parse IPv6 text (RFC 4291 forms: `::`, compressed, trailing dotted IPv4) to 16 bytes.
 * Zone ids (`%eth0`) are rejected. Throws on bad text.
 */
export function parseIPv6(text: string): Uint8Array {
  const bad = (): never => { throw new Error(`invalid IPv6 address: ${JSON.stringify(text)}`); };
  const out = new Uint8Array(16);
  const halves = text.split('::');
  if (halves.length > 2) bad();
  const groups = (s: string): number[] => {
    if (s === '') return [];
    const g: number[] = [];
    const parts = s.split(':');
    parts.forEach((p, i) => {
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        g.push((v4 >>> 16) & 0xffff, v4 & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) bad();
        g.push(parseInt(p, 16));
      }
    });
    return g;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (halves.length === 1 ? head.length !== 8 : head.length + tail.length > 7) bad();
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  for (let i = 0; i < 8; i++) { out[2 * i] = all[i] >>> 8; out[2 * i + 1] = all[i] & 255; }
  return out;
}

/**
 * Format 16 bytes at `off` as RFC 5952 text: lowercase hex, no leading zeros, the longest run
 * (first on ties) of two or more zero groups shown as `::`; IPv4-mapped addresses
 * (`::ffff:0:0/96`) use the mixed form `::ffff:192.0.2.1` (RFC 5952 §5).
 */
export function formatIPv6(bytes: Uint8Array, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((bytes[off + 2 * i] << 8) | bytes[off + 2 * i + 1]);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${bytes[off + 12]}.${bytes[off + 13]}.${bytes[off + 14]}.${bytes[off + 15]}`;
  }
  let bestAt = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number, b: number): string => g.slice(a, b).map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(0, 8);
  return `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}

const INITIAL_IDS = 64;

/**
 * Interns IPv6 addresses (16 bytes) to int32 ids. Ids start at 1 and are assigned in order of
 * first appearance, so a given input always yields the same ids (deterministic). 0 is never an
 * id (`find` returns 0 for "absent").
 *
 * Interned ids are never freed: memory grows with the number of distinct addresses seen (about
 * 24 bytes each). Lookups do not allocate (open-addressing hash table over typed arrays).
 */
export class AddrInterner {
  /** Address words (4 big-endian uint32 per id, stored as int32), indexed by id * 4. */
  private words = new Int32Array(4 * INITIAL_IDS);
  /** Hash slots holding ids (0 = empty); size is a power of two, load ≤ 1/2. */
  private slots = new Int32Array(2 * INITIAL_IDS);
  private count = 0;

  /** Number of distinct addresses interned (= highest id). */
  get size(): number { return this.count; }

  /** Id of the 16 bytes at `bytes[off..off+16)`, interning them if new. */
  intern(bytes: Uint8Array, off = 0): number {
    const id = this.find(bytes, off);
    if (id !== 0) return id;
    if (this.count + 1 >= this.words.length >> 2) this.growWords();
    if (2 * (this.count + 1) > this.slots.length) this.rehash(this.slots.length * 2);
    const nid = ++this.count;
    const w = this.words, b = nid * 4;
    for (let k = 0; k < 4; k++) w[b + k] = word(bytes, off + 4 * k);
    this.slots[this.probe(bytes, off)] = nid;
    return nid;
  }

  /** Id of an IPv6 address given as text (interned if new). */
  internText(text: string): number {
    return this.intern(parseIPv6(text), 0);
  }

  /** Id of the 16 bytes at `off` if already interned, else 0. Never allocates. */
  find(bytes: Uint8Array, off = 0): number {
    return this.slots[this.probe(bytes, off)];
  }

  /** Write the 16 address bytes of `id` into `out` at `off`. Throws for an unknown id. */
  writeBytes(id: number, out: Uint8Array, off = 0): void {
    if (!(id >= 1 && id <= this.count)) throw new RangeError(`unknown IPv6 address id ${id}`);
    for (let k = 0; k < 4; k++) {
      const v = this.words[id * 4 + k];
      out[off + 4 * k] = v >>> 24; out[off + 4 * k + 1] = v >>> 16;
      out[off + 4 * k + 2] = v >>> 8; out[off + 4 * k + 3] = v;
    }
  }

  /** The 16 address bytes of `id` (a new array). */
  bytesOf(id: number): Uint8Array {
    const out = new Uint8Array(16);
    this.writeBytes(id, out, 0);
    return out;
  }

  /** Text form of an address: dotted IPv4 when `l3 = 4`, RFC 5952 text of the interned id when `l3 = 6`. */
  format(l3: number, addr: number): string {
    if (l3 === 4) return formatIPv4(addr);
    if (l3 === 6) return formatIPv6(this.bytesOf(addr));
    throw new RangeError(`unknown l3 ${l3}`);
  }

  /** Slot index holding the address, or the empty slot where it would go. */
  private probe(bytes: Uint8Array, off: number): number {
    const w0 = word(bytes, off), w1 = word(bytes, off + 4), w2 = word(bytes, off + 8), w3 = word(bytes, off + 12);
    const mask = this.slots.length - 1;
    let i = hash4(w0, w1, w2, w3) & mask;
    for (;;) {
      const id = this.slots[i];
      if (id === 0) return i;
      const b = id * 4, w = this.words;
      if (w[b] === w0 && w[b + 1] === w1 && w[b + 2] === w2 && w[b + 3] === w3) return i;
      i = (i + 1) & mask;
    }
  }

  private growWords(): void {
    const nw = new Int32Array(this.words.length * 2);
    nw.set(this.words);
    this.words = nw;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size);
    const mask = size - 1, w = this.words;
    for (let id = 1; id <= this.count; id++) {
      const b = id * 4;
      let i = hash4(w[b], w[b + 1], w[b + 2], w[b + 3]) & mask;
      while (this.slots[i] !== 0) i = (i + 1) & mask;
      this.slots[i] = id;
    }
  }
}

function word(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

function hash4(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ c, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ d, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
