import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ServiceApp } from '@twinledger/service-kit';
import { gatewayVerifier } from '../src/auth.js';
import { startGatewayUnderTest, USER_AUDIENCE, type GatewayUnderTest } from './support/gateway-under-test.js';

/**
 * Issue #17: the gateway is org-internal. It takes only workload credentials (its own audience
 * plus the `svc` claim) that a user token cannot stand in for (every route's refusals:
 * route-contract.int.test.ts), and only the key manager (acl-service) changes who may read.
 * Real DHT nodes of three orgs behind app.inject.
 */
const DHT_AUD = 'twinledger-dht';
let gw: GatewayUnderTest;
let app: ServiceApp;
const tokens: Record<'spec' | 'keyManager', string> = { spec: '', keyManager: '' };

beforeAll(async () => {
  gw = await startGatewayUnderTest({ chunkSize: 64 * 1024, maxObjectBytes: 1024 * 1024 });
  app = gw.app;
  tokens.spec = await gw.issuer.issue({ sub: 'spec-service', svc: 'spec-service', org: 'OrgAMSP', audience: DHT_AUD });
  tokens.keyManager = await gw.issuer.issue({ sub: 'acl-service', svc: 'acl-service', roles: ['dht:key-manager'], org: 'OrgAMSP', audience: DHT_AUD });
});

afterAll(async () => {
  await gw?.close();
});

const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });
const octet = (t: string): Record<string, string> => ({ ...bearer(t), 'content-type': 'application/octet-stream' });

describe('dht-gateway: service credentials only', () => {
  it('refuses to boot with DHT_AUTH_AUDIENCE equal to the user-facing AUTH_AUDIENCE', async () => {
    expect(() => gatewayVerifier(gw.env({ DHT_AUTH_AUDIENCE: USER_AUDIENCE }))).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
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
