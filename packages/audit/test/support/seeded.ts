/**
 * A seeded generator for the property tests (no property-testing library in the workspace
 * lockfile): the same seed gives the same cases, so a failure reproduces. `next(n)` is in 0..n-1.
 */
export function seeded(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s % n;
  };
}
