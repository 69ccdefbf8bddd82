import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AccessDeniedError, ConflictError, DHT_ERROR_CODES, DHT_ERROR_STATUS, RemoteError, UnavailableError } from '@twinledger/errors';
import { createDhtClient, DhtAclDeniedError, DhtGatewayError, DhtIntegrityError, errorFromResponse, PayloadTooLargeError } from '@twinledger/dht-client';

// A hand-written stand-in for the gateway's HTTP contract; the real gateway is exercised in
// services/dht-gateway's tests through this same client.
const content = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
const sha = createHash('sha256').update(content).digest('hex');
let seen: { auth?: string; acl?: string; bytes?: number; chunked?: boolean } = {};

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  seen.auth = req.headers.authorization;
  if (req.method === 'PUT' && url.pathname === '/objects') {
    seen.acl = url.searchParams.get('acl') ?? undefined;
    seen.chunked = req.headers['transfer-encoding'] === 'chunked';
    let n = 0;
    req.on('data', (d: Buffer) => (n += d.length));
    req.on('end', () => {
      seen.bytes = n;
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ ref: 'ab'.repeat(32), size: n, sha256: sha, replicas: ['p1'] }));
    });
    return;
  }
  req.resume();
  if (url.pathname === '/objects/good') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-content-sha256': sha, 'x-object-size': String(content.length) });
    res.write(content.subarray(0, 100_000));
    res.end(content.subarray(100_000));
    return;
  }
  if (url.pathname === '/objects/corrupt') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-content-sha256': sha, 'x-object-size': String(content.length) });
    res.end(content.subarray(1));
    return;
  }
  const errors: Record<string, [number, object, Record<string, string>?]> = {
    '/objects/denied/manifest': [403, { code: 'DHT_ACL_DENIED', message: 'not in the ACL', requestId: 'r1' }],
    '/objects/big/acl': [413, { code: 'PAYLOAD_TOO_LARGE', message: 'too big' }],
    '/status': [503, { code: 'DHT_NOT_STARTED', message: 'down' }, { 'retry-after': '5' }],
    '/objects/odd/acl': [409, { code: 'SOMETHING_NEW', message: 'new' }],
  };
  const e = errors[url.pathname];
  if (e) {
    res.writeHead(e[0], { 'content-type': 'application/json', ...e[2] }).end(JSON.stringify(e[1]));
    return;
  }
  res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
}

let server: Server;
let baseUrl = '';
beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

describe('dht-client', () => {
  it('sends a per-call token over the default and streams an async iterable body chunked', async () => {
    seen = {};
    const client = createDhtClient({ baseUrl, token: 'default-token' });
    async function* parts() {
      for (let i = 0; i < 4; i++) yield content.subarray(i * 75_000, (i + 1) * 75_000);
    }
    const out = await client.putObject(parts(), { acl: ['Org1MSP', 'Org2MSP'], token: 'call-token' });
    expect(out).toEqual({ ref: 'ab'.repeat(32), size: 300_000, sha256: sha, replicas: ['p1'] });
    expect(seen).toMatchObject({ auth: 'Bearer call-token', acl: 'Org1MSP,Org2MSP', bytes: 300_000, chunked: true });
    await client.putObject(content);
    expect(seen.auth).toBe('Bearer default-token');
  });

  it('streams a verified object and detects bytes that do not match the hash', async () => {
    const client = createDhtClient({ baseUrl, token: async () => 't' });
    const got = await client.getObject('good');
    expect(got.sha256).toBe(sha);
    expect(Buffer.from(got.bytes).equals(Buffer.from(content))).toBe(true);
    const bad = await client.getObjectStream('corrupt');
    const drain = async () => {
      for await (const _ of bad.body) void _;
    };
    await expect(drain()).rejects.toBeInstanceOf(DhtIntegrityError);
  });

  it('maps error bodies to typed errors with the gateway code', async () => {
    const client = createDhtClient({ baseUrl });
    const denied = client.getManifest('denied');
    await expect(denied).rejects.toBeInstanceOf(DhtAclDeniedError);
    await expect(client.getManifest('denied')).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(client.getManifest('denied')).rejects.toMatchObject({ code: 'DHT_ACL_DENIED', httpStatus: 403, details: { requestId: 'r1', status: 403 } });
    await expect(client.getAcl('big')).rejects.toBeInstanceOf(PayloadTooLargeError);
    const down = client.status();
    await expect(down).rejects.toBeInstanceOf(UnavailableError);
    await expect(client.status()).rejects.toMatchObject({ code: 'DHT_NOT_STARTED', retryAfterSeconds: 5 });
    await expect(client.getAcl('odd')).rejects.toMatchObject({ code: 'SOMETHING_NEW', httpStatus: 409 });
    await expect(client.getAcl('odd')).rejects.toBeInstanceOf(ConflictError);
    await expect(client.getManifest('other')).rejects.toMatchObject({ name: DhtGatewayError.name, code: 'HTTP_502', httpStatus: 502 });
  });

  it('rebuilds every DHT code of the shared list as its own typed class with the same status', () => {
    for (const code of Object.values(DHT_ERROR_CODES)) {
      const err = errorFromResponse(DHT_ERROR_STATUS[code], { code, message: 'm' }, null);
      expect({ code: err.code, httpStatus: err.httpStatus, generic: err instanceof RemoteError }).toEqual({ code, httpStatus: DHT_ERROR_STATUS[code], generic: false });
    }
  });
});
