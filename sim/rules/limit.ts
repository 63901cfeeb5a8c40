/**
 * `limit rate [over] N/UNIT [burst M packets]` and `limit rate [over] N BYTES/UNIT [burst M BYTES]`:
 * the token bucket of nft_limit.c (docs/rules.md §20.1), in nanoseconds.
 *
 *  - Packet mode: a packet costs `unit_ns / rate` (integer division); the bucket holds
 *    `cost × burst` ns, and a burst of 0 means NFT_LIMIT_PKT_BURST_DEFAULT = 5
 *    (nft_limit_init(), nft_limit_pkts_init()).
 *  - Byte mode: a packet of `len` bytes costs `unit_ns × len / rate`; the bucket holds
 *    `unit_ns × (rate + burst) / rate` (nft_limit_bytes_eval(), nft_limit_init()).
 *  - The bucket starts full, `last` = the time the rule was loaded. On each evaluation:
 *    `tokens = min(capacity, tokens + now − last)`, `last = now`; if `tokens ≥ cost` the packet
 *    is within the limit and pays `cost`, otherwise the bucket keeps the refilled value and the
 *    packet is over (nft_limit_eval()). `limit rate X` matches within the limit, `limit rate over
 *    X` (NFT_LIMIT_F_INV) over it.
 *
 * Time comes from the simulation clock (integer µs, × 1000 → ns). All quantities are integers held
 * in doubles; the constructor refuses a configuration whose bucket could leave the exactly
 * representable range (2^53 ns ≈ 104 days), so every step is exact. No allocation per packet.
 */

/** NFT_LIMIT_PKT_BURST_DEFAULT (nft_limit.c). */
export const NFT_LIMIT_PKT_BURST_DEFAULT = 5;

/** Seconds per nft time unit (nftables: second, minute, hour, day, week). */
export const LIMIT_UNITS: Readonly<Record<string, number>> = { second: 1, minute: 60, hour: 3600, day: 86400, week: 604800 };
/** Bytes per nft byte unit (nftables data units are powers of 1024). */
export const BYTE_UNITS: Readonly<Record<string, number>> = { bytes: 1, kbytes: 1024, mbytes: 1024 * 1024 };

import { RuleSyntaxError, type Tok } from './lexer.js';

/** A parsed limit statement. `rate` is packets or bytes per `unitS` seconds; `burst` as written (0 = default). */
export interface LimitSpec {
  mode: 'packets' | 'bytes';
  rate: number;
  unitS: number;
  burst: number;
  over: boolean;
}

const SAFE = Number.MAX_SAFE_INTEGER;
/** Largest packet length a cost is computed for (IPv4/IPv6 datagram maximum). */
const MAX_LEN = 65535;

/** floor(a / b) for non-negative integers a, b < 2^53 with a / b exact to the unit. */
function idiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  // one correction step makes the double quotient exact (a and b are exact integers)
  if (q * b > a) q--;
  else if ((q + 1) * b <= a) q++;
  return q;
}

/**
 * The token buckets of one limit statement: one per rule (index 0), or one per set element for a
 * dynamic set (`add @s { ip saddr limit rate ... }`), grown on demand.
 */
export class LimitBuckets {
  readonly spec: LimitSpec;
  readonly nsecs: number;
  /** Packet mode: cost of one packet (ns). Byte mode: 0 (the cost depends on the length). */
  readonly cost: number;
  /** Bucket capacity (ns), `tokens_max`. */
  readonly tokensMax: number;
  /** Effective burst (packets mode: 0 → 5). */
  readonly burst: number;
  private readonly q: number;
  private readonly r: number;
  tokens: Float64Array;
  last: Float64Array;
  private used = 0;

  /** Buckets in use (the highest index reset + 1): one per rule, or per set element slot. */
  buckets(): number {
    return this.used;
  }

