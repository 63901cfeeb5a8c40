/**
 * Ports in use per (NAT address, destination address, destination port, protocol): the key
 * under which SNAT reply tuples must be unique (docs/nat.md §6). An open-addressing table in
 * typed arrays; keys are created the first time an SNATed entry uses them and kept (their
 * count may return to 0), so a key's index is stable for the run.
 */
export class PortUsage {
  private cap = 256;
  private natAddr = new Int32Array(this.cap);
  private dstAddr = new Int32Array(this.cap);
  /** (dport << 16) | l3proto, or -1 for an empty cell. */
  private tail = new Int32Array(this.cap).fill(-1);
  private idx = new Int32Array(this.cap).fill(-1);
  /** Per key (dense index): ports in use now, highest count reached, size of the port range. */
  inUse: Int32Array = new Int32Array(64);
  peak: Int32Array = new Int32Array(64);
  size: Int32Array = new Int32Array(64);
  keyNat: Int32Array = new Int32Array(64);
  keyDst: Int32Array = new Int32Array(64);
  keyTail: Int32Array = new Int32Array(64);
  n = 0;

  private hash(a: number, b: number, c: number): number {
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b ^ (b >>> 16), 0x85ebca6b) ^ Math.imul(c, 0xc2b2ae35);
    h ^= h >>> 15;
    return h & (this.cap - 1);
  }

  /** One more port in use under the key; returns the key index. */
  /**
   * Port ranges seen per key, by rule id: a key's size is the sum of the ranges of the rules that
   * mapped into it (port blocks: one rule per subscriber, disjoint ranges on one address).
   */
  private readonly rulesOf: Map<number, number>[] = [];

  acquire(natAddr: number, dstAddr: number, dport: number, l3proto: number, rangeSize: number, rule = 0): number {
    const k = this.find(natAddr, dstAddr, dport, l3proto);
    if (++this.inUse[k]! > this.peak[k]!) this.peak[k] = this.inUse[k]!;
    const m = this.rulesOf[k]!;
    if (m.get(rule) !== rangeSize) {
      m.set(rule, rangeSize);
      let s = 0;
      for (const v of m.values()) s += v;
      this.size[k] = Math.min(s, 65536);
    }
    return k;
  }

  private find(natAddr: number, dstAddr: number, dport: number, l3proto: number): number {
    const t = ((dport << 16) | l3proto) | 0;
    let i = this.hash(natAddr, dstAddr, t);
    for (;;) {
      if (this.tail[i] === -1) break;
      if (this.natAddr[i] === natAddr && this.dstAddr[i] === dstAddr && this.tail[i] === t) {
        return this.idx[i]!;
      }
      i = (i + 1) & (this.cap - 1);
    }
    const k = this.n++;
    if (k >= this.inUse.length) this.growDense();
    this.natAddr[i] = natAddr; this.dstAddr[i] = dstAddr; this.tail[i] = t; this.idx[i] = k;
    this.keyNat[k] = natAddr; this.keyDst[k] = dstAddr; this.keyTail[k] = t;
    this.inUse[k] = 0; this.peak[k] = 0; this.size[k] = 1;
    this.rulesOf.push(new Map());
    if (this.n * 2 > this.cap) this.rehash();
    return k;
  }

  release(k: number): void {
    this.inUse[k]!--;
  }

  /** Highest in-use / range-size fraction over all keys now (0 when there is none). */
  maxUtilisation(): number {
    let m = 0;
    for (let k = 0; k < this.n; k++) {
      const u = this.inUse[k]! / this.size[k]!;
      if (u > m) m = u;
    }
    return m;
  }

  /** Ports in use summed over keys. */
  totalInUse(): number {
    let s = 0;
    for (let k = 0; k < this.n; k++) s += this.inUse[k]!;
    return s;
  }

  private growDense(): void {
    const g = (a: Int32Array) => { const b = new Int32Array(a.length * 2); b.set(a); return b; };
    this.inUse = g(this.inUse); this.peak = g(this.peak); this.size = g(this.size);
    this.keyNat = g(this.keyNat); this.keyDst = g(this.keyDst); this.keyTail = g(this.keyTail);
  }

  private rehash(): void {
    this.cap *= 2;
    this.natAddr = new Int32Array(this.cap);
    this.dstAddr = new Int32Array(this.cap);
    this.tail = new Int32Array(this.cap).fill(-1);
    this.idx = new Int32Array(this.cap).fill(-1);
    for (let k = 0; k < this.n; k++) {
      let i = this.hash(this.keyNat[k]!, this.keyDst[k]!, this.keyTail[k]!);
      while (this.tail[i] !== -1) i = (i + 1) & (this.cap - 1);
      this.natAddr[i] = this.keyNat[k]!; this.dstAddr[i] = this.keyDst[k]!; this.tail[i] = this.keyTail[k]!; this.idx[i] = k;
    }
  }
}
