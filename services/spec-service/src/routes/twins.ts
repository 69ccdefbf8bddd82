import type { ServiceApp } from '@twinledger/service-kit';
import { Type, withErrors } from '@twinledger/service-kit';
import { Roles, type InitialGrants } from '@twinledger/ledger';
import { AmlLimits, AmlTooLargeError, readAmlDocument, readAmlFragment, readElementTree } from '@twinledger/aml';
import { cachedRead, fenceOf, type RouteDeps } from '../context.js';
import { Committed, LedgerRecord, TwinId, TwinParams, committed } from '@twinledger/ledger-gateway';
import { ElementId, FenceProperties, FenceQuery, FRAGMENT_EXAMPLE, READ_HEADERS_NOTE } from '../schemas.js';
import type { SpecEntry } from '../domain/spec-cache.js';

const Role = Type.Union(Object.values(Roles).map((r) => Type.Literal(r)));
const GrantSpec = Type.Object(
  {
    mspId: Type.String({ minLength: 1, maxLength: 128 }),
    identity: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    role: Type.Optional(Role),
    permission: Type.Optional(Type.String({ pattern: '^[a-z]+:[a-z]+(:[a-z]+)?$' })),
    expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);
const InitialGrants = Type.Union([Type.Record(Type.String({ minLength: 1, maxLength: 128 }), Type.Union([Role, Type.Array(Role, { minItems: 1, maxItems: 6 })])), Type.Array(GrantSpec, { maxItems: 256 })]);

const AmlNode: ReturnType<typeof Type.Recursive> = Type.Recursive((Self) =>
  Type.Object({ tag: Type.String(), attributes: Type.Record(Type.String(), Type.String()), text: Type.Optional(Type.String()), children: Type.Array(Self) }),
  { $id: 'AmlNode' },
);

const AML_REFUSALS =
  'Refused before any transaction, with the chaincode\'s own codes (`@twinledger/aml` applies its rules and limits): ' +
  '400 `AML_INVALID` (malformed XML, not CAEX, nesting deeper than ' + AmlLimits.MAX_XML_DEPTH + ' levels), 400 `DOCTYPE_FORBIDDEN`, ' +
  '400 `DUPLICATE_ID`, 413 `TOO_LARGE` (bytes or InternalElements over the limit).';

/** This organization may configure a smaller document limit than the chaincode's (AML_MAX_BYTES); never a larger one. */
function checkDocumentBytes(aml: string, limit: number): void {
  if (Buffer.byteLength(aml, 'utf8') > limit) throw new AmlTooLargeError(`AML document is larger than ${limit} bytes`, { details: { limit } });
}

export function twinRoutes(deps: RouteDeps) {
  const amlBytes = Math.min(deps.limits.amlBytes, AmlLimits.MAX_AML_BYTES);
  return async (app: ServiceApp): Promise<void> => {
    app.addSchema(AmlNode);

    app.post(
      '/twins',
      {
        bodyLimit: amlBytes + 64 * 1024,
        schema: {
          tags: ['twins'],
          summary: 'Create a twin from an AML document with initial grants (the creator\'s MSP becomes OWNER, everyone READER)',
          description: AML_REFUSALS,
          body: Type.Object(
            {
              deviceId: TwinId,
              deviceName: Type.String({ minLength: 1, maxLength: 4096 }),
              // No maxLength: the limit is in UTF-8 bytes and its refusal is TOO_LARGE, as the chaincode's.
              aml: Type.String({ minLength: 1, description: `CAEX 3.0 or 2.15 XML, at most ${amlBytes} UTF-8 bytes and ${AmlLimits.MAX_ELEMENTS_PER_TWIN} InternalElements` }),
              grants: Type.Optional(InitialGrants),
            },
            { additionalProperties: false },
          ),
          response: withErrors({ 201: Committed }),
        },
      },
      async (req, reply) => {
        checkDocumentBytes(req.body.aml, amlBytes);
        readAmlDocument(req.body.aml);
        const l = await req.ledger();
        const res = await req.write('createTwin', () => l.createTwin(req.body.deviceId, req.body.deviceName, req.body.aml, req.body.grants as InitialGrants | undefined));
        return reply.code(201).send(committed(res));
      },
    );

    app.get(
      '/twins',
      {
        schema: {
          tags: ['twins'],
          summary: 'Twins known to this organization\'s ledger replica that the caller may read',
          querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }), offset: Type.Integer({ minimum: 0, default: 0 }) }),
          response: withErrors({
            200: Type.Object({ twins: Type.Array(Type.Object({ twinId: Type.String(), deviceName: Type.String(), createdInBlock: Type.Integer(), txId: Type.String() })), total: Type.Integer() }),
          }),
        },
      },
      async (req) => {
        const l = await req.ledger();
        const all = deps.journal.twins();
        const page = all.slice(req.query.offset, req.query.offset + req.query.limit);
        const readable = await Promise.all(
          page.map(async (t) => ((await l.checkAccess(t.twinId!, 'spec:read').catch(() => undefined))?.allowed ? t : undefined)),
        );
        return {
          total: all.length,
          twins: readable.filter((t) => t !== undefined).map((t) => ({ twinId: t.twinId!, deviceName: t.deviceName ?? '', createdInBlock: t.blockNumber, txId: t.txId })),
        };
      },
    );

    app.get(
      '/twins/:twinId',
      { schema: { tags: ['twins'], description: READ_HEADERS_NOTE, params: TwinParams, querystring: FenceQuery, response: withErrors({ 200: LedgerRecord }) } },
      async (req, reply) =>
        cachedRead(deps, req, reply, {
          twinId: req.params.twinId,
          permission: 'spec:read',
          key: 'twin',
          fence: fenceOf(req.query),
          load: async (l) => {
            const value = await l.getTwin(req.params.twinId);
            return { value, chars: JSON.stringify(value).length };
          },
        }),
    );

    app.get(
      '/twins/:twinId/spec',
      {
        schema: {
          tags: ['twins'],
          summary: 'The specification: canonical AML (format=aml, default) or a JSON tree (format=json)',
          description:
            READ_HEADERS_NOTE +
            ' A read the model cannot answer assembles the specification through a per-twin cache keyed by the revision the chaincode records ' +
            '(getSpecificationRevision, as the caller). The revision is in the X-Spec-Revision header (and in the JSON body).',
          params: TwinParams,
          querystring: Type.Object({ format: Type.Union([Type.Literal('aml'), Type.Literal('json')], { default: 'aml' }), ...FenceProperties }, { additionalProperties: false }),
          response: withErrors({
            200: Type.Union([
              Type.String(),
              Type.Object({ twinId: Type.String(), schemaVersion: Type.String(), revision: Type.Optional(Type.String()), tree: Type.Ref('AmlNode') }),
            ]),
          }),
        },
      },
      async (req, reply) => {
        const entry = await cachedRead<SpecEntry>(deps, req, reply, {
          twinId: req.params.twinId,
          permission: 'spec:read',
          key: 'spec',
          fence: fenceOf(req.query),
          load: async (l) => {
            const { entry, lookup } = await deps.specCache.read(l, req.params.twinId);
            deps.specCacheLookups.inc({ result: lookup });
            // Both forms are made once per revision: a cached answer is then sent as it is.
            return { value: entry, chars: deps.reads.enabled ? entry.aml.length + entry.json().length : 0 };
          },
        });
        if (entry.revision) void reply.header('x-spec-revision', entry.revision);
        // Pre-serialized JSON text: Fastify sends a string as is, so the 3 MB tree is neither
        // rebuilt nor re-serialized on a cache hit.
        if (req.query.format === 'json') return reply.type('application/json; charset=utf-8').send(entry.json());
        return reply.type('application/xml; charset=utf-8').send(entry.aml);
      },
    );

    const ElementParams = Type.Object({ twinId: TwinId, elementId: ElementId });
    app.get(
      '/twins/:twinId/elements/:elementId',
      {
        schema: {
          tags: ['elements'],
          description: READ_HEADERS_NOTE,
          params: ElementParams,
          querystring: Type.Object({ format: Type.Union([Type.Literal('aml'), Type.Literal('json')], { default: 'json' }), ...FenceProperties }, { additionalProperties: false }),
          response: withErrors({ 200: LedgerRecord }),
        },
      },
      async (req, reply) =>
        cachedRead(deps, req, reply, {
          twinId: req.params.twinId,
          permission: 'spec:read',
          key: `element:${req.query.format}:${req.params.elementId}`,
          fence: fenceOf(req.query),
          load: async (l) => {
            const el = await l.getElement(req.params.twinId, req.params.elementId);
            const value = req.query.format === 'json' ? { ...el, tree: readElementTree(el.aml) } : el;
            return { value, chars: JSON.stringify(value).length };
          },
        }),
    );

    app.post(
      '/twins/:twinId/elements',
      {
        bodyLimit: deps.limits.fragmentBytes + 16 * 1024,
        schema: {
          tags: ['elements'],
          summary: 'Insert an AML fragment under parentId (none: top-level InstanceHierarchies), after afterId (none: first)',
          description:
            AML_REFUSALS +
            ' The chaincode also refuses (413 `TOO_LARGE`) a fragment that would make the assembled specification exceed ' +
            `${AmlLimits.MAX_ELEMENTS_PER_TWIN} InternalElements, ${AmlLimits.MAX_ELEMENT_DEPTH} element levels or ${AmlLimits.MAX_XML_DEPTH} XML levels.`,
          params: TwinParams,
          body: Type.Object(
            {
              aml: Type.String({ minLength: 1, description: `InternalElements or InstanceHierarchies, at most ${AmlLimits.MAX_FRAGMENT_BYTES} UTF-8 bytes and ${AmlLimits.MAX_ELEMENTS_PER_FRAGMENT} InternalElements` }),
              parentId: Type.Optional(ElementId), afterId: Type.Optional(ElementId) },
            { additionalProperties: false, examples: [{ aml: FRAGMENT_EXAMPLE, parentId: 'plant-1' }] },
          ),
          response: withErrors({ 201: Committed }),
        },
      },
      async (req, reply) => {
        // The twin's schema version is not read here; its one version-specific rule is the ledger's.
        readAmlFragment(req.body.aml);
        const l = await req.ledger();
        const res = await req.write('insertAML', () => l.insertAML(req.params.twinId, req.body.aml, req.body.parentId, req.body.afterId));
        return reply.code(201).send(committed(res));
      },
    );

    app.delete(
      '/twins/:twinId/elements/:elementId',
      { schema: { tags: ['elements'], summary: 'Remove an element with its subtree', params: ElementParams, response: withErrors({ 200: Committed }) } },
      async (req) => {
        const l = await req.ledger();
        return committed(await req.write('removeAML', () => l.removeAML(req.params.twinId, req.params.elementId)));
      },
    );
  };
}
