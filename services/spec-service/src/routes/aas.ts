import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  AASX_CONTENT_TYPE,
  AasNotFoundError,
  AasxTooLargeError,
  assertValid,
  buildAasx,
  decodeIdentifier,
  findElement,
  mapTwin,
  parseIdShortPath,
  toJson,
  twinOfShell,
  twinOfSubmodel,
  valueOnly,
  type AasTwin,
  type AasxFile,
  type TwinDocument,
  type TwinSource,
} from '@twinledger/aas';
import { docRead, Permissions, type ConfidentialityLevel, type DocumentRecord, type TwinLedger } from '@twinledger/ledger';
import { describeError, ErrorResponse, type ServiceApp, Type, withErrors } from '@twinledger/service-kit';
import type { RouteDeps } from '../context.js';
import { currentSource, currentTwin, nextOffsetCursor, offsetCursor, pageAcrossTwins } from '../domain/aas-twins.js';
import { fetchVerified } from '../domain/documents.js';
import { TwinParams } from '@twinledger/ledger-gateway';
import { AsOf, requireAsOfBound } from '../schemas.js';

/*
 * The read-only subset of the AAS HTTP API (IDTA-01002 Part 2 V3.0): shells, submodels and
 * their elements, derived on each request from the ledger as the caller reads it (ADR in
 * docs/architecture-decisions.md, mapping in docs/aas.md). Same authorization as the twin
 * routes: every read is the chaincode's, asked as the caller.
 */

// IDTA-01002's Result: errors are a list of messages. `code` is our stable code.
const AasMessage = Type.Object({
  messageType: Type.Union([Type.Literal('Error'), Type.Literal('Exception'), Type.Literal('Warning'), Type.Literal('Info'), Type.Literal('Undefined')]),
  text: Type.String(),
  code: Type.String({ description: 'Stable machine-readable code, e.g. ACCESS_DENIED, AAS_IDENTIFIER_INVALID' }),
  correlationId: Type.Optional(Type.String({ description: 'the request ID' })),
  timestamp: Type.String({ format: 'date-time' }),
});
const AasResult = Type.Object({ messages: Type.Array(AasMessage) }, { $id: 'AasResult', title: 'AasResult' });
const aasErrors = { 400: AasResult, 401: AasResult, 403: AasResult, 404: AasResult, 500: AasResult, 503: AasResult, 504: AasResult } as const;

const AasObject = (what: string) => Type.Object({}, { additionalProperties: true, description: `${what}, as the AAS library serializes it (IDTA-01001 V3.0 JSON)` });
const Paged = (what: string) =>
  Type.Object({
    paging_metadata: Type.Object({ cursor: Type.Optional(Type.String({ description: 'pass as ?cursor= for the next page; absent on the last page' })) }),
    result: Type.Array(AasObject(what)),
  });
const PagingQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 16_384 })),
  },
  { additionalProperties: false },
);
const Base64UrlId = Type.String({ minLength: 1, maxLength: 4096, description: 'the identifier, base64url-encoded (UTF-8)' });
const ShellParams = Type.Object({ aasIdentifier: Base64UrlId });
const SubmodelParams = Type.Object({ submodelIdentifier: Base64UrlId });
const ElementParams = Type.Object({ submodelIdentifier: Base64UrlId, idShortPath: Type.String({ minLength: 1, maxLength: 4096, description: 'idShorts separated by dots' }) });

