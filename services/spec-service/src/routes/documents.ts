import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { TwinLedgerError } from '@twinledger/errors';
import type { ServiceApp } from '@twinledger/service-kit';
import { BinaryBody, Bookmark, ErrorResponse, PageOf, PageQuery, PageQueryProperties, Sha256Hex, Type, withErrors } from '@twinledger/service-kit';
import { docRead, docWrite, type DocumentHistoryPage } from '@twinledger/ledger';
import { cachedRead, fenceOf, type RouteDeps } from '../context.js';
import { fetchVerified, pickVersion, recordOrOrphan, requirePermission, storeInDht, type UploadContext } from '../domain/documents.js';
import { Committed, LedgerRecord, TwinId, TwinParams } from '@twinledger/ledger-gateway';
import { Confidentiality, ElementId, FenceProperties, READ_HEADERS_NOTE } from '../schemas.js';

class UnsupportedMediaTypeError extends TwinLedgerError {
  readonly code = 'UNSUPPORTED_MEDIA_TYPE';
  override readonly httpStatus = 415;
}

const DocParams = Type.Object({ twinId: TwinId, hash: Sha256Hex });
const UploadedDocument = Type.Object({ transactionId: Type.String(), blockNumber: Type.Integer(), result: LedgerRecord, stored: Type.Object({ ref: Type.String(), size: Type.Integer(), sha256: Type.String() }) });

function bodyStream(req: FastifyRequest): Readable {
  if (!(req.body instanceof Readable)) throw new UnsupportedMediaTypeError('send the document as application/octet-stream');
  return req.body;
}

