import { obj } from '../sim/scenario/schema-dsl.js';
import type { PolicyKind } from './policy.js';

/**
 * The kernel's own behaviour: allocation-time early_drop over NF_CT_EVICTION_RANGE buckets and
 * the gc worker's 95% mode, exactly as the model implements them. Installing it changes nothing.
 */
export const kernelPolicy: PolicyKind = {
  summary: "the kernel's own early_drop and gc 95% mode (the baseline)",
  schema: obj({}, { doc: 'no parameters' }),
  create: () => ({ name: 'kernel', install: () => undefined }),
};
