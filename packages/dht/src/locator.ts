import { isHash, isHexOfLength, isRecord, type Hex } from './codec.js';
import { InvalidSignatureError, MalformedMessageError } from './errors.js';
import { objectIdOf } from './acl-record.js';
import { signRecord, verifyRecord, type SigningKey } from './signing.js';

/**
 * Maps an object reference (manifest hash) to its object id, so a reader holding only the
 * reference (what the ledger records) finds the replicas, which are placed by object id.
 * Stored on the r nodes closest to the reference; signed by the object's owner; public
 * (it reveals no content), first writer wins.
 */
export interface Locator {
  readonly ref: Hex;
  readonly objectId: Hex;
  readonly owner: Hex;
  readonly nonce: Hex;
  readonly sig: Hex;
}

export function signLocator(key: SigningKey, ref: Hex, nonce: Hex): Locator {
  return signRecord('locator', key, { ref, objectId: objectIdOf(key.publicKey, nonce), owner: key.publicKey, nonce }) as Locator;
}

export function parseLocator(v: unknown): Locator {
  if (
    !isRecord(v) ||
    !isHash(v['ref']) ||
    !isHash(v['objectId']) ||
    !isHexOfLength(v['owner'], 32) ||
    !isHexOfLength(v['nonce'], 16) ||
    !isHexOfLength(v['sig'], 64) ||
    Object.keys(v).length !== 5
  ) {
    throw new MalformedMessageError('malformed locator');
  }
  const loc = v as unknown as Locator;
  if (objectIdOf(loc.owner, loc.nonce) !== loc.objectId || !verifyRecord('locator', loc.owner, { ...loc })) {
    throw new InvalidSignatureError('locator signature does not verify', { details: { ref: loc.ref } });
  }
  return loc;
}
