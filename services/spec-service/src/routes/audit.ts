import { createHash } from 'node:crypto';
import type { TwinLedger } from '@twinledger/ledger';
import { ValidationError } from '@twinledger/errors';
import type { ServiceApp } from '@twinledger/service-kit';
import { PageQueryProperties, Sha256Hex, Type, withErrors } from '@twinledger/service-kit';
import type { RouteDeps } from '../context.js';
import { fetchVerified, pickVersion } from '../domain/documents.js';
import { AuditBundlesUnavailableError } from '../domain/errors.js';
import { LedgerRecord, TwinParams } from '@twinledger/ledger-gateway';
import { AsOf, ElementId, requireAsOfBound } from '../schemas.js';

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

// Open objects (the chaincode's answer passes through), with the fields that carry the order.
const Seq = Type.Integer({ minimum: 1, description: "1-based position of the change in the twin's ledger order (block, then position in it); createTwin is 1" });
const HistoryAnswer = Type.Object(
  {
    twinId: Type.String(),
    changes: Type.Array(
      Type.Object(
        {
          seq: Seq,
          txId: Type.String(),
          timestamp: Type.String({ description: "the submitter's proposal timestamp as recorded; information, not the order" }),
          blockNumber: Type.Union([Type.Integer(), Type.Null()]),
        },
        { additionalProperties: true },
      ),
      { description: 'in ledger order (seq ascending), one page' },
    ),
    bookmark: Type.String({ description: "the seq where the next page starts (pass it as ?bookmark=); '' = no later change" }),
  },
  { additionalProperties: true },
);
const AsOfAnswer = Type.Object(
  {
    twinId: Type.String(),
    asOf: Type.Object(
      {
        txId: Type.Optional(Type.String()),
        seq: Type.Optional(Type.Integer()),
        timestamp: Type.Optional(Type.String()),
        lastSeq: Seq,
        lastTxId: Type.String(),
        lastTimestamp: Type.String(),
      },
      { description: 'the bound as given and the last change included' },
    ),
  },
  { additionalProperties: true },
);

const AuditBundleAnswer = Type.Object(
  {
    format: Type.String(),
    twinId: Type.String(),
    channel: Type.String(),
    chaincode: Type.String(),
    exportedAt: Type.String(),
    exportedBy: Type.String(),
    asOfSeq: Type.Union([Type.Integer(), Type.Null()]),
    configBlock: Type.String({ description: 'the channel config block, serialized common.Block, base64' }),
    blocks: Type.Array(Type.String(), { description: 'every block holding a change of the twin, base64, ascending' }),
    changes: Type.Array(Type.Object({ seq: Type.Integer(), txId: Type.String(), blockNumber: Type.Integer() })),
    specification: Type.Object({ revisionTxId: Type.String(), state: Type.Record(Type.String(), Type.String()) }),
    documents: Type.Array(Type.Object({ hash: Sha256Hex, contentBase64: Type.String() })),
    feeds: Type.Optional(
      Type.Array(
        Type.Object({
          feedId: Sha256Hex,
          componentId: Type.String(),
          anchors: Type.Array(Type.Object({ txId: Type.String(), blockNumber: Type.Integer() })),
          updates: Type.Array(Type.Object({}, { additionalProperties: true }), { description: 'empty here: merge feed-ingest GET /feeds/:feedId/evidence `updates`' }),
          conflicts: Type.Array(Type.Object({}, { additionalProperties: true }), { description: 'empty here: merge feed-ingest evidence `conflicts`' }),
        }),
        { description: 'with ?feeds=true: each feed of the twin and its anchor transactions in the index range (ADR-18)' },
      ),
    ),
    anchorBlocks: Type.Optional(Type.Array(Type.String(), { description: 'blocks of the feed anchors, base64, ascending' })),
  },
  { description: 'verify offline with `npm run verify -- <file>` (packages/audit)' },
);
/** Most documents one bundle carries: each is fetched and held in memory. */
const MAX_BUNDLE_DOCUMENTS = 8;

/** Most anchors one page of the chaincode's list holds (its MAX_PAGE_SIZE). */
const ANCHOR_PAGE = 1000;

/**
 * Each feed of the twin (its ledger record names the feed ID) and its anchors overlapping
 * from..to, read as the caller: listSensorFeeds and listFeedAnchors need feed:read.
 */
async function anchorsInRange(l: TwinLedger, twinId: string, from: number, to: number): Promise<{ feedId: string; componentId: string; anchorTxIds: string[] }[]> {
  const out: { feedId: string; componentId: string; anchorTxIds: string[] }[] = [];
  for (const f of await l.listSensorFeeds(twinId)) {
    if (!/^[0-9a-f]{64}$/.test(f.feedRef)) continue; // not a feed-ingest feed: nothing can be anchored
    const anchorTxIds: string[] = [];
    let bookmark = '';
    do {
      const page = await l.listFeedAnchorsPage(twinId, f.feedRef, { limit: ANCHOR_PAGE, bookmark });
      for (const a of page.items) if (a.toIndex >= from && a.fromIndex <= to) anchorTxIds.push(a.txId);
      bookmark = page.items.some((a) => a.fromIndex > to) ? '' : page.bookmark;
    } while (bookmark !== '');
    out.push({ feedId: f.feedRef, componentId: f.componentId, anchorTxIds });
  }
  return out;
}

