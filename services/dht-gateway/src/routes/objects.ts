import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ValidationError } from '@twinledger/errors';
import { Counter } from '@twinledger/observability';
import { BinaryBody, errorResponses, PayloadTooLargeError, Sha256Hex, Type, type ServiceApp } from '@twinledger/service-kit';
import { requireAclChange } from '../domain/access.js';
import { UnsupportedMediaTypeError } from '../domain/errors.js';
import { MspId, RefParams } from '../domain/schemas.js';
import type { GatewayNode } from '../app.js';

/** How much of a refused upload's remaining body is read and dropped before the answer. */
const LINGER = { maxBytes: 64 * 1024 * 1024, maxMs: 5_000 } as const;

/** Reads and drops what is left of a request body, up to `maxBytes` or `maxMs`; never throws. */
async function drain(reader: AsyncIterator<Uint8Array>, bound: { readonly maxBytes: number; readonly maxMs: number }): Promise<void> {
  const until = Date.now() + bound.maxMs;
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), bound.maxMs)));
  try {
    while (dropped <= bound.maxBytes && Date.now() < until) {
      const next = await Promise.race([reader.next(), timeout]);
      if (next === 'timeout' || next.done) return;
      dropped += next.value.byteLength;
    }
  } catch {
    // The client went away or the stream failed: nothing left to drain.
  } finally {
    clearTimeout(timer);
  }
}

export interface ObjectRoutesOptions {
  readonly node: GatewayNode;
  /** Largest object body accepted, bytes (413 above). */
  readonly maxObjectBytes: number;
}

const AclQuery = Type.Object(
  { acl: Type.Optional(Type.String({ pattern: '^[\\w.-]{1,64}(,[\\w.-]{1,64}){0,63}$', description: 'comma-separated MSP ids; default the caller\'s org' })) },
  { additionalProperties: false },
);

/**
 * Objects: streamed put (counted and hashed on the way in, never held whole), streamed get
 * (every chunk verified by the library), manifest, ACL read and update.
 */
