import { adaptiveTimeoutPolicy } from './adaptive-timeout.js';
import { keepalivePolicy } from './keepalive.js';
import { kernelPolicy } from './kernel.js';
import { l4AwareEvictAssuredPolicy, l4AwarePolicy } from './l4-aware.js';
import { ctTimeoutAbovePolicy } from './ct-timeout-above.js';
import { lruPolicy } from './lru.js';
import { nonePolicy } from './none.js';
import type { PolicyKind } from './policy.js';
import { randomPolicy } from './random.js';
import { softTimeoutPolicy } from './soft-timeout.js';
import { thresholdTimeoutPolicy } from './threshold-timeout.js';
import { timeoutPolicyPolicy } from './timeout-policy.js';

export type { Policy, PolicyContext, PolicyHooks, PolicyKind } from './policy.js';
export { installPolicies, type StackEnv } from './stack.js';

/** Every built-in policy by name (the order `ctsim list` shows). */
export const POLICIES: Record<string, PolicyKind> = {
  kernel: kernelPolicy,
  none: nonePolicy,
  'l4-aware': l4AwarePolicy,
  'l4-aware-evict-assured': l4AwareEvictAssuredPolicy,
  'soft-timeout': softTimeoutPolicy,
  'adaptive-timeout': adaptiveTimeoutPolicy,
  'threshold-timeout': thresholdTimeoutPolicy,
  'ct-timeout-above': ctTimeoutAbovePolicy,
  keepalive: keepalivePolicy,
  'timeout-policy': timeoutPolicyPolicy,
  lru: lruPolicy,
  random: randomPolicy,
};
