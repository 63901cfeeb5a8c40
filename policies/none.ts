import { obj } from '../sim/scenario/schema-dsl.js';
import type { PolicyKind } from './policy.js';

/**
 * Pure tail drop: when the table is full, the new flow's packet is dropped and nothing is
 * evicted (pf's behaviour). The gc flag is still raised by the failure, as in the kernel.
 */
export const nonePolicy: PolicyKind = {
  summary: 'no early drop: a full table drops every new flow (pf-style tail drop)',
  schema: obj({}, { doc: 'no parameters' }),
  create: () => ({ name: 'none', install: ({ hooks }) => { hooks.chooseVictims = () => 0; } }),
};
