/**
 * What an L4 tracker tells the core about one packet. Trackers never touch the table, the
 * clock or the counters: they write their decision into a reused `TrackerOut` (no allocation
 * per packet) and `conntrack-in` applies it, as `nf_conntrack_in()` applies the return value
 * of `nf_conntrack_handle_packet()` (§1.6).
 */

/** Packet accepted and attached to the entry (kernel NF_ACCEPT). */
export const VERDICT_ACCEPT = 0;
/** Packet is INVALID: accepted by conntrack but without an entry; stat `invalid`++ (kernel -NF_ACCEPT). */
export const VERDICT_INVALID = 1;
/** Kill the entry and look the packet up again (kernel -NF_REPEAT, TCP re-open §4.6-1). */
export const VERDICT_REPEAT = 2;
/** Packet dropped by conntrack; stats `invalid`++ and `drop`++ (kernel NF_DROP from the tracker). */
export const VERDICT_DROP = 3;

export class TrackerOut {
  verdict = VERDICT_ACCEPT;
  /** When true, set the entry's timeout to now + `timeout` (a refresh is an assignment, §8). */
  refresh = false;
  /** Relative timeout in jiffies, used when `refresh` is true. */
  timeout = 0;
  /** IPCT_* event bits to cache for this packet, as a mask (1 << IPCT_x). */
  events = 0;
  /** IPS_* status bits to set on the entry (e.g. IPS_ASSURED). */
  setStatus = 0;
  /** Delete the entry right after this packet (TCP RST before any reply, §4.6-12). */
  kill = false;

  reset(): this {
    this.verdict = VERDICT_ACCEPT; this.refresh = false; this.timeout = 0;
    this.events = 0; this.setStatus = 0; this.kill = false;
    return this;
  }
}
