import { ErrorCodes, fail } from '../errors';
import { Limits } from '../limits';
import { compositeRange } from './keys';
import type { Entry, StateReader } from './state';

/*
 * Pages of a list (issue #20 item 4). A list function reads one page of keys with Fabric's
 * paginated range query, which the peer bounds by the page size (not by its silent
 * totalQueryLimit), and answers the bookmark of the next page: '' means this was the last.
 * Paginated queries are for read-only functions only (the peer refuses writes after one).
 */

/** What a list function answers. */
export interface Page<T> {
  items: T[];
  /** Opaque; pass it back for the next page. '' = no more pages. */
  bookmark: string;
}

export interface PageRequest {
  size: number;
  /** The caller's bookmark as given ('' = first page). */
  bookmark: string;
}

const PAGE_SIZE = /^[1-9][0-9]{0,3}$/;
// A bookmark is a state key in base64url: up to 3 bytes per character of the longest key (a
// grant's: a 2,048-character identity plus the twin ID and permission), 4 characters per 3 bytes.
const BOOKMARK = new RegExp(`^[A-Za-z0-9_-]{1,${Limits.MAX_BOOKMARK_CHARS}}$`);

/** pageSize '' = the default; else a whole number from 1 to MAX_PAGE_SIZE. */
export function parsePageSize(v: unknown): number {
  if (v === undefined || v === '') return Limits.DEFAULT_PAGE_SIZE;
  const n = typeof v === 'string' && PAGE_SIZE.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= Limits.MAX_PAGE_SIZE)) fail(ErrorCodes.VALIDATION_FAILED, `pageSize must be a whole number from 1 to ${Limits.MAX_PAGE_SIZE} (or '' for ${Limits.DEFAULT_PAGE_SIZE})`);
  return n;
}

export function parsePage(pageSize: unknown, bookmark: unknown): PageRequest {
  const size = parsePageSize(pageSize);
  if (bookmark === undefined || bookmark === '') return { size, bookmark: '' };
  if (typeof bookmark !== 'string' || !BOOKMARK.test(bookmark)) fail(ErrorCodes.VALIDATION_FAILED, 'bookmark must be a bookmark this list answered');
  return { size, bookmark };
}

/** A state key as a bookmark: base64url, so it travels in URLs and JSON unchanged. */
export const encodeBookmark = (key: string): string => (key === '' ? '' : Buffer.from(key, 'utf8').toString('base64url'));

/**
 * The key a bookmark names, which must lie inside the list's own range: the peer starts the
 * next page at whatever key it is given, so a bookmark from elsewhere (another twin's
 * documents) would otherwise read keys the caller's checks never covered.
 */
export function bookmarkKey(bookmark: string, [start]: readonly [string, string]): string {
  const key = Buffer.from(bookmark, 'base64url').toString('utf8');
  // Every paged range is a whole prefix (compositeRange), so "inside" is "starts with it".
  if (encodeBookmark(key) !== bookmark || !key.startsWith(start) || key === start) {
    fail(ErrorCodes.VALIDATION_FAILED, 'bookmark does not belong to this list (pass back the bookmark of its previous page)');
  }
  return key;
}

/**
 * One page of [start, end), mapped and filtered.
 *
 * Unfiltered lists answer the peer's page as it is. A filtered list (the map leaves records
 * out: documents above the caller's level, twins it may not read) must never put a left-out
 * record's key in its bookmark, nor answer short pages whose size counts what it left out: it
 * reads on until the page is full or the range ends, and the bookmark starts just after the
 * last record shown. Reading stops after Limits.MAX_PAGE_SCAN records; a page that ends there
 * answers a bookmark cut to the shortest key between the last record read and the next, so at
 * most a prefix of a left-out key is named, once per MAX_PAGE_SCAN left-out records.
 */
export async function pageRange<T, U = T>(
  r: StateReader,
  range: readonly [string, string],
  req: PageRequest,
  map?: (e: Entry<T>) => U | undefined | Promise<U | undefined>,
): Promise<Page<U>> {
  let cursor = req.bookmark === '' ? undefined : bookmarkKey(req.bookmark, range);
  if (map === undefined) {
    const { entries, next } = await r.page<T>(range[0], range[1], req.size, cursor);
    return { items: entries.map((e) => e.value as unknown as U), bookmark: encodeBookmark(next) };
  }
  const items: U[] = [];
  let lastShown: string | undefined;
  let lastRead = '';
  for (let scanned = 0; ; ) {
    // Ask for no more than the page still needs, so a full page ends on a record shown.
    const { entries, next } = await r.page<T>(range[0], range[1], Math.min(req.size - items.length, Limits.MAX_PAGE_SCAN - scanned), cursor);
    for (const e of entries) {
      const v = await map(e);
      if (v !== undefined) {
        items.push(v);
        lastShown = e.key;
      }
      lastRead = e.key;
    }
    scanned += entries.length;
    if (next === '') return { items, bookmark: '' };
    // Just after the last record shown: '\u0000' is the smallest character, so no key lies between.
    if (items.length === req.size) return { items, bookmark: encodeBookmark(`${lastShown as string}\u0000`) };
    if (scanned >= Limits.MAX_PAGE_SCAN) return { items, bookmark: encodeBookmark(separator(lastRead, next)) };
    cursor = next;
  }
}

/** The shortest key k with a < k <= b (a < b): b cut one character past their common prefix. */
function separator(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return b.slice(0, i + 1);
}

export const pageOf = <T, U = T>(
  r: StateReader,
  type: string,
  attrs: readonly string[],
  req: PageRequest,
  map?: (e: Entry<T>) => U | undefined | Promise<U | undefined>,
): Promise<Page<U>> => pageRange<T, U>(r, compositeRange(type, attrs), req, map);

/** Every entry of [start, end), page by page: for read-only functions that need them all. */
export async function listAllPaged<T>(r: StateReader, start: string, end: string, max: number, what: string): Promise<Entry<T>[]> {
  const out: Entry<T>[] = [];
  let from: string | undefined;
  do {
    const { entries, next } = await r.page<T>(start, end, Limits.MAX_PAGE_SIZE, from);
    out.push(...entries);
    if (out.length > max) fail(ErrorCodes.TOO_LARGE, `${what} has more than ${max} entries`);
    from = next === '' ? undefined : next;
  } while (from !== undefined);
  return out;
}
