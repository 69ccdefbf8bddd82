// The adversarial walk itself: it must find what it claims to find. An app with one sound route
// and routes that fail in each way the walk looks for: a 500 on a body property of the wrong
// type, a hang on a long path parameter, a 4xx without a code, a crash on deep JSON.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { silentLogger } from '@twinledger/observability';
import { Type, buildService, createDevIssuer, createJwtVerifier, errorResponses, type ServiceApp } from '../src/index.js';
import { adversarialRequests, documentedOperations, openApiOf, probe, probeUnauthenticated, stillAlive, walkAdversarially, type OpenApiDocument } from '../src/testing.js';

describe('service-kit adversarial walk', () => {
  let app: ServiceApp;
  let doc: OpenApiDocument;
  let token: string;

  beforeAll(async () => {
    const issuer = await createDevIssuer('https://idp.org1.local');
    app = await buildService({ name: 'walked', logger: silentLogger(), auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }) });
    const Thing = Type.Object({ name: Type.String({ maxLength: 20 }), n: Type.Integer({ minimum: 0, maximum: 10 }) }, { additionalProperties: false });
    app.post('/sound/:id', { schema: { params: Type.Object({ id: Type.String({ pattern: '^[a-z]{1,8}$' }) }), querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) }, { additionalProperties: false }), body: Thing, response: { 200: Type.Object({ ok: Type.Boolean() }), ...errorResponses } } }, async () => ({ ok: true }));
    // Trusts a property no schema checks.
    app.post('/five-hundred', { schema: { body: Type.Object({ tags: Type.Unknown() }) } }, async (req) => ({ n: (req.body.tags as string[]).map((t) => t.toUpperCase()).length }));
    // Never answers for one id.
    app.get('/hang/:id', async (req, reply) => ((req.params as { id: string }).id === 'constructor' ? new Promise(() => undefined) : reply.send({ ok: true })));
    // A client error without the error model.
    app.get('/no-code', async (_req, reply) => reply.code(400).send('bad'));
    // Walks its input recursively: deep JSON overflows the stack.
    const depth = (v: unknown): number => (typeof v === 'object' && v !== null ? 1 + Math.max(0, ...Object.values(v).map(depth)) : 0);
    app.put('/deep', { schema: { body: Type.Object({ a: Type.Unknown() }) } }, async (req) => ({ depth: depth(req.body) }));
    await app.ready();
    doc = await openApiOf(app);
    token = await issuer.issue({ sub: 'alice', org: 'Org1MSP', audience: 'twinledger' });
  });
  afterAll(async () => app.close());

  it('walks the same requests for the same seed, and every documented operation', () => {
    const a = adversarialRequests(doc, { seed: 3, token });
    expect(adversarialRequests(doc, { seed: 3, token })).toEqual(a);
    expect(new Set(a.map((r) => r.operation))).toEqual(new Set(documentedOperations(doc)));
    expect(documentedOperations(doc).sort()).toEqual(['GET /hang/{id}', 'GET /no-code', 'POST /five-hundred', 'POST /sound/{id}', 'PUT /deep']);
  });

  it('reports each 5xx, hang and code-less 4xx, and nothing on the sound route', async () => {
    const findings = await probe(app, adversarialRequests(doc, { seed: 3, token }), { timeoutMs: 500 });
    const by = (op: string) => findings.filter((f) => f.operation === op);
    expect(by('POST /sound/{id}')).toEqual([]);
    expect(by('POST /five-hundred')).toContainEqual(expect.objectContaining({ label: 'body:prop:tags:wrong-1', status: 500 }));
    expect(by('GET /hang/{id}')).toContainEqual(expect.objectContaining({ label: 'path:id:constructor', status: 0, problem: 'no answer within 500 ms' }));
    expect(by('GET /no-code')).toContainEqual(expect.objectContaining({ label: 'base', status: 400 }));
    expect(by('PUT /deep')).toContainEqual(expect.objectContaining({ label: 'body:prop:a:deep', status: 500 }));
    expect(await stillAlive(app)).toBe(true);
  }, 60_000);

  it("starts from the route's documented examples (the document holds them beside the body's and the parameters' schemas)", async () => {
    const documented = await buildService({ name: 'documented', logger: silentLogger() });
    documented.post(
      '/fragments',
      { schema: { querystring: Type.Object({ at: Type.String({ examples: ['seq:1'] }) }), body: Type.Object({ aml: Type.String({ minLength: 1 }) }, { examples: [{ aml: '<InternalElement ID="a"/>' }] }) } },
      async () => ({ ok: true }),
    );
    await documented.ready();
    const base = adversarialRequests(await openApiOf(documented), { seed: 3 }).find((r) => r.label === 'base');
    await documented.close();
    expect({ url: base?.url, body: JSON.parse(String(base?.payload)) as unknown }).toEqual({ url: '/fragments?at=seq%3A1', body: { aml: '<InternalElement ID="a"/>' } });
  });

  it('sends each optional query parameter alone and all but each (parameters that exclude each other: last, or from and to)', () => {
    const integer = { type: 'integer', minimum: 1 };
    const series: OpenApiDocument = { paths: { '/series': { get: { parameters: ['from', 'to', 'last'].map((name) => ({ in: 'query', name, schema: integer })) } } } };
    expect(adversarialRequests(series, { seed: 3 }).map((r) => r.url)).toEqual(expect.arrayContaining(['/series?last=1', '/series?from=1&to=1']));
  });

  it('names the operations no request got a 2xx from (their handlers were walked with invalid input only)', async () => {
    const partly = await buildService({ name: 'partly', logger: silentLogger() });
    partly.get('/reached', async () => ({ ok: true }));
    partly.get('/never', async (_req, reply) => reply.code(409).send({ code: 'CONFLICT', message: 'always' }));
    await partly.ready();
    const summary = await walkAdversarially(partly, { seed: 3, timeoutMs: 500 });
    await partly.close();
    expect(summary).toMatchObject({ reachedHandlers: true, unreached: ['GET /never'], alive: true });
  });

  it('refuses an infinite number in a query or path parameter with 400 VALIDATION_FAILED, before the handler', async () => {
    const res = await app.inject({ method: 'POST', url: '/sound/abc?limit=1e309', headers: { authorization: `Bearer ${token}` }, payload: { name: 'x', n: 1 } });
    expect({ status: res.statusCode, code: res.json().code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  });

  it('the unauthenticated pass expects 401 UNAUTHENTICATED everywhere but the public routes', async () => {
    expect(await probeUnauthenticated(app, { timeoutMs: 500 })).toEqual([]);
  });
});
