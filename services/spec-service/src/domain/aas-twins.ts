import { AasCursorInvalidError, mapTwin, type AasTwin, type TwinDocument, type TwinSource } from '@twinledger/aas';
import { ChaincodeAccessDeniedError, ChaincodeNotFoundError, type Twin, type TwinLedger } from '@twinledger/ledger';
import type { RouteDeps } from '../context.js';

/** Where the API's File elements point: spec-service's own verified download (relative to its base URL). */
export const downloadRoute = (twinId: string) => (d: TwinDocument): string => `/twins/${twinId}/documents/${d.hash}/content`;

/** A list the caller may not read at all is, for the shell, an empty one (the chaincode refuses it with ACCESS_DENIED). */
async function orNone<T>(p: Promise<T[]>): Promise<T[]> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof ChaincodeAccessDeniedError) return [];
    throw err;
  }
}

/**
 * The twin's current state as the caller (`l` signs as them) may read it. The specification is
 * read first, through the revision-keyed cache: that read is the authorization (the chaincode
 * checks spec:read and refuses with ACCESS_DENIED or NOT_FOUND exactly as for GET
 * /twins/:twinId/spec). Documents are the ones the caller may read; feeds only if they may list them.
 */
export async function currentSource(deps: RouteDeps, l: TwinLedger, twinId: string, documentLink = downloadRoute(twinId)): Promise<TwinSource> {
  const { entry, lookup } = await deps.specCache.read(l, twinId);
  deps.specCacheLookups.inc({ result: lookup });
  const [twin, documents, feeds] = await Promise.all([l.getTwin(twinId), orNone(l.listDocuments(twinId)), orNone(l.listSensorFeeds(twinId))]);
  // A specification last written by a chaincode without revisions: the twin's creation is the last known change.
  const txId = entry.revision !== '' ? entry.revision : twin.txId;
  const block = deps.journal.blockOf(txId);
  return { twinId, deviceId: twin.deviceId, deviceName: twin.deviceName, aml: entry.aml, txId, ...(block !== undefined ? { blockNumber: block } : {}), documents, feeds, documentLink };
}

export async function currentTwin(deps: RouteDeps, l: TwinLedger, twinId: string): Promise<AasTwin> {
  return mapTwin(await currentSource(deps, l, twinId));
}

/** A refusal that means "not (or no longer) readable": a twin listed a moment ago and then not readable is left out of a list. */
const gone = (err: unknown): boolean => err instanceof ChaincodeAccessDeniedError || err instanceof ChaincodeNotFoundError;

interface Cursor {
  /** The ledger bookmark of the page of twins the next item is on. */
  readonly b: string;
  /** Items of that page already served. */
  readonly k: number;
  /** The page size it was read with (the same bookmark with another size is another page). */
  readonly n: number;
}

const MAX_CURSOR = 16_384;

function decodeCursor(cursor: string): Cursor {
  try {
    if (cursor.length > MAX_CURSOR || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('alphabet');
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (typeof c.b !== 'string' || !/^[A-Za-z0-9_-]*$/.test(c.b) || !Number.isSafeInteger(c.k) || c.k! < 0 || !Number.isSafeInteger(c.n) || c.n! < 1 || c.n! > 100) throw new Error('shape');
    return c as Cursor;
  } catch (cause) {
    throw new AasCursorInvalidError('the cursor was not issued by this service', { cause });
  }
}
const encodeCursor = (c: Cursor): string => Buffer.from(JSON.stringify(c)).toString('base64url');

/** Offsets in one object's list (a shell's submodel references). */
export function offsetCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const c = decodeCursor(cursor);
  if (c.b !== '') throw new AasCursorInvalidError('the cursor was not issued for this list');
  return c.k;
}
export const nextOffsetCursor = (offset: number): string => encodeCursor({ b: '', k: offset, n: 1 });

/**
 * One page of items across the twins the caller may read, in the ledger's twin order (its
 * listTwins, which leaves out what the caller may not read, so nothing of an unreadable twin is
 * ever named). The cursor is the twins' ledger bookmark plus how many items of that twin page
 * were served.
 */
export async function pageAcrossTwins<T>(l: TwinLedger, cursor: string | undefined, limit: number, itemsOf: (twin: Twin) => Promise<readonly T[]>): Promise<{ result: T[]; cursor?: string }> {
  const start = cursor === undefined ? { b: '', k: 0, n: Math.min(limit, 20) } : decodeCursor(cursor);
  let { b: bookmark, k: skip } = start;
  const size = start.n;
  const out: T[] = [];
  for (;;) {
    const page = await l.listTwinsPage({ limit: size, bookmark });
    const items = (
      await Promise.all(
        page.items.map((t) =>
          itemsOf(t).catch((err: unknown) => {
            if (gone(err)) return [] as T[];
            throw err;
          }),
        ),
      )
    ).flat();
    const available = items.slice(skip);
    const room = limit - out.length;
    if (available.length > room) {
      out.push(...available.slice(0, room));
      return { result: out, cursor: encodeCursor({ b: bookmark, k: skip + room, n: size }) };
    }
    out.push(...available);
    if (page.bookmark === '' || page.bookmark === bookmark) return { result: out };
    bookmark = page.bookmark;
    skip = 0;
    if (out.length === limit) return { result: out, cursor: encodeCursor({ b: bookmark, k: 0, n: size }) };
  }
}
