/**
 * Link-layer header types (tcpdump.org LINKTYPE_* values as stored in pcap/pcapng files) that
 * the decoder understands, and human-readable names for error messages.
 */

/** BSD loopback: 4-byte address family in the capturing host's byte order. */
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
/** DLT_RAW as written by most BSD-derived libpcaps (raw IPv4/IPv6). */
export const DLT_RAW_12 = 12;
/** DLT_RAW as written by OpenBSD (raw IPv4/IPv6). */
export const DLT_RAW_14 = 14;
/** Raw IPv4 or IPv6 (version nibble decides). */
export const LINKTYPE_RAW = 101;
/** OpenBSD loopback: like NULL but the family is in network byte order. */
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

const NAMES: ReadonlyMap<number, string> = new Map([
  [LINKTYPE_NULL, 'NULL'], [LINKTYPE_ETHERNET, 'ETHERNET'], [DLT_RAW_12, 'DLT_RAW'],
  [DLT_RAW_14, 'DLT_RAW'], [LINKTYPE_RAW, 'RAW'], [LINKTYPE_LOOP, 'LOOP'],
  [LINKTYPE_LINUX_SLL, 'LINUX_SLL'], [LINKTYPE_IPV4, 'IPV4'], [LINKTYPE_IPV6, 'IPV6'],
  [LINKTYPE_LINUX_SLL2, 'LINUX_SLL2'],
  // Common unsupported ones, for clearer errors.
  [6, 'IEEE802_5'], [9, 'PPP'], [50, 'PPP_HDLC'], [51, 'PPP_ETHER'], [104, 'C_HDLC'],
  [105, 'IEEE802_11'], [119, 'IEEE802_11_PRISM'], [127, 'IEEE802_11_RADIOTAP'],
  [143, 'DOCSIS'], [163, 'IEEE802_11_AVS'], [187, 'BLUETOOTH_HCI_H4'], [189, 'USB_LINUX'],
  [192, 'PPI'], [195, 'IEEE802_15_4_WITHFCS'], [201, 'BLUETOOTH_HCI_H4_WITH_PHDR'],
  [220, 'USB_LINUX_MMAPPED'], [249, 'USBPCAP'], [253, 'NETLINK'], [263, 'NFLOG'] as [number, string],
]);

/** Link types `decodeFrame` accepts, ascending. */
export const SUPPORTED_LINK_TYPES: readonly number[] = [
  LINKTYPE_NULL, LINKTYPE_ETHERNET, DLT_RAW_12, DLT_RAW_14, LINKTYPE_RAW, LINKTYPE_LOOP,
  LINKTYPE_LINUX_SLL, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL2,
];

/** True when `decodeFrame` understands this link type. */
export function isSupportedLinkType(linkType: number): boolean {
  return SUPPORTED_LINK_TYPES.includes(linkType);
}

/** Name like `LINKTYPE_ETHERNET (1)` or `DLT_RAW (12)`; unknown values give `LINKTYPE 1234`. */
export function linkTypeName(linkType: number): string {
  const n = NAMES.get(linkType);
  if (n === undefined) return `LINKTYPE ${linkType}`;
  return `${n.startsWith('DLT_') ? n : `LINKTYPE_${n}`} (${linkType})`;
}

/** The supported link types as a readable list, for error messages. */
export function supportedLinkTypesText(): string {
  return SUPPORTED_LINK_TYPES.map(linkTypeName).join(', ');
}
