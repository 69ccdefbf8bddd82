/**
 * Fractional order keys: strings over base-62 digits, compared by code unit order, never
 * ending in the smallest digit (so there is always room below a key). A new sibling gets a
 * key strictly between its neighbours', so no sibling is ever rewritten on insert.
 */
const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ZERO = DIGITS[0] as string;
const LAST = DIGITS[DIGITS.length - 1] as string;

function digit(c: string | undefined): number {
  if (c === undefined) return 0;
  const d = DIGITS.indexOf(c);
  if (d < 0) throw new Error(`order key has invalid digit '${c}'`);
  return d;
}

/** A key between a and b (either may be null: unbounded); requires a < b. */
export function keyBetween(a: string | null, b: string | null): string {
  if (a !== null && b !== null && a >= b) throw new Error(`order keys out of order: ${a} >= ${b}`);
  if (a !== null && b === null) {
    // Appending is the common case: bump the last digit so keys grow by one digit per 61 appends.
    const last = a[a.length - 1] as string;
    if (last !== LAST) return a.slice(0, -1) + (DIGITS[digit(last) + 1] as string);
    return `${a}1`;
  }
  if (a === null && b !== null) {
    const last = b[b.length - 1] as string;
    if (digit(last) > 1) return b.slice(0, -1) + (DIGITS[digit(last) - 1] as string);
  }
  return midpoint(a ?? '', b);
}

function midpoint(a: string, b: string | null): string {
  if (b !== null) {
    let n = 0;
    while ((a[n] ?? ZERO) === b[n]) n++;
    if (n > 0) return b.slice(0, n) + midpoint(a.slice(n), b.slice(n));
  }
  const da = a.length > 0 ? digit(a[0]) : 0;
  const db = b !== null ? digit(b[0]) : DIGITS.length;
  if (db - da > 1) return DIGITS[Math.round((da + db) / 2)] as string;
  if (b !== null && b.length > 1) return b.slice(0, 1);
  return (DIGITS[da] as string) + midpoint(a.slice(1), null);
}

/** n keys strictly between a and b, in order; their length grows with log(n), not n. */
export function keysBetween(a: string | null, b: string | null, n: number): string[] {
  if (n <= 0) return [];
  if (n === 1) return [keyBetween(a, b)];
  const mid = Math.floor(n / 2);
  const c = keyBetween(a, b);
  return [...keysBetween(a, c, mid), c, ...keysBetween(c, b, n - mid - 1)];
}

export function isOrderKey(k: string): boolean {
  return /^[0-9A-Za-z]*[1-9A-Za-z]$/.test(k);
}
