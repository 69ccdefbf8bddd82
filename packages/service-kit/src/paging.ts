import { Type, type TSchema } from '@sinclair/typebox';

/*
 * Pages of ledger lists and histories on REST (issue #20 item 4): `?limit=&bookmark=` in, the
 * chaincode's `{ items, bookmark }` out. The chaincode decides what a bookmark means (a state
 * key, a sequence number, a transaction ID) and checks it; here only its alphabet.
 */

/** The chaincode's Limits.MAX_PAGE_SIZE and DEFAULT_PAGE_SIZE (packages/ledger mirrors them). */
const MAX_PAGE_SIZE = 1000;
const DEFAULT_PAGE_SIZE = 100;
/** The chaincode's Limits.MAX_BOOKMARK_CHARS: the longest bookmark a list answers (a state key in base64url). */
const MAX_BOOKMARK_CHARS = 12_288;

export const PageQueryProperties = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, description: `items per page; default ${DEFAULT_PAGE_SIZE}` })),
  bookmark: Type.Optional(
    Type.String({ maxLength: MAX_BOOKMARK_CHARS, pattern: '^[A-Za-z0-9_-]*$', description: 'the `bookmark` of the previous page; omitted or empty = the first page' }),
  ),
};

/** `?limit=&bookmark=` of a paged route (extend it with the route's own query fields). */
export const PageQuery = Type.Object(PageQueryProperties, { additionalProperties: false });

export const Bookmark = Type.String({
  description: "where the next page starts: pass it as ?bookmark=. '' = this was the last page. A page may hold fewer than `limit` items and still not be the last",
});

/** The answer of a paged list route. */
export const PageOf = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), bookmark: Bookmark });
