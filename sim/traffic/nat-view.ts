import type { Pkt } from '../conntrack/packet.js';
import type { FlowPool } from './flow-pool.js';

/**
 * The outside view of a flow behind NAT (docs/nat.md §6.1): a client's packet leaves the
 * firewall translated (SNAT source, DNAT destination), so the server answers the addresses it
 * saw, and the firewall un-NATs the answer on its way in. Generators fill client packets with
 * the inside addresses (`fromClient`), call `clientPacket(pool, id)` before sending, and fill
 * server packets with `fillFromServer`: after each client packet is sent, `sendCounted` records
 * the translated addresses here. Without NAT the packet is not rewritten, so the outside view
 * equals the inside one and nothing changes.
 */
let notePool: FlowPool | null = null;
let noteId = -1;

/** The packet about to be sent is flow `id`'s client → server packet: record how it leaves. */
export function clientPacket(f: FlowPool, id: number): void {
  notePool = f;
  noteId = id;
}

/** Called by `sendCounted` after the packet went through the firewall. */
export function afterSend(pkt: Pkt): void {
  const f = notePool;
  if (f === null) return;
  const id = noteId;
  f.xcAddr[id] = pkt.src; f.xcPort[id] = pkt.sport;
  f.xsAddr[id] = pkt.dst; f.xsPort[id] = pkt.dport;
  notePool = null;
}

/** Fills a server → client packet of flow `id` as the server sends it (to the client's outside address). */
export function fillFromServer(f: FlowPool, id: number, pkt: Pkt): void {
  notePool = null;
  pkt.src = f.xsAddr[id]!; pkt.sport = f.xsPort[id]!; pkt.dst = f.xcAddr[id]!; pkt.dport = f.xcPort[id]!;
}
