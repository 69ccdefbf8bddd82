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
const BOOKMARK = /^[A-Za-z0-9_-]{1,2048}$/;

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

/** One page of [start, end), mapped and filtered: a page may hold fewer items than its size. */
export async function pageRange<T, U = T>(
  r: StateReader,
  range: readonly [string, string],
  req: PageRequest,
  map: (e: Entry<T>) => U | undefined | Promise<U | undefined> = (e) => e.value as unknown as U,
): Promise<Page<U>> {
  const from = req.bookmark === '' ? undefined : bookmarkKey(req.bookmark, range);
  const { entries, next } = await r.page<T>(range[0], range[1], req.size, from);
  const items: U[] = [];
  for (const e of entries) {
    const v = await map(e);
    if (v !== undefined) items.push(v);
  }
  return { items, bookmark: encodeBookmark(next) };
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
