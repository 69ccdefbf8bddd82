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

/**
 * Issue #17: the gateway is org-internal. It takes only workload credentials (its own audience
 * plus the `svc` claim) that a user token cannot stand in for (every route's refusals:
 * route-contract.int.test.ts), and only the key manager (acl-service) changes who may read.
 * Real DHT nodes of three orgs behind app.inject.
 */
const DHT_AUD = 'twinledger-dht';
let net: TestNetwork;
let issuer: DevIssuer;
let keysDir: string;
let app: ServiceApp;
const tokens: Record<'spec' | 'keyManager', string> = { spec: '', keyManager: '' };

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
    logger: silentLogger(),
    auth: gatewayVerifier(env),
    maxObjectBytes: 1024 * 1024,
  });
  await app.ready();
  tokens.spec = await issuer.issue({ sub: 'spec-service', svc: 'spec-service', org: 'OrgAMSP', audience: DHT_AUD });
  tokens.keyManager = await issuer.issue({ sub: 'acl-service', svc: 'acl-service', roles: ['dht:key-manager'], org: 'OrgAMSP', audience: DHT_AUD });
});

afterAll(async () => {
  await app?.close();
  await net?.teardown();
  if (keysDir) await rm(keysDir, { recursive: true, force: true });
});

const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });
const octet = (t: string): Record<string, string> => ({ ...bearer(t), 'content-type': 'application/octet-stream' });

describe('dht-gateway: service credentials only', () => {
  it('refuses to boot with DHT_AUTH_AUDIENCE equal to the user-facing AUTH_AUDIENCE', async () => {
    const jwksFile = join(keysDir, 'jwks.json');
    const env = { ...loadEnv(gatewayAuthEnv, { AUTH_ISSUER: issuer.issuer, AUTH_JWKS_FILE: jwksFile, AUTH_AUDIENCE: 'twinledger', DHT_AUTH_AUDIENCE: 'twinledger' }), MSP_ID: 'OrgAMSP' };
    expect(() => gatewayVerifier(env)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
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
});
