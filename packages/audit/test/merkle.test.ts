import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { merkleLeafHash, merkleRoot, merkleTree, verifyMerkleInclusion } from '../src/merkle.js';
import { seeded } from './support/seeded.js';

// RFC 6962 section 2.1 written out literally (recursive MTH and PATH): the reference the
// bottom-up implementation is held to.
const sha = (...p: Buffer[]): Buffer => createHash('sha256').update(Buffer.concat(p)).digest();
const k = (n: number): number => {
  let x = 1;
  while (x * 2 < n) x *= 2;
  return x;
};
function mth(d: Buffer[]): Buffer {
  if (d.length === 0) return sha();
  if (d.length === 1) return sha(Buffer.from([0]), d[0]!);
  const s = k(d.length);
  return sha(Buffer.from([1]), mth(d.slice(0, s)), mth(d.slice(s)));
}
function path(m: number, d: Buffer[]): Buffer[] {
  if (d.length <= 1) return [];
  const s = k(d.length);
  return m < s ? [...path(m, d.slice(0, s)), mth(d.slice(s))] : [...path(m - s, d.slice(s)), mth(d.slice(0, s))];
}

const data = (n: number, salt = 0): Buffer[] => Array.from({ length: n }, (_, i) => Buffer.from(`leaf ${salt}/${i}`));

describe('RFC 6962 Merkle tree', () => {
  it('known answers: the empty tree, one leaf, domain separation of leaf and node', () => {
    expect(merkleRoot([]).toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    // RFC 6962 test vector: the leaf hash of the empty string.
    expect(merkleLeafHash(Buffer.alloc(0)).toString('hex')).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
    const [a, b] = data(2).map(merkleLeafHash);
    // A two-leaf root is not the leaf hash of the concatenation (second-preimage trick).
    expect(merkleRoot([a!, b!]).equals(merkleLeafHash(Buffer.concat([a!, b!])))).toBe(false);
  });

  it('property: root and every audit path equal the recursive definition, for every size 1..70 and random larger ones', () => {
    const next = seeded(0x6962);
    const sizes = [...Array.from({ length: 70 }, (_, i) => i + 1), ...Array.from({ length: 10 }, () => 71 + next(2000))];
    for (const n of sizes) {
      const d = data(n, n);
      const leaves = d.map(merkleLeafHash);
      const t = merkleTree(leaves);
      expect(t.root.equals(mth(d))).toBe(true);
      for (const m of n <= 70 ? Array.from({ length: n }, (_, i) => i) : [0, n - 1, next(n), next(n)]) {
        const p = t.proof(m);
        expect(p.map((x) => x.toString('hex'))).toEqual(path(m, d).map((x) => x.toString('hex')));
        expect(verifyMerkleInclusion(leaves[m]!, m, n, p, t.root)).toBe(true);
      }
    }
  });

  // The tree size is not among the edits: a path proves a position in a tree of a stated size
  // (leaf 0 of 3 and of 4 share a path), which is why an anchor records fromIndex..toIndex on
  // the ledger and the verifier takes the size from there, never from the proof.
  it('property: any edit of leaf, index, path or root fails the proof, never throws', () => {
    const next = seeded(0x51ee7);
    for (let round = 0; round < 300; round++) {
      const n = 1 + next(300);
      const leaves = data(n, round).map(merkleLeafHash);
      const t = merkleTree(leaves);
      const m = next(n);
      const p = t.proof(m);
      const flip = (b: Buffer): Buffer => {
        const c = Buffer.from(b);
        c[next(32)] ^= 1 << next(8);
        return c;
      };
      const edits: (() => boolean)[] = [
        () => verifyMerkleInclusion(flip(leaves[m]!), m, n, p, t.root),
        () => verifyMerkleInclusion(leaves[m]!, m, n, p, flip(t.root)),
        () => (p.length === 0 ? false : verifyMerkleInclusion(leaves[m]!, m, n, p.map((x, i) => (i === next(p.length) ? flip(x) : x)), t.root)),
        () => verifyMerkleInclusion(leaves[m]!, (m + 1 + next(n)) % (n + 1), n, p, t.root),
        () => verifyMerkleInclusion(leaves[m]!, m, n, [...p, leaves[0]!], t.root),
        () => (p.length === 0 ? false : verifyMerkleInclusion(leaves[m]!, m, n, p.slice(1), t.root)),
        () => verifyMerkleInclusion(leaves[m]!, -1, n, p, t.root) || verifyMerkleInclusion(leaves[m]!, n, n, p, t.root) || verifyMerkleInclusion(leaves[m]!, 0.5, n, p, t.root),
        () => verifyMerkleInclusion(leaves[m]!.subarray(1), m, n, p, t.root),
      ];
      const which = next(edits.length);
      expect({ round, n, m, which, verified: edits[which]!() }).toEqual({ round, n, m, which, verified: false });
    }
  });

  it('a tree of a million leaf hashes: root and a proof, each proof log2 long', () => {
    const leaves = Array.from({ length: 1 << 20 }, (_, i) => merkleLeafHash(Buffer.from(String(i))));
    const t = merkleTree(leaves);
    const p = t.proof(123_456);
    expect(p).toHaveLength(20);
    expect(verifyMerkleInclusion(leaves[123_456]!, 123_456, leaves.length, p, t.root)).toBe(true);
    expect(() => t.proof(leaves.length)).toThrow(RangeError);
  });
});