function sendResult(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void {
  const d = describeError(err, req);
  void reply
    .code(d.status)
    .headers(d.headers)
    .send({ messages: [{ messageType: d.status >= 500 ? 'Exception' : 'Error', text: d.body.message, code: d.body.code, correlationId: String(req.id), timestamp: new Date().toISOString() }] });
}

function shellTwin(segment: string): string {
  const id = decodeIdentifier(segment);
  const twinId = twinOfShell(id);
  if (twinId === undefined) throw new AasNotFoundError('no shell with this identifier', { details: { id: id.slice(0, 256) } });
  return twinId;
}

function submodelOf(twin: AasTwin, id: string) {
  const sm = twin.submodels.find((s) => s.id === id);
  if (!sm) throw new AasNotFoundError('no submodel with this identifier', { details: { id: id.slice(0, 256) } });
  return sm;
}

async function submodelFromSegment(deps: RouteDeps, l: TwinLedger, segment: string) {
  const id = decodeIdentifier(segment);
  const twinId = twinOfSubmodel(id);
  if (twinId === undefined) throw new AasNotFoundError('no submodel with this identifier', { details: { id: id.slice(0, 256) } });
  return submodelOf(await currentTwin(deps, l, twinId), id);
}

export function aasRoutes(deps: RouteDeps) {
  return async (app: ServiceApp): Promise<void> => {
    app.addSchema(AasResult);
    // Only this plugin's routes answer errors as IDTA-01002 Results; status and code are the service's.
    app.setErrorHandler(sendResult);
    const tags = ['aas'];

    app.get(
      '/shells',
      { schema: { tags, summary: 'Asset Administration Shells of the twins the caller may read (GetAllAssetAdministrationShells)', querystring: PagingQuery, response: { 200: Paged('AssetAdministrationShell'), ...aasErrors } } },
      async (req) => {
        const l = await req.ledger();
        const page = await pageAcrossTwins(l, req.query.cursor, req.query.limit, async (t) => [toJson((await currentTwin(deps, l, t.twinId)).shell)]);
        return { paging_metadata: page.cursor === undefined ? {} : { cursor: page.cursor }, result: page.result };
      },
    );

    app.get(
      '/shells/:aasIdentifier',
      { schema: { tags, summary: 'One shell (GetAssetAdministrationShellById)', params: ShellParams, response: { 200: AasObject('AssetAdministrationShell'), ...aasErrors } } },
      async (req) => toJson((await currentTwin(deps, await req.ledger(), shellTwin(req.params.aasIdentifier))).shell),
    );

    app.get(
      '/shells/:aasIdentifier/submodel-refs',
      {
        schema: { tags, summary: "The shell's submodel references (GetAllSubmodelReferences)", params: ShellParams, querystring: PagingQuery, response: { 200: Paged('Reference'), ...aasErrors } },
      },
      async (req) => {
        const shell = (await currentTwin(deps, await req.ledger(), shellTwin(req.params.aasIdentifier))).shell;
        const refs = shell.submodels ?? [];
        const from = offsetCursor(req.query.cursor);
        const to = from + req.query.limit;
        return { paging_metadata: to < refs.length ? { cursor: nextOffsetCursor(to) } : {}, result: refs.slice(from, to).map(toJson) };
      },
    );

    app.get(
      '/submodels',
      { schema: { tags, summary: 'Submodels of the twins the caller may read (GetAllSubmodels)', querystring: PagingQuery, response: { 200: Paged('Submodel'), ...aasErrors } } },
      async (req) => {
        const l = await req.ledger();
        const page = await pageAcrossTwins(l, req.query.cursor, req.query.limit, async (t) => (await currentTwin(deps, l, t.twinId)).submodels.map(toJson));
        return { paging_metadata: page.cursor === undefined ? {} : { cursor: page.cursor }, result: page.result };
      },
    );

    app.get(
      '/submodels/:submodelIdentifier',
      { schema: { tags, summary: 'One submodel (GetSubmodelById)', params: SubmodelParams, response: { 200: AasObject('Submodel'), ...aasErrors } } },
      async (req) => toJson(await submodelFromSegment(deps, await req.ledger(), req.params.submodelIdentifier)),
    );

    const element = async (req: FastifyRequest, params: { readonly submodelIdentifier: string; readonly idShortPath: string }) => {
      const path = parseIdShortPath(params.idShortPath);
      const sm = await submodelFromSegment(deps, await req.ledger(), params.submodelIdentifier);
      const e = findElement(sm, path);
      if (!e) throw new AasNotFoundError('no submodel element at this idShortPath', { details: { idShortPath: params.idShortPath.slice(0, 256) } });
      return e;
    };

    app.get(
      '/submodels/:submodelIdentifier/submodel-elements/:idShortPath',
      { schema: { tags, summary: 'One submodel element (GetSubmodelElementByPath)', params: ElementParams, response: { 200: AasObject('SubmodelElement'), ...aasErrors } } },
      async (req) => toJson(await element(req, req.params)),
    );

    app.get(
      '/submodels/:submodelIdentifier/submodel-elements/:idShortPath/$value',
      {
        schema: {
          tags,
          summary: "One submodel element's value (GetSubmodelElementByPath-ValueOnly): `{idShort: value}`",
          params: ElementParams,
          response: { 200: Type.Object({}, { additionalProperties: true, description: 'ValueOnly serialization' }), ...aasErrors },
        },
      },
      async (req) => {
        const e = await element(req, req.params);
        return { [e.idShort ?? '']: valueOnly(e) ?? null };
      },
    );
  };
}

/** The AML's own name in the package. */
const AML_PART = (twinId: string): string => `/aasx/files/${encodeURIComponent(twinId).replace(/%/g, '_')}.aml`;
const DOC_PART = (d: TwinDocument): string => `/aasx/documents/${d.latest?.hash ?? d.hash}`;

/** Default cap of a whole AASX: four times the document limit. */
export const aasxBytes = (deps: RouteDeps): number => deps.limits.aasxBytes ?? 4 * deps.limits.documentBytes;

/**
 * The documents of `records` the caller may read now (doc:read of the document's level, asked
 * of the chaincode once per level), fetched from the DHT and verified against the ledger's hash
 * exactly as the download route does.
 */
async function readableDocuments(deps: RouteDeps, l: TwinLedger, twinId: string, records: readonly DocumentRecord[]): Promise<{ docs: DocumentRecord[]; files: AasxFile[] }> {
  const levels = new Map<ConfidentialityLevel, Promise<boolean>>();
  const may = (level: ConfidentialityLevel): Promise<boolean> => {
    if (!levels.has(level)) levels.set(level, l.checkAccess(twinId, docRead(level)).then((a) => a.allowed, () => false));
    return levels.get(level)!;
  };
  const docs: DocumentRecord[] = [];
  for (const d of records) if (await may(d.confidentiality)) docs.push(d);
  const limit = aasxBytes(deps);
  let total = 0;
  const files: AasxFile[] = [];
  for (const d of docs) {
    const bytes = await fetchVerified(deps.dht, d.latest.dhtRef, d.latest.hash, Math.min(deps.limits.documentBytes, limit));
    total += bytes.byteLength;
    if (total > limit) throw new AasxTooLargeError(`the documents of twin ${twinId} exceed the AASX limit of ${limit} bytes`, { details: { limit } });
    files.push({ path: DOC_PART(d), contentType: 'application/octet-stream', bytes });
  }
  return { docs, files };
}

/** The AASX of the twin as the caller reads it now, or as of `asOf`. */
async function exportAasx(deps: RouteDeps, l: TwinLedger, twinId: string, asOf: string | undefined): Promise<{ aasx: Uint8Array; txId: string }> {
  let source: TwinSource;
  let records: readonly DocumentRecord[];
  if (asOf !== undefined) {
    const state = await l.getTwinAsOf(twinId, requireAsOfBound(asOf));
    const block = deps.journal.blockOf(state.asOf.lastTxId);
    records = state.documents;
    // The past state lists every feed; like the current one, the shell shows them only to a caller who may read feeds now.
    const feedsReadable = await l.checkAccess(twinId, Permissions.FEED_READ).then((a) => a.allowed, () => false);
    source = {
      twinId,
      deviceId: state.twin.deviceId,
      deviceName: state.twin.deviceName,
      aml: state.specification,
      txId: state.asOf.lastTxId,
      ...(block !== undefined ? { blockNumber: block } : {}),
      feeds: feedsReadable ? state.sensorFeeds : [],
      documentLink: DOC_PART,
    };
  } else {
    source = await currentSource(deps, l, twinId, DOC_PART);
    records = (source.documents ?? []) as readonly DocumentRecord[];
  }
  const { docs, files } = await readableDocuments(deps, l, twinId, records);
  const twin = mapTwin({ ...source, documents: docs });
  assertValid(twin.environment);
  const aasx = buildAasx(twin.environment, [{ path: AML_PART(twinId), contentType: 'application/xml', bytes: Buffer.from(source.aml, 'utf8') }, ...files]);
  return { aasx, txId: source.txId };
}

export function aasxRoutes(deps: RouteDeps) {
  return async (app: ServiceApp): Promise<void> => {
    app.get(
      '/twins/:twinId/aasx',
      {
        schema: {
          tags: ['aas'],
          summary: 'The twin as an AASX package (IDTA-01005): shell, submodels, the AML, and the documents the caller may read',
          description:
            'With `asOf`, the state as of a transaction, sequence number or time (the same bound as GET /twins/:twinId/as-of). Documents are fetched from the DHT and verified ' +
            'against the hash on the ledger (502 DOCUMENT_INTEGRITY on a mismatch, nothing served); only those of a level the caller may read now are included. The ' +
            "environment passes the AAS library's verification before it is packed.",
          params: TwinParams,
          querystring: Type.Object({ asOf: Type.Optional(AsOf) }, { additionalProperties: false }),
          produces: ['application/asset-administration-shell-package'],
          response: withErrors({ 200: Type.Unknown({ description: 'the AASX package (zip)' }), 502: ErrorResponse }),
        },
      },
      async (req, reply) => {
        const { twinId } = req.params;
        const { aasx, txId } = await exportAasx(deps, await req.ledger(), twinId, req.query.asOf);
        return reply
          .type(AASX_CONTENT_TYPE)
          .header('content-disposition', `attachment; filename="${encodeURIComponent(twinId).replace(/%/g, '_')}.aasx"`)
          .header('x-twinledger-txid', txId)
          .header('content-length', String(aasx.byteLength))
          .send(Buffer.from(aasx.buffer, aasx.byteOffset, aasx.byteLength));
      },
    );
  };
}
