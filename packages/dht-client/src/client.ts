import { createHash } from 'node:crypto';
import { errorFromResponse, DhtIntegrityError } from './errors.js';
import type { AclUpdate, NodeStatus, ObjectAcl, ObjectManifest, StoredObject } from './types.js';

/** A bearer token, or a function that returns a fresh one per call. */
export type TokenSource = string | (() => string | Promise<string>);

export interface DhtClientInit {
  /** The organization's dht-gateway, e.g. `http://127.0.0.1:7400`. */
  readonly baseUrl: string;
  /** Default bearer token for calls that pass none: the service's own credential (the gateway takes no user tokens). */
  readonly token?: TokenSource;
  /** Deadline for JSON calls in ms (object bodies are bounded only by `signal`). Default 30 s. */
  readonly timeoutMs?: number;
  /** The fetch to use; defaults to the global (undici) fetch. */
  readonly fetch?: typeof fetch;
}

export interface CallOptions {
  /** Bearer token for this call, over the client's default (never a user's: the gateway takes service credentials only). */
  readonly token?: string;
  readonly signal?: AbortSignal;
}

/** Object content: whole bytes or a stream of parts (never collected by the client). */
export type ObjectBody = Uint8Array | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

export interface PutObjectOptions extends CallOptions {
  /** MSP ids allowed to read; the gateway defaults to the caller's organization. */
  readonly acl?: readonly string[];
}

export interface ObjectStream {
  /** Plaintext bytes, from the manifest. */
  readonly size: number;
  /** Hex SHA-256 of the plaintext, as the ledger records it. */
  readonly sha256: string;
  /**
   * Verified plaintext parts. The client hashes while streaming and throws
   * `DhtIntegrityError` at the end if the bytes do not match `sha256` or `size`.
   */
  readonly body: AsyncIterable<Uint8Array>;
}

export interface DhtClient {
  putObject(body: ObjectBody, options?: PutObjectOptions): Promise<StoredObject>;
  getObjectStream(ref: string, options?: CallOptions): Promise<ObjectStream>;
  /** The whole object in memory (verified); use getObjectStream for large objects. */
  getObject(ref: string, options?: CallOptions): Promise<{ bytes: Uint8Array; sha256: string }>;
  getManifest(ref: string, options?: CallOptions): Promise<ObjectManifest>;
  getAcl(ref: string, options?: CallOptions): Promise<ObjectAcl>;
  updateAcl(ref: string, parties: readonly string[], options?: CallOptions): Promise<AclUpdate>;
  status(options?: CallOptions): Promise<NodeStatus>;
}

export function createDhtClient(init: Readonly<DhtClientInit>): DhtClient {
  const base = init.baseUrl.replace(/\/+$/, '');
  const doFetch = init.fetch ?? fetch;
  const timeoutMs = init.timeoutMs ?? 30_000;

  async function authHeader(options: CallOptions | undefined): Promise<Record<string, string>> {
    const t = options?.token ?? (typeof init.token === 'function' ? await init.token() : init.token);
    return t === undefined ? {} : { authorization: `Bearer ${t}` };
  }

  async function fail(res: Response): Promise<never> {
    const text = await res.text().catch(() => '');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    throw errorFromResponse(res.status, body, res.headers.get('retry-after'));
  }

  /** A JSON call with a deadline; non-2xx answers become typed errors. */
  async function json<T>(method: string, path: string, options: CallOptions | undefined, body?: unknown): Promise<T> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options?.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const headers: Record<string, string> = { accept: 'application/json', ...(await authHeader(options)) };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await doFetch(`${base}${path}`, { method, headers, signal, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    if (!res.ok) return fail(res);
    return (await res.json()) as T;
  }

  const enc = encodeURIComponent;

  async function getObjectStream(ref: string, options?: CallOptions): Promise<ObjectStream> {
    const res = await doFetch(`${base}/objects/${enc(ref)}`, {
      method: 'GET',
      headers: { accept: 'application/octet-stream', ...(await authHeader(options)) },
      ...(options?.signal ? { signal: options.signal } : {}),
    });
    if (!res.ok) return fail(res);
    const sha256 = res.headers.get('x-content-sha256') ?? '';
    const size = Number(res.headers.get('x-object-size') ?? res.headers.get('content-length') ?? Number.NaN);
    const stream = res.body;
    async function* verified(): AsyncGenerator<Uint8Array> {
      const h = createHash('sha256');
      let n = 0;
      if (stream !== null) {
        for await (const part of stream as unknown as AsyncIterable<Uint8Array>) {
          h.update(part);
          n += part.byteLength;
          yield part;
        }
      }
      const got = h.digest('hex');
      // End-to-end check: the gateway verified too, but a broken connection or proxy must not pass as content.
      if (got !== sha256 || (Number.isFinite(size) && n !== size)) {
        throw new DhtIntegrityError('object bytes do not match x-content-sha256', { details: { ref, expected: sha256, got, size, received: n } });
      }
    }
    return { size, sha256, body: verified() };
  }

  return {
    async putObject(body, options) {
      const qs = options?.acl !== undefined ? `?acl=${enc(options.acl.join(','))}` : '';
      const streamed = !(body instanceof Uint8Array);
      const res = await doFetch(`${base}/objects${qs}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream', accept: 'application/json', ...(await authHeader(options)) },
        body: body as NonNullable<RequestInit["body"]>,
        // Streams are sent as they are produced (chunked), never collected here.
        ...(streamed ? { duplex: 'half' } : {}),
        ...(options?.signal ? { signal: options.signal } : {}),
      } as RequestInit);
      if (!res.ok) return fail(res);
      return (await res.json()) as StoredObject;
    },

    getObjectStream,

    async getObject(ref, options) {
      const s = await getObjectStream(ref, options);
      const parts: Uint8Array[] = [];
      for await (const p of s.body) parts.push(p);
      return { bytes: new Uint8Array(Buffer.concat(parts)), sha256: s.sha256 };
    },

    getManifest: (ref, options) => json<ObjectManifest>('GET', `/objects/${enc(ref)}/manifest`, options),
    getAcl: (ref, options) => json<ObjectAcl>('GET', `/objects/${enc(ref)}/acl`, options),
    updateAcl: (ref, parties, options) => json<AclUpdate>('PUT', `/objects/${enc(ref)}/acl`, options, { parties: [...parties] }),
    status: (options) => json<NodeStatus>('GET', '/status', options),
  };
}
