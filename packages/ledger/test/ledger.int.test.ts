import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MvccConflictError, createFabricClient, createPeerConnectionPool, loadIdentity, type FabricClient, type IdentityFiles, type PeerConnectionPool } from '@twinledger/fabric-client';
import { ChaincodeGrantForbiddenError, ChaincodeInvalidStateError, ChaincodeNotFoundError, ChaincodeOutOfBoundsError, ChaincodeRejectedError, createTwinLedger, LedgerEvents, parseLedgerEvent, Permissions, Roles, type LedgerEvent, type TwinLedger } from '../src/index.js';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork } from '@twinledger/devnet';
import fabricGateway from '@hyperledger/fabric-gateway';
import fabricProtos from '@hyperledger/fabric-protos';

const fabric = await fabricAvailability();

const FIXTURE = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../../chaincode/fixtures/bottling-plant.aml'), 'utf8');
const FIXTURE_ELEMENTS = 13; // 1 InstanceHierarchy + 12 InternalElements
const sha = (n: number): string => n.toString(16).padStart(64, '0');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The other org's peer commits the block a moment after the submitting org's: poll briefly. */
async function eventually<T>(f: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await f();
      if (ok(v) || Date.now() > until) return v;
    } catch (err) {
      if (Date.now() > until) throw err;
    }
    await sleep(200);
  }
}

