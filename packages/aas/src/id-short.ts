import { aas } from './core.js';

/** NameType's limit in AAS V3.0 (IDTA-01001): idShort is at most 128 characters. */
export const MAX_ID_SHORT = 128;

/**
 * A valid idShort (`^[a-zA-Z][a-zA-Z0-9_]*$`, at most 128 characters) for any AML name, the
 * same for the same name: every character outside the alphabet becomes `_`, a name not
 * starting with a letter gets an `X` in front, an empty name becomes `X`. Different names may
 * meet in one idShort; IdShortScope keeps siblings apart.
 */
export function sanitizeIdShort(name: string): string {
  let s = Array.from(name, (c) => (/^[A-Za-z0-9_]$/.test(c) ? c : '_')).join('');
  if (!/^[A-Za-z]/.test(s)) s = `X${s}`;
  return s.slice(0, MAX_ID_SHORT);
}

/**
 * Hands out idShorts unique among one set of siblings (a submodel's elements, a collection's,
 * an operation's variables), in document order: the first `Valve` stays `Valve`, the next is
 * `Valve_2`. Uniqueness is checked without regard to case, so a consumer that compares idShorts
 * case-insensitively (as AAS V2 did) finds no duplicates either.
 */
export interface IdShortScope {
  next(name: string): string;
}

export function createIdShortScope(): IdShortScope {
  const taken = new Set<string>();
  return {
    next(name) {
      const base = sanitizeIdShort(name);
      let candidate = base;
      for (let n = 2; taken.has(candidate.toLowerCase()); n++) {
        const suffix = `_${n}`;
        candidate = base.slice(0, MAX_ID_SHORT - suffix.length) + suffix;
      }
      taken.add(candidate.toLowerCase());
      return candidate;
    },
  };
}

/** Whether `s` is a valid idShort by the library's own check (tests and idShortPath parsing). */
export const isIdShort = (s: string): boolean => s.length <= MAX_ID_SHORT && aas.verification.matchesIdShort(s);
