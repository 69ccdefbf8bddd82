import { createHash } from 'node:crypto';

/**
 * Merkle trees as Certificate Transparency defines them (RFC 6962 section 2.1, RFC 9162
 * section 2.1): SHA-256, leaves hashed as H(0x00 || data), interior nodes as
 * H(0x01 || left || right), and a tree of n leaves split at the largest power of two below n.
 * The prefixes keep a leaf from ever being passed off as an interior node (the second-preimage
 * trick against unprefixed trees); the split gives every size a unique shape, so a proof names
 * one leaf position in one tree size. Used for feed anchors (ADR-18): the anchorer (feed-ingest)
 * and the verifier (this package, offline) compute with the same code.
 */

const LEAF = Buffer.from([0x00]);
const NODE = Buffer.from([0x01]);

/** H(0x00 || data): the hash of a leaf's data. */
export function merkleLeafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF).update(data).digest();
}

function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

/**
 * The root over leaf hashes (already H(0x00 || data)). Empty: SHA-256("").
 */
export function merkleRoot(leafHashes: readonly Uint8Array[]): Buffer {
  return merkleTree(leafHashes).root;
}

export interface MerkleTree {
  readonly root: Buffer;
  readonly size: number;
  /** RFC 6962 PATH(m, D[n]): the audit path of leaf `index`, leaf side first. */
  proof(index: number): Buffer[];
}

/**
 * Every level of the tree, bottom-up: pairs at each level, an odd last node carried up
 * unchanged. That is RFC 6962's recursive MTH (split at the largest power of two below n) for
 * every n, built in O(n) hashes without recursion, and each audit path is then a walk up the
 * levels (the sibling at each level, none where a lone node was carried up): a feed batch
 * serves a proof per update without rebuilding anything.
 */
export function merkleTree(leafHashes: readonly Uint8Array[]): MerkleTree {
  const size = leafHashes.length;
  if (size === 0) {
    return {
      root: createHash('sha256').digest(),
      size,
      proof: (index) => {
        throw new RangeError(`leaf ${index} is outside an empty tree`);
      },
    };
  }
  const levels: Uint8Array[][] = [[...leafHashes]];
  for (let level = levels[0]!; level.length > 1; ) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    levels.push(next);
    level = next;
  }
  return {
    root: Buffer.from(levels[levels.length - 1]![0]!),
    size,
    proof(index) {
      if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new RangeError(`leaf ${index} is outside a tree of ${size}`);
      const path: Buffer[] = [];
      let i = index;
      for (const level of levels.slice(0, -1)) {
        const sibling = i ^ 1;
        if (sibling < level.length) path.push(Buffer.from(level[sibling]!));
        i = Math.floor(i / 2);
      }
      return path;
    },
  };
}

/**
 * RFC 9162 section 2.1.3.2: does `path` prove the leaf hash at `index` in a tree of `size`
 * leaves with this `root`? False (never a throw) for any malformed input: a wrong length of
 * path, an index outside the tree, a hash of the wrong size.
 */
export function verifyMerkleInclusion(leafHash: Uint8Array, index: number, size: number, path: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (leafHash.length !== 32 || root.length !== 32 || path.some((p) => p.length !== 32)) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leafHash;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        // A right edge with no sibling at this level: climb until this node is a right child.
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.from(r).equals(Buffer.from(root));
}
