import { createHash } from 'node:crypto';
import type { ServiceApp } from '@twinledger/service-kit';
import { PageQueryProperties, Type } from '@twinledger/service-kit';
import { ledger, type RouteDeps } from '../context.js';
import { AsOf, ElementId, LedgerRecord, Sha256Hex, TwinParams, requireAsOfBound, withErrors } from '../schemas.js';

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
        const l = await ledger(deps, req);
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
        return (await ledger(deps, req)).getTwinAsOf(req.params.twinId, at);
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
        const l = await ledger(deps, req);
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
  };
}