  constructor(spec: LimitSpec, n = 1) {
    if (!(spec.rate > 0) || !Number.isSafeInteger(spec.rate)) throw new RangeError(`limit rate must be a positive integer, got ${spec.rate}`);
    if (!Number.isSafeInteger(spec.burst) || spec.burst < 0 || spec.burst > 0xffffffff) throw new RangeError(`limit burst must be an integer 0..4294967295, got ${spec.burst}`);
    this.spec = spec;
    this.nsecs = spec.unitS * 1e9;
    const pkts = spec.mode === 'packets';
    this.burst = pkts && spec.burst === 0 ? NFT_LIMIT_PKT_BURST_DEFAULT : spec.burst;
    if (pkts) {
      this.cost = idiv(this.nsecs, spec.rate);
      const max = this.cost * this.burst;
      if (max > SAFE) throw new RangeError(`limit: a bucket of ${this.burst} packets at ${spec.rate}/${spec.unitS}s exceeds 2^53 ns; lower the burst`);
      this.tokensMax = max;
      this.q = 0; this.r = 0;
    } else {
      if (spec.rate > 2 ** 36) throw new RangeError(`limit: byte rates above 2^36 bytes per unit are outside the exact range of this model`);
      this.cost = 0;
      const big = (BigInt(this.nsecs) * (BigInt(spec.rate) + BigInt(spec.burst))) / BigInt(spec.rate);
      if (big > BigInt(SAFE)) throw new RangeError(`limit: a bucket of rate + burst = ${spec.rate + spec.burst} bytes per ${spec.unitS}s exceeds 2^53 ns; lower the burst`);
      this.tokensMax = Number(big);
      this.q = idiv(this.nsecs, spec.rate);
      this.r = this.nsecs - this.q * spec.rate;
    }
    this.tokens = new Float64Array(Math.max(1, n));
    this.last = new Float64Array(Math.max(1, n));
  }

  /** Bucket `i` starts full at time `nowNs` (rule load, or set element creation: nft_limit_clone()). */
  reset(i: number, nowNs: number): void {
    if (i >= this.tokens.length) this.grow(i + 1);
    if (i >= this.used) this.used = i + 1;
    this.tokens[i] = this.tokensMax;
    this.last[i] = nowNs;
  }

  private grow(n: number): void {
    let c = this.tokens.length;
    while (c < n) c *= 2;
    const t = new Float64Array(c); t.set(this.tokens); this.tokens = t;
    const l = new Float64Array(c); l.set(this.last); this.last = l;
  }

  /** Cost in ns of a packet of `len` bytes. Byte mode: floor(nsecs × len / rate), exact. */
  costOf(len: number): number {
    if (this.spec.mode === 'packets') return this.cost;
    const l = len < 0 ? 0 : len > MAX_LEN ? MAX_LEN : len;
    const a = this.q * l;
    if (a > SAFE) return Infinity; // above any bucket: the constructor bounds tokensMax by 2^53
    return a + idiv(this.r * l, this.spec.rate);
  }

  /**
   * One evaluation of bucket `i` at `nowNs` for a packet of `len` bytes: refill, then pay if the
   * bucket holds the cost. Returns true when the packet is within the limit. @see nft_limit_eval
   */
  within(i: number, nowNs: number, len: number): boolean {
    const cost = this.costOf(len);
    const elapsed = nowNs - this.last[i];
    let tokens = this.tokens[i];
    tokens = elapsed >= this.tokensMax - tokens ? this.tokensMax : tokens + elapsed;
    this.last[i] = nowNs;
    if (tokens >= cost) {
      this.tokens[i] = tokens - cost;
      return true;
    }
    this.tokens[i] = tokens;
    return false;
  }

  /** Whether the statement matches (does not end the rule): within XOR over. */
  matches(i: number, nowNs: number, len: number): boolean {
    return this.within(i, nowNs, len) !== this.spec.over;
  }

  /** Kernel memory of the statement's state: `struct nft_limit` (tokens, last, lock) is kmalloc-32 per bucket. */
  static readonly BYTES_PER_BUCKET = 32;

  /** nft's text for the statement (messages, docs). */
  static text(s: LimitSpec): string {
    const unit = Object.keys(LIMIT_UNITS).find((k) => LIMIT_UNITS[k] === s.unitS) ?? `${s.unitS}s`;
    if (s.mode === 'packets') return `limit rate ${s.over ? 'over ' : ''}${s.rate}/${unit}${s.burst ? ` burst ${s.burst} packets` : ''}`;
    return `limit rate ${s.over ? 'over ' : ''}${s.rate} bytes/${unit}${s.burst ? ` burst ${s.burst} bytes` : ''}`;
  }
}

/** What the statement parsers need of a rule parser: the next token, and taking it. */
export interface TokCursor {
  peek(): Tok;
  take(): Tok;
}

