import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnTestNetwork, type TestNetwork } from '@twinledger/dht';
import { silentLogger } from '@twinledger/observability';
import { loadEnv } from '@twinledger/config';
import { createDevIssuer, type DevIssuer, type ServiceApp } from '@twinledger/service-kit';
import { buildApp } from '../src/app.js';
import { gatewayAuthEnv, gatewayVerifier } from '../src/auth.js';
import { openFeedKeyStore } from '../src/domain/feed-keys.js';

/**
 * Issue #17: the gateway is org-internal. It takes only workload credentials (its own audience
 * plus the `svc` claim) that a user token cannot stand in for, and only the key manager
 * (acl-service) changes who may read. Real DHT nodes of three orgs behind app.inject.
 */
const DHT_AUD = 'twinledger-dht';
let net: TestNetwork;
let issuer: DevIssuer;
let keysDir: string;
let app: ServiceApp;
const tokens: Record<'user' | 'userWithSvc' | 'noSvc' | 'spec' | 'keyManager' | 'foreign', string> = { user: '', userWithSvc: '', noSvc: '', spec: '', keyManager: '', foreign: '' };

beforeAll(async () => {
  net = await spawnTestNetwork({ orgs: ['OrgAMSP', 'OrgBMSP', 'OrgCMSP'], nodeInit: { chunkSize: 64 * 1024 } });
  await net.connectAll();
  issuer = await createDevIssuer('https://idp.orga.test');
  keysDir = await mkdtemp(join(tmpdir(), 'dht-gw-cred-'));
  const jwksFile = join(keysDir, 'jwks.json');
  await writeFile(jwksFile, JSON.stringify(issuer.jwks));
  // The verifier as server.ts builds it, from the environment a deployment passes every service
  // of the org (AUTH_AUDIENCE is the user-facing audience; the gateway must not take it).
  const env = { ...loadEnv(gatewayAuthEnv, { AUTH_ISSUER: issuer.issuer, AUTH_JWKS_FILE: jwksFile, AUTH_AUDIENCE: 'twinledger' }), MSP_ID: 'OrgAMSP' };
  app = await buildApp({
    node: net.nodes[0]!,
    feedKeys: await openFeedKeyStore(join(keysDir, 'feeds')),
    logger: silentLogger(),
    auth: gatewayVerifier(env),
    maxObjectBytes: 1024 * 1024,
    maxFeedUpdateBytes: 64 * 1024,
    feedPageSize: 10,
  });
  await app.ready();
  tokens.user = await issuer.issue({ sub: 'alice', org: 'OrgAMSP', fabricIdentity: 'User1', audience: 'twinledger' });
  // Even a user token that somehow carries svc and the key-manager role has the wrong audience.
  tokens.userWithSvc = await issuer.issue({ sub: 'alice', org: 'OrgAMSP', fabricIdentity: 'User1', audience: 'twinledger', svc: 'acl-service', roles: ['dht:key-manager'] });
  tokens.noSvc = await issuer.issue({ sub: 'alice', org: 'OrgAMSP', audience: DHT_AUD });
  tokens.spec = await issuer.issue({ sub: 'spec-service', svc: 'spec-service', org: 'OrgAMSP', audience: DHT_AUD });
  tokens.keyManager = await issuer.issue({ sub: 'acl-service', svc: 'acl-service', roles: ['dht:key-manager'], org: 'OrgAMSP', audience: DHT_AUD });
  tokens.foreign = await issuer.issue({ sub: 'acl-service', svc: 'acl-service', roles: ['dht:key-manager'], org: 'OrgBMSP', audience: DHT_AUD });
});

afterAll(async () => {
  await app?.close();
  await net?.teardown();
  if (keysDir) await rm(keysDir, { recursive: true, force: true });
});

const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });
const octet = (t: string): Record<string, string> => ({ ...bearer(t), 'content-type': 'application/octet-stream' });
const HEX = 'ab'.repeat(32);

/** Every authenticated route of the app, read from its OpenAPI document (so a new route is covered too). */
function everyRoute(): Array<{ method: string; url: string }> {
  const doc = app.swagger() as { paths: Record<string, Record<string, unknown>> };
  const out: Array<{ method: string; url: string }> = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    if (['/healthz', '/readyz', '/metrics'].includes(path)) continue;
    for (const method of Object.keys(ops)) out.push({ method: method.toUpperCase(), url: path.replace(/\{[^}]+\}/g, HEX) });
  }
  return out;
}

