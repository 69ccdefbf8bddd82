import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createDhtClient } from '@twinledger/dht-client';
import { fabricAvailability } from '@twinledger/devnet';
import { startSpecStack, type SpecStack } from './support/spec-stack.js';

const fabric = await fabricAvailability();
const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');

(fabric.ok ? describe : describe.skip)('documents through spec-service, the real ledger and real dht-gateways', () => {
  let stack: SpecStack;
  const shared = `docs-${Date.now().toString(36)}`;
  const privateTwin = `${shared}-private`;
  const report = randomBytes(300 * 1024); // several DHT chunks
  const sha = createHash('sha256').update(report).digest('hex');

  const token = (i: number) => stack.token(i);
  const inject: SpecStack['inject'] = (...request) => stack.inject(...request);

  beforeAll(async () => {
    stack = await startSpecStack('docs');
    // Org 1 owns (and maintains) both twins; org 2 audits only the shared one.
    expect((await inject(0, 'POST', '/twins', { deviceId: shared, deviceName: 'Plant', aml: AML, grants: { Org2MSP: 'AUDITOR' } })).statusCode).toBe(201);
    expect((await inject(0, 'POST', '/twins', { deviceId: privateTwin, deviceName: 'Plant B', aml: AML })).statusCode).toBe(201);
  });

  afterAll(async () => {
    await stack?.stop();
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
    await expect(createDhtClient({ baseUrl: stack.gateways[1]!.url, token: await token(1) }).getObject(dhtRef)).rejects.toMatchObject({ httpStatus: 401, code: 'UNAUTHENTICATED' });
    // And even org 2's own service credential gets nothing: its gateway holds no key for the object.
    const direct = createDhtClient({ baseUrl: stack.gateways[1]!.url, token: readFileSync(stack.gateways[1]!.tokenFile, 'utf8').trim() });
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
    const metrics = await stack.services[0]!.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/spec_service_orphaned_dht_objects_total 1/);
    // The narrowed orphan is a different object: the recorded document is still readable by org 2.
    const v1 = await inject(1, 'GET', `/twins/${shared}/documents/${sha}/content?version=1`);
    expect(v1.statusCode).toBe(200);
  });
});
