import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createDhtClient } from '@twinledger/dht-client';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork } from '@twinledger/devnet';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, type DevIssuer } from '@twinledger/service-kit';
import { startSpecService, type SpecService } from '../src/main.js';
import { startDhtGateways, stopDhtGateways, type GatewayProcess } from './support/dht-gateways.js';

const fabric = await fabricAvailability();
const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');

(fabric.ok ? describe : describe.skip)('documents through spec-service, the real ledger and real dht-gateways', () => {
  let net: DevNetwork;
  let root: string;
  let gateways: GatewayProcess[] = [];
  const issuers: DevIssuer[] = [];
  const services: SpecService[] = [];
  const shared = `docs-${Date.now().toString(36)}`;
  const privateTwin = `${shared}-private`;
  const report = randomBytes(300 * 1024); // several DHT chunks
  const sha = createHash('sha256').update(report).digest('hex');

  const token = (i: number) => issuers[i]!.issue({ sub: `u${i}`, org: net.orgs[i]!.mspId, fabricIdentity: 'User1', audience: 'twinledger' });
  const inject = async (i: number, method: 'GET' | 'POST', url: string, payload?: Buffer | object, contentType?: string) =>
    services[i]!.app.inject({
      method,
      url,
      ...(payload !== undefined ? { payload: payload as Buffer } : {}),
      headers: { authorization: `Bearer ${await token(i)}`, ...(contentType ? { 'content-type': contentType } : {}) },
    });

  beforeAll(async () => {
    net = await startNetwork({ orgs: ['org1', 'org2'], kafka: false, ...testNetworkInit() });
    root = mkdtempSync(join(tmpdir(), 'spec-docs-int-'));
    for (const [i, org] of net.orgs.entries()) issuers[i] = await createDevIssuer(`https://idp.${org.name}.local`);
    gateways = await startDhtGateways(root, net.orgs.map((o, i) => ({ mspId: o.mspId, issuer: issuers[i]! })));
    for (const [i, org] of net.orgs.entries()) {
      const dir = join(root, org.name);
      mkdirSync(dir, { recursive: true });
      symlinkSync(dirname(org.users[0]!.mspDir), join(dir, 'User1'));
      const s = await startSpecService(
        {
          mspId: org.mspId,
          identitiesDir: dir,
          peer: org.peer,
          channel: net.channel,
          chaincode: net.chaincode,
          auth: { issuer: issuers[i]!.issuer, audience: 'twinledger', jwks: issuers[i]!.jwks, expectedOrg: org.mspId },
          dht: gateways[i]!.url,
          dhtTokenFile: gateways[i]!.tokenFile,
          kafkaBrokers: [],
          relay: false,
          relayIdentity: 'User1',
          stateDir: join(root, `state-${org.name}`),
        },
        silentLogger(),
      );
      await s.app.ready();
      services.push(s);
    }
    // Org 1 owns (and maintains) both twins; org 2 audits only the shared one.
    expect((await inject(0, 'POST', '/twins', { deviceId: shared, deviceName: 'Plant', aml: AML, grants: { Org2MSP: 'AUDITOR' } })).statusCode).toBe(201);
    expect((await inject(0, 'POST', '/twins', { deviceId: privateTwin, deviceName: 'Plant B', aml: AML })).statusCode).toBe(201);
  });

  afterAll(async () => {
    for (const s of services) {
      await s.app.close();
      await s.close();
    }
    await stopDhtGateways(gateways);
    await net?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  let ref = '';
  it('the maintainer uploads a confidential report attached to a sensor; the ledger records its plaintext hash', async () => {
    const res = await inject(0, 'POST', `/twins/${shared}/documents?title=Maintenance%20report&confidentiality=confidential&componentId=prog-set-conveyor-speed`, report, 'application/octet-stream');
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.stored).toMatchObject({ sha256: sha, size: report.length });
    expect(body.result).toMatchObject({ hash: sha, dhtRef: body.stored.ref, confidentiality: 'confidential', componentId: 'prog-set-conveyor-speed', owner: { mspId: 'Org1MSP' } });
    ref = body.stored.ref;
  });

  it('the auditor of org 2 downloads it through its own gateway and it matches the on-chain hash', async () => {
    const list = ((await inject(1, 'GET', `/twins/${shared}/documents`)).json() as { items: Array<{ hash: string }> }).items;
    expect(list.map((d) => d.hash)).toEqual([sha]);
    const res = await inject(1, 'GET', `/twins/${shared}/documents/${sha}/content`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-document-sha256']).toBe(sha);
    expect(createHash('sha256').update(res.rawPayload).digest('hex')).toBe(sha);
    const exp = (await inject(1, 'GET', `/twins/${shared}/audit-export?document=${sha}`)).json();
    expect(exp).toMatchObject({ kind: 'document', document: { hash: sha, dhtRef: ref } });
    expect(exp.transactions.length).toBeGreaterThanOrEqual(1);
  });

  it('a party without the grant is refused by the service and gets nothing from the DHT', async () => {
    const up = await inject(0, 'POST', `/twins/${privateTwin}/documents?title=Internal%20memo&confidentiality=confidential`, Buffer.from('for org 1 only'), 'application/octet-stream');
    expect(up.statusCode).toBe(201);
    const { hash, dhtRef } = up.json().result as { hash: string; dhtRef: string };
    const res = await inject(1, 'GET', `/twins/${privateTwin}/documents/${hash}/content`);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'ACCESS_DENIED' });
    // A user cannot go around the service: org 2's gateway refuses the user's own token.
    await expect(createDhtClient({ baseUrl: gateways[1]!.url, token: await token(1) }).getObject(dhtRef)).rejects.toMatchObject({ httpStatus: 401, code: 'UNAUTHENTICATED' });
    // And even org 2's own service credential gets nothing: its gateway holds no key for the object.
    const direct = createDhtClient({ baseUrl: gateways[1]!.url, token: readFileSync(gateways[1]!.tokenFile, 'utf8').trim() });
    await expect(direct.getObject(dhtRef)).rejects.toMatchObject({ httpStatus: 403 });
    // And org 2 may not upload to a twin it cannot write: refused before anything is stored.
    const denied = await inject(1, 'POST', `/twins/${shared}/documents?title=x&confidentiality=public`, Buffer.from('x'), 'application/octet-stream');
    expect(denied.statusCode).toBe(403);
  });

  it('a new version is recorded and served as the latest; version 1 stays retrievable', async () => {
    const v2 = Buffer.from('report, corrected');
    const res = await inject(0, 'POST', `/twins/${shared}/documents/${sha}/versions`, v2, 'application/octet-stream');
    expect(res.statusCode).toBe(201);
    expect(res.json().result).toMatchObject({ originalHash: sha, version: 2 });
    expect((await inject(1, 'GET', `/twins/${shared}/documents/${sha}/content`)).body).toBe('report, corrected');
    const v1 = await inject(1, 'GET', `/twins/${shared}/documents/${sha}/content?version=1`);
    expect(createHash('sha256').update(v1.rawPayload).digest('hex')).toBe(sha);
  });

  it('a duplicate upload fails on the ledger and its DHT object is reported and narrowed to the uploader', async () => {
    const res = await inject(0, 'POST', `/twins/${shared}/documents?title=again&confidentiality=confidential`, report, 'application/octet-stream');
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'ALREADY_EXISTS' });
    const metrics = await services[0]!.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/spec_service_orphaned_dht_objects_total 1/);
    // The narrowed orphan is a different object: the recorded document is still readable by org 2.
    const v1 = await inject(1, 'GET', `/twins/${shared}/documents/${sha}/content?version=1`);
    expect(v1.statusCode).toBe(200);
  });
});
