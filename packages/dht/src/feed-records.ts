import { fromHex, isHash, isHexOfLength, isRecord, isSafeInt, sha256, toHex, uint64be, utf8, type Hex } from './codec.js';
import { InvalidSignatureError, MalformedMessageError, WrongAddressError } from './errors.js';
import { signRecord, verifyRecord, type SigningKey } from './signing.js';

/**
 * Swarm-style feed records. A feed belongs to one owner key and one topic:
 * `feedId = H(owner || topic)`; update `i` lives at `H(feedId || uint64be(i))`. An update
 * carries its index, the time range it covers and the reference of the encrypted segment
 * object (whose content the object ACL protects); the head record carries a monotonic
 * sequence and the latest index. Everything is signed by the owner.
 */
export interface FeedUpdate {
  readonly feedId: Hex;
  readonly owner: Hex;
  readonly topic: string;
  readonly index: number;
  /** Start of the covered time range, ms since the epoch. */
  readonly timeStart: number;
  /** End of the covered time range (inclusive), ms since the epoch. */
  readonly timeEnd: number;
  /** Object reference (manifest hash) of the encrypted segment. */
  readonly ref: Hex;
  readonly sig: Hex;
}

export interface FeedHead {
  readonly feedId: Hex;
  readonly owner: Hex;
  readonly topic: string;
  readonly seq: number;
  readonly latestIndex: number;
  readonly latestTimeEnd: number;
  /** The object id whose ACL protects the feed's segments. */
  readonly objectId: Hex;
  readonly sig: Hex;
}

export const MAX_TOPIC_LENGTH = 256;

export function feedIdOf(owner: Hex, topic: string): Hex {
  return toHex(sha256(fromHex(owner), utf8(topic)));
}

export function feedUpdateAddress(feedId: Hex, index: number): Hex {
  return toHex(sha256(fromHex(feedId), uint64be(index)));
}

function checkTopic(topic: unknown): topic is string {
  return typeof topic === 'string' && topic.length > 0 && topic.length <= MAX_TOPIC_LENGTH;
}

export function signFeedUpdate(key: SigningKey, body: Omit<FeedUpdate, 'sig' | 'feedId' | 'owner'>): FeedUpdate {
  return signRecord('feed-update', key, { ...body, owner: key.publicKey, feedId: feedIdOf(key.publicKey, body.topic) });
}

export function signFeedHead(key: SigningKey, body: Omit<FeedHead, 'sig' | 'feedId' | 'owner'>): FeedHead {
  return signRecord('feed-head', key, { ...body, owner: key.publicKey, feedId: feedIdOf(key.publicKey, body.topic) });
}

function checkBinding(r: { feedId: Hex; owner: Hex; topic: string }): void {
  if (feedIdOf(r.owner, r.topic) !== r.feedId) throw new WrongAddressError('feedId is not H(owner || topic)', { details: { feedId: r.feedId } });
}

/**
 * An update's shape and feed binding (feedId = H(owner || topic)) and, when given, its storage
 * address, without its signature: for a record whose bytes are already vouched for otherwise
 * (an audit path to a root its owner organization anchored, ADR-18), where the Ed25519 check
 * per record would dominate verifying a day of a feed.
 */
export function parseFeedUpdateShape(v: unknown, address?: Hex): FeedUpdate {
  const keys = ['feedId', 'owner', 'topic', 'index', 'timeStart', 'timeEnd', 'ref', 'sig'];
  if (
    !isRecord(v) ||
    !isHash(v['feedId']) ||
    !isHexOfLength(v['owner'], 32) ||
    !checkTopic(v['topic']) ||
    !isSafeInt(v['index']) ||
    !isSafeInt(v['timeStart']) ||
    !isSafeInt(v['timeEnd']) ||
    (v['timeEnd'] as number) < (v['timeStart'] as number) ||
    !isHash(v['ref']) ||
    !isHexOfLength(v['sig'], 64) ||
    Object.keys(v).length !== keys.length ||
    !Object.keys(v).every((k) => keys.includes(k))
  ) {
    throw new MalformedMessageError('malformed feed update');
  }
  const u = v as unknown as FeedUpdate;
  checkBinding(u);
  if (address !== undefined && feedUpdateAddress(u.feedId, u.index) !== address) {
    throw new WrongAddressError('feed update stored at the wrong address', { details: { feedId: u.feedId, index: u.index } });
  }
  return u;
}

/** Whether the update's signature verifies with its owner key. */
export function feedUpdateSignatureValid(u: FeedUpdate): boolean {
  return verifyRecord('feed-update', u.owner, { ...u });
}

/** Validates an update: shape, feed binding, signature and (when given) its storage address. */
export function parseFeedUpdate(v: unknown, address?: Hex): FeedUpdate {
  const u = parseFeedUpdateShape(v, address);
  if (!feedUpdateSignatureValid(u)) throw new InvalidSignatureError('feed update signature does not verify', { details: { feedId: u.feedId, index: u.index } });
  return u;
}

export function parseFeedHead(v: unknown): FeedHead {
  const keys = ['feedId', 'owner', 'topic', 'seq', 'latestIndex', 'latestTimeEnd', 'objectId', 'sig'];
  if (
    !isRecord(v) ||
    !isHash(v['feedId']) ||
    !isHexOfLength(v['owner'], 32) ||
    !checkTopic(v['topic']) ||
    !isSafeInt(v['seq'], 1) ||
    !isSafeInt(v['latestIndex']) ||
    !isSafeInt(v['latestTimeEnd']) ||
    !isHash(v['objectId']) ||
    !isHexOfLength(v['sig'], 64) ||
    Object.keys(v).length !== keys.length ||
    !Object.keys(v).every((k) => keys.includes(k))
  ) {
    throw new MalformedMessageError('malformed feed head');
  }
  const h = v as unknown as FeedHead;
  checkBinding(h);
  if (!verifyRecord('feed-head', h.owner, { ...h })) throw new InvalidSignatureError('feed head signature does not verify', { details: { feedId: h.feedId } });
  return h;
}
