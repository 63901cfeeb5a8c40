/**
 * Default table sizing (§1.2) and the kernel memory model (§10).
 */

const GiB = 1024 ** 3;
/** PAGE_SIZE / sizeof(struct hlist_nulls_head): bucket counts are rounded up to a multiple of this. */
export const BUCKET_ROUND = 512;

/** Rounds a bucket count up to a multiple of 512. @see nf_ct_alloc_hashtable */
export function roundBuckets(n: number): number {
  return Math.ceil(n / BUCKET_ROUND) * BUCKET_ROUND;
}

/**
 * `nf_conntrack_buckets` and `nf_conntrack_max` a kernel picks at boot.
 * @param memoryBytes usable RAM (`totalram_pages()` × PAGE_SIZE)
 * @param hashsize the `hashsize=` module parameter, if given
 * @param version kernel [major, minor]: the v5.15 rule (d532bcd0b269) or the older one
 * @see nf_conntrack_init_start (nf_conntrack_core.c)
 */
export function defaultSizing(memoryBytes: number, hashsize: number | undefined, version: readonly [number, number]): { buckets: number; max: number } {
  const modern = version[0] > 5 || (version[0] === 5 && version[1] >= 15);
  if (hashsize !== undefined) {
    const buckets = roundBuckets(hashsize);
    return { buckets, max: 8 * buckets };
  }
  let buckets = Math.floor(memoryBytes / 16384 / 8);
  let factor: number;
  if (modern) {
    if (memoryBytes > 4 * GiB) buckets = 262144;
    else if (memoryBytes > GiB) buckets = 65536;
    if (buckets < 1024) buckets = 1024;
    factor = 1;
  } else {
    if (memoryBytes > 4 * GiB) buckets = 65536;
    else if (memoryBytes > GiB) buckets = 16384;
    if (buckets < 32) buckets = 32;
    factor = 4;
  }
  buckets = roundBuckets(buckets);
  return { buckets, max: factor * buckets };
}

/** Slab footprint of one `struct nf_conn` on x86_64 (248 B object in 256 B slots). */
export const NF_CONN_SLAB_BYTES = 256;
/** Bytes per bucket head (`struct hlist_nulls_head`). */
export const BUCKET_HEAD_BYTES = 8;

/** Extension payload sizes on a 6.x x86_64 kernel (§10.2, host BTF). */
export const EXT_HEADER = 16;
export const EXT_ACCT = 32;
export const EXT_ECACHE = 32;
export const EXT_TSTAMP = 16;
export const EXT_TIMEOUT = 8;
export const EXT_NAT = 8;
export const EXT_SEQADJ = 24;
export const EXT_SYNPROXY = 12;
export const EXT_HELPER = 56;
export const EXT_LABELS = 16;
/** NF_CT_EXT_PREALLOC: the first extension allocates at least this much. */
export const NF_CT_EXT_PREALLOC = 128;

const KMALLOC_CLASSES = [128, 192, 256, 512, 1024];

/** The extensions one entry may carry (§10.2). */
export interface EntryExtensions {
  acct: boolean;
  ecache: boolean;
  tstamp: boolean;
  timeout: boolean;
  nat?: boolean;
  seqadj?: boolean;
  synproxy?: boolean;
  helper?: boolean;
  labels?: boolean;
}

const align8 = (n: number): number => (n + 7) & ~7;

/**
 * Kernel bytes one entry costs: the slab object plus, if any extension is attached, the
 * kmalloc size class of its extension area (16-byte header + each payload at an 8-byte-aligned
 * offset, at least NF_CT_EXT_PREALLOC = 128 B). Every payload is counted 8-aligned (the last
 * one's padding, ≤ 4 B for synproxy, only matters at an exact size-class boundary).
 * @see nf_ct_ext_add (nf_conntrack_extend.c)
 */
export function entryKernelBytes(ext: EntryExtensions): number {
  let payload = 0;
  if (ext.acct) payload += EXT_ACCT;
  if (ext.ecache) payload += EXT_ECACHE;
  if (ext.tstamp) payload += EXT_TSTAMP;
  if (ext.timeout) payload += EXT_TIMEOUT;
  if (ext.nat) payload += align8(EXT_NAT);
  if (ext.seqadj) payload += align8(EXT_SEQADJ);
  if (ext.synproxy) payload += align8(EXT_SYNPROXY);
  if (ext.helper) payload += align8(EXT_HELPER);
  if (ext.labels) payload += align8(EXT_LABELS);
  if (payload === 0) return NF_CONN_SLAB_BYTES;
  const area = Math.max(EXT_HEADER + payload, NF_CT_EXT_PREALLOC);
  const cls = KMALLOC_CLASSES.find((c) => c >= area) ?? area;
  return NF_CONN_SLAB_BYTES + cls;
}

/** Per-entry extension bits (`Conntrack.extMask`): what one entry carries beyond the table-wide acct/ecache/tstamp. */
export const CT_EXT_TIMEOUT = 1, CT_EXT_NAT = 2, CT_EXT_SEQADJ = 4, CT_EXT_SYNPROXY = 8, CT_EXT_HELPER = 16, CT_EXT_LABELS = 32;
/**
 * The acct and tstamp extensions as per-entry bits: an entry gets them at creation when
 * nf_conntrack_acct / nf_conntrack_timestamp is 1 at that moment (`nf_ct_acct_ext_add()`,
 * `nf_ct_tstamp_ext_add()` in `init_conntrack()`), so a sysctl write mid-run mixes both kinds.
 */
export const CT_EXT_ACCT = 64, CT_EXT_TSTAMP = 128;
export const CT_EXT_MASKS = 256;

/** Kernel bytes per entry for every per-entry extension mask, given the table-wide extensions. */
export function entryBytesByMask(global: { acct: boolean; ecache: boolean; tstamp: boolean }): Int32Array {
  const out = new Int32Array(CT_EXT_MASKS);
  for (let m = 0; m < CT_EXT_MASKS; m++) {
    out[m] = entryKernelBytes({
      ecache: global.ecache, acct: global.acct || (m & CT_EXT_ACCT) !== 0, tstamp: global.tstamp || (m & CT_EXT_TSTAMP) !== 0,
      timeout: (m & CT_EXT_TIMEOUT) !== 0, nat: (m & CT_EXT_NAT) !== 0, seqadj: (m & CT_EXT_SEQADJ) !== 0,
      synproxy: (m & CT_EXT_SYNPROXY) !== 0, helper: (m & CT_EXT_HELPER) !== 0, labels: (m & CT_EXT_LABELS) !== 0,
    });
  }
  return out;
}
