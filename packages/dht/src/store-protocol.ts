import type { Logger } from '@twinledger/observability';
import { isTwinLedgerError } from '@twinledger/errors';
import { isHash, isRecord, isSafeInt, sha256, toHex, type Hex } from './codec.js';
import { parseAclRecord, type AclRecord } from './acl-record.js';
import { AclDeniedError, BindingConflictError, ItemNotFoundError, IntegrityError, MalformedMessageError, MessageTooLargeError, StaleAclVersionError, UnknownPartyError } from './errors.js';
import { parseFeedHead, parseFeedUpdate } from './feed-records.js';
import { bodyLength, type Frame } from './framing.js';
import type { BlobKind, LocalStore } from './local-store.js';
import { parseLocator } from './locator.js';
import { decodeManifest } from './manifest.js';
import type { Party, PartyRegistry } from './party-registry.js';
import type { DhtMetrics } from './metrics.js';

/**
 * The storing side of `/twinledger/store/1.0.0`: one request frame in, one response frame
 * out. Every header is validated here (unknown ops and fields are refused with
 * DHT_MALFORMED_MESSAGE), every hash is recomputed, every signature verified. Reads (chunks,
 * manifests, ACL records, locators, feed heads and updates) are served only to peers whose party
 * is in the governing object's ACL as held here, or that are themselves one of the first r
 * replicas of the item's placement key (they store it anyway, as ciphertext they may not be able
 * to decrypt); `have` (repair's "what do you lack") only to those replicas. Refusals are
 * DHT_ACL_DENIED. Errors become `{ ok: false, code, message, details }`; nothing a peer sends
 * can crash the node.
 */
export const STORE_PROTOCOL = '/twinledger/store/1.0.0';

export type StoreOp =
  | 'put-chunk'
  | 'put-manifest'
  | 'get-blob'
  | 'put-acl'
  | 'get-acl'
  | 'put-locator'
  | 'get-locator'
  | 'put-feed-update'
  | 'get-feed-update'
  | 'put-feed-head'
  | 'get-feed-head'
  | 'have';

export type HaveKind = BlobKind | 'acl' | 'locator' | 'feed-update' | 'feed-head';
export interface HaveItem {
  readonly kind: HaveKind;
  readonly id: Hex;
  /** For `acl` (version) and `feed-head` (sequence): what the asker holds; the item counts as missing below it. */
  readonly version?: number;
}

export const MAX_HAVE_ITEMS = 8192;
const HAVE_KINDS: readonly HaveKind[] = ['chunk', 'manifest', 'acl', 'locator', 'feed-update', 'feed-head'];

export interface StoreHandlerComponents {
  readonly store: LocalStore;
  readonly registry: PartyRegistry;
  readonly logger: Logger;
  readonly metrics?: DhtMetrics;
  /**
   * Whether `peerId` is one of the first r replicas of placement key `key` as this node sees the
   * consortium (live candidates or the whole registry). Such a peer may read an item's metadata and
   * ask `have` even when its party is outside the ACL: repair between replicas of different orgs.
   * Absent: no replica exemption.
   */
  readonly isReplica?: (peerId: string, key: Hex) => Promise<boolean>;
}

export interface StoreHandlerInit {
  /** Largest chunk ciphertext accepted, bytes. */
  readonly maxChunkBytes: number;
}

export type StoreHandler = (remotePeerId: string, request: Frame) => Promise<Frame>;

const ok = (header: Record<string, unknown> = {}, body?: Uint8Array): Frame => ({ header: { ok: true, ...header }, body: body ?? new Uint8Array() });

function allowedKeys(h: Record<string, unknown>, keys: readonly string[]): void {
  for (const key of Object.keys(h)) if (key !== 'op' && !keys.includes(key)) throw new MalformedMessageError('unknown field in request', { details: { field: key } });
}

function hashField(h: Record<string, unknown>, name: string): Hex {
  const v = h[name];
  if (!isHash(v)) throw new MalformedMessageError(`field ${name} must be a 32-byte hex hash`, { details: { field: name } });
  return v;
}

