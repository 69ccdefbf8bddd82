import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { environmentFromJson, readAasx, verificationErrors } from '@twinledger/aas';
import { fabricAvailability } from '@twinledger/devnet';
import { createFabricClient, createPeerConnectionPool, loadIdentity } from '@twinledger/fabric-client';
import { createTwinLedger } from '@twinledger/ledger';
import { startSpecStack, type SpecStack } from './support/spec-stack.js';

const fabric = await fabricAvailability();
const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');

type Result = { messages: { code: string; messageType: string }[] };

/**
 * The AAS API and the AASX export on the real two-organization network with real
 * dht-gateways: org 2 audits one twin of org 1 (may read) and has no grant on another (may not).
 */
(fabric.ok ? describe : describe.skip)('the AAS API and AASX export on the real network', () => {
  let stack: SpecStack;
  const shared = `aas-${Date.now().toString(36)}`;
  const hidden = `${shared}-private`;
  let created = '';
  const docs = { public: Buffer.from('the public filler manual'), secret: Buffer.from('the secret recipe') };
  const hashes: Record<string, string> = {};

  const inject: SpecStack['inject'] = (...request) => stack.inject(...request);

  beforeAll(async () => {
    stack = await startSpecStack('aas');
    const made = await inject(0, 'POST', '/twins', { deviceId: shared, deviceName: 'Bottling plant', aml: AML, grants: { Org2MSP: 'AUDITOR' } });
    expect(made.statusCode).toBe(201);
    created = made.json().transactionId as string;
    expect((await inject(0, 'POST', '/twins', { deviceId: hidden, deviceName: 'Private plant', aml: AML })).statusCode).toBe(201);
    // The private twin: the default "everyone reads" grant is taken away by its owner.
    const pool = createPeerConnectionPool();
    const client = createFabricClient({ pool, peer: stack.net.orgs[0]!.peer, identity: await loadIdentity(stack.net.orgs[0]!.users[0]!), channel: stack.net.channel, chaincode: stack.net.chaincode });
    try {
      await createTwinLedger(client).revoke(hidden, { mspId: '*', role: 'READER' });
    } finally {
      client.close();
      pool.close();
    }
    for (const level of ['public', 'secret'] as const) {
      const up = await inject(0, 'POST', `/twins/${shared}/documents?title=${level}%20document&confidentiality=${level}&componentId=filler-1`, docs[level], 'application/octet-stream');
      expect(up.statusCode).toBe(201);
      hashes[level] = up.json().result.hash as string;
    }
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('org 2 (auditor) lists the shell of the twin it may read and not the other', async () => {
    const res = await inject(1, 'GET', '/shells?limit=100');
    expect(res.statusCode).toBe(200);
    const ids = (res.json() as { result: { id: string }[] }).result.map((s) => s.id);
    expect(ids).toContain(`urn:twinledger:${shared}`);
    expect(ids).not.toContain(`urn:twinledger:${hidden}`);
    // Org 1 (owner of both) sees both.
    const own = ((await inject(0, 'GET', '/shells?limit=100')).json() as { result: { id: string }[] }).result.map((s) => s.id);
    expect(own).toEqual(expect.arrayContaining([`urn:twinledger:${shared}`, `urn:twinledger:${hidden}`]));
  });

  it('org 2 reads the shell, a submodel, an element and its value, carrying the ledger transaction', async () => {
    const shell = await inject(1, 'GET', `/shells/${b64(`urn:twinledger:${shared}`)}`);
    expect(shell.statusCode).toBe(200);
    const ext = Object.fromEntries((shell.json().extensions as { name: string; value: string }[]).map((e) => [e.name, e.value]));
    expect(ext['twinledger:txId']).toBe(created);
    const sm = b64(`urn:twinledger:${shared}/submodels/plant-1`);
    expect((await inject(1, 'GET', `/submodels/${sm}`)).json()).toMatchObject({ idShort: 'Plant', kind: 'Instance' });
    expect((await inject(1, 'GET', `/submodels/${sm}/submodel-elements/Filler.NominalThroughput/$value`)).json()).toEqual({ NominalThroughput: 12000 });
    // Org 2 may read public documents, not secret ones: only the first is listed.
    const filler = (await inject(1, 'GET', `/submodels/${sm}/submodel-elements/Filler`)).json() as { value: { modelType: string; value?: string }[] };
    expect(filler.value.filter((e) => e.modelType === 'File').map((f) => f.value)).toEqual([`/twins/${shared}/documents/${hashes['public']}/content`]);
  });

  it('org 2 is refused the twin it may not read exactly as the twin routes refuse it, and an unknown twin is 404 on both', async () => {
    for (const [twin, status, code] of [
      [hidden, 403, 'ACCESS_DENIED'],
      [`${shared}-nope`, 404, 'NOT_FOUND'],
    ] as const) {
      const plain = await inject(1, 'GET', `/twins/${twin}`);
      expect([plain.statusCode, plain.json().code]).toEqual([status, code]);
      for (const url of [`/shells/${b64(`urn:twinledger:${twin}`)}`, `/submodels/${b64(`urn:twinledger:${twin}/submodels/plant-1`)}`, `/submodels/${b64(`urn:twinledger:${twin}/submodels/plant-1`)}/submodel-elements/Filler`]) {
        const res = await inject(1, 'GET', url);
        expect(res.statusCode).toBe(status);
        expect((res.json() as Result).messages[0]).toMatchObject({ code, messageType: 'Error' });
      }
      const aasx = await inject(1, 'GET', `/twins/${twin}/aasx`);
      expect([aasx.statusCode, aasx.json().code]).toEqual([status, code]);
    }
  });

  it('exports an AASX whose environment passes verification, with the AML and only the documents the caller may read', async () => {
    const check = async (i: number, expected: string[]) => {
      const res = await inject(i, 'GET', `/twins/${shared}/aasx`);
      expect(res.statusCode).toBe(200);
      const content = readAasx(res.rawPayload);
      expect(verificationErrors(environmentFromJson(content.specs[0]!.json))).toEqual([]);
      expect(Buffer.from(content.supplementary.get(`/aasx/files/${shared}.aml`)!).toString('utf8')).toContain('prog-set-conveyor-speed');
      const included = [...content.supplementary.keys()].filter((k) => k.startsWith('/aasx/documents/')).sort();
      expect(included).toEqual(expected.map((l) => `/aasx/documents/${hashes[l]}`).sort());
      for (const l of expected) expect(Buffer.from(content.supplementary.get(`/aasx/documents/${hashes[l]}`)!)).toEqual(docs[l as keyof typeof docs]);
    };
    await check(1, ['public']);
    await check(0, ['public', 'secret']);
  });

  it('exports the state as of an earlier transaction', async () => {
    const ins = await inject(0, 'POST', `/twins/${shared}/elements`, { aml: '<InternalElement Name="Labeler" ID="labeler-1"/>', parentId: 'plant-1' });
    expect(ins.statusCode).toBe(201);
    // Org 2's peer commits org 1's block a moment after org 1's does (the write answers on org
    // 1's commit); the export reads the peer directly, so it is asked again until it has caught up.
    let now = await inject(1, 'GET', `/twins/${shared}/aasx`);
    for (let i = 0; i < 50 && now.headers['x-twinledger-txid'] !== ins.json().transactionId; i++) {
      await new Promise((r) => setTimeout(r, 100));
      now = await inject(1, 'GET', `/twins/${shared}/aasx`);
    }
    expect(now.headers['x-twinledger-txid']).toBe(ins.json().transactionId);
    expect(Buffer.from(readAasx(now.rawPayload).supplementary.get(`/aasx/files/${shared}.aml`)!).toString()).toContain('labeler-1');
    const then = await inject(1, 'GET', `/twins/${shared}/aasx?asOf=${created}`);
    expect(then.statusCode).toBe(200);
    const past = readAasx(then.rawPayload);
    expect(Buffer.from(past.supplementary.get(`/aasx/files/${shared}.aml`)!).toString()).not.toContain('labeler-1');
    expect(verificationErrors(environmentFromJson(past.specs[0]!.json))).toEqual([]);
    expect(then.headers['x-twinledger-txid']).toBe(created);
  });
});
