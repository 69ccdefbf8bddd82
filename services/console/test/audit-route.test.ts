import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AuditBlockBundle } from '@twinledger/audit';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type DevIssuer, type ServiceApp } from '@twinledger/service-kit';
import { buildApp } from '../src/app.js';

// The audit tab's server half: spec-service's bundle (blocks, anchors) and feed-ingest's proofs
// assembled and verified with the user's own token. The upstreams are real HTTP servers that
// answer a bundle captured from the real network (packages/audit/test/fixtures/feed-bundle.json).
const ISSUER = 'https://issuer.org1.test';
const full = JSON.parse(readFileSync(new URL('../../../packages/audit/test/fixtures/feed-bundle.json', import.meta.url), 'utf8')) as AuditBlockBundle;
const feed = full.feeds![0]!;

async function upstreams(opts: { tamper?: boolean } = {}): Promise<{ spec: FastifyInstance; feeds: FastifyInstance; seen: string[] }> {
  const seen: string[] = [];
  const spec = Fastify();
  spec.get('/twins/:twinId/audit-bundle', async (req, reply) => {
    seen.push(`spec ${req.url} ${req.headers.authorization ?? ''}`);
    if ((req.params as { twinId: string }).twinId === 'secret') return reply.code(403).send({ code: 'ACCESS_DENIED', message: 'no spec:history' });
    return { ...full, feeds: full.feeds!.map((f) => ({ ...f, updates: [], conflicts: [] })) };
  });
  const feeds = Fastify();
  feeds.get('/feeds/:feedId/evidence', async (req) => {
    seen.push(`feeds ${req.url} ${req.headers.authorization ?? ''}`);
    const updates = opts.tamper
      ? feed.updates.map((u, i) => (i === 1 ? { ...u, segmentBase64: Buffer.from('tampered readings').toString('base64') } : u))
      : feed.updates;
    return { updates, conflicts: [] };
  });
  await spec.listen({ host: '127.0.0.1', port: 0 });
  await feeds.listen({ host: '127.0.0.1', port: 0 });
  return { spec, feeds, seen };
}

const url = (s: FastifyInstance): string => `http://127.0.0.1:${(s.server.address() as { port: number }).port}`;

describe('console audit route', () => {
  let issuer: DevIssuer;
  const closers: (() => Promise<unknown>)[] = [];
  const root = mkdtempSync(join(tmpdir(), 'console-web-'));

  async function consoleWith(tamper = false): Promise<{ app: ServiceApp; seen: string[] }> {
    const up = await upstreams({ tamper });
    const auth = createJwtVerifier({ issuer: ISSUER, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' });
    const app = await buildApp({ logger: silentLogger(), auth, orgName: 'Org One', mspId: 'Org1MSP', upstreams: { spec: url(up.spec), feeds: url(up.feeds) }, webRoot: root });
    closers.push(() => app.close(), () => up.spec.close(), () => up.feeds.close());
    return { app, seen: up.seen };
  }
  const token = (): Promise<string> => issuer.issue({ sub: 'alice', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' });

  beforeAll(async () => {
    issuer = await createDevIssuer(ISSUER);
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><html lang="en"><title>t</title></html>');
  });
  afterAll(async () => {
    for (const c of closers) await c();
  });

  it('assembles the bundle from both services with the user token and answers the verifier result', async () => {
    const { app, seen } = await consoleWith();
    const t = await token();
    const res = await app.inject({ url: `/api/console/twins/${full.twinId}/audit?feedFrom=0&feedTo=50`, headers: { authorization: `Bearer ${t}` } });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { verification: { ok: boolean; failures: unknown[]; feeds: { provenSegments: number }[] }; bundle: AuditBlockBundle };
    expect(body.verification.failures).toEqual([]);
    expect(body.verification.ok).toBe(true);
    expect(body.verification.feeds[0]!.provenSegments).toBe(feed.updates.length);
    expect(body.bundle.feeds![0]!.updates).toHaveLength(feed.updates.length);
    expect(seen).toEqual([
      `spec /twins/${full.twinId}/audit-bundle?feeds=true&feedFrom=0&feedTo=50 Bearer ${t}`,
      `feeds /feeds/${feed.feedId}/evidence?fromIndex=0&toIndex=50 Bearer ${t}`,
    ]);
  });

  it('shows a tampered reading as the verifier reports it', async () => {
    const { app } = await consoleWith(true);
    const res = await app.inject({ url: `/api/console/twins/${full.twinId}/audit`, headers: { authorization: `Bearer ${await token()}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ verification: { ok: false, failures: [expect.objectContaining({ code: 'FEED_SEGMENT_MISMATCH', index: 1 })] } });
  });

  it('passes an upstream refusal through, refuses without a token and validates its query', async () => {
    const { app } = await consoleWith();
    const refused = await app.inject({ url: '/api/console/twins/secret/audit', headers: { authorization: `Bearer ${await token()}` } });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'ACCESS_DENIED' });
    expect((await app.inject({ url: '/api/console/twins/x/audit' })).statusCode).toBe(401);
    for (const q of ['feedFrom=-1', 'feedTo=x', 'other=1']) {
      const bad = await app.inject({ url: `/api/console/twins/x/audit?${q}`, headers: { authorization: `Bearer ${await token()}` } });
      expect({ q, status: bad.statusCode }).toEqual({ q, status: 400 });
    }
  });
});
