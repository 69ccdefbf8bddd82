import { ErrorCodes, fail } from '../errors';
import { Limits } from '../limits';
import { requireString } from '../util/args';

/* Argument guards of anchorFeedRoot (ADR-18). */

// Decimal without sign, leading zeros or exponent: the index is also a key attribute.
const INDEX = /^(0|[1-9][0-9]{0,15})$/;

export function requireIndex(name: string, value: unknown): number {
  const s = requireString(name, value);
  const n = INDEX.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) fail(ErrorCodes.VALIDATION_FAILED, `${name} must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`);
  return n;
}

/** fromIndex..toIndex as a checked, non-empty range of at most MAX_ANCHOR_UPDATES updates. */
export function requireAnchorRange(fromIndex: unknown, toIndex: unknown): { from: number; to: number } {
  const from = requireIndex('fromIndex', fromIndex);
  const to = requireIndex('toIndex', toIndex);
  if (to < from) fail(ErrorCodes.VALIDATION_FAILED, `toIndex ${to} is below fromIndex ${from}`);
  if (to - from + 1 > Limits.MAX_ANCHOR_UPDATES) fail(ErrorCodes.TOO_LARGE, `an anchor covers at most ${Limits.MAX_ANCHOR_UPDATES} updates`);
  return { from, to };
}
