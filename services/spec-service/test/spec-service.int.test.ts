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
        dataDir: join(root, `state-${org.name}`),
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

  it('answers 4xx for bad AML, and the chaincode refuses an insert that would nest the assembled specification too deep', async () => {
    // 5,000 levels: refused by the service's reader (a 500 INTERNAL before @twinledger/aml).
    const deep = `<CAEXFile SchemaVersion="3.0" FileName="d.aml"><InstanceHierarchy Name="IH">${'<InternalElement Name="E" ID="x">'.repeat(5000)}${'</InternalElement>'.repeat(5000)}</InstanceHierarchy></CAEXFile>`;
    const res = await call(org1, 0, 'POST', '/twins', { deviceId: `${twinId}-deep`, deviceName: 'x', aml: deep });
    expect({ status: res.statusCode, code: res.json().code }).toEqual({ status: 400, code: 'AML_INVALID' });
    expect((await call(org1, 0, 'GET', `/twins/${twinId}-deep`)).statusCode).toBe(404);
    // Two fragments, each fine alone: a chain of 40 elements, then 90 levels under its end.
    const chain = `${Array.from({ length: 40 }, (_, i) => `<InternalElement Name="E" ID="chain-${i}">`).join('')}${'</InternalElement>'.repeat(40)}`;
    expect((await call(org1, 0, 'POST', `/twins/${twinId}/elements`, { aml: chain, parentId: 'conveyor-1' })).statusCode).toBe(201);
    const tall = `<InternalElement Name="T" ID="tall-1">${'<Attribute Name="a">'.repeat(89)}${'</Attribute>'.repeat(89)}</InternalElement>`;
    const refused = await call(org1, 0, 'POST', `/twins/${twinId}/elements`, { aml: tall, parentId: 'chain-39' });
    expect({ status: refused.statusCode, code: refused.json().code }).toEqual({ status: 413, code: 'TOO_LARGE' });
    expect(refused.json().message).toMatch(/XML levels deep/);
    expect((await call(org1, 0, 'GET', `/twins/${twinId}/elements/tall-1`)).statusCode).toBe(404);
    // Every reader still reads the specification; then the chain goes, so later cases see the fixture.
    expect((await call(org1, 0, 'GET', `/twins/${twinId}/spec?format=json`)).statusCode).toBe(200);
    expect((await call(org1, 0, 'DELETE', `/twins/${twinId}/elements/chain-0`)).statusCode).toBe(200);
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
    const pending = (await call(org2, 1, 'GET', `/twins/${twinId}/program-calls`)).json().items;
    expect(pending.map((c: { callId: number }) => c.callId)).toEqual([callId]);
    expect((await call(org2, 1, 'GET', `/twins/${twinId}/program-calls/${callId}`)).json()).toMatchObject({ status: 'PENDING', parameters: { speed: 1.2 } });
  });

  it('answers a retried program call with the same request ID with the first call (one queued), and finds it by request ID', async () => {
    const body = { program: 'SetConveyorSpeed', parameters: { speed: 0.7 }, requestId: 'retry-7f3a', ttlSeconds: 120 };
    const first = await call(org1, 0, 'POST', `/twins/${twinId}/program-calls`, body);
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ replayed: false, result: { requestId: 'retry-7f3a', status: 'PENDING' } });
    written.push(first.json().transactionId);
    const { callId, requestedAt, expiresAt } = first.json().result as { callId: number; requestedAt: string; expiresAt: string };
    expect(Date.parse(expiresAt) - Date.parse(requestedAt)).toBe(120_000);
    // The client never saw the answer and retries.
    const retry = await call(org1, 0, 'POST', `/twins/${twinId}/program-calls`, body);
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toMatchObject({ replayed: true, result: { callId, txId: first.json().transactionId } });
    const pending = ((await call(org1, 0, 'GET', `/twins/${twinId}/program-calls`)).json() as { items: Array<{ callId: number; requestId: string }> }).items;
    expect(pending.filter((c) => c.requestId === 'retry-7f3a').map((c) => c.callId)).toEqual([callId]);
    // The same request ID with other arguments: a conflict, nothing queued.
    const conflict = await call(org1, 0, 'POST', `/twins/${twinId}/program-calls`, { ...body, parameters: { speed: 0.8 } });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({ code: 'REQUEST_ID_CONFLICT' });
    // The lookup an OUTCOME_UNKNOWN answer points to; request IDs belong to the caller's organization.
    expect((await call(org1, 0, 'GET', `/twins/${twinId}/program-calls/by-request/retry-7f3a`)).json()).toMatchObject({ callId, requestId: 'retry-7f3a', status: 'PENDING' });
    expect((await call(org1, 0, 'GET', `/twins/${twinId}/program-calls/by-request/never-sent`)).json()).toMatchObject({ code: 'NOT_FOUND' });
    expect((await call(org2, 1, 'GET', `/twins/${twinId}/program-calls/by-request/retry-7f3a`)).statusCode).toBe(404);
    expect((await call(org1, 0, 'GET', `/twins/${twinId}/program-calls/by-request/${encodeURIComponent('a b')}`)).statusCode).toBe(400);
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

  // Issue #19: a maintainer widened SetConveyorSpeed by removeAML + insertAML (max 1000 for
  // 2.5) and a call with speed 250 was queued. Safety rules now need safety:write and the
  // approval of another organization.
  it('refuses the widening of a safety bound with spec:write; a proposal and another organization\'s approval apply a new bound', async () => {
    const safeTwin = `${twinId}-safety`;
    const program = (max: string) =>
      `<InternalElement Name="SetConveyorSpeed" ID="prog-set-conveyor-speed"><Attribute Name="speed" AttributeDataType="xs:double" Unit="m/s">` +
      `<Constraint Name="SpeedRange"><OrdinalScaledType><RequiredMaxValue>${max}</RequiredMaxValue><RequiredMinValue>0</RequiredMinValue></OrdinalScaledType></Constraint>` +
      `</Attribute><RoleRequirements RefBaseRoleClassPath="TwinLedgerRoleClassLib/Program"/></InternalElement>`;
    const created = await call(org1, 0, 'POST', '/twins', { deviceId: safeTwin, deviceName: 'Bottling plant (safety)', aml: AML, grants: { Org2MSP: 'MAINTAINER' } });
    expect(created.statusCode).toBe(201);
    written.push(created.json().transactionId);

    // The attack, step one: org 2 (MAINTAINER: spec:write, no safety:write) removes the program.
    const rm = await call(org2, 1, 'DELETE', `/twins/${safeTwin}/elements/prog-set-conveyor-speed`);
    expect(rm.statusCode).toBe(403);
    expect(rm.json()).toMatchObject({ code: 'SAFETY_APPROVAL_REQUIRED' });
    const ins = await call(org2, 1, 'POST', `/twins/${safeTwin}/elements`, { aml: program('1000').replace(/prog-set-conveyor-speed/, 'prog-fast'), parentId: 'conveyor-1' });
    expect(ins.json()).toMatchObject({ code: 'SAFETY_APPROVAL_REQUIRED' });
    // Nor may it propose: that needs safety:write.
    const prop = await call(org2, 1, 'POST', `/twins/${safeTwin}/safety-proposals`, { operation: 'replaceAML', elementId: 'prog-set-conveyor-speed', aml: program('1000') });
    expect(prop.statusCode).toBe(403);
    expect(prop.json()).toMatchObject({ code: 'ACCESS_DENIED' });
    expect((await call(org2, 1, 'POST', `/twins/${safeTwin}/program-calls`, { program: 'SetConveyorSpeed', parameters: { speed: 250 } })).json()).toMatchObject({ code: 'OUT_OF_BOUNDS' });

    // The owner (org 1) proposes 3.5 m/s; neither it nor a party without safety:write can approve.
    const p1 = await call(org1, 0, 'POST', `/twins/${safeTwin}/safety-proposals`, {
      operation: 'replaceAML',
      elementId: 'prog-set-conveyor-speed',
      aml: program('3.5'),
      reason: 'faster belt after the motor upgrade',
    });
    expect(p1.statusCode).toBe(201);
    written.push(p1.json().transactionId);
    const id = p1.json().result.proposalId as number;
    expect(p1.json().result).toMatchObject({ status: 'PENDING', impact: { programsInserted: [{ parameters: [{ name: 'speed', max: 3.5 }] }] } });
    expect((await call(org1, 0, 'POST', `/twins/${safeTwin}/safety-proposals/${id}/approve`)).json()).toMatchObject({ code: 'SELF_APPROVAL' });
    expect((await call(org2, 1, 'POST', `/twins/${safeTwin}/safety-proposals/${id}/approve`)).json()).toMatchObject({ code: 'ACCESS_DENIED' });
    expect((await call(org2, 1, 'POST', `/twins/${safeTwin}/program-calls`, { program: 'SetConveyorSpeed', parameters: { speed: 3 } })).json()).toMatchObject({ code: 'OUT_OF_BOUNDS' });

    // The owner makes org 2 the manufacturer too (safety:write): the second organization.
    const pool = createPeerConnectionPool();
    const client = createFabricClient({ pool, peer: net.orgs[0]!.peer, identity: await loadIdentity(net.orgs[0]!.users[0]!), channel: net.channel, chaincode: net.chaincode });
    try {
      written.push((await createTwinLedger(client).grant(safeTwin, { mspId: 'Org2MSP', role: 'MANUFACTURER' })).transactionId);
    } finally {
      client.close();
      pool.close();
    }
    const ok = await call(org2, 1, 'POST', `/twins/${safeTwin}/safety-proposals/${id}/approve`);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().result).toMatchObject({ status: 'APPLIED', decision: { by: { mspId: 'Org2MSP' } }, inserted: ['prog-set-conveyor-speed'] });
    written.push(ok.json().transactionId);

    // The new bound applies: 3 m/s is queued, 250 still refused.
    const queued = await call(org2, 1, 'POST', `/twins/${safeTwin}/program-calls`, { program: 'SetConveyorSpeed', parameters: { speed: 3 } });
    expect(queued.statusCode).toBe(201);
    expect(queued.json().result).toMatchObject({ status: 'PENDING', parameters: { speed: 3 } });
    written.push(queued.json().transactionId);
    expect((await call(org2, 1, 'POST', `/twins/${safeTwin}/program-calls`, { program: 'SetConveyorSpeed', parameters: { speed: 250 } })).json()).toMatchObject({ code: 'OUT_OF_BOUNDS' });

    // Both halves are in the history, with their organizations.
    const h = (await call(org1, 0, 'GET', `/twins/${safeTwin}/history`)).json();
    expect(h.changes.map((c: { operation: string; mspId: string }) => `${c.operation}:${c.mspId}`)).toEqual(
      expect.arrayContaining(['proposeSafetyChange:Org1MSP', 'approveSafetyChange:Org2MSP']),
    );
    expect((await call(org1, 0, 'GET', `/twins/${safeTwin}/safety-proposals/${id}`)).json()).toMatchObject({ status: 'APPLIED', proposedBy: { mspId: 'Org1MSP' } });

    // A proposal overtaken by another spec change is refused at approval.
    const p2 = await call(org2, 1, 'POST', `/twins/${safeTwin}/safety-proposals`, { operation: 'removeAML', elementId: 'prog-set-valve-inlet-1' });
    expect(p2.statusCode).toBe(201);
    written.push(p2.json().transactionId);
    const spare = await call(org1, 0, 'POST', `/twins/${safeTwin}/elements`, { aml: '<InternalElement Name="Spare" ID="spare-1"/>', parentId: 'filler-1' });
    expect(spare.statusCode).toBe(201);
    written.push(spare.json().transactionId);
    const stale = await call(org1, 0, 'POST', `/twins/${safeTwin}/safety-proposals/${p2.json().result.proposalId}/approve`);
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ code: 'STALE_PROPOSAL' });
  });

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