export async function objectRoutes(app: ServiceApp, opts: ObjectRoutesOptions): Promise<void> {
  const { node, maxObjectBytes } = opts;
  const bytes = new Counter({ name: 'twinledger_dht_gateway_object_bytes_total', help: 'Object plaintext bytes through the gateway', labelNames: ['direction'], registers: [app.metricsRegistry] });

  // The body stays a stream: the route pipes it into the DHT chunk by chunk.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));

  app.put(
    '/objects',
    {
      bodyLimit: maxObjectBytes,
      schema: {
        tags: ['objects'],
        summary: 'Encrypt, chunk and store an object on r replicas',
        consumes: ['application/octet-stream'],
        querystring: AclQuery,
        body: BinaryBody,
        response: {
          201: Type.Object({ ref: Sha256Hex, size: Type.Integer(), sha256: Sha256Hex, replicas: Type.Array(Type.String()) }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const declared = Number(req.headers['content-length'] ?? Number.NaN);
      if (Number.isFinite(declared) && declared > maxObjectBytes) throw new PayloadTooLargeError('object exceeds MAX_OBJECT_BYTES', { details: { maxBytes: maxObjectBytes } });
      // The caller is of this gateway's org (checked in app.ts), so its default ACL is this party.
      const acl = req.query.acl?.split(',') ?? [node.mspId];
      const hasher = createHash('sha256');
      let size = 0;
      const body = req.body as Partial<AsyncIterable<Uint8Array>> | undefined;
      if (body === undefined || body === null || typeof body[Symbol.asyncIterator] !== 'function') throw new UnsupportedMediaTypeError('the body must be application/octet-stream');
      const source = body as AsyncIterable<Uint8Array>;
      // Read by hand, not with for-await: a failure must not destroy the request stream under
      // the reply that reports it; the connection is closed after that reply instead.
      const reader = source[Symbol.asyncIterator]();
      async function* counted(): AsyncGenerator<Uint8Array> {
        for (;;) {
          const { done, value } = await reader.next();
          if (done) return;
          size += value.byteLength;
          if (size > maxObjectBytes) throw new PayloadTooLargeError('object exceeds MAX_OBJECT_BYTES', { details: { maxBytes: maxObjectBytes } });
          hasher.update(value);
          yield value;
        }
      }
      let out;
      try {
        out = await node.putObject(counted(), { acl });
      } catch (err) {
        // A client still sending when the answer and the close come sees a reset, not the 413:
        // the rest of its body is read and dropped first (a lingering close), within a bound
        // so a client that never stops cannot hold the route.
        await drain(reader, LINGER);
        // The rest of the body may still be unread: the client must not reuse this connection.
        void reply.header('connection', 'close');
        throw err;
      }
      bytes.inc({ direction: 'in' }, size);
      req.log.info({ ref: out.ref, size, replicas: out.replicas.length }, 'object stored');
      return reply.code(201).send({ ref: out.ref, size: out.size, sha256: hasher.digest('hex'), replicas: [...out.replicas] });
    },
  );

  app.get(
    '/objects/:ref',
    {
      schema: {
        tags: ['objects'],
        summary: 'Stream an object: verified and decrypted',
        produces: ['application/octet-stream'],
        params: RefParams,
        response: { 200: Type.Unsafe<unknown>({ type: 'string', format: 'binary', description: 'plaintext; header x-content-sha256' }), ...errorResponses },
      },
    },
    async (req, reply) => {
      // openObject fetches the manifest first: ACL refusals and unknown refs answer 403/404 before any byte is sent.
      const { manifest, stream } = await node.openObject(req.params.ref);
      async function* metered(): AsyncGenerator<Uint8Array> {
        for await (const part of stream) {
          bytes.inc({ direction: 'out' }, part.byteLength);
          yield part;
        }
      }
      return reply
        .type('application/octet-stream')
        .header('content-length', String(manifest.size))
        .header('x-content-sha256', manifest.plaintextHash)
        .header('x-object-size', String(manifest.size))
        .send(Readable.from(metered(), { objectMode: false }));
    },
  );

  app.get(
    '/objects/:ref/manifest',
    {
      schema: {
        tags: ['objects'],
        summary: 'The object manifest (no keys)',
        params: RefParams,
        response: {
          200: Type.Object({
            ref: Sha256Hex,
            objectId: Sha256Hex,
            size: Type.Integer(),
            sha256: Sha256Hex,
            cipher: Type.String(),
            chunkSize: Type.Integer(),
            chunks: Type.Array(Type.Object({ hash: Sha256Hex, size: Type.Integer() })),
            aclVersion: Type.Integer(),
            parties: Type.Array(Type.String()),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const m = await node.getManifest(req.params.ref);
      return { ref: req.params.ref, objectId: m.objectId, size: m.size, sha256: m.plaintextHash, cipher: m.cipher, chunkSize: m.chunkSize, chunks: m.chunks.map((c) => ({ hash: c.hash, size: c.size })), aclVersion: m.aclVersion, parties: [...m.acl] };
    },
  );

  app.get(
    '/objects/:ref/acl',
    {
      schema: {
        tags: ['objects'],
        summary: 'The object\'s current ACL (highest verified version among its replicas)',
        params: RefParams,
        response: {
          200: Type.Object({ ref: Sha256Hex, objectId: Sha256Hex, owner: Sha256Hex, version: Type.Integer(), parties: Type.Array(Type.String()), head: Type.Optional(Sha256Hex) }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const a = await node.getAcl(req.params.ref);
      return { ref: req.params.ref, objectId: a.objectId, owner: a.owner, version: a.version, parties: [...a.parties], ...(a.head ? { head: a.head } : {}) };
    },
  );

  app.put(
    '/objects/:ref/acl',
    {
      schema: {
        tags: ['objects'],
        summary: 'Replace the ACL (key manager only; any workload may narrow it to this org alone); removing a party re-keys into a new ref',
        params: RefParams,
        body: Type.Object({ parties: Type.Array(MspId, { minItems: 1, maxItems: 64, uniqueItems: true }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ ref: Sha256Hex, version: Type.Integer(), rekeyed: Type.Boolean() }), ...errorResponses },
      },
    },
    async (req) => {
      if (req.body.parties.length === 0) throw new ValidationError('parties must not be empty');
      requireAclChange(req.principal, req.body.parties, node.mspId);
      const out = await node.updateAcl(req.params.ref, req.body.parties);
      req.log.info({ ref: req.params.ref, newRef: out.ref, version: out.version, rekeyed: out.rekeyed }, 'ACL updated');
      return { ref: out.ref, version: out.version, rekeyed: out.rekeyed };
    },
  );
}
