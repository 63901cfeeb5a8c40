/**
 * SYN cookies as SYNPROXY issues and checks them (docs/synproxy.md §2), modelled on the kernel's
 * `net/ipv4/syncookies.c`: `__cookie_v4_init_sequence()`, `__cookie_v4_check()`,
 * `secure_tcp_syn_cookie()`, `check_tcp_syn_cookie()` and `tcp_cookie_time()`.
 *
 * The cookie is
 *   H0(saddr, daddr, ports) + client ISN + (count << 24) + ((H1(saddr, daddr, ports, count) + mssind) mod 2^24)
 * where `count` is the minute counter (`jiffies / (60 · HZ)`) and `mssind` the index of the MSS
 * class in `msstab`. A cookie is accepted while the current counter is at most
 * MAX_SYNCOOKIE_AGE − 1 = 1 minute ahead of the one it was issued with (so between 60 and 120 s,
 * depending on where in its minute it was issued), and when the index it decodes is < 4.
 *
 * The keyed hashes: the kernel uses siphash with a boot-time random secret. Here H0/H1 are
 * Jenkins' jhash2 keyed with 32-bit secrets drawn once from a named RNG substream
 * (`synproxy/cookie-secret`). They are not the kernel's values (no simulated cookie equals a
 * real one), but the structure, and so the validity semantics (time window, MSS classes, what a
 * wrong ISN or tuple does to the check), are the kernel's.
 */
import { jhash2 } from '../nat/jhash.js';

/** Upper bits of the cookie hold the minute counter. @see COOKIEBITS */
export const COOKIEBITS = 24;
export const COOKIEMASK = (1 << COOKIEBITS) - 1;
/** Counter values a cookie stays valid for. @see MAX_SYNCOOKIE_AGE */
export const MAX_SYNCOOKIE_AGE = 2;
/** Seconds per counter step. @see TCP_SYNCOOKIE_PERIOD (60 · HZ jiffies) */
export const TCP_SYNCOOKIE_PERIOD_S = 60;
/** MSS classes an IPv4 cookie can encode. @see msstab (syncookies.c) */
export const MSSTAB: readonly number[] = [536, 1300, 1440, 1460];

/** Source of the secrets (the run's RNG substream). */
export interface SecretSource {
  int32(): number;
}

export class SynCookies {
  /** Secrets: [initval, extra word] for hash 0 and for hash 1. */
  private readonly secret = new Int32Array(4);
  private readonly words = new Int32Array(5);
  /** MSS class value chosen by the last `initSequence`. */
  mss = 0;

  constructor(rng: SecretSource) {
    for (let i = 0; i < 4; i++) this.secret[i] = rng.int32();
  }

  /** Counter for time `jiffies` (64-bit jiffies as a safe integer). @see tcp_cookie_time */
  static counter(jiffies: number, hz: number): number {
    return Math.floor(jiffies / (TCP_SYNCOOKIE_PERIOD_S * hz)) >>> 0;
  }

  /** Keyed hash of the tuple and a counter, secret `c` (0 or 1). @see cookie_hash */
  hash(saddr: number, daddr: number, sport: number, dport: number, count: number, c: number): number {
    const w = this.words;
    w[0] = saddr; w[1] = daddr; w[2] = ((sport << 16) | (dport & 0xffff)) | 0; w[3] = count | 0;
    w[4] = this.secret[c * 2 + 1]!;
    return jhash2(w, this.secret[c * 2]! >>> 0);
  }

  /**
   * The cookie ISN for a SYN with sequence `seq` whose MSS option was `mss` (0 when absent):
   * the largest class ≤ mss (class 0 for anything smaller); `this.mss` receives the class value.
   * @see __cookie_v4_init_sequence, secure_tcp_syn_cookie
   */
  initSequence(saddr: number, daddr: number, sport: number, dport: number, seq: number, mss: number, count: number): number {
    let ind = MSSTAB.length - 1;
    for (; ind > 0; ind--) if (mss >= MSSTAB[ind]!) break;
    this.mss = MSSTAB[ind]!;
    const h0 = this.hash(saddr, daddr, sport, dport, 0, 0);
    const h1 = this.hash(saddr, daddr, sport, dport, count, 1);
    return (h0 + (seq >>> 0) + ((count << COOKIEBITS) >>> 0) + ((h1 + ind) & COOKIEMASK)) >>> 0;
  }

  /**
   * The MSS an ACK's cookie encodes, or 0 when it is invalid (too old, forged, wrong tuple or
   * ISN). As the kernel, the ISN is taken as the ACK's `seq − 1` and the cookie as `ack − 1`.
   * @see __cookie_v4_check, check_tcp_syn_cookie
   */
  check(saddr: number, daddr: number, sport: number, dport: number, seq: number, ack: number, count: number): number {
    const sseq = (seq - 1) >>> 0;
    let cookie = (ack - 1) >>> 0;
    cookie = (cookie - this.hash(saddr, daddr, sport, dport, 0, 0) - sseq) >>> 0;
    const diff = ((count - (cookie >>> COOKIEBITS)) >>> 0) & (0xffffffff >>> COOKIEBITS);
    if (diff >= MAX_SYNCOOKIE_AGE) return 0;
    const ind = ((cookie - this.hash(saddr, daddr, sport, dport, (count - diff) >>> 0, 1)) >>> 0) & COOKIEMASK;
    return ind < MSSTAB.length ? MSSTAB[ind]! : 0;
  }
}
