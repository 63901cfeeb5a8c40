/**
 * "Did you mean …?" hints for misspelt keys and names, by optimal-string-alignment distance
 * (Levenshtein plus adjacent transpositions).
 */

/** Edit distance between `a` and `b`, counting an adjacent transposition as one edit. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  // Three rolling rows: i-2, i-1, i.
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n]!;
}

/**
 * The candidate closest to `input` (case-insensitive), or undefined when none is close enough:
 * within max(1, ⌊len/3⌋) edits and fewer edits than the input has characters, or one is a prefix
 * of the other. Ties go to the earlier candidate,
 * so the answer does not depend on anything but the candidates' order.
 */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  const lower = input.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.min(Math.max(1, Math.floor(input.length / 3)), input.length - 1);
  const prefix = lower.length >= 3 && (best.toLowerCase().startsWith(lower) || lower.startsWith(best.toLowerCase()));
  return bestD <= limit || prefix ? best : undefined;
}