const failAt = (t: { line: number; col: number }, msg: string): never => { throw new RuleSyntaxError(t.line, t.col, msg); };
const LIMIT_SYNTAX = 'limit rate [over] N/second|minute|hour|day|week [burst N packets], or limit rate [over] N bytes|kbytes|mbytes/UNIT [burst N bytes|kbytes|mbytes]';

/**
 * Parses the rest of a `limit` statement (the `limit` keyword already taken, `kw`). nft's grammar
 * (parser_bison.y limit_stmt): `rate [over] NUM / TIME_UNIT [burst NUM packets]` and
 * `rate [over] NUM BYTE_UNIT / TIME_UNIT [burst NUM BYTE_UNIT]`.
 */
export function parseLimitStmt(p: TokCursor, kw: { line: number; col: number }): LimitSpec {
  const r = p.take();
  if (r.kind !== 'word' || r.text !== 'rate') failAt(r.kind === 'eof' ? kw : r, `expected "rate" after limit; ${LIMIT_SYNTAX}`);
  let over = false;
  let t = p.peek();
  if (t.kind === 'word' && t.text === 'over') { p.take(); over = true; }
  else if (t.kind === 'word' && t.text === 'until') { p.take(); }
  const numTok = p.take();
  if (numTok.kind !== 'word') failAt(numTok.kind === 'eof' ? kw : numTok, `expected a rate; ${LIMIT_SYNTAX}`);
  // "10/second", "10 mbytes/second", "10mbytes/second"
  let m = /^([0-9]+)\/([a-z]+)$/.exec(numTok.text);
  let mode: 'packets' | 'bytes' = 'packets', rate: number, unitName: string, mult = 1, unitTok = numTok;
  if (m) {
    rate = Number(m[1]); unitName = m[2];
  } else {
    m = /^([0-9]+)(?:([a-z]+)\/([a-z]+))?$/.exec(numTok.text);
    if (!m) failAt(numTok, `"${numTok.text}" is not a rate; ${LIMIT_SYNTAX}`);
    rate = Number(m![1]);
    let unitText: string;
    if (m![2] !== undefined) { unitText = `${m![2]}/${m![3]}`; }
    else {
      unitTok = p.take();
      if (unitTok.kind !== 'word') failAt(unitTok.kind === 'eof' ? numTok : unitTok, `expected a unit after the rate ${rate}; ${LIMIT_SYNTAX}`);
      unitText = unitTok.text;
    }
    const u = /^([a-z]+)\/([a-z]+)$/.exec(unitText);
    if (!u || BYTE_UNITS[u[1]] === undefined) failAt(unitTok, `"${unitText}" is not a rate unit; ${LIMIT_SYNTAX}`);
    mode = 'bytes'; mult = BYTE_UNITS[u![1]]; unitName = u![2];
  }
  const unitS = LIMIT_UNITS[unitName!];
  if (unitS === undefined) failAt(unitTok, `unknown time unit "${unitName!}"; expected one of ${Object.keys(LIMIT_UNITS).join(', ')}`);
  if (rate! === 0) failAt(numTok, 'a limit rate of 0 is refused by the kernel (nft_limit_init: -EINVAL); use drop');
  rate = rate! * mult;
  let burst = 0;
  t = p.peek();
  if (t.kind === 'word' && t.text === 'burst') {
    p.take();
    const b = p.take();
    const bm = b.kind === 'word' ? /^([0-9]+)([a-z]*)$/.exec(b.text) : null;
    if (!bm) failAt(b.kind === 'eof' ? t : b, `expected a burst size after "burst" (e.g. burst 10 packets)`);
    let unit = bm![2];
    if (unit === '') {
      const u = p.peek();
      if (u.kind === 'word' && (u.text === 'packets' || BYTE_UNITS[u.text] !== undefined)) { p.take(); unit = u.text; }
      else unit = mode === 'packets' ? 'packets' : 'bytes';
    }
    if (mode === 'packets' && unit !== 'packets') failAt(b, `a packet rate takes "burst N packets", got "${unit}"`);
    if (mode === 'bytes' && BYTE_UNITS[unit] === undefined) failAt(b, `a byte rate takes "burst N bytes|kbytes|mbytes", got "${unit}"`);
    burst = Number(bm![1]) * (mode === 'bytes' ? BYTE_UNITS[unit] : 1);
  }
  const spec: LimitSpec = { mode, rate: rate!, unitS: unitS!, burst, over };
  try { new LimitBuckets(spec, 1); } catch (e) { failAt(numTok, (e as Error).message); }
  return spec;
}
