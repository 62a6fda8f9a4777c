/** "Did you mean …?" for a name the user mistyped, among the names that exist. */

/** The candidate closest to `name` by edit distance, when it is close enough to be a typo of it. */
export function closest(name: string, candidates: string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { candidate, distance };
  }
  // Close enough to be a typo: at most a third of its letters (two for short names) differ.
  return best && best.candidate !== name && best.distance <= Math.max(2, Math.floor(name.length / 3))
    ? best.candidate
    : undefined;
}

/** `No … "name"` hints: the closest name, then every one (none: `none`). */
export function suggestion(name: string, candidates: string[], what: string): string {
  const near = closest(name, candidates);
  return `${near ? `Did you mean "${near}"? ` : ''}${what}: ${candidates.length ? candidates.join(', ') : 'none'}.`;
}

/** Levenshtein distance: insertions, deletions and substitutions, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length];
}