export function auditRoutes(deps: RouteDeps) {
  return async (app: ServiceApp): Promise<void> => {
    app.get(
      '/twins/:twinId/history',
      {
        schema: {
          tags: ['audit'],
          summary: 'Changes of the twin, or of one element (txId, time, party, operation), one page in ledger order',
          description:
            'Pages by sequence number: `bookmark` is the seq the previous page answered. A twin whose change log is longer than the chaincode reads in one call ' +
            '(chaincode README "Limits") answers 413 `TOO_LARGE`, never a shortened history.',
          params: TwinParams,
          querystring: Type.Object({ elementId: Type.Optional(ElementId), ...PageQueryProperties }),
          response: withErrors({ 200: HistoryAnswer }),
        },
      },
      async (req) => {
        const l = await req.ledger();
        const h = await l.historyPage(req.params.twinId, req.query);
        // Block numbers come from the relay's journal (the chaincode cannot see them).
        return { ...h, changes: h.changes.map((c) => ({ ...c, blockNumber: deps.journal.blockOf(c.txId) ?? null })) };
      },
    );

    app.get(
      '/twins/:twinId/as-of',
      { schema: { tags: ['audit'], summary: 'The twin as of a transaction, a sequence number or a time', params: TwinParams, querystring: Type.Object({ at: AsOf }), response: withErrors({ 200: AsOfAnswer }) } },
      async (req) => {
        const at = requireAsOfBound(req.query.at);
        return (await req.ledger()).getTwinAsOf(req.params.twinId, at);
      },
    );

    app.get(
      '/twins/:twinId/audit-export',
      {
        schema: {
          tags: ['audit'],
          summary: 'A bundle for auditors: the transactions, block numbers and hashes to verify a document or a spec version without this service',
          params: TwinParams,
          querystring: Type.Object({ document: Type.Optional(Sha256Hex), at: Type.Optional(AsOf) }),
          response: withErrors({ 200: LedgerRecord }),
        },
      },
      async (req) => {
        const l = await req.ledger();
        const { twinId } = req.params;
        const twin = await l.getTwin(twinId);
        const tx = (txId: string, extra: Record<string, unknown> = {}) => ({ txId, blockNumber: deps.journal.blockOf(txId) ?? null, ...extra });
        if (req.query.document !== undefined) {
          const h = await l.getDocumentHistory(twinId, req.query.document);
          return {
            kind: 'document',
            twinId,
            generatedAt: new Date().toISOString(),
            twin: tx(twin.txId, { createdBy: twin.createdBy, createdAt: twin.createdAt }),
            document: h.document,
            removed: h.removed,
            versions: h.versions,
            transactions: h.ledgerHistory.map((e) => tx(e.txId, { timestamp: e.timestamp, isDelete: e.isDelete })),
            verify: [
              'Fetch each transaction by txId from any peer of the channel (qscc GetTransactionByID / GetBlockByNumber at blockNumber) and check its endorsements and validation code.',
              'The write set of the transaction holds the document record; its hash is the SHA-256 of the plaintext.',
              'Download the object by dhtRef from the DHT, decrypt, and compare its SHA-256 with hash (or the version\'s hash).',
            ],
          };
        }
        const at = req.query.at;
        const state = at === undefined ? undefined : await l.getTwinAsOf(twinId, at);
        const aml = state ? state.specification : (await l.getSpecification(twinId)).aml;
        const history = await l.history(twinId);
        // The changes the state was rebuilt from: a prefix of the ledger order.
        const bound = state?.asOf.lastSeq;
        const changes = history.changes.filter((c) => bound === undefined || c.seq <= bound);
        return {
          kind: 'specification',
          twinId,
          generatedAt: new Date().toISOString(),
          asOf: state?.asOf ?? null,
          twin: tx(twin.txId, { createdBy: twin.createdBy, createdAt: twin.createdAt }),
          specification: { sha256: sha256(aml), bytes: Buffer.byteLength(aml, 'utf8'), aml },
          transactions: changes.map((c) => tx(c.txId, { seq: c.seq, timestamp: c.timestamp, mspId: c.mspId, creator: c.creator, operation: c.operation, targets: c.targets })),
          verify: [
            'Replay the write sets of the listed transactions (fetched from any peer by txId at blockNumber) in seq order, which is block order; the element keys rebuilt give this specification.',
            'Canonical AML is deterministic: the chaincode\'s canonicalizeDocument() of the rebuilt elements has the SHA-256 given here.',
          ],
        };
      },
    );

    app.get(
      '/twins/:twinId/feed-anchors',
      {
        schema: {
          tags: ['audit'],
          summary: "The latest anchored Merkle root of each of the twin's feeds (needs feed:read; ADR-18)",
          params: TwinParams,
          response: withErrors({
            200: Type.Object({
              twinId: Type.String(),
              anchors: Type.Array(
                Type.Object(
                  { feedId: Sha256Hex, componentId: Type.String(), fromIndex: Type.Integer(), toIndex: Type.Integer(), root: Sha256Hex, txId: Type.String(), timestamp: Type.String() },
                  { additionalProperties: true },
                ),
              ),
            }),
          }),
        },
      },
      async (req) => {
        const anchors = await (await req.ledger()).listFeedAnchorTips(req.params.twinId);
        return { twinId: req.params.twinId, anchors: [...anchors] };
      },
    );

    app.get(
      '/twins/:twinId/audit-bundle',
      {
        schema: {
          tags: ['audit'],
          summary: "Block-proof audit bundle: the Fabric blocks of every change of the twin, the channel config block, the replayed specification keys and, on request, documents' bytes",
          description:
            'The history read (as the caller) is the authorization: it needs what GET /twins/:twinId/history needs. Blocks come from this organization\'s peer (qscc). ' +
            '`documents` lists up to 8 document hashes (comma-separated) whose bytes to include; each needs doc:read of its level.',
          params: TwinParams,
          querystring: Type.Object({
            asOfSeq: Type.Optional(Type.Integer({ minimum: 1, description: 'the last change included (seq); default: all' })),
            at: Type.Optional({ ...AsOf, description: `the bound as for GET /twins/:twinId/as-of (${AsOf.description ?? ''}); not together with asOfSeq` }),
            contiguous: Type.Optional(Type.Boolean({ description: 'every block from the creation to the last change, so the list can be proven complete (at most 2,000 blocks, else 413 TOO_LARGE)' })),
            documents: Type.Optional(Type.String({ pattern: `^[0-9a-f]{64}(,[0-9a-f]{64}){0,${MAX_BUNDLE_DOCUMENTS - 1}}$`, description: 'comma-separated SHA-256 hashes' })),
            feeds: Type.Optional(Type.Boolean({ description: "include each feed's anchor transactions (needs feed:read); the anchors overlapping feedFrom..feedTo" })),
            feedFrom: Type.Optional(Type.Integer({ minimum: 0, description: 'first feed update index of interest; default 0' })),
            feedTo: Type.Optional(Type.Integer({ minimum: 0, description: 'last feed update index of interest; default: all' })),
          }),
          response: withErrors({ 200: AuditBundleAnswer }),
        },
      },
      async (req, reply) => {
        if (req.query.at !== undefined && req.query.asOfSeq !== undefined) throw new ValidationError('give at or asOfSeq, not both', { details: { at: req.query.at, asOfSeq: req.query.asOfSeq } });
        const at = req.query.at === undefined ? undefined : requireAsOfBound(req.query.at);
        if (!deps.auditBundles) throw new AuditBundlesUnavailableError('this replica has no block reader');
        const l = await req.ledger();
        const { twinId } = req.params;
        const history = await l.history(twinId);
        // A time or tx bound resolves to a seq the way the as-of route resolves it: the chaincode's.
        const asOfSeq = at === undefined ? req.query.asOfSeq : (await l.getTwinAsOf(twinId, at)).asOf.lastSeq;
        const documents = [];
        for (const hash of req.query.documents?.split(',') ?? []) {
          // As the download route: the chaincode's answer to the caller's own read authorizes.
          const v = pickVersion(await l.getDocumentHistoryPage(twinId, hash, { limit: 1 }), 1);
          const bytes = await fetchVerified(deps.dht, v.dhtRef, v.hash, deps.limits.documentBytes);
          documents.push({ hash: v.hash, contentBase64: Buffer.from(bytes).toString('base64') });
        }
        const feeds = req.query.feeds ? await anchorsInRange(l, twinId, req.query.feedFrom ?? 0, req.query.feedTo ?? Number.MAX_SAFE_INTEGER) : undefined;
        const bundle = await deps.auditBundles.export({
          ...(feeds ? { feeds } : {}),
          twinId,
          changes: history.changes.map((c) => ({ seq: c.seq, txId: c.txId })),
          ...(asOfSeq !== undefined ? { asOfSeq } : {}),
          ...(req.query.contiguous ? { contiguous: true } : {}),
          documents,
        });
        void reply.header('content-disposition', `attachment; filename="audit-${twinId}.json"`);
        // The schema's types are mutable; the bundle is only read from here on.
        const { feeds: bundleFeeds, anchorBlocks, ...rest } = bundle;
        return {
          ...rest,
          blocks: [...bundle.blocks],
          changes: [...bundle.changes],
          documents: [...bundle.documents],
          specification: { ...bundle.specification },
          ...(bundleFeeds ? { feeds: bundleFeeds.map((f) => ({ ...f, anchors: [...f.anchors], updates: [], conflicts: [] })), anchorBlocks: [...(anchorBlocks ?? [])] } : {}),
        };
      },
    );
  };
}
