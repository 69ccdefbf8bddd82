import { describe, expect, it } from '@jest/globals';
import { aas, createIdShortScope, decodeIdentifier, encodeIdentifier, isIdShort, MAX_ID_SHORT, sanitizeIdShort, shellId, submodelId, twinOfShell, twinOfSubmodel } from '../src/index.js';

/** A small deterministic generator (mulberry32): the same cases on every run, no flakes. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = ['a', 'Z', '0', '9', '_', '-', ' ', '.', ':', '/', 'ä', 'ß', '€', '😀', '\t', '"', '<', '&', 'x', 'Y', '\u0301', '\uFEFF'];
function randomName(r: () => number): string {
  const len = Math.floor(r() * 300);
  return Array.from({ length: len }, () => ALPHABET[Math.floor(r() * ALPHABET.length)]).join('');
}

describe('idShort sanitation', () => {
  it('gives a valid idShort for 5,000 random names, the same for the same name', () => {
    const r = rng(24);
    for (let i = 0; i < 5000; i++) {
      const name = randomName(r);
      const s = sanitizeIdShort(name);
      // The library's own check decides what is valid.
      expect(aas.verification.matchesIdShort(s) && s.length <= MAX_ID_SHORT).toBe(true);
      expect(sanitizeIdShort(name)).toBe(s);
    }
  });

  it('keeps valid names as they are', () => {
    for (const n of ['Filler', 'a', 'NominalThroughput', 'X_1', 'a'.repeat(128)]) expect(sanitizeIdShort(n)).toBe(n);
  });

  it('keeps 2,000 siblings with colliding names unique (case-insensitively), valid and within 128 characters', () => {
    const r = rng(7);
    const scope = createIdShortScope();
    const seen = new Set<string>();
    const long = 'L'.repeat(200);
    for (let i = 0; i < 2000; i++) {
      const pick = r();
      const name = pick < 0.3 ? 'a b' : pick < 0.5 ? 'A-B' : pick < 0.7 ? long : randomName(r).slice(0, 3);
      const s = scope.next(name);
      expect(isIdShort(s)).toBe(true);
      expect(seen.has(s.toLowerCase())).toBe(false);
      seen.add(s.toLowerCase());
    }
  });

  it('numbers repeats in document order, deterministically', () => {
    const names = ['Valve', 'valve', 'Valve', 'Valve_2', 'Valve 2'];
    const run = () => {
      const s = createIdShortScope();
      return names.map((n) => s.next(n));
    };
    expect(run()).toEqual(['Valve', 'valve_2', 'Valve_3', 'Valve_2_2', 'Valve_2_3']);
    expect(run()).toEqual(run());
  });
});

describe('identifiers', () => {
  it('derives shell and submodel identifiers from the twin ID and reads them back', () => {
    for (const twin of ['plant-1', 'a:b@c.d', 'org1:dev:42']) {
      expect(twinOfShell(shellId(twin))).toBe(twin);
      expect(twinOfSubmodel(submodelId(twin, 'el/with spaces & ü'))).toBe(twin);
    }
    expect(submodelId('t', 'a/b')).toBe('urn:twinledger:t/submodels/a%2Fb');
    expect(twinOfShell('urn:other:x')).toBeUndefined();
    expect(twinOfShell('urn:twinledger:t/submodels/x')).toBeUndefined();
    expect(twinOfSubmodel('urn:twinledger:t')).toBeUndefined();
    expect(twinOfSubmodel('urn:twinledger:t/other')).toBeUndefined();
  });

  it('decodes base64url identifiers and refuses anything else with AAS_IDENTIFIER_INVALID', () => {
    const id = 'urn:twinledger:plant-1/submodels/ü';
    expect(decodeIdentifier(encodeIdentifier(id))).toBe(id);
    expect(decodeIdentifier(`${encodeIdentifier('ab')}=`)).toBe('ab');
    for (const bad of ['a+b', 'a/b', 'abc!', 'a', '====', Buffer.from([0xff, 0xfe]).toString('base64url'), 'QQ=a']) {
      expect(() => decodeIdentifier(bad)).toThrow(expect.objectContaining({ code: 'AAS_IDENTIFIER_INVALID', httpStatus: 400 }));
    }
  });
});
