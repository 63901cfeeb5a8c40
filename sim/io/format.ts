import { createHash } from 'node:crypto';

/** Stable JSON: object keys in insertion order (our objects are built in a fixed order). */
export function toJson(x: unknown): string {
  return JSON.stringify(x, null, 2) + '\n';
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