/** Minimal well-formedness check of canonical XML (no comments/CDATA): balanced tags; IE count. */
function checkXml(xml: string): { internalElements: number; instanceHierarchies: number } {
  const stack: string[] = [];
  let ie = 0;
  let ih = 0;
  for (const m of xml.matchAll(/<(\/?)([A-Za-z_][\w:.-]*)[^>]*?(\/?)>/g)) {
    const [, close, name, selfClose] = m;
    if (close) {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}>`);
    } else {
      if (name === 'InternalElement') ie++;
      if (name === 'InstanceHierarchy') ih++;
      if (!selfClose) stack.push(name!);
    }
  }
  if (stack.length !== 0) throw new Error(`unclosed <${stack.join('><')}>`);
  return { internalElements: ie, instanceHierarchies: ih };
}

const elementXml = (id: string, name = id): string => `<InternalElement Name="${name}" ID="${id}"><Attribute Name="Note" AttributeDataType="xs:string"><Value>${id}</Value></Attribute></InternalElement>`;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

(fabric.ok ? describe : describe.skip)('TwinLedger against the real two-org network', () => {
  let net: DevNetwork;
  let pool: PeerConnectionPool;
  const clients: FabricClient[] = [];
  let org1: TwinLedger; // Org1 User1: creates the twins (OWNER)
  let agent: TwinLedger; // Org1 User2: the device agent (single-identity grant)
  let org2: TwinLedger; // Org2 User1
  let org1Admin: TwinLedger;
  let events: LedgerEvent[]; // as Org2's peer delivers them
  const committedOn = [new Set<string>(), new Set<string>()]; // tx IDs with an event, per org's peer
  const closers: (() => void)[] = [];
  const twin = `plant-${Date.now()}`;
  const shared = `${twin}-shared`;

  /**
   * Writes resolve once committed on both peers. The Gateway reports the commit on the
   * submitting org's peer; the other peer may commit the block a moment later, and the next
   * write (endorsed on both peers) or a read there would see the older state.
   */
  const synced = (l: TwinLedger): TwinLedger =>
    new Proxy(l, {
      get(target, prop, receiver) {
        const v: unknown = Reflect.get(target, prop, receiver);
        if (typeof v !== 'function') return v;
        return async (...args: unknown[]) => {
          const r: unknown = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if (typeof r === 'object' && r !== null && 'transactionId' in r) {
            const tx = (r as { transactionId: string }).transactionId;
            await eventually(async () => committedOn.every((s) => s.has(tx)), (ok) => ok);
            if (!committedOn.every((s) => s.has(tx))) throw new Error(`transaction ${tx} has no event on both peers`);
          }
          return r;
        };
      },
    });

  const ledgerFor = async (org: number, who: IdentityFiles): Promise<TwinLedger> => {
    const o = net.orgs[org]!;
    const c = createFabricClient({ pool, peer: o.peer, identity: await loadIdentity(who), channel: net.channel, chaincode: net.chaincode });
    clients.push(c);
    return createTwinLedger(c);
  };

  beforeAll(async () => {
    net = await startNetwork({ orgs: ['org1', 'org2'], kafka: false, ...testNetworkInit() });
    pool = createPeerConnectionPool();
    const [o1, o2] = net.orgs;
    org1 = synced(await ledgerFor(0, o1!.users[0]!));
    agent = synced(await ledgerFor(0, o1!.users[1]!));
    org2 = synced(await ledgerFor(1, o2!.users[0]!));
    org1Admin = synced(await ledgerFor(0, o1!.admin));
    // Both peers' event streams, consumed from the start (an unconsumed stream errors on close).
    events = [];
    for (const [org, client] of [[0, clients[0]!], [1, clients[2]!]] as const) {
      const stream = await client.chaincodeEvents();
      const pump = (async () => {
        try {
          for await (const ev of stream) {
            if (org === 1) events.push(parseLedgerEvent(ev));
            committedOn[org]!.add(ev.transactionId);
          }
        } catch {
          // closed
        }
      })();
      closers.push(() => {
        stream.close();
        void pump;
      });
    }
  });

  afterAll(async () => {
    for (const close of closers) close();
    for (const c of clients) c.close();
    pool?.close();
    await net?.stop();
  });

  it('creates a twin from the bottling-plant AML by Org1 and reads it back byte-identical through Org2\'s peer', async () => {
    const created = await org1.createTwin(twin, 'Bottling plant', FIXTURE);
    expect(created.transactionId).toMatch(/^[0-9a-f]{64}$/);
    expect(created.blockNumber).toBeGreaterThan(0n);
    expect(created.result).toMatchObject({ twinId: twin, deviceId: twin, schemaVersion: '3.0', elements: FIXTURE_ELEMENTS, txId: created.transactionId });
    expect(created.result.programs.map((p) => p.elementId).sort()).toEqual(['prog-set-conveyor-speed', 'prog-set-valve-inlet-1', 'prog-set-valve-outlet-1']);

    const raw1 = Buffer.from(await clients[0]!.evaluate('spec:getSpecification', [twin]));
    const raw2 = await eventually(
      async () => Buffer.from(await clients[2]!.evaluate('spec:getSpecification', [twin])),
      () => true,
    );
    expect(raw2.equals(raw1)).toBe(true);
    const spec = await org2.getSpecification(twin);
    expect(spec).toMatchObject({ twinId: twin, schemaVersion: '3.0' });
    expect(checkXml(spec.aml)).toEqual({ internalElements: 12, instanceHierarchies: 1 });
    for (const id of ['plant-1', 'sensor-fill-level-1', 'prog-set-conveyor-speed', 'valve-outlet-1']) expect(spec.aml).toContain(`ID="${id}"`);
    expect(spec.aml).toContain('ACME Bottling Systems');
    expect(spec.aml).not.toContain('<!--'); // canonical form drops comments

    const t = await org2.getTwin(twin);
    expect(t).toMatchObject({ twinId: twin, deviceName: 'Bottling plant', createdBy: { mspId: 'Org1MSP' }, txId: created.transactionId });
    expect(t.createdBy.id).toMatch(/^x509::/);
  });

  it('inserts and removes AML, visible from the other org, with the element\'s ledger history', async () => {
    const ins = await org1.insertAML(twin, elementXml('labeler-1', 'Labeler') + elementXml('capper-1', 'Capper'), 'plant-1', 'conveyor-1');
    expect(ins.result).toMatchObject({ twinId: twin, parentId: 'plant-1', afterId: 'conveyor-1', inserted: ['labeler-1', 'capper-1'] });
    const el = await eventually(() => org2.getElement(twin, 'capper-1'), () => true);
    expect(el).toMatchObject({ twinId: twin, id: 'capper-1', kind: 'InternalElement', name: 'Capper', parentId: 'plant-1', depth: 2, txId: ins.transactionId });
    const order = (await org1.getSpecification(twin)).aml;
    expect(order.indexOf('ID="conveyor-1"')).toBeLessThan(order.indexOf('ID="labeler-1"'));
    expect(order.indexOf('ID="labeler-1"')).toBeLessThan(order.indexOf('ID="capper-1"'));
    expect(order.indexOf('ID="capper-1"')).toBeLessThan(order.indexOf('ID="valve-inlet-1"'));

    const rem = await org1.removeAML(twin, 'capper-1');
    expect(rem.result).toMatchObject({ id: 'capper-1', removed: ['capper-1'], feedsRemoved: [] });
    await expect(org1.getElement(twin, 'capper-1')).rejects.toMatchObject({ name: ChaincodeNotFoundError.name, code: 'NOT_FOUND' });
    expect(checkXml((await org1.getSpecification(twin)).aml).internalElements).toBe(13);

    const h = await org1.history(twin, 'capper-1');
    expect(h.ledgerHistory.map((e) => [e.txId, e.isDelete, e.operation])).toEqual([
      [ins.transactionId, false, 'insertAML'],
      [rem.transactionId, true, 'removeAML'],
    ]);
    // A duplicate ID is refused.
    await expect(org1.insertAML(twin, elementXml('labeler-1'), 'plant-1')).rejects.toMatchObject({ code: 'DUPLICATE_ID' });
  });

  it('refuses writes by an org without the grant (ACCESS_DENIED) and leaves the state unchanged', async () => {
    const before = Buffer.from(await clients[2]!.evaluate('spec:getSpecification', [twin]));
    const docsBefore = await org2.listDocuments(twin);
    const denied = await rejection(org2.insertAML(twin, elementXml('intruder-1'), 'plant-1'));
    expect(denied).toBeInstanceOf(ChaincodeRejectedError);
    expect(denied).toMatchObject({ code: 'ACCESS_DENIED', httpStatus: 403 });
    await expect(org2.removeAML(twin, 'plant-1')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await expect(org2.callProgram(twin, 'SetConveyorSpeed', { speed: 1 })).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await expect(org2.grant(twin, { mspId: 'Org2MSP', role: Roles.OWNER })).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await expect(
      org2.addDocument(twin, { hash: sha(99), dhtRef: 'dht://x', title: 'x', confidentiality: 'public' }),
    ).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    expect(Buffer.from(await clients[2]!.evaluate('spec:getSpecification', [twin])).equals(before)).toBe(true);
    expect(Buffer.from(await clients[0]!.evaluate('spec:getSpecification', [twin])).equals(before)).toBe(true);
    expect(await org2.listDocuments(twin)).toEqual(docsBefore);
    await expect(org1.getElement(twin, 'intruder-1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Reading is everyone's ('*' holds READER).
    const a = await org2.checkAccess(twin, Permissions.SPEC_WRITE);
    expect(a).toMatchObject({ mspId: 'Org2MSP', allowed: false, roles: ['READER'] });
  });

  it('records documents with versions, filtered by confidentiality for readers', async () => {
    const pub = await org1.addDocument(twin, { hash: sha(1), dhtRef: 'dht://doc-1', title: 'Manual', componentId: 'filler-1', confidentiality: 'public' });
    expect(pub.result).toMatchObject({ hash: sha(1), versionCount: 1, owner: { mspId: 'Org1MSP' }, latest: { version: 1, hash: sha(1) } });
    await org1.addDocument(twin, { hash: sha(2), dhtRef: 'dht://doc-2', title: 'Wiring', description: 'internal wiring', confidentiality: 'confidential' });
    await expect(org1.addDocument(twin, { hash: sha(1), dhtRef: 'dht://again', title: 'dup', confidentiality: 'public' })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    const v2 = await org1.addDocumentVersion(twin, sha(1), sha(3), 'dht://doc-1-v2');
    expect(v2.result).toMatchObject({ originalHash: sha(1), version: 2, hash: sha(3) });

    expect((await org1.listDocuments(twin)).map((d) => d.hash).sort()).toEqual([sha(1), sha(2)]);
    const seen2 = await eventually(() => org2.listDocuments(twin), (d) => d[0]?.versionCount === 2);
    expect(seen2.map((d) => [d.hash, d.versionCount, d.latest.hash])).toEqual([[sha(1), 2, sha(3)]]); // READER: public only
    await expect(org2.getDocumentHistory(twin, sha(2))).rejects.toMatchObject({ code: 'ACCESS_DENIED' });

    const rem = await org1.removeDocument(twin, sha(3));
    expect(rem.result).toMatchObject({ hash: sha(1), removedVersions: [sha(1), sha(3)] });
    const hist = await org1.getDocumentHistory(twin, sha(1));
    expect(hist).toMatchObject({ removed: true, document: null });
    expect(hist.ledgerHistory.map((e) => e.isDelete)).toEqual([true, false, false]);
    expect((await org1.listDocuments(twin)).map((d) => d.hash)).toEqual([sha(2)]);
  });

  it('registers, lists and removes sensor feeds and external sources', async () => {
    const f = await org1.addSensorFeed(twin, 'sensor-flow-1', 'feed:flow-1');
    expect(f.result).toMatchObject({ componentId: 'sensor-flow-1', feedRef: 'feed:flow-1', registeredBy: { mspId: 'Org1MSP' } });
    await expect(org1.addSensorFeed(twin, 'sensor-flow-1', 'feed:other')).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await expect(org1.addSensorFeed(twin, 'no-such-component', 'feed:x')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await org1.addSensorFeed(twin, 'sensor-pressure-1', 'feed:pressure-1');
    expect((await eventually(() => org2.listSensorFeeds(twin), (l) => l.length === 2)).map((x) => x.componentId)).toEqual(['sensor-flow-1', 'sensor-pressure-1']);
    await org1.removeSensorFeed(twin, 'sensor-pressure-1');
    expect((await org1.listSensorFeeds(twin)).map((x) => x.componentId)).toEqual(['sensor-flow-1']);

    const s = await org1.addExternalSource(twin, 'https://erp.example.org/plants/1');
    expect(s.result).toMatchObject({ uri: 'https://erp.example.org/plants/1', description: '' });
    expect((await org1.listExternalSources(twin)).map((x) => x.uri)).toEqual(['https://erp.example.org/plants/1']);
    await org1.removeExternalSource(twin, 'https://erp.example.org/plants/1');
    expect(await org1.listExternalSources(twin)).toEqual([]);
  });

  it("commits back-to-back dependent writes without a fence: the client endorses again while the other org's peer lags", async () => {
    // Each anchor must start where the previous one ended, so a peer that has not committed the
    // previous block refuses the next (INVALID_STATE) while Org1's peer endorses it. Through the
    // raw client (no `synced` fence), as services write.
    // A twin of its own: anchors are not specification changes, and the events test below
    // matches the main twin's events to its change log.
    const lagTwin = `${twin}-lag`;
    await org1.createTwin(lagTwin, 'Lag', FIXTURE);
    const raw = createTwinLedger(clients[0]!);
    const feedId = createHash('sha256').update(lagTwin).digest('hex');
    await org1.addSensorFeed(lagTwin, 'sensor-pressure-1', feedId);
    for (let i = 0; i < 16; i++) {
      const a = await raw.anchorFeedRoot(lagTwin, 'sensor-pressure-1', feedId, i * 10, i * 10 + 9, createHash('sha256').update(String(i)).digest('hex'));
      expect(a.result).toMatchObject({ fromIndex: i * 10, toIndex: i * 10 + 9 });
    }
  });

  it('queues a program call within bounds, refuses one out of bounds, and lets only the device agent acknowledge', async () => {
    const programs = await org1.listPrograms(twin);
    const speed = programs.find((p) => p.elementId === 'prog-set-conveyor-speed');
    expect(speed?.parameters).toEqual([expect.objectContaining({ name: 'speed', type: 'double', min: 0, max: 2.5, required: true })]);

    const call = await org1.callProgram(twin, 'SetConveyorSpeed', { speed: 1.2 });
    expect(call.result).toMatchObject({ programElementId: 'prog-set-conveyor-speed', parameters: { speed: 1.2 }, status: 'PENDING', requestedBy: { mspId: 'Org1MSP' } });
    const callId = call.result.callId;
    const oob = await rejection(org1.callProgram(twin, 'SetConveyorSpeed', { speed: 3 }));
    expect(oob).toMatchObject({ name: ChaincodeOutOfBoundsError.name, code: 'OUT_OF_BOUNDS' });
    await expect(org1.callProgram(twin, 'SetConveyorSpeed', { speed: 'fast' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(org1.callProgram(twin, 'SetValve', { open: true })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' }); // ambiguous name
    expect((await org1.listPendingProgramCalls(twin)).map((c) => c.callId)).toEqual([callId]);

    // The owner org's identities hold OWNER, not program:ack; neither does another org.
    await expect(org1.acknowledgeProgramCall(twin, callId, 'EXECUTED')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await expect(agent.acknowledgeProgramCall(twin, callId, 'EXECUTED')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await expect(org2.acknowledgeProgramCall(twin, callId, 'EXECUTED')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });

    // Grant DEVICE_AGENT to Org1's User2 alone.
    const agentId = (await agent.checkAccess(twin, Permissions.PROGRAM_ACK)).identity;
    expect(agentId).toMatch(/^x509::.*User2/);
    const g = await org1.grant(twin, { mspId: 'Org1MSP', identity: agentId, role: Roles.DEVICE_AGENT });
    expect(g.result).toMatchObject({ mspId: 'Org1MSP', identity: agentId, role: 'DEVICE_AGENT', grantedBy: { mspId: 'Org1MSP' } });
    expect(await agent.checkAccess(twin, Permissions.PROGRAM_ACK)).toMatchObject({ allowed: true });
    expect(await org1.checkAccess(twin, Permissions.PROGRAM_ACK)).toMatchObject({ allowed: false });
    expect(await org1.checkAccessFor(twin, 'Org1MSP', agentId, Permissions.PROGRAM_ACK)).toMatchObject({ allowed: true });

    const ack = await agent.acknowledgeProgramCall(twin, callId, 'EXECUTED', { appliedSpeed: 1.2 });
    expect(ack.result).toMatchObject({ callId, status: 'EXECUTED', acknowledgement: { status: 'EXECUTED', result: { appliedSpeed: 1.2 }, by: { mspId: 'Org1MSP', id: agentId } } });
    await expect(agent.acknowledgeProgramCall(twin, callId, 'FAILED')).rejects.toMatchObject({ name: ChaincodeInvalidStateError.name, code: 'INVALID_STATE' });
    expect(await org1.listPendingProgramCalls(twin)).toEqual([]);
    expect(await eventually(() => org2.getProgramCall(twin, callId), (c) => c.status === 'EXECUTED')).toMatchObject({ status: 'EXECUTED' });
    expect((await org1.listGrants(twin)).map((x) => `${x.mspId}:${x.identity ?? '*'}:${x.role}`).sort()).toEqual(
      ['*:*:READER', 'Org1MSP:*:OWNER', `Org1MSP:${agentId}:DEVICE_AGENT`].sort(),
    );
  });

  it("refuses an OWNER's grant of program:ack to itself, of DEVICE_AGENT to itself, its whole org or another org (even one identity of it)", async () => {
    const own = 'plant-ack-grants';
    await org1.createTwin(own, 'Ack grants', FIXTURE);
    const ownerId = (await org1.checkAccess(own, Permissions.PROGRAM_ACK)).identity;
    const agentId = (await agent.checkAccess(own, Permissions.PROGRAM_ACK)).identity;
    const before = (await org1.listGrants(own)).length;
    // The attack of issue #19: the owner makes itself the acknowledger and answers for the device.
    for (const g of [
      { mspId: 'Org1MSP', identity: ownerId, permission: Permissions.PROGRAM_ACK },
      { mspId: 'Org1MSP', permission: Permissions.PROGRAM_ACK },
      { mspId: 'Org1MSP', identity: ownerId, role: Roles.DEVICE_AGENT },
      { mspId: 'Org1MSP', role: Roles.DEVICE_AGENT },
      { mspId: 'Org2MSP', role: Roles.DEVICE_AGENT },
      { mspId: 'Org1MSP', identity: agentId, permission: Permissions.PROGRAM_ACK },
    ]) {
      await expect(org1.grant(own, g)).rejects.toMatchObject({ name: ChaincodeGrantForbiddenError.name, code: 'GRANT_FORBIDDEN' });
    }
    // Creation grants follow the same rule.
    await expect(org1.createTwin('plant-ack-grants-2', 'Ack grants 2', FIXTURE, [{ mspId: 'Org1MSP', identity: ownerId, role: Roles.DEVICE_AGENT }])).rejects.toMatchObject({
      code: 'GRANT_FORBIDDEN',
    });
    expect(await org1.checkAccess(own, Permissions.PROGRAM_ACK)).toMatchObject({ allowed: false });
    expect(await org1.listGrants(own)).toHaveLength(before);
    const call = (await org1.callProgram(own, 'SetConveyorSpeed', { speed: 1 })).result;
    await expect(org1.acknowledgeProgramCall(own, call.callId, 'REJECTED', { by: 'owner' })).rejects.toMatchObject({ code: 'ACCESS_DENIED' });

    // The twin's device agent: one identity of the owner's organization, not the granter.
    await org1.grant(own, { mspId: 'Org1MSP', identity: agentId, role: Roles.DEVICE_AGENT });
    // Another organization's identity, even while the role is held: refused.
    const org2Id = (await org2.checkAccess(own, Permissions.PROGRAM_ACK)).identity;
    await expect(org1.grant(own, { mspId: 'Org2MSP', identity: org2Id, role: Roles.DEVICE_AGENT })).rejects.toMatchObject({ code: 'GRANT_FORBIDDEN' });
    expect(await org2.checkAccess(own, Permissions.PROGRAM_ACK)).toMatchObject({ allowed: false });
    expect((await agent.acknowledgeProgramCall(own, call.callId, 'EXECUTED')).result).toMatchObject({ status: 'EXECUTED' });
  });

  it('lets an admin register its organization as a party, and refuses a non-admin', async () => {
    const peerIds = ['12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'];
    const key = Buffer.alloc(32, 7).toString('base64');
    const reg = await org1Admin.registerParty(peerIds, key);
    expect(reg.result).toMatchObject({ mspId: 'Org1MSP', peerIds, x25519PublicKey: key });
    expect(reg.result.version).toBeGreaterThanOrEqual(1);
    const seen = await eventually(() => org2.getParty('Org1MSP'), (p) => p.txId === reg.transactionId);
    expect(seen).toMatchObject({ mspId: 'Org1MSP', version: reg.result.version, txId: reg.transactionId });
    await expect(org2.registerParty(peerIds, key)).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await expect(org1.registerParty(peerIds, key)).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await expect(org2.getParty('Org2MSP')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await org2.listParties()).map((p) => p.mspId)).toEqual(['Org1MSP']);
  });

  it('commits concurrent edits of different elements by both organizations', async () => {
    await org1.createTwin(shared, 'Shared plant', FIXTURE, { Org2MSP: Roles.MAINTAINER });
    await eventually(() => org2.getTwin(shared), () => true);
    const [a, b] = await Promise.all([
      org1.insertAML(shared, elementXml('filler-extra-1'), 'filler-1'),
      org2.insertAML(shared, elementXml('valve-extra-1'), 'valve-inlet-1'),
    ]);
    expect(a.result.inserted).toEqual(['filler-extra-1']);
    expect(b.result.inserted).toEqual(['valve-extra-1']);
    const spec = await eventually(() => org2.getSpecification(shared), (s) => s.aml.includes('filler-extra-1'));
    expect(checkXml(spec.aml).internalElements).toBe(14);
    expect(spec.aml).toContain('ID="valve-extra-1"');
  });

  it('lets exactly one of two concurrent edits of the same element win, without corrupting the twin', async () => {
    // Both remove the same subtree: one commits, the other loses the read conflict (or, if
    // endorsed after the commit, is refused as NOT_FOUND).
    const outcomes = await Promise.allSettled([org1.removeAML(shared, 'filler-extra-1'), org2.removeAML(shared, 'filler-extra-1')]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const loser = lost[0];
    const clean = loser instanceof MvccConflictError || (loser instanceof ChaincodeRejectedError && loser.code === 'NOT_FOUND');
    expect({ clean, loser: String(loser) }).toMatchObject({ clean: true });

    // Both insert a child at the same place: at most one may conflict, nothing half-written.
    const same = await Promise.allSettled([
      org1.insertAML(shared, elementXml('same-a'), 'conveyor-1', 'prog-set-conveyor-speed'),
      org2.insertAML(shared, elementXml('same-b'), 'conveyor-1', 'prog-set-conveyor-speed'),
    ]);
    for (const o of same) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(MvccConflictError);
    const committed = same.filter((o) => o.status === 'fulfilled').length;
    expect(committed).toBeGreaterThanOrEqual(1);

    const spec = await eventually(() => org2.getSpecification(shared), (s) => s.aml.includes('same-'));
    const s1 = await org1.getSpecification(shared);
    expect(checkXml(spec.aml).internalElements).toBe(14 - 1 + committed);
    expect(spec.aml).not.toContain('filler-extra-1');
    await expect(org1.getElement(shared, 'filler-extra-1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(org1.insertAML(shared, elementXml('after-race'), 'conveyor-1')).resolves.toMatchObject({ result: { inserted: ['after-race'] } });
    expect(checkXml((await org1.getSpecification(shared)).aml).internalElements).toBe(15 - 1 + committed);
    expect(s1.aml).toBe(spec.aml);
  });

  it('reconstructs an earlier state with history and getTwinAsOf', async () => {
    const changes = (await org1.history(twin)).changes;
    expect(changes[0]).toMatchObject({ operation: 'createTwin', mspId: 'Org1MSP', targets: expect.arrayContaining([{ kind: 'twin', id: twin }]) });
    const inserted = changes.find((c) => c.operation === 'insertAML')!;
    expect(inserted.targets).toEqual(expect.arrayContaining([{ kind: 'element', id: 'capper-1' }]));

    const atCreate = await org1.getTwinAsOf(twin, changes[0]!.txId);
    expect(atCreate.asOf).toMatchObject({ txId: changes[0]!.txId, lastTxId: changes[0]!.txId });
    expect(checkXml(atCreate.specification).internalElements).toBe(12);
    expect(atCreate.documents).toEqual([]);
    expect(atCreate.grants.map((g) => g.role).sort()).toEqual(['OWNER', 'READER']);

    const atInsert = await org1.getTwinAsOf(twin, inserted.txId);
    expect(atInsert.specification).toContain('ID="capper-1"');
    expect(checkXml(atInsert.specification).internalElements).toBe(14);
    const now = await org1.getTwinAsOf(twin, new Date(Date.now() + 60_000));
    expect(now.specification).toBe((await org1.getSpecification(twin)).aml);
    expect(now.programCalls.map((c) => c.status)).toEqual(['EXECUTED']);
    // Before the twin existed there is nothing to reconstruct.
    await expect(org1.getTwinAsOf(twin, new Date(Date.parse(changes[0]!.timestamp) - 60_000))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  /**
   * Endorses and submits a transaction whose proposal carries `at` as its timestamp, as a
   * client with a skewed or back-dated clock would send it: the Gateway's offline-signing
   * flow (newProposal, then our own bytes back through gateway.newProposal) with the channel
   * header's timestamp rewritten before signing. The Gateway API itself always stamps now.
   */
  async function submitAt(org: number, who: IdentityFiles, at: Date, fn: string, args: readonly string[]): Promise<{ txId: string; code: number }> {
    const { common, gateway, peer } = fabricProtos;
    const id = await loadIdentity(who);
    const gw = fabricGateway.connect({ client: pool.get(net.orgs[org]!.peer), identity: id.identity, signer: id.signer, hash: fabricGateway.hash.sha256 });
    try {
      const unsigned = gw.getNetwork(net.channel).getContract(net.chaincode).newProposal(fn, { arguments: [...args] });
      const proposed = gateway.ProposedTransaction.deserializeBinary(unsigned.getBytes());
      const signed = proposed.getProposal()!;
      const proposal = peer.Proposal.deserializeBinary(signed.getProposalBytes_asU8());
      const header = common.Header.deserializeBinary(proposal.getHeader_asU8());
      const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
      const ts = channelHeader.getTimestamp()!;
      ts.setSeconds(Math.floor(at.getTime() / 1000));
      ts.setNanos((at.getTime() % 1000) * 1_000_000);
      channelHeader.setTimestamp(ts);
      header.setChannelHeader(channelHeader.serializeBinary());
      proposal.setHeader(header.serializeBinary());
      signed.setProposalBytes(proposal.serializeBinary());
      proposed.setProposal(signed);
      // The transaction ID hashes nonce and creator only, so it stays valid; the signature is
      // made over the rewritten bytes.
      const tx = await gw.newProposal(proposed.serializeBinary()).endorse();
      const status = await (await tx.submit()).getStatus();
      return { txId: status.transactionId, code: status.code };
    } finally {
      gw.close();
    }
  }

  /** The gRPC error's details as one string (the peers' and the chaincode's messages). */
  const endorseMessage = async (p: Promise<unknown>): Promise<string> => {
    const err = (await rejection(p)) as { name?: string; message?: string; details?: { message?: string }[] };
    return [err.name, err.message, ...(err.details ?? []).map((d) => d.message)].join(' | ');
  };

  it('orders changes by the ledger, not the submitters\' clocks, and bounds back-dated proposals (issue #20)', async () => {
    const clock = `${twin}-clock`;
    const expiry = new Date(Date.now() + 8_000);
    await org1.createTwin(clock, 'Clock', FIXTURE, [{ mspId: 'Org2MSP', role: Roles.MAINTAINER, expiresAt: expiry.toISOString() }]);
    await org2.insertAML(clock, elementXml('org2-before'), 'plant-1');

    // Two writers, the second one's clock 20 s behind: its removal commits after the insert
    // but carries an earlier timestamp.
    const ins = await org1.insertAML(clock, elementXml('skew-1'), 'plant-1');
    const [o1] = net.orgs;
    const rm = await submitAt(0, o1!.users[1]!, new Date(Date.now() - 20_000), 'spec:removeAML', [clock, 'skew-1']);
    expect(rm.code).toBe(0); // VALID
    await eventually(() => org2.history(clock), (h) => h.changes.some((c) => c.txId === rm.txId));
    const h = await org2.history(clock);
    expect(h.changes.map((c) => [c.seq, c.operation])).toEqual([
      [1, 'createTwin'],
      [2, 'insertAML'],
      [3, 'insertAML'],
      [4, 'removeAML'],
    ]);
    expect(h.changes[2]!.txId).toBe(ins.transactionId);
    expect(Date.parse(h.changes[3]!.timestamp)).toBeLessThan(Date.parse(h.changes[2]!.timestamp));
    const live = (await org1.getSpecification(clock)).aml;
    expect(live).not.toContain('skew-1');
    for (const at of [{ seq: 4 }, rm.txId, new Date(Date.now() + 30_000)] as const) {
      const past = await org1.getTwinAsOf(clock, at);
      expect(past.specification).toBe(live);
      expect(past.asOf).toMatchObject({ lastSeq: 4, lastTxId: rm.txId });
    }
    expect((await org1.getTwinAsOf(clock, { seq: 3 })).specification).toContain('ID="skew-1"');

    // Expiry. Wait until the Maintainer grant has expired, then let Org1 record a change.
    while (Date.now() <= expiry.getTime() + 1_000) await sleep(250);
    await org1.addExternalSource(clock, 'https://example.com/after-expiry', 'recorded after the expiry');
    // Org2 back-dates a proposal to before the expiry, within the peers' 60 s window: the
    // chaincode judges the grant at the twin's latest recorded change and refuses.
    const backDated = await endorseMessage(submitAt(1, net.orgs[1]!.users[0]!, new Date(expiry.getTime() - 2_000), 'spec:insertAML', [clock, elementXml('org2-late'), 'plant-1', '']));
    expect(backDated).toMatch(/ACCESS_DENIED/);
    // Back-dated further than the window: the peers refuse the proposal before the chaincode runs.
    const outside = await endorseMessage(submitAt(1, net.orgs[1]!.users[0]!, new Date(Date.now() - 120_000), 'spec:insertAML', [clock, elementXml('org2-later'), 'plant-1', '']));
    expect(outside).toMatch(/incorrect timestamp|timewindow/);
    expect((await org1.getSpecification(clock)).aml).not.toContain('org2-late');
  });

  it('emits one chaincode event per write, each carrying the twinId', async () => {
    const mine = await eventually(
      async () => events.filter((e) => 'twinId' in e.payload && e.payload.twinId === twin),
      (l) => l.some((e) => e.name === LedgerEvents.GrantAdded) && l.some((e) => e.name === LedgerEvents.ProgramCallAcknowledged),
    );
    const names = new Set(mine.map((e) => e.name));
    for (const n of [
      LedgerEvents.TwinCreated,
      LedgerEvents.AmlInserted,
      LedgerEvents.AmlRemoved,
      LedgerEvents.DocumentAdded,
      LedgerEvents.DocumentVersionAdded,
      LedgerEvents.DocumentRemoved,
      LedgerEvents.SensorFeedAdded,
      LedgerEvents.SensorFeedRemoved,
      LedgerEvents.ExternalSourceAdded,
      LedgerEvents.ExternalSourceRemoved,
      LedgerEvents.ProgramCalled,
      LedgerEvents.GrantAdded,
      LedgerEvents.ProgramCallAcknowledged,
    ]) {
      expect(names).toContain(n);
    }
    for (const e of mine) expect(e.payload).toMatchObject({ twinId: twin, txId: e.transactionId });
    // One event per transaction: the change log's transactions and the events agree.
    const logged = new Set((await org1.history(twin)).changes.map((c) => c.txId));
    expect(new Set(mine.map((e) => e.transactionId))).toEqual(logged);
    const created = mine.find((e) => e.name === LedgerEvents.TwinCreated);
    expect(created?.name === LedgerEvents.TwinCreated && created.payload.elements).toBe(FIXTURE_ELEMENTS);
    const party = events.find((e) => e.name === LedgerEvents.PartyRegistered);
    expect(party?.payload).toMatchObject({ mspId: 'Org1MSP' });
  });
});
