import type { Logger } from '@twinledger/observability';
import { isTwinLedgerError } from '@twinledger/errors';
import { isHash, isRecord, isSafeInt, sha256, toHex, type Hex } from './codec.js';
import { parseAclRecord } from './acl-record.js';
import { AclDeniedError, ItemNotFoundError, IntegrityError, MalformedMessageError, MessageTooLargeError, StaleAclVersionError, UnknownPartyError } from './errors.js';
import { parseFeedHead, parseFeedUpdate } from './feed-records.js';
import type { Frame } from './framing.js';
import type { BlobKind, LocalStore } from './local-store.js';
import { parseLocator } from './locator.js';
import { decodeManifest } from './manifest.js';
import type { PartyRegistry } from './party-registry.js';
import type { DhtMetrics } from './metrics.js';

/**
 * The storing side of `/twinledger/store/1.0.0`: one request frame in, one response frame
 * out. Every header is validated here (unknown ops and fields are refused with
 * DHT_MALFORMED_MESSAGE), every hash is recomputed, every signature verified, and reads of
 * chunks and manifests are served only to peers whose party is in the object's ACL. Errors
 * become `{ ok: false, code, message, details }`; nothing a peer sends can crash the node.
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
  const { store, registry, logger, metrics } = components;

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
        if (op === 'put-chunk') {
          if (req.body.byteLength > init.maxChunkBytes) throw new MessageTooLargeError('chunk exceeds the size limit', { details: { bytes: req.body.byteLength, max: init.maxChunkBytes } });
          if (toHex(sha256(req.body)) !== hash) throw new IntegrityError('chunk does not hash to its address', { details: { hash } });
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
        const result = await store.putBlob(op === 'put-chunk' ? 'chunk' : 'manifest', hash, objectId, req.body);
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
          metrics?.aclDenials.inc();
          throw new AclDeniedError('party is not in the object ACL', { details: { objectId: blob.objectId, mspId: party.mspId } });
        }
        return ok({ objectId: blob.objectId }, blob.bytes);
      }
      case 'put-acl': {
        allowedKeys(h, ['acl']);
        const acl = parseAclRecord(h['acl']);
        const result = await store.putAcl(acl);
        return ok({ result, version: acl.version });
      }
      case 'get-acl': {
        allowedKeys(h, ['objectId']);
        const acl = await store.getAcl(hashField(h, 'objectId'));
        if (acl === undefined) throw new ItemNotFoundError('no ACL held here');
        return ok({ acl });
      }
      case 'put-locator': {
        allowedKeys(h, ['locator']);
        return ok({ result: await store.putLocator(parseLocator(h['locator'])) });
      }
      case 'get-locator': {
        allowedKeys(h, ['ref']);
        const locator = await store.getLocator(hashField(h, 'ref'));
        if (locator === undefined) throw new ItemNotFoundError('no locator held here');
        return ok({ locator });
      }
      case 'put-feed-update': {
        allowedKeys(h, ['address', 'update']);
        const address = hashField(h, 'address');
        return ok({ result: await store.putFeedUpdate(address, parseFeedUpdate(h['update'], address)) });
      }
      case 'get-feed-update': {
        allowedKeys(h, ['address']);
        const update = await store.getFeedUpdate(hashField(h, 'address'));
        if (update === undefined) throw new ItemNotFoundError('no feed update held here');
        return ok({ update });
      }
      case 'put-feed-head': {
        allowedKeys(h, ['head']);
        return ok({ result: await store.putFeedHead(parseFeedHead(h['head'])) });
      }
      case 'get-feed-head': {
        allowedKeys(h, ['feedId']);
        const head = await store.getFeedHead(hashField(h, 'feedId'));
        if (head === undefined) throw new ItemNotFoundError('no feed head held here');
        return ok({ head });
      }
      case 'have': {
        allowedKeys(h, ['items']);
        const items = h['items'];
        if (!Array.isArray(items) || items.length > MAX_HAVE_ITEMS) throw new MalformedMessageError('items must be an array of at most 8192 entries');
        const missing: number[] = [];
        for (const [i, it] of items.entries()) {
          if (!isRecord(it) || !HAVE_KINDS.includes(it['kind'] as HaveKind) || !isHash(it['id']) || (it['version'] !== undefined && !isSafeInt(it['version'], 1))) {
            throw new MalformedMessageError('malformed have item', { details: { index: i } });
          }
          if (!(await holds(it as unknown as HaveItem))) missing.push(i);
        }
        return ok({ missing });
      }
      default:
        throw new MalformedMessageError('unknown op', { details: { op: typeof op === 'string' ? op.slice(0, 64) : typeof op } });
    }
  }

  async function holds(it: HaveItem): Promise<boolean> {
    switch (it.kind) {
      case 'chunk':
      case 'manifest':
        return store.hasBlob(it.kind, it.id);
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
