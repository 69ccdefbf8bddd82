import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createDhtClient } from '@twinledger/dht-client';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork, type OrgHandle } from '@twinledger/devnet';
import { createFabricClient, createPeerConnectionPool, loadIdentity } from '@twinledger/fabric-client';
import { createConsumer, createKafka, TOPICS } from '@twinledger/kafka';
import { createTwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, type DevIssuer } from '@twinledger/service-kit';
import { startSpecService, type SpecService } from '../src/main.js';

const fabric = await fabricAvailability();
const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');

/** An identities directory as the service expects it: <name>/msp/{signcerts,keystore}. */
function identitiesDir(root: string, org: OrgHandle): string {
  const dir = join(root, org.name);
  mkdirSync(dir, { recursive: true });
  symlinkSync(dirname(org.users[0]!.mspDir), join(dir, 'User1'));
  symlinkSync(dirname(org.users[1]!.mspDir), join(dir, 'User2'));
  symlinkSync(dirname(org.admin.mspDir), join(dir, 'Admin'));
  return dir;
}

(fabric.ok ? describe : describe.skip)('spec-service on the real two-organization network', () => {
  let net: DevNetwork;
  let root: string;
  const issuers: DevIssuer[] = [];
  let org1: SpecService;
  let org2: SpecService;
  const twinId = `plant-${Date.now().toString(36)}`;
  const written: string[] = [];

  const start = async (i: 0 | 1, relay: boolean): Promise<SpecService> => {
    const org = net.orgs[i]!;
    const s = await startSpecService(
      {
        mspId: org.mspId,
        identitiesDir: join(root, org.name),
        peer: org.peer,
        channel: net.channel,
        chaincode: net.chaincode,
        auth: { issuer: issuers[i]!.issuer, audience: 'twinledger', jwks: issuers[i]!.jwks, expectedOrg: net.orgs[i]!.mspId },
        // Documents are not exercised here (no dht-gateway in this suite): nothing listens there.
        dht: createDhtClient({ baseUrl: 'http://127.0.0.1:9' }),
        kafkaBrokers: [net.kafka!.bootstrap],
        relay,
        relayIdentity: 'User1',
        stateDir: join(root, `state-${org.name}`),
      },
      silentLogger(),
    );
    await s.app.ready();
    return s;
  };
  const token = (i: 0 | 1, fabricIdentity = 'User1') =>
    issuers[i]!.issue({ sub: `user-${i}`, org: net.orgs[i]!.mspId, fabricIdentity, audience: 'twinledger' });
  const call = async (s: SpecService, i: 0 | 1, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown, t?: string) =>
    s.app.inject({ method, url, ...(payload !== undefined ? { payload: payload as string } : {}), headers: { authorization: `Bearer ${t ?? (await token(i))}` } });

  beforeAll(async () => {
    net = await startNetwork({ orgs: ['org1', 'org2'], kafka: true, ...testNetworkInit() });
    root = mkdtempSync(join(tmpdir(), 'spec-service-int-'));
    for (const [i, org] of net.orgs.entries()) {
      identitiesDir(root, org);
      issuers[i] = await createDevIssuer(`https://idp.${org.name}.local`);
    }
    // Only org 1 relays: both orgs share the test's single Kafka broker.
    org1 = await start(0, true);
    org2 = await start(1, false);
  });

  afterAll(async () => {
    await org1?.app.close();
    await org1?.close();
    await org2?.app.close();
    await org2?.close();
    await net?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('creates a twin from the AML file with an AUDITOR grant for org 2', async () => {
    const res = await call(org1, 0, 'POST', '/twins', { deviceId: twinId, deviceName: 'Bottling plant', aml: AML, grants: { Org2MSP: 'AUDITOR' } });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.result).toMatchObject({ twinId, deviceId: twinId });
    expect(body.blockNumber).toBeGreaterThan(0);
    written.push(body.transactionId);
  });

  it('refuses malformed AML before any transaction', async () => {
    const res = await call(org1, 0, 'POST', '/twins', { deviceId: `${twinId}-bad`, deviceName: 'x', aml: '<CAEXFile><InstanceHierarchy></CAEXFile>' });
    expect(res.json()).toMatchObject({ code: 'AML_INVALID' });
    expect((await call(org1, 0, 'GET', `/twins/${twinId}-bad`)).statusCode).toBe(404);
  });

  it('lets the auditor of org 2 read the spec (AML and JSON) through its own peer', async () => {
    const xml = await call(org2, 1, 'GET', `/twins/${twinId}/spec`);
    expect(xml.statusCode).toBe(200);
    expect(xml.body).toContain('prog-set-conveyor-speed');
    const json = (await call(org2, 1, 'GET', `/twins/${twinId}/spec?format=json`)).json();
    expect(json.tree.tag).toBe('CAEXFile');
    const el = await call(org2, 1, 'GET', `/twins/${twinId}/elements/prog-set-conveyor-speed`);
    expect(el.json()).toMatchObject({ id: 'prog-set-conveyor-speed', programName: 'SetConveyorSpeed' });
  });

  it('answers 403 from the chaincode when the auditor tries to write, and nothing changes', async () => {
    const res = await call(org2, 1, 'POST', `/twins/${twinId}/elements`, { aml: '<InternalElement Name="Intruder" ID="intruder-1"/>', parentId: 'prog-set-conveyor-speed' });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'ACCESS_DENIED' });
    expect((await call(org1, 0, 'GET', `/twins/${twinId}/elements/intruder-1`)).statusCode).toBe(404);
  });

  it('answers 403 from the service for unmapped identities and other organizations\' tokens, 401 for forged ones', async () => {
    expect((await call(org1, 0, 'GET', `/twins/${twinId}`, undefined, await token(0, 'User9'))).json()).toMatchObject({ code: 'IDENTITY_NOT_MAPPED' });
    expect((await call(org1, 0, 'GET', `/twins/${twinId}`, undefined, await token(1))).statusCode).toBe(401); // org 2's issuer is not org 1's
    const forged = await (await createDevIssuer(issuers[0]!.issuer)).issue({ sub: 'm', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' });
    expect((await call(org1, 0, 'GET', `/twins/${twinId}`, undefined, forged)).statusCode).toBe(401);
  });

  it('inserts and removes elements, queues program calls within the safety rules', async () => {
    const ins = await call(org1, 0, 'POST', `/twins/${twinId}/elements`, { aml: '<InternalElement Name="SpareSensor" ID="spare-sensor-1"/>', parentId: 'prog-set-conveyor-speed' });
    expect(ins.statusCode).toBe(201);
    expect(ins.json().result.inserted).toEqual(['spare-sensor-1']);
    written.push(ins.json().transactionId);
    const rm = await call(org1, 0, 'DELETE', `/twins/${twinId}/elements/spare-sensor-1`);
    expect(rm.json().result.removed).toEqual(['spare-sensor-1']);
    written.push(rm.json().transactionId);
    const ok = await call(org1, 0, 'POST', `/twins/${twinId}/program-calls`, { program: 'SetConveyorSpeed', parameters: { speed: 1.2 } });
    expect(ok.statusCode).toBe(201);
    written.push(ok.json().transactionId);
    const callId = ok.json().result.callId as number;
    expect((await call(org1, 0, 'POST', `/twins/${twinId}/program-calls`, { program: 'SetConveyorSpeed', parameters: { speed: 3 } })).json()).toMatchObject({ code: 'OUT_OF_BOUNDS' });
    expect((await call(org2, 1, 'POST', `/twins/${twinId}/program-calls`, { program: 'SetConveyorSpeed', parameters: { speed: 1 } })).statusCode).toBe(403);
    const pending = (await call(org2, 1, 'GET', `/twins/${twinId}/program-calls`)).json();
    expect(pending.map((c: { callId: number }) => c.callId)).toEqual([callId]);
    expect((await call(org2, 1, 'GET', `/twins/${twinId}/program-calls/${callId}`)).json()).toMatchObject({ status: 'PENDING', parameters: { speed: 1.2 } });
  });

  it('serves the cached specification per revision, re-read after a write, never after the chaincode refuses the caller', async () => {
    const cached = `${twinId}-cache`;
    const created = await call(org1, 0, 'POST', '/twins', { deviceId: cached, deviceName: 'Cached plant', aml: AML, grants: { Org2MSP: 'AUDITOR' } });
    expect(created.statusCode).toBe(201);
    const until = async <T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> => {
      // Org 2's peer commits the block a moment after org 1's answered the submit.
      for (let i = 0; ; i++) {
        const v = await read();
        if (ok(v) || i >= 60) return v;
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    const url = `/twins/${cached}/spec?format=json`;
    const first = await until(() => call(org2, 1, 'GET', url), (r) => r.statusCode === 200);
    expect(first.statusCode).toBe(200);
    expect(first.headers['x-spec-revision']).toBe(created.json().transactionId);
    const second = await call(org2, 1, 'GET', url);
    expect(second.headers['x-spec-revision']).toBe(first.headers['x-spec-revision']);
    expect(second.body).toBe(first.body);
    expect((await call(org2, 1, 'GET', '/metrics')).body).toMatch(/spec_service_spec_cache_lookups_total\{result="hit"\} [1-9]/);

    const ins = await call(org1, 0, 'POST', `/twins/${cached}/elements`, { aml: '<InternalElement Name="Added" ID="cache-added-1"/>', parentId: 'conveyor-1' });
    expect(ins.statusCode).toBe(201);
    const after = await until(() => call(org2, 1, 'GET', url), (r) => r.headers['x-spec-revision'] === ins.json().transactionId);
    expect(after.headers['x-spec-revision']).toBe(ins.json().transactionId);
    expect(after.body).toContain('cache-added-1');
    expect(first.body).not.toContain('cache-added-1');

    // The owner (org 1) takes org 2's read away; the cached body must not reach org 2 any more.
    const pool = createPeerConnectionPool();
    const client = createFabricClient({ pool, peer: net.orgs[0]!.peer, identity: await loadIdentity(net.orgs[0]!.users[0]!), channel: net.channel, chaincode: net.chaincode });
    try {
      const owner = createTwinLedger(client);
      await owner.revoke(cached, { mspId: 'Org2MSP', role: 'AUDITOR' });
      await owner.revoke(cached, { mspId: '*', role: 'READER' });
    } finally {
      client.close();
      pool.close();
    }
    const refused = await until(() => call(org2, 1, 'GET', url), (r) => r.statusCode === 403);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'ACCESS_DENIED' });
    expect(refused.body).not.toContain('CAEXFile');
    // A revocation changes who may read, not the content: org 1 still reads the same revision.
    const owners = await call(org1, 0, 'GET', url);
    expect(owners.statusCode).toBe(200);
    expect(owners.headers['x-spec-revision']).toBe(ins.json().transactionId);
  });

  it('gives history with block numbers, the twin as of a transaction, and an auditor export', async () => {
    await waitFor(() => written.every((tx) => journalOf(tx) !== undefined));
    const h = (await call(org1, 0, 'GET', `/twins/${twinId}/history`)).json();
    const ops = h.changes.map((c: { operation: string }) => c.operation);
    expect(ops).toEqual(expect.arrayContaining(['createTwin', 'insertAML', 'removeAML', 'callProgram']));
    expect(h.changes.every((c: { blockNumber: number | null }) => typeof c.blockNumber === 'number')).toBe(true);
    // Ledger order: seq counts up, and block numbers never go down along it.
    expect(h.changes.map((c: { seq: number }) => c.seq)).toEqual(h.changes.map((_: unknown, i: number) => i + 1));
    const blocks = h.changes.map((c: { blockNumber: number }) => c.blockNumber);
    expect(blocks).toEqual([...blocks].sort((a, b) => a - b));
    const asOf = (await call(org2, 1, 'GET', `/twins/${twinId}/as-of?at=${written[1]}`)).json();
    expect(asOf.specification).toContain('spare-sensor-1');
    expect(asOf.asOf.lastTxId).toBe(written[1]);
    const bySeq = (await call(org2, 1, 'GET', `/twins/${twinId}/as-of?at=seq:${asOf.asOf.lastSeq}`)).json();
    expect(bySeq.specification).toBe(asOf.specification);
    const exp = (await call(org2, 1, 'GET', `/twins/${twinId}/audit-export?at=${written[0]}`)).json();
    expect(exp.kind).toBe('specification');
    expect(exp.transactions.map((t: { txId: string }) => t.txId)).toEqual([written[0]]);
    expect(exp.specification.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  function journalOf(tx: string): number | undefined {
    const file = join(root, 'state-org1', 'ledger-journal.jsonl');
    try {
      return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { txId: string; blockNumber: number }).find((e) => e.txId === tx)?.blockNumber;
    } catch {
      return undefined;
    }
  }

  it('relays every event to Kafka exactly once across a service restart and a Kafka outage', async () => {
    await waitFor(() => written.every((tx) => journalOf(tx) !== undefined));
    await org1.app.close();
    await org1.close();
    // While the relaying service is down the ledger moves on (written through a relay-less instance).
    const whileDown: string[] = [];
    const tmp = await start(0, false);
    for (const uri of ['https://example.com/manual', 'https://example.com/datasheet']) {
      const r = await call(tmp, 0, 'POST', `/twins/${twinId}/sources`, { uri, description: 'docs' });
      expect(r.statusCode).toBe(201);
      whileDown.push(r.json().transactionId);
    }
    await tmp.app.close();
    await tmp.close();
    org1 = await start(0, true);
    const after = await call(org1, 0, 'DELETE', `/twins/${twinId}/sources?uri=${encodeURIComponent('https://example.com/manual')}`);
    expect(after.statusCode).toBe(200);
    await waitFor(() => journalOf(after.json().transactionId) !== undefined);

    // Kafka down: the ledger keeps committing; the relay holds its checkpoint until Kafka is back.
    await net.kafka!.stop();
    const whileKafkaDown: string[] = [];
    const r1 = await call(org1, 0, 'POST', `/twins/${twinId}/sources`, { uri: 'https://example.com/wiring' });
    expect(r1.statusCode).toBe(201);
    whileKafkaDown.push(r1.json().transactionId);
    await new Promise((r) => setTimeout(r, 3000));
    expect(journalOf(whileKafkaDown[0]!)).toBeUndefined();
    await net.kafka!.startProcess();
    await waitFor(() => journalOf(whileKafkaDown[0]!) !== undefined, 90_000);

    const all = [...written, ...whileDown, after.json().transactionId as string, ...whileKafkaDown];
    await waitFor(() => all.every((tx) => journalOf(tx) !== undefined));

    const kafka = createKafka({ brokers: [net.kafka!.bootstrap], clientId: 'relay-check' });
    const consumer = createConsumer(kafka, { groupId: `relay-check-${Date.now()}` });
    const seen: Array<{ transactionId: string; eventName: string; twinId?: string }> = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: TOPICS.ledgerEvents, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(JSON.parse(message.value!.toString())) });
      await waitFor(() => all.every((tx) => seen.some((e) => e.transactionId === tx)), 60_000);
      // Let anything duplicated arrive too before counting.
      await new Promise((r) => setTimeout(r, 2000));
    } finally {
      await consumer.disconnect();
    }
    const ids = seen.map((e) => e.transactionId);
    expect(new Set(ids).size).toBe(ids.length); // no duplicates, over the whole topic
    for (const tx of all) expect(ids.filter((x) => x === tx)).toHaveLength(1);
    expect(seen.find((e) => e.transactionId === whileDown[0])).toMatchObject({ eventName: 'ExternalSourceAdded', twinId });
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