/** The store protocol's operations (what `dispatch` answers). */
export const STORE_OPS: ReadonlySet<string> = new Set([
  'put-chunk', 'put-manifest', 'get-blob', 'put-acl', 'get-acl', 'put-locator', 'get-locator',
  'put-feed-update', 'get-feed-update', 'put-feed-head', 'get-feed-head', 'have',
]);

export function createStoreHandler(init: Readonly<StoreHandlerInit>, components: StoreHandlerComponents): StoreHandler {
  const { store, registry, logger, metrics, isReplica } = components;

  /**
   * The read rule for every item: the requester's party is in the ACL held here for the item's
   * object, or the requester is a replica of the item's placement key. Anything else is refused
   * with the same code get-blob uses, so callers see one refusal whatever they asked for.
   */
  async function authorize(op: StoreOp, party: Party, remotePeerId: string, key: Hex, acl: AclRecord | undefined, objectId: Hex | undefined): Promise<void> {
    if (acl !== undefined && acl.parties.includes(party.mspId)) return;
    if (isReplica !== undefined && (await isReplica(remotePeerId, key))) return;
    metrics?.aclDenials.inc({ op });
    throw new AclDeniedError('party is not in the item ACL', { details: { ...(objectId ? { objectId } : {}), mspId: party.mspId } });
  }

  /** Stores the ACL record a metadata write carries (its object's), so this node can enforce it; a newer one held stays. */
  async function keepAcl(raw: unknown, objectId: Hex | undefined, owner: Hex): Promise<AclRecord | undefined> {
    if (raw === undefined) return undefined;
    const acl = parseAclRecord(raw);
    if (acl.owner !== owner || (objectId !== undefined && acl.objectId !== objectId)) throw new MalformedMessageError('ACL record is not the item\'s object ACL');
    try {
      await store.putAcl(acl);
    } catch (err) {
      if (!(err instanceof StaleAclVersionError)) throw err;
    }
    return acl;
  }

  /** The object whose ACL governs a feed's records: the (owner-signed) head's, else the binding its updates brought. */
  async function feedObjectId(feedId: Hex): Promise<Hex | undefined> {
    return (await store.getFeedHead(feedId))?.objectId ?? (await store.feedObject(feedId));
  }

  async function dispatch(remotePeerId: string, req: Frame): Promise<Frame> {
    const party = registry.partyOf(remotePeerId);
    if (party === undefined) throw new UnknownPartyError('peer is not bound to a consortium party');
    const h = req.header;
    const op = h['op'];
    switch (op) {
      case 'put-chunk':
      case 'put-manifest': {
        allowedKeys(h, ['objectId', 'hash', 'acl']);
        const objectId = hashField(h, 'objectId');
        const hash = hashField(h, 'hash');
        const acl = parseAclRecord(h['acl']);
        if (acl.objectId !== objectId) throw new MalformedMessageError('ACL record is for another object');
        // A chunk from this node's own writer may come as its sealed pieces (Frame.bodyPieces).
        const pieces = op === 'put-chunk' && req.bodyPieces !== undefined ? req.bodyPieces : [req.body];
        if (op === 'put-chunk') {
          const bytes = bodyLength(pieces);
          if (bytes > init.maxChunkBytes) throw new MessageTooLargeError('chunk exceeds the size limit', { details: { bytes, max: init.maxChunkBytes } });
          if ((req.bodyHash ?? toHex(sha256(...pieces))) !== hash) throw new IntegrityError('chunk does not hash to its address', { details: { hash } });
        } else {
          const m = decodeManifest(req.body, hash);
          if (m.objectId !== objectId) throw new MalformedMessageError('manifest is for another object');
        }
        try {
          await store.putAcl(acl);
        } catch (err) {
          // A newer ACL is already held: keep it, still accept the content.
          if (!(err instanceof StaleAclVersionError)) throw err;
        }
        const result = await store.putBlob(op === 'put-chunk' ? 'chunk' : 'manifest', hash, objectId, pieces);
        return ok({ result });
      }
      case 'get-blob': {
        allowedKeys(h, ['kind', 'hash']);
        const kind = h['kind'];
        if (kind !== 'chunk' && kind !== 'manifest') throw new MalformedMessageError('kind must be chunk or manifest');
        const hash = hashField(h, 'hash');
        const blob = await store.getBlob(kind, hash);
        if (blob === undefined) throw new ItemNotFoundError('not held here', { details: { hash } });
        const acl = await store.getAcl(blob.objectId);
        if (acl === undefined || !acl.parties.includes(party.mspId)) {
          metrics?.aclDenials.inc({ op });
          throw new AclDeniedError('party is not in the object ACL', { details: { objectId: blob.objectId, mspId: party.mspId } });
        }
        return ok({ objectId: blob.objectId }, blob.bytes);
      }
      case 'put-acl': {
        allowedKeys(h, ['acl', 'refresh']);
        const acl = parseAclRecord(h['acl']);
        // A refresh (the owner's new version, sent to every node after the quorum write) lands only
        // where an older version is held for metadata: it must not make every node an ACL holder.
        if (h['refresh'] === true && (await store.getAcl(acl.objectId)) === undefined) return ok({ result: 'skipped', version: acl.version });
        const result = await store.putAcl(acl);
        return ok({ result, version: acl.version });
      }
      case 'get-acl': {
        allowedKeys(h, ['objectId']);
        const objectId = hashField(h, 'objectId');
        const acl = await store.getAcl(objectId);
        if (acl === undefined) throw new ItemNotFoundError('no ACL held here');
        await authorize(op, party, remotePeerId, objectId, acl, objectId);
        return ok({ acl });
      }
      case 'put-locator': {
        allowedKeys(h, ['locator', 'acl']);
        const locator = parseLocator(h['locator']);
        await keepAcl(h['acl'], locator.objectId, locator.owner);
        return ok({ result: await store.putLocator(locator) });
      }
      case 'get-locator': {
        allowedKeys(h, ['ref']);
        const ref = hashField(h, 'ref');
        const locator = await store.getLocator(ref);
        if (locator === undefined) throw new ItemNotFoundError('no locator held here');
        await authorize(op, party, remotePeerId, ref, await store.getAcl(locator.objectId), locator.objectId);
        return ok({ locator });
      }
      case 'put-feed-update': {
        allowedKeys(h, ['address', 'update', 'acl', 'locator']);
        const address = hashField(h, 'address');
        const update = parseFeedUpdate(h['update'], address);
        // The update names no object. The owner's locator of its segment (ref -> object id, signed
        // by the feed's owner) proves which object's ACL governs the feed; without one, an ACL of
        // the owner's key is taken provisionally (any of the owner's objects), and a proven binding
        // replaces it later. A held head (owner-signed, names the object) overrides both on reads.
        const locator = h['locator'] === undefined ? undefined : parseLocator(h['locator']);
        if (locator !== undefined && (locator.ref !== update.ref || locator.owner !== update.owner)) throw new MalformedMessageError('locator is not the update segment\'s');
        const acl = await keepAcl(h['acl'], locator?.objectId, update.owner);
        if (locator !== undefined && acl === undefined) throw new MalformedMessageError('a locator comes with its ACL record');
        if (acl !== undefined) {
          if (locator !== undefined) await store.putLocator(locator);
          if (!(await store.bindFeedObject(update.feedId, acl.objectId, locator !== undefined))) {
            throw new BindingConflictError('feed is bound to another object', { details: { feedId: update.feedId } });
          }
        }
        return ok({ result: await store.putFeedUpdate(address, update) });
      }
      case 'get-feed-update': {
        allowedKeys(h, ['address']);
        const address = hashField(h, 'address');
        const update = await store.getFeedUpdate(address);
        if (update === undefined) throw new ItemNotFoundError('no feed update held here');
        const objectId = await feedObjectId(update.feedId);
        await authorize(op, party, remotePeerId, address, objectId === undefined ? undefined : await store.getAcl(objectId), objectId);
        return ok({ update });
      }
      case 'put-feed-head': {
        allowedKeys(h, ['head', 'acl']);
        const head = parseFeedHead(h['head']);
        await keepAcl(h['acl'], head.objectId, head.owner);
        return ok({ result: await store.putFeedHead(head) });
      }
      case 'get-feed-head': {
        allowedKeys(h, ['feedId']);
        const feedId = hashField(h, 'feedId');
        const head = await store.getFeedHead(feedId);
        if (head === undefined) throw new ItemNotFoundError('no feed head held here');
        await authorize(op, party, remotePeerId, feedId, await store.getAcl(head.objectId), head.objectId);
        return ok({ head });
      }
      case 'have': {
        allowedKeys(h, ['key', 'items']);
        // Only the key's replicas may ask, decided before looking at any holding: versions and
        // existence (feed indices, ACL versions) are metadata too, and a refusal that depended on
        // holding would itself reveal it. Repair, the only user, asks from replica to replica.
        const key = hashField(h, 'key');
        await authorize(op, party, remotePeerId, key, undefined, undefined);
        const items = h['items'];
        if (!Array.isArray(items) || items.length > MAX_HAVE_ITEMS) throw new MalformedMessageError('items must be an array of at most 8192 entries');
        const missing: number[] = [];
        for (const [i, it] of items.entries()) {
          if (!isRecord(it) || !HAVE_KINDS.includes(it['kind'] as HaveKind) || !isHash(it['id']) || (it['version'] !== undefined && !isSafeInt(it['version'], 1))) {
            throw new MalformedMessageError('malformed have item', { details: { index: i } });
          }
          if (!(await holds(key, it as unknown as HaveItem))) missing.push(i);
        }
        return ok({ missing });
      }
      default:
        throw new MalformedMessageError('unknown op', { details: { op: typeof op === 'string' ? op.slice(0, 64) : typeof op } });
    }
  }

  /** Items of another key than the one asked under count as missing: a replica of one key learns nothing about others. */
  async function holds(key: Hex, it: HaveItem): Promise<boolean> {
    if (it.kind !== 'chunk' && it.kind !== 'manifest' && it.id !== key) return false;
    switch (it.kind) {
      case 'chunk':
      case 'manifest': {
        return (await store.blobObjectId(it.id)) === key && store.hasBlob(it.kind, it.id);
      }
      case 'acl': {
        const acl = await store.getAcl(it.id);
        return acl !== undefined && acl.version >= (it.version ?? 1);
      }
      case 'locator':
        return (await store.getLocator(it.id)) !== undefined;
      case 'feed-update':
        return (await store.getFeedUpdate(it.id)) !== undefined;
      case 'feed-head': {
        const head = await store.getFeedHead(it.id);
        return head !== undefined && head.seq >= (it.version ?? 1);
      }
    }
  }

  return async (remotePeerId, req) => {
    // The op is a metric label: anything but a known op counts as 'invalid', so a peer sending
    // made-up ops cannot grow the label set without bound.
    const op = typeof req.header['op'] === 'string' && STORE_OPS.has(req.header['op']) ? req.header['op'] : 'invalid';
    const started = performance.now();
    try {
      const res = await dispatch(remotePeerId, req);
      metrics?.requests.inc({ op, result: 'ok' });
      return res;
    } catch (err) {
      return errorFrame(err, op, logger, metrics);
    } finally {
      metrics?.serveSeconds.observe({ op }, (performance.now() - started) / 1000);
    }
  };
}

/** The response for a failed request: coded errors pass through, anything else is hidden as internal. */
export function errorFrame(err: unknown, op: string, logger: Logger, metrics?: DhtMetrics): Frame {
  if (isTwinLedgerError(err)) {
    metrics?.requests.inc({ op, result: err.code });
    return { header: { ok: false, code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) }, body: new Uint8Array() };
  }
  metrics?.requests.inc({ op, result: 'DHT_INTERNAL' });
  logger.error({ err, op }, 'store request failed');
  return { header: { ok: false, code: 'DHT_INTERNAL', message: 'internal error' }, body: new Uint8Array() };
}
