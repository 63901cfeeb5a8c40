/** Collects a repeatable option's values. */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
