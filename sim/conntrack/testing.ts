/**
 * Helpers for tests and examples: build packets and find tuples that land in given buckets.
 * Not used by the simulator itself.
 */
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, TH_ACK, TH_FIN, TH_RST, TH_SYN } from './constants.js';
import type { Conntrack } from './conntrack.js';
import { Pkt } from './packet.js';

export const ip = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) | 0;

const FLAG_LETTERS: Record<string, number> = { S: TH_SYN, A: TH_ACK, F: TH_FIN, R: TH_RST };

/** Parses "SA", "FA", "R", "A" into TH_* bits. */
export function flagsOf(s: string): number {
  let f = 0;
  for (const ch of s) {
    const b = FLAG_LETTERS[ch];
    if (b === undefined) throw new Error(`unknown TCP flag letter ${ch}`);
    f |= b;
  }
  return f;
}

export function tcp(pkt: Pkt, src: number, sport: number, dst: number, dport: number, flags: string,
  seq = 1000, ack = 0, win = 65535, dataLen = 0): Pkt {
  pkt.reset();
  pkt.proto = IPPROTO_TCP;
  pkt.src = src; pkt.dst = dst; pkt.sport = sport; pkt.dport = dport;
  pkt.tcpFlags = flagsOf(flags);
  pkt.seq = seq >>> 0; pkt.ack = ack >>> 0; pkt.win = win; pkt.dataLen = dataLen;
  pkt.len = 40 + dataLen;
  return pkt;
}

export function udp(pkt: Pkt, src: number, sport: number, dst: number, dport: number): Pkt {
  pkt.reset();
  pkt.proto = IPPROTO_UDP;
  pkt.src = src; pkt.dst = dst; pkt.sport = sport; pkt.dport = dport;
  pkt.len = 60;
  return pkt;
}

export function icmpEcho(pkt: Pkt, src: number, dst: number, id: number, type = 8): Pkt {
  pkt.reset();
  pkt.proto = IPPROTO_ICMP;
  pkt.src = src; pkt.dst = dst; pkt.sport = id; pkt.dport = type << 8;
  pkt.len = 84;
  return pkt;
}

/** Sends one packet at time `us` and returns the verdict. */
export function send(ct: Conntrack, us: number, pkt: Pkt): number {
  ct.setNow(us);
  return ct.packetIn(pkt);
}

/**
 * Finds a source port such that the flow (src:sport → dst:dport, proto) has its ORIGINAL node
 * in `origBucket` and (if given) its REPLY node in `replyBucket`.
 */
export function portFor(ct: Conntrack, src: number, dst: number, dport: number, proto: number,
  origBucket: number, replyBucket?: number, from = 1024): number {
  const tb = ct.table;
  const l3proto = (4 << 8) | proto;
  for (let sport = from; sport < 65536; sport++) {
    const ob = tb.bucketOf(src, dst, ((sport << 16) | dport) | 0, l3proto);
    if (ob !== origBucket) continue;
    if (replyBucket !== undefined && tb.bucketOf(dst, src, ((dport << 16) | sport) | 0, l3proto) !== replyBucket) continue;
    return sport;
  }
  throw new Error(`no port found for bucket ${origBucket}/${replyBucket}`);
}

/** Walks every chain and checks the table's structural invariants; returns the node count. */
export function checkTable(ct: Conntrack): number {
  const tb = ct.table;
  const seen = new Map<number, number>();
  let nodes = 0;
  tb.checkBuckets();
  const inChain = new Set<number>();
  for (let b = 0; b < tb.nbuckets; b++) {
    for (let p = tb.chainLength(b) - 1; p >= 0; p--) {
      const n = tb.at(b, p);
      if (inChain.has(n)) throw new Error(`node ${n} is in a chain twice (bucket ${b})`);
      inChain.add(n);
      if (tb.nodeBucket(n) !== b) throw new Error(`node ${n} is in bucket ${b} but hashes to ${tb.nodeBucket(n)}`);
      seen.set(n >> 1, (seen.get(n >> 1) ?? 0) + 1);
      nodes++;
    }
  }
  for (const [slot, k] of seen) if (k !== 2) throw new Error(`entry ${slot} sits in ${k} chains, expected 2`);
  if (seen.size !== ct.count) throw new Error(`count ${ct.count} but ${seen.size} entries in the table`);
  if (tb.slotsInUse !== ct.count) throw new Error(`count ${ct.count} but ${tb.slotsInUse} slots in use`);
  return nodes;
}