describe('dht-gateway: service credentials only', () => {
  it('refuses a user token (audience twinledger) on every route with 401, before any DHT work', async () => {
    const routes = everyRoute();
    expect(routes.length).toBeGreaterThanOrEqual(12);
    for (const t of [tokens.user, tokens.userWithSvc]) {
      for (const r of routes) {
        const res = await app.inject({ method: r.method as 'GET', url: r.url, headers: octet(t), payload: r.method === 'GET' ? undefined : Buffer.from('{}') });
        expect({ route: `${r.method} ${r.url}`, status: res.statusCode, code: res.json().code, reason: res.json().details?.reason }).toEqual({ route: `${r.method} ${r.url}`, status: 401, code: 'UNAUTHENTICATED', reason: 'invalid' });
      }
    }
  });

  it('refuses to boot with DHT_AUTH_AUDIENCE equal to the user-facing AUTH_AUDIENCE', async () => {
    const jwksFile = join(keysDir, 'jwks.json');
    const env = { ...loadEnv(gatewayAuthEnv, { AUTH_ISSUER: issuer.issuer, AUTH_JWKS_FILE: jwksFile, AUTH_AUDIENCE: 'twinledger', DHT_AUTH_AUDIENCE: 'twinledger' }), MSP_ID: 'OrgAMSP' };
    expect(() => gatewayVerifier(env)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('refuses a gateway-audience token without the workload claim (403 SERVICE_CREDENTIAL_REQUIRED) and another org\'s (403 FOREIGN_ORGANIZATION)', async () => {
    const noSvc = await app.inject({ method: 'GET', url: '/status', headers: bearer(tokens.noSvc) });
    expect(noSvc.statusCode).toBe(403);
    expect(noSvc.json()).toMatchObject({ code: 'SERVICE_CREDENTIAL_REQUIRED' });
    const foreign = await app.inject({ method: 'GET', url: '/status', headers: bearer(tokens.foreign) });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json()).toMatchObject({ code: 'FOREIGN_ORGANIZATION', details: { reason: 'foreign_org' } });
    expect((await app.inject({ method: 'GET', url: '/status', headers: bearer(tokens.spec) })).statusCode).toBe(200);
  });

  it('lets spec-service store and read but not widen an object\'s ACL; the key manager can', async () => {
    const put = await app.inject({ method: 'PUT', url: '/objects?acl=OrgAMSP,OrgBMSP', headers: octet(tokens.spec), payload: Buffer.from('the secret report') });
    expect(put.statusCode).toBe(201);
    const { ref } = put.json() as { ref: string };
    const read = await app.inject({ method: 'GET', url: `/objects/${ref}`, headers: bearer(tokens.spec) });
    expect(read.statusCode).toBe(200);
    expect(read.body).toBe('the secret report');

    for (const parties of [['OrgAMSP', 'OrgBMSP', 'OrgCMSP'], ['OrgAMSP', 'OrgCMSP'], ['OrgBMSP']]) {
      const widen = await app.inject({ method: 'PUT', url: `/objects/${ref}/acl`, headers: bearer(tokens.spec), payload: { parties } });
      expect(widen.statusCode).toBe(403);
      expect(widen.json()).toMatchObject({ code: 'ACL_CHANGE_FORBIDDEN', details: { service: 'spec-service' } });
    }
    // Nothing was applied.
    expect((await app.inject({ method: 'GET', url: `/objects/${ref}/acl`, headers: bearer(tokens.spec) })).json()).toMatchObject({ version: 1, parties: ['OrgAMSP', 'OrgBMSP'] });

    const granted = await app.inject({ method: 'PUT', url: `/objects/${ref}/acl`, headers: bearer(tokens.keyManager), payload: { parties: ['OrgAMSP', 'OrgBMSP', 'OrgCMSP'] } });
    expect(granted.statusCode).toBe(200);
    expect(granted.json()).toMatchObject({ version: 2 });
    expect((await app.inject({ method: 'GET', url: `/objects/${ref}/acl`, headers: bearer(tokens.keyManager) })).json()).toMatchObject({ version: 2, parties: ['OrgAMSP', 'OrgBMSP', 'OrgCMSP'] });
  });

  it('lets the storing service narrow an object to its own organization alone (orphan handling)', async () => {
    const put = await app.inject({ method: 'PUT', url: '/objects?acl=OrgAMSP,OrgBMSP', headers: octet(tokens.spec), payload: Buffer.from('orphan') });
    const narrowed = await app.inject({ method: 'PUT', url: `/objects/${put.json().ref}/acl`, headers: bearer(tokens.spec), payload: { parties: ['OrgAMSP'] } });
    expect(narrowed.statusCode).toBe(200);
    expect(narrowed.json()).toMatchObject({ version: 2, rekeyed: true });
  });

  it('keeps feed ACL changes to the key manager', async () => {
    const feed = await app.inject({ method: 'POST', url: '/feeds', headers: bearer(tokens.spec), payload: { topic: 'cred-test', acl: ['OrgAMSP'] } });
    expect(feed.statusCode).toBe(201);
    const { feedId } = feed.json() as { feedId: string };
    const denied = await app.inject({ method: 'PUT', url: `/feeds/${feedId}/acl`, headers: bearer(tokens.spec), payload: { parties: ['OrgAMSP', 'OrgBMSP'] } });
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: 'ACL_CHANGE_FORBIDDEN' });
    const ok = await app.inject({ method: 'PUT', url: `/feeds/${feedId}/acl`, headers: bearer(tokens.keyManager), payload: { parties: ['OrgAMSP', 'OrgBMSP'] } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ parties: ['OrgAMSP', 'OrgBMSP'] });
  });
});