export function documentRoutes(deps: RouteDeps) {
  return async (app: ServiceApp): Promise<void> => {
    // Documents are streamed through to the DHT, never parsed or buffered here.
    app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));

    const uploadContext = async (req: FastifyRequest): Promise<UploadContext> => ({
      ledger: await req.ledger(),
      dht: deps.dht,
      maxBytes: deps.limits.documentBytes,
      log: req.log,
      orphans: deps.orphans,
    });

    app.post(
      '/twins/:twinId/documents',
      {
        schema: {
          tags: ['documents'],
          summary: 'Upload a document (octet-stream body): encrypted into the DHT, then recorded on the ledger with its plaintext hash',
          consumes: ['application/octet-stream'],
          body: BinaryBody,
          params: TwinParams,
          querystring: Type.Object(
            {
              title: Type.String({ minLength: 1, maxLength: 512 }),
              description: Type.Optional(Type.String({ maxLength: 4096 })),
              componentId: Type.Optional(ElementId),
              confidentiality: Confidentiality,
            },
            { additionalProperties: false },
          ),
          response: withErrors({ 201: UploadedDocument, 415: ErrorResponse, 502: ErrorResponse }),
        },
      },
      async (req, reply) => {
        const body = bodyStream(req);
        const ctx = await uploadContext(req);
        const { twinId } = req.params;
        const q = req.query;
        await requirePermission(ctx.ledger, twinId, docWrite(q.confidentiality));
        const stored = await storeInDht(ctx, twinId, q.confidentiality, body);
        const res = await recordOrOrphan(ctx, twinId, stored, () =>
          req.write('addDocument', () =>
            ctx.ledger.addDocument(twinId, {
              hash: stored.sha256,
              dhtRef: stored.ref,
              title: q.title,
              confidentiality: q.confidentiality,
              ...(q.description !== undefined ? { description: q.description } : {}),
              ...(q.componentId !== undefined ? { componentId: q.componentId } : {}),
            }),
          ),
        );
        return reply.code(201).send({ transactionId: res.transactionId, blockNumber: Number(res.blockNumber), result: res.result, stored: { ref: stored.ref, size: stored.size, sha256: stored.sha256 } });
      },
    );

    app.post(
      '/twins/:twinId/documents/:hash/versions',
      {
        schema: {
          tags: ['documents'],
          summary: 'Upload a new version of a document (octet-stream body)',
          consumes: ['application/octet-stream'],
          body: BinaryBody,
          params: DocParams,
          response: withErrors({ 201: UploadedDocument, 415: ErrorResponse, 502: ErrorResponse }),
        },
      },
      async (req, reply) => {
        const body = bodyStream(req);
        const ctx = await uploadContext(req);
        const { twinId, hash } = req.params;
        // Versions and the record come whole with any page; the key history is not needed.
        const history = await ctx.ledger.getDocumentHistoryPage(twinId, hash, { limit: 1 });
        const original = pickVersion(history, 1);
        const level = history.document!.confidentiality;
        await requirePermission(ctx.ledger, twinId, docWrite(level));
        const stored = await storeInDht(ctx, twinId, level, body);
        const res = await recordOrOrphan(ctx, twinId, stored, () =>
          req.write('addDocumentVersion', () => ctx.ledger.addDocumentVersion(twinId, original.hash, stored.sha256, stored.ref)),
        );
        return reply.code(201).send({ transactionId: res.transactionId, blockNumber: Number(res.blockNumber), result: res.result, stored: { ref: stored.ref, size: stored.size, sha256: stored.sha256 } });
      },
    );

    app.get(
      '/twins/:twinId/documents',
      {
        schema: {
          tags: ['documents'],
          summary: 'Documents the caller may read, one page in hash order',
          params: TwinParams,
          querystring: PageQuery,
          response: withErrors({ 200: PageOf(LedgerRecord) }),
        },
      },
      async (req) => (await req.ledger()).listDocumentsPage(req.params.twinId, req.query),
    );

    app.get(
      '/twins/:twinId/documents/:hash',
      {
        schema: {
          tags: ['documents'],
          summary: "A document's record, versions and one page of its ledger history (newest first)",
          params: DocParams,
          description: READ_HEADERS_NOTE + ' A removed document is always read from the peer.',
          querystring: Type.Object({ ...PageQueryProperties, ...FenceProperties }, { additionalProperties: false }),
          response: withErrors({ 200: Type.Object({ bookmark: Bookmark }, { additionalProperties: true, description: 'twinId, hash, removed, document, versions, ledgerHistory (this page), bookmark' }) }),
        },
      },
      async (req, reply) => {
        const page = { ...(req.query.limit !== undefined ? { limit: req.query.limit } : {}), ...(req.query.bookmark !== undefined ? { bookmark: req.query.bookmark } : {}) };
        return cachedRead(deps, req, reply, {
          twinId: req.params.twinId,
          // The chaincode asks doc:read at the document's own level; the answer names it.
          permission: (h: DocumentHistoryPage) => (h.document ? docRead(h.document.confidentiality) : undefined),
          key: `document:${req.params.hash}:${page.limit ?? ''}:${page.bookmark ?? ''}`,
          fence: fenceOf(req.query),
          load: async (l) => {
            const value = await l.getDocumentHistoryPage(req.params.twinId, req.params.hash, page);
            // A removed document's level is in its history only: not kept, the chaincode decides each read.
            return { value, chars: JSON.stringify(value).length, keep: value.document !== null };
          },
        });
      },
    );

    app.delete(
      '/twins/:twinId/documents/:hash',
      { schema: { tags: ['documents'], summary: 'Remove a document with all its versions from the twin', params: DocParams, response: withErrors({ 200: Committed }) } },
      async (req) => {
        const l = await req.ledger();
        const res = await req.write('removeDocument', () => l.removeDocument(req.params.twinId, req.params.hash));
        return { transactionId: res.transactionId, blockNumber: Number(res.blockNumber), result: res.result };
      },
    );

    app.get(
      '/twins/:twinId/documents/:hash/content',
      {
        schema: {
          tags: ['documents'],
          summary: 'Download: fetched from the DHT, verified against the on-chain hash, decrypted; a mismatch serves nothing (502 DOCUMENT_INTEGRITY)',
          params: DocParams,
          querystring: Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1 })) }),
          produces: ['application/octet-stream'],
          response: withErrors({ 200: Type.Unknown({ description: 'the document bytes' }), 502: ErrorResponse }),
        },
      },
      async (req, reply) => {
        const l = await req.ledger();
        const history = await l.getDocumentHistoryPage(req.params.twinId, req.params.hash, { limit: 1 });
        const v = pickVersion(history, req.query.version);
        // The read above is the authorization: the chaincode, asked as the caller's own identity,
        // enforces doc:read:<level> (identity-scoped grants included) and refuses with 403 before
        // the DHT is asked at all. The DHT ACL is org-level only; it is the second line.
        const bytes = await fetchVerified(deps.dht, v.dhtRef, v.hash, deps.limits.documentBytes);
        return reply
          .type('application/octet-stream')
          .header('x-document-sha256', v.hash)
          .header('x-document-version', String(v.version))
          .header('content-length', String(bytes.byteLength))
          .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      },
    );
  };
}
