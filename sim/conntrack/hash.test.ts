import test from 'ava';
import fc from 'fast-check';
import { reciprocalScale } from './hash.js';

/** The definition, in exact integer arithmetic: floor(hash × n / 2^32) for the hash as a u32. */
const byDefinition = (hash: number, n: number): number => Number((BigInt(hash >>> 0) * BigInt(n)) >> 32n);

test('§1.4 reciprocal_scale: floor(hash × n / 2^32) exactly, on both sides of the 2^21-bucket switch', (t) => {
  const ns = [1, 2, 512, 16384, 65536, 1_048_576, 1_000_448, 0x1fffff, 0x200000, 0x200001, 4_194_304, 0x0fffffff];
  const hashes = [0, 1, -1, 0x7fffffff, -0x80000000, 0x12345678, -0x12345678, 0xffff, 0x10000];
  for (const n of ns) for (const h of hashes) t.is(reciprocalScale(h, n), byDefinition(h, n), `hash ${h}, n ${n}`);
  fc.assert(fc.property(fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.integer({ min: 1, max: 0x0fffffff }),
    (h, n) => reciprocalScale(h, n) === byDefinition(h, n)), { seed: 3, numRuns: 20000 });
});
