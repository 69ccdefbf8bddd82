import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFabricClient, createPeerConnectionPool, loadIdentity, type FabricClient, type PeerConnectionPool } from '@twinledger/fabric-client';
import { fabricAvailability, serviceEntry, startNetwork, startServiceProcess, testNetworkInit, type DevNetwork } from '@twinledger/devnet';
import { createTwinLedger, Permissions, Roles, type SafetyChange, type TwinLedger } from '@twinledger/ledger';
import { createConsumer, createIdempotentProducer, createKafka, ensureTopics, TOPICS, type Consumer, type Producer } from '@twinledger/kafka';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer } from '@twinledger/service-kit';
import { decodeReadingsMessage, type Reading } from '@twinledger/readings';
import type { BottlingPlantSimulator } from '@twinledger/plant-sim';
import { derivedFeedRegistrar } from '../src/domain/feed-registrar.js';
import { createSyncEngine } from '../src/domain/sync.js';
import { parseTwinAml } from '../src/domain/aml.js';
import type { DeviceAgent } from '../src/runtime.js';
import { createEnvelopeGuard, parseEnvelope, type EnvelopeGuard } from '../src/domain/envelope.js';
import { opcua, runtime, simulator, until } from './support/opcua.js';
import { securePair, type SecurePair } from './support/pki.js';

const { createDeviceAgent } = runtime;

const fabric = await fabricAvailability();
const FIXTURE = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../../chaincode/fixtures/bottling-plant.aml'), 'utf8');

// Against the simulator over real OPC UA, the real KRaft broker and the real two-org Fabric
// network: the agent signs as Org1's User2, which the twin grants DEVICE_AGENT alone.
(fabric.ok ? describe : describe.skip)('device agent end to end', () => {
  let net: DevNetwork;
  let pool: PeerConnectionPool;
  const clients: FabricClient[] = [];
  let owner: TwinLedger; // Org1 User1 (OWNER)
  let org2: TwinLedger; // Org2 User1 (READER through "*")
  let agentLedger: TwinLedger;
  let agentFabric: FabricClient;
  let sim: BottlingPlantSimulator;
  let dir: string;
  let producer: Producer;
  let readingsConsumer: Consumer;
  const readings: { key: string; r: Reading }[] = [];
  let agent: DeviceAgent | undefined;
  let generation = 0;
  let pair: SecurePair;
  const twin = `bottling-${Date.now()}`;
  const dataDir = (): string => join(dir, 'agent-data');

  const client = async (org: number, user: number): Promise<FabricClient> => {
    const o = net.orgs[org]!;
    const c = createFabricClient({ pool, peer: o.peer, identity: await loadIdentity(o.users[user]!), channel: net.channel, chaincode: net.chaincode });
    clients.push(c);
    return c;
  };

  let kafkaClient: ReturnType<typeof createKafka>;

  /** A safety change as plant change management makes it: the owner proposes, Org2 (MANUFACTURER) approves. */
  const safetyChange = async (change: SafetyChange): Promise<void> => {
    const id = (await owner.proposeSafetyChange(twin, change, 'tighten the belt rules')).result.proposalId;
    await until(() => org2.getSafetyProposal(twin, id), () => true, 15_000, 'proposal on Org2');
    await org2.approveSafetyChange(twin, id);
  };

  async function startAgent(opts: { relay?: boolean; envelope?: EnvelopeGuard; now?: () => number } = {}): Promise<DeviceAgent> {
    generation += 1;
    const relay = opts.relay ? { consumer: createConsumer(kafkaClient, { groupId: `da-agent-relay-${generation}-${Date.now()}` }), topic: TOPICS.ledgerEvents } : undefined;
    const adapter = opcua.createOpcUaAdapter({ endpointUrl: sim.endpointUrl, pkiDir: join(dir, 'client-pki'), security: pair.client, logger: silentLogger(), samplingIntervalMs: 50, reconnectInitialMs: 100, reconnectMaxMs: 1_000 });
    const a = await createDeviceAgent({
      twinId: twin,
      mspId: 'Org1MSP',
      ledger: agentLedger,
      fabric: agentFabric,
      adapter,
      feeds: derivedFeedRegistrar(),
      dataDir: dataDir(),
      logger: silentLogger(),
      // With the relay as the only event source, a long interval keeps the periodic catch-up
      // of pending calls out of the way: only the Kafka record can trigger the call.
      syncIntervalMs: relay ? 600_000 : 2_000,
      readings: { producer, topic: TOPICS.readings, maxReadingsPerSecond: 200, maxBuffered: 10_000 },
      ...(relay ? { ledgerEventsConsumer: relay, gatewayEvents: false } : {}),
      ...(opts.envelope ? { envelope: opts.envelope } : {}),
      ...(opts.now ? { now: opts.now } : {}),
    });
    await a.start();
    await until(() => a.ready(), (r) => r, 30_000, `agent ${generation} ready`);
    return a;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'da-int-'));
    net = await startNetwork({ orgs: ['org1', 'org2'], kafka: true, ...testNetworkInit() });
    pool = createPeerConnectionPool();
    owner = createTwinLedger(await client(0, 0));
    agentFabric = await client(0, 1);
    agentLedger = createTwinLedger(agentFabric);
    org2 = createTwinLedger(await client(1, 0));
    await owner.createTwin(twin, 'Bottling plant', FIXTURE);
    const agentId = (await until(() => agentLedger.checkAccess(twin, Permissions.PROGRAM_ACK), () => true)).identity;
    await owner.grant(twin, { mspId: 'Org1MSP', identity: agentId, role: Roles.DEVICE_AGENT });
    await until(() => org2.listGrants(twin), (g) => g.some((x) => x.role === 'DEVICE_AGENT'), 15_000, 'grant on Org2 peer');

    const kafka = createKafka({ brokers: [net.kafka!.bootstrap], clientId: 'da-test' });
    kafkaClient = kafka;
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic: TOPICS.readings, partitions: 3 }, { topic: TOPICS.ledgerEvents, partitions: 3 }]);
    await admin.disconnect();
    producer = createIdempotentProducer(kafka);
    await producer.connect();
    readingsConsumer = createConsumer(kafka, { groupId: `da-test-${Date.now()}` });
    await readingsConsumer.connect();
    await readingsConsumer.subscribe({ topic: TOPICS.readings, fromBeginning: true });
    await readingsConsumer.run({
      eachMessage: async ({ message }) => {
        for (const r of decodeReadingsMessage(message.key, message.value)) readings.push({ key: message.key!.toString(), r });
      },
    });

    pair = await securePair(dir);
    sim = await simulator.startBottlingPlantSimulator({ pkiDir: join(dir, 'server-pki'), tickMs: 100, security: pair.server });
    agent = await startAgent();
  }, 240_000);

  afterAll(async () => {
    await agent?.stop();
    await readingsConsumer?.disconnect();
    await producer?.disconnect();
    await sim?.stop();
    for (const c of clients) c.close();
    pool?.close();
    await net?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('registers a feed for each sensor at start, leaves the matching spec alone, and streams readings to dt.readings', async () => {
    const feeds = await until(() => org2.listSensorFeeds(twin), (f) => f.length === 4, 30_000, 'four feeds');
    expect(feeds.map((f) => f.componentId).sort()).toEqual(['sensor-fill-level-1', 'sensor-flow-1', 'sensor-pressure-1', 'sensor-temperature-1']);
    const report = await agent!.sync.sync('test');
    expect(report).toMatchObject({ ok: true, actions: [] });
    expect(report.drift?.items).toEqual([]);
    const fill = feeds.find((f) => f.componentId === 'sensor-fill-level-1')!;
    const got = await until(() => readings.filter((x) => x.r.component === 'sensor-fill-level-1'), (x) => x.length >= 5, 20_000, 'fill level readings');
    for (const { key, r } of got) {
      expect(key).toBe(fill.feedRef);
      expect(r).toMatchObject({ feed: fill.feedRef, u: 'mm' });
      expect(r.v as number).toBeGreaterThanOrEqual(180);
      expect(r.v as number).toBeLessThanOrEqual(195);
    }
  });

  it('notices a sensor exchange on the device and updates the twin: removeAML, insertAML, addSensorFeed, new stream', async () => {
    sim.breakSensor('sensor-fill-level-1');
    expect(sim.flooding).toBe(true);
    sim.replaceSensor('sensor-fill-level-1', { componentId: 'sensor-fill-level-2', serialNumber: 'SN-REPL-42' });
    const el = await until(() => org2.getElement(twin, 'sensor-fill-level-2'), () => true, 20_000, 'new sensor readable by Org2');
    expect(el).toMatchObject({ parentId: 'filler-1', name: 'FillLevelSensor' });
    expect(el.aml).toContain('SN-REPL-42');
    expect(el.aml).toContain('<Value>180</Value>');
    await expect(org2.getElement(twin, 'sensor-fill-level-1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // The new part sits where the old one was: first child of the filler.
    const spec = parseTwinAml((await org2.getSpecification(twin)).aml);
    expect(spec.elements.get('filler-1')?.childIds).toEqual(['sensor-fill-level-2', 'sensor-flow-1', 'sensor-pressure-1', 'sensor-temperature-1']);
    const feeds = await until(() => org2.listSensorFeeds(twin), (f) => f.some((x) => x.componentId === 'sensor-fill-level-2'), 20_000, 'new feed');
    expect(feeds.map((f) => f.componentId).sort()).toEqual(['sensor-fill-level-2', 'sensor-flow-1', 'sensor-pressure-1', 'sensor-temperature-1']);
    const feed = feeds.find((f) => f.componentId === 'sensor-fill-level-2')!;
    expect(feed.registeredBy.id).toMatch(/User2/);
    const fresh = await until(() => readings.filter((x) => x.r.component === 'sensor-fill-level-2'), (x) => x.length >= 3, 20_000, 'new stream');
    expect(fresh.every((x) => x.key === feed.feedRef && x.r.feed === feed.feedRef)).toBe(true);
    // Exactly one removeAML and one insertAML for the exchange.
    const ops = (await owner.history(twin)).changes.filter((c) => c.targets.some((t) => t.id === 'sensor-fill-level-1' || t.id === 'sensor-fill-level-2')).map((c) => c.operation);
    expect(ops.filter((o) => o === 'removeAML')).toHaveLength(1);
    expect(ops.filter((o) => o === 'insertAML')).toHaveLength(1);
    const drift = await agent!.sync.drift();
    expect(drift.items).toEqual([]);
  });

  it('notices a part swapped under the same tag (new serial number): removeAML + insertAML in place, feed again', async () => {
    sim.swapSensorPart('sensor-fill-level-2', { serialNumber: 'SN-REPL-43' });
    const el = await until(() => org2.getElement(twin, 'sensor-fill-level-2'), (e) => e.aml.includes('SN-REPL-43'), 20_000, 'element with the new serial');
    expect(el.aml).not.toContain('SN-REPL-42');
    expect(el).toMatchObject({ parentId: 'filler-1', name: 'FillLevelSensor' });
    const spec = parseTwinAml((await org2.getSpecification(twin)).aml);
    expect(spec.elements.get('filler-1')?.childIds).toEqual(['sensor-fill-level-2', 'sensor-flow-1', 'sensor-pressure-1', 'sensor-temperature-1']);
    await until(() => org2.listSensorFeeds(twin), (f) => f.some((x) => x.componentId === 'sensor-fill-level-2'), 20_000, 'feed again');
    const ops = (await owner.history(twin)).changes.filter((c) => c.targets.some((t) => t.id === 'sensor-fill-level-2')).map((c) => c.operation);
    // The first exchange inserted it; this one removed and inserted it once more.
    expect(ops.filter((o) => o === 'removeAML')).toHaveLength(1);
    expect(ops.filter((o) => o === 'insertAML')).toHaveLength(2);
    await until(() => agent!.sync.drift(), (d) => d.items.length === 0, 20_000, 'no drift');
  });

  it('keeps a part whose reads fail in the specification and reports it unreachable', async () => {
    sim.setUnreachable('sensor-flow-1', true);
    try {
      const report = await agent!.sync.sync('test');
      expect(report).toMatchObject({ ok: true, actions: [] });
      expect(report.drift?.items).toEqual([{ type: 'UNREACHABLE', componentId: 'sensor-flow-1' }]);
      await expect(org2.getElement(twin, 'sensor-flow-1')).resolves.toMatchObject({ parentId: 'filler-1' });
      expect((await org2.listSensorFeeds(twin)).map((f) => f.componentId)).toContain('sensor-flow-1');
    } finally {
      sim.setUnreachable('sensor-flow-1', false);
    }
    expect((await agent!.sync.sync('test')).drift?.items).toEqual([]);
    const ops = (await owner.history(twin)).changes.filter((c) => c.targets.some((t) => t.id === 'sensor-flow-1')).map((c) => c.operation);
    expect(ops).not.toContain('removeAML');
  });

  let roundTripCall = 0;
  it('executes an authorized program call on the device and acknowledges it on chain with the read-back', async () => {
    const before = sim.invocations.length;
    const queued = await owner.callProgram(twin, 'SetConveyorSpeed', { speed: 2 });
    roundTripCall = queued.result.callId;
    const done = await until(() => org2.getProgramCall(twin, roundTripCall), (c) => c.status !== 'PENDING', 20_000, 'call acknowledged');
    expect(done).toMatchObject({ status: 'EXECUTED', acknowledgement: { status: 'EXECUTED', result: { component: 'conveyor-1', program: 'SetConveyorSpeed', readBack: { speed: 2 } }, by: { mspId: 'Org1MSP' } } });
    expect(done.acknowledgement!.by.id).toMatch(/User2/);
    expect(sim.conveyorSpeed).toBe(2);
    expect(sim.invocations.slice(before)).toEqual([expect.objectContaining({ componentId: 'conveyor-1', method: 'SetConveyorSpeed', args: { speed: 2 } })]);
    // Calls straight out of bounds never reach the queue.
    await expect(owner.callProgram(twin, 'SetConveyorSpeed', { speed: 3 })).rejects.toMatchObject({ code: 'OUT_OF_BOUNDS' });
  });

  it('executes a call retried with the same request ID once: one queued call, the same call ID, one device invocation', async () => {
    const before = sim.invocations.length;
    const first = await owner.callProgram(twin, 'SetConveyorSpeed', { speed: 1.5 }, { requestId: 'da-retry-1' });
    // The client lost the answer (say, OUTCOME_UNKNOWN) and sends the same request again.
    const retry = await owner.callProgram(twin, 'SetConveyorSpeed', { speed: 1.5 }, { requestId: 'da-retry-1' });
    expect(retry.result.callId).toBe(first.result.callId);
    expect(retry.result.txId).toBe(first.transactionId);
    const done = await until(() => org2.getProgramCall(twin, first.result.callId), (c) => c.status !== 'PENDING', 20_000, 'retried call acknowledged');
    expect(done).toMatchObject({ status: 'EXECUTED', requestId: 'da-retry-1' });
    // A retry after execution still answers with that call and queues nothing.
    expect((await owner.callProgram(twin, 'SetConveyorSpeed', { speed: 1.5 }, { requestId: 'da-retry-1' })).result).toMatchObject({ callId: first.result.callId, status: 'EXECUTED' });
    expect(await owner.getProgramCallByRequest(twin, 'da-retry-1')).toMatchObject({ callId: first.result.callId });
    expect(await owner.listPendingProgramCalls(twin)).toEqual([]);
    expect(sim.invocations.slice(before)).toEqual([expect.objectContaining({ method: 'SetConveyorSpeed', args: { speed: 1.5 } })]);
    // No call was queued by the retries: the next call gets the next ID.
    const next = await owner.callProgram(twin, 'SetConveyorSpeed', { speed: 1.6 });
    expect(next.result.callId).toBe(first.result.callId + 1);
    await until(() => org2.getProgramCall(twin, next.result.callId), (c) => c.status !== 'PENDING', 20_000, 'next call acknowledged');
  });

  it('never executes a call whose expiry passed while the agent was away: EXPIRED on chain, plant untouched', async () => {
    await agent!.stop();
    agent = undefined;
    const before = sim.invocations.length;
    const speedBefore = sim.conveyorSpeed;
    const queued = await owner.callProgram(twin, 'SetConveyorSpeed', { speed: 0.4 }, { ttlSeconds: 60 });
    expect(Date.parse(queued.result.expiresAt) - Date.parse(queued.result.requestedAt)).toBe(60_000);
    // The agent comes back an hour later (its clock says so; the ledger's record is as queued).
    agent = await startAgent({ now: () => Date.now() + 3_600_000 });
    const done = await until(() => org2.getProgramCall(twin, queued.result.callId), (c) => c.status !== 'PENDING', 20_000, 'expired call acknowledged');
    expect(done).toMatchObject({ status: 'EXPIRED', acknowledgement: { status: 'EXPIRED', result: { reason: 'EXPIRED', expiresAt: queued.result.expiresAt }, by: { mspId: 'Org1MSP' } } });
    expect(sim.invocations.length).toBe(before);
    expect(sim.conveyorSpeed).toBe(speedBefore);
    expect(agent.status().calls).toMatchObject({ EXPIRED: 1 });
  });

  it("refuses calls the ledger allows but the operator's envelope does not (limits, calls per minute): REJECTED with the reason, plant untouched", async () => {
    await agent!.stop();
    const envelope = createEnvelopeGuard(parseEnvelope({
      version: 1,
      programs: {
        SetConveyorSpeed: { parameters: { speed: { min: 0, max: 1.8 } }, requiredState: [{ variable: 'Flooding', equals: false }], maxCallsPerMinute: 2 },
        SetValve: { parameters: { open: { allowed: [true, false] } }, maxCallsPerMinute: 10 },
      },
    }));
    agent = await startAgent({ envelope });
    const before = sim.invocations.length;
    const speedBefore = sim.conveyorSpeed;
    // The ledger's rule is 0..2.5 m/s: 2.2 is queued by the chaincode, the agent refuses it.
    const wide = (await owner.callProgram(twin, 'SetConveyorSpeed', { speed: 2.2 })).result.callId;
    const w = await until(() => org2.getProgramCall(twin, wide), (c) => c.status !== 'PENDING', 20_000, 'envelope refusal acknowledged');
    expect(w).toMatchObject({ status: 'REJECTED', acknowledgement: { status: 'REJECTED', result: { reason: 'OUTSIDE_ENVELOPE', parameter: 'speed', source: 'envelope', message: expect.stringContaining('maximum 1.8') } } });
    expect(sim.conveyorSpeed).toBe(speedBefore);
    expect(sim.invocations.length).toBe(before);

    // Budget 2 per minute: the third call in a row is refused before the device.
    const ids: number[] = [];
    for (const speed of [1.1, 1.2, 1.3]) ids.push((await owner.callProgram(twin, 'SetConveyorSpeed', { speed })).result.callId);
    const done = await Promise.all(ids.map((id) => until(() => org2.getProgramCall(twin, id), (c) => c.status !== 'PENDING', 30_000, `call ${id}`)));
    expect(done.map((c) => c.status)).toEqual(['EXECUTED', 'EXECUTED', 'REJECTED']);
    expect(done[2]).toMatchObject({ acknowledgement: { result: { reason: 'RATE_LIMITED', source: 'envelope' } } });
    expect(sim.conveyorSpeed).toBe(1.2);
    expect(sim.invocations.slice(before).map((i) => i.args)).toEqual([{ speed: 1.1 }, { speed: 1.2 }]);
  });

  it('after a restart, refuses calls the specification no longer allows and never repeats an executed call', async () => {
    await agent!.stop();
    agent = undefined;
    const invocationsBefore = sim.invocations.length;
    // Queued while the agent is down and legal then; then the owner tightens the belt's safety
    // rule to 1.5 m/s and removes the outlet valve's program.
    const tooFast = (await owner.callProgram(twin, 'SetConveyorSpeed', { speed: 2.2 })).result.callId;
    const valve = (await owner.callProgram(twin, 'prog-set-valve-outlet-1', { open: true })).result.callId;
    // Programs are safety content: the owner proposes, Org2 (MANUFACTURER) approves.
    await owner.grant(twin, { mspId: 'Org2MSP', role: Roles.MANUFACTURER });
    await until(() => org2.checkAccess(twin, 'safety:write'), (a) => a.allowed, 15_000, 'Org2 holds safety:write');
    await safetyChange({
      operation: 'replaceAML',
      ID: 'prog-set-conveyor-speed',
      amlFragment:
        '<InternalElement Name="SetConveyorSpeed" ID="prog-set-conveyor-speed-v2"><Attribute Name="speed" AttributeDataType="xs:double" Unit="m/s"><Constraint Name="SpeedRange"><OrdinalScaledType><RequiredMaxValue>1.5</RequiredMaxValue><RequiredMinValue>0</RequiredMinValue></OrdinalScaledType></Constraint></Attribute><RoleRequirements RefBaseRoleClassPath="TwinLedgerRoleClassLib/Program"/></InternalElement>',
    });
    await until(() => org2.listPrograms(twin), (p) => p.some((x) => x.elementId === 'prog-set-conveyor-speed-v2') && !p.some((x) => x.elementId === 'prog-set-conveyor-speed'), 15_000, 'new program on Org2');
    await safetyChange({ operation: 'removeAML', ID: 'prog-set-valve-outlet-1' });
    await until(() => org2.listPrograms(twin), (p) => !p.some((x) => x.elementId === 'prog-set-valve-outlet-1'), 15_000, 'valve program removed on Org2');
    // A call within the new rules, queued too, is executed.
    const slow = (await owner.callProgram(twin, 'SetConveyorSpeed', { speed: 1.4 })).result.callId;

    agent = await startAgent();
    const a = await until(() => org2.getProgramCall(twin, tooFast), (c) => c.status !== 'PENDING', 30_000, 'tooFast acknowledged');
    // The call names the program element it was queued for, which is gone: refused.
    expect(a).toMatchObject({ status: 'REJECTED', acknowledgement: { result: { reason: 'UNKNOWN_PROGRAM' } } });
    const v = await until(() => org2.getProgramCall(twin, valve), (c) => c.status !== 'PENDING', 30_000, 'valve acknowledged');
    expect(v).toMatchObject({ status: 'REJECTED', acknowledgement: { result: { reason: 'UNKNOWN_PROGRAM' } } });
    const s = await until(() => org2.getProgramCall(twin, slow), (c) => c.status !== 'PENDING', 30_000, 'slow acknowledged');
    expect(s).toMatchObject({ status: 'EXECUTED', acknowledgement: { result: { readBack: { speed: 1.4 } } } });
    expect(sim.valveOpen('valve-outlet-1')).toBe(false);
    expect(sim.conveyorSpeed).toBe(1.4);
    expect(sim.invocations.slice(invocationsBefore).map((i) => i.args)).toEqual([{ speed: 1.4 }]);

    // Replays: the journal says done, and even an agent without a journal asks the ledger first.
    await expect(agent.executor.submit(roundTripCall)).resolves.toMatchObject({ status: 'SKIPPED' });
    expect(sim.invocations.slice(invocationsBefore)).toHaveLength(1);
    expect(agent.status().calls).toMatchObject({ EXECUTED: 1, REJECTED: 2 });
  });

  it('rejects a queued call whose parameter is outside the bounds the specification now states', async () => {
    // Bounds tightened after queuing: the chaincode accepted 1.2 under max 1.5; now max 1.0.
    await agent!.stop();
    agent = undefined;
    const callId = (await owner.callProgram(twin, 'prog-set-conveyor-speed-v2', { speed: 1.2 })).result.callId;
    await safetyChange({
      operation: 'replaceAML',
      ID: 'prog-set-conveyor-speed-v2',
      amlFragment:
        '<InternalElement Name="SetConveyorSpeed" ID="prog-set-conveyor-speed-v2"><Attribute Name="speed" AttributeDataType="xs:double" Unit="m/s"><Constraint Name="SpeedRange"><OrdinalScaledType><RequiredMaxValue>1.0</RequiredMaxValue><RequiredMinValue>0</RequiredMinValue></OrdinalScaledType></Constraint></Attribute><RoleRequirements RefBaseRoleClassPath="TwinLedgerRoleClassLib/Program"/></InternalElement>',
    });
    await until(() => org2.listPrograms(twin), (p) => p.some((x) => x.elementId === 'prog-set-conveyor-speed-v2' && x.parameters[0]?.max === 1), 15_000, 'v2 with max 1.0');
    const speedBefore = sim.conveyorSpeed;
    agent = await startAgent();
    const c = await until(() => org2.getProgramCall(twin, callId), (x) => x.status !== 'PENDING', 30_000, 'acknowledged');
    expect(c).toMatchObject({ status: 'REJECTED', acknowledgement: { result: { reason: 'OUT_OF_BOUNDS', parameter: 'speed' } } });
    expect(sim.conveyorSpeed).toBe(speedBefore);
  });

  it('completes a sync interrupted between removeAML and insertAML after a restart, without duplicates', async () => {
    await agent!.stop();
    agent = undefined;
    sim.replaceSensor('sensor-pressure-1', { componentId: 'sensor-pressure-2' });
    // A run that dies right after its removeAML committed (the process "crashes" at insertAML).
    const crashing = new Proxy(agentLedger, {
      get(target, prop, receiver) {
        if (prop === 'insertAML') return async () => { throw new Error('simulated crash before insertAML'); };
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const adapter = opcua.createOpcUaAdapter({ endpointUrl: sim.endpointUrl, pkiDir: join(dir, 'client-pki'), security: pair.client, logger: silentLogger() });
    await adapter.start();
    try {
      const half = await createSyncEngine({ twinId: twin, ledger: crashing, adapter, feeds: derivedFeedRegistrar(), logger: silentLogger() }).sync('crash-test');
      expect(half.ok).toBe(false);
      expect(half.actions).toEqual([expect.objectContaining({ action: 'removeAML', componentId: 'sensor-pressure-1', txId: expect.any(String) })]);
    } finally {
      await adapter.stop();
    }
    await until(() => org2.getElement(twin, 'sensor-pressure-1').then(() => 'present', (e: { code?: string }) => e.code), (c) => c === 'NOT_FOUND', 15_000, 'old removed');
    await expect(org2.getElement(twin, 'sensor-pressure-2')).rejects.toMatchObject({ code: 'NOT_FOUND' });

    agent = await startAgent();
    await until(() => org2.listSensorFeeds(twin), (f) => f.some((x) => x.componentId === 'sensor-pressure-2'), 30_000, 'pressure-2 feed');
    const report = await agent.sync.sync('after-restart');
    expect(report).toMatchObject({ ok: true, actions: [] });
    expect(report.drift?.items).toEqual([]);
    const history = (await owner.history(twin)).changes;
    const touching = (id: string, op: string) => history.filter((c) => c.operation === op && c.targets.some((t) => t.id === id)).length;
    expect(touching('sensor-pressure-1', 'removeAML')).toBe(1);
    expect(touching('sensor-pressure-2', 'insertAML')).toBe(1);
    expect(touching('sensor-pressure-2', 'addSensorFeed')).toBe(1);
    const spec = parseTwinAml((await org2.getSpecification(twin)).aml);
    expect([...spec.elements.keys()].filter((id) => id.startsWith('sensor-pressure'))).toEqual(['sensor-pressure-2']);
  });
  it('an impostor at the plant address is refused (DEVICE_UNTRUSTED): no ledger change, the call waits for the real plant', async () => {
    await agent!.stop();
    agent = undefined;
    // Its own certificate; it trusts the agent's (public) certificate and accepts its user.
    const impostorPair = await securePair(join(dir, 'impostor'), 'Basic256Sha256', 'impostor');
    const impostor = await simulator.startBottlingPlantSimulator({ pkiDir: join(dir, 'impostor-server-pki'), tickMs: 100, security: { ...impostorPair.server, trustedClientCertificates: [pair.client.certificate.certificateFile] } });
    // The fake inventory that would make an agent rewrite the specification.
    impostor.replaceSensor('sensor-temperature-1', { componentId: 'sensor-temperature-666', serialNumber: 'EVIL' });
    const specWrites = async (): Promise<number> => (await owner.history(twin)).changes.filter((c) => ['removeAML', 'insertAML', 'addSensorFeed', 'removeSensorFeed'].includes(c.operation)).length;
    const writesBefore = await specWrites();
    const specBefore = (await org2.getSpecification(twin)).aml;
    // (The belt, not the inlet valve: the relay test below counts the valve's invocations.)
    const callId = (await owner.callProgram(twin, 'SetConveyorSpeed', { speed: 0.9 })).result.callId;
    const fake = await createDeviceAgent({
      twinId: twin,
      mspId: 'Org1MSP',
      ledger: agentLedger,
      fabric: agentFabric,
      adapter: opcua.createOpcUaAdapter({ endpointUrl: impostor.endpointUrl, pkiDir: join(dir, 'client-pki'), security: pair.client, logger: silentLogger(), reconnectInitialMs: 100, reconnectMaxMs: 500 }),
      feeds: derivedFeedRegistrar(),
      dataDir: join(dir, 'impostor-agent-data'),
      logger: silentLogger(),
      syncIntervalMs: 500,
    });
    try {
      await fake.start();
      const failure = await until(() => fake.status().device.lastFailure, (f) => f !== undefined, 20_000, 'refusal');
      expect(failure?.code).toBe('DEVICE_UNTRUSTED');
      // Several sync intervals and call catch-ups later: still refused, nothing done.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(fake.ready()).toBe(false);
      expect(fake.status().device).toMatchObject({ state: expect.not.stringMatching(/^connected$/), lastFailure: { code: 'DEVICE_UNTRUSTED' } });
    } finally {
      await fake.stop();
      await impostor.stop();
    }
    expect(impostor.invocations).toEqual([]);
    expect((await org2.getSpecification(twin)).aml).toBe(specBefore);
    expect(await specWrites()).toBe(writesBefore);
    expect((await org2.getProgramCall(twin, callId)).status).toBe('PENDING');
    // The agent of the real plant executes it.
    agent = await startAgent();
    await until(() => org2.getProgramCall(twin, callId), (c) => c.status === 'EXECUTED', 30_000, 'executed on the real plant');
    expect(sim.conveyorSpeed).toBe(0.9);
  });

  it('takes program calls from the dt.ledger-events relay when configured (no Gateway stream)', async () => {
    await agent!.stop();
    agent = await startAgent({ relay: true });
    expect(agent.status().events).toEqual({ gateway: null, kafka: true });
    const queued = await owner.callProgram(twin, 'prog-set-valve-inlet-1', { open: true });
    const callId = queued.result.callId;
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await org2.getProgramCall(twin, callId)).status).toBe('PENDING'); // nothing else triggers it
    // The record spec-service's relay writes for this event (services/spec-service event-relay).
    await producer.send({
      topic: TOPICS.ledgerEvents,
      acks: -1,
      messages: [{
        key: twin,
        value: JSON.stringify({ id: `${queued.blockNumber}:${queued.transactionId}`, eventName: 'ProgramCalled', transactionId: queued.transactionId, blockNumber: Number(queued.blockNumber), twinId: twin, payload: { twinId: twin, txId: queued.transactionId, callId, programName: 'SetValve', programElementId: 'prog-set-valve-inlet-1', parameters: { open: true }, requestId: queued.result.requestId, expiresAt: queued.result.expiresAt } }),
        headers: { 'event-name': 'ProgramCalled', 'dedupe-key': `${queued.transactionId}:ProgramCalled` },
      }, {
        // The relay may deliver twice (crash between Kafka ack and checkpoint): executed once.
        key: twin,
        value: JSON.stringify({ eventName: 'ProgramCalled', twinId: twin, payload: { callId } }),
      }, { key: twin, value: 'not json' }],
    });
    const c = await until(() => org2.getProgramCall(twin, callId), (x) => x.status !== 'PENDING', 30_000, 'relay call acknowledged');
    expect(c).toMatchObject({ status: 'EXECUTED', acknowledgement: { result: { component: 'valve-inlet-1', readBack: { open: true } } } });
    expect(sim.valveOpen('valve-inlet-1')).toBe(true);
    expect(sim.invocations.filter((i) => i.componentId === 'valve-inlet-1')).toHaveLength(1);
    await agent.stop();
    agent = await startAgent();
  });

  it('buffers readings while the Kafka broker is down and delivers them when it is back', async () => {
    const stream = () => agent!.status().stream!;
    await until(() => stream().produced, (n) => n > 0, 20_000, 'streaming');
    await net.kafka!.stop();
    const downAt = Date.now();
    await until(() => stream(), (s) => !s.kafkaUp && s.buffered > 20, 60_000, 'buffering while Kafka is down');
    await new Promise((r) => setTimeout(r, 1_000));
    const upAt = Date.now();
    await net.kafka!.startProcess();
    await until(() => stream(), (s) => s.kafkaUp && s.buffered < 50, 90_000, 'buffer drained');
    // Readings taken while the broker was down reach the topic. Read back by a consumer that
    // starts now, so the check is what the topic holds, not how the long-lived test consumer
    // recovered from the restart (on a loaded machine it once sat on one partition for > 60 s).
    const after: Reading[] = [];
    const check = createConsumer(kafkaClient, { groupId: `da-test-outage-${Date.now()}` });
    await check.connect();
    try {
      await check.subscribe({ topic: TOPICS.readings, fromBeginning: true });
      await check.run({
        eachMessage: async ({ message }) => {
          for (const r of decodeReadingsMessage(message.key, message.value)) if (r.ts > downAt + 500 && r.ts < upAt) after.push(r);
        },
      });
      const during = await until(
        () => after,
        // Every streamed sensor's feed.
        (x) => x.length >= 10 && new Set(x.map((y) => y.component)).size >= 4,
        90_000,
        'readings of every sensor from the outage',
      );
      expect(new Set(during.map((x) => x.component))).toEqual(new Set(['sensor-fill-level-2', 'sensor-flow-1', 'sensor-pressure-2', 'sensor-temperature-1']));
    } finally {
      await check.disconnect();
    }
  });
  it('runs as its own process (dist/server.js, built-in simulator): ready, syncs, executes calls, REST, graceful stop', async () => {
    const twin2 = `${twin}-proc`;
    await owner.createTwin(twin2, 'Bottling plant 2', FIXTURE);
    const agentId = (await until(() => agentLedger.checkAccess(twin2, Permissions.PROGRAM_ACK), () => true)).identity;
    await owner.grant(twin2, { mspId: 'Org1MSP', identity: agentId, role: Roles.DEVICE_AGENT });
    await until(() => org2.listGrants(twin2), (g) => g.some((x) => x.role === 'DEVICE_AGENT'), 15_000, 'grant on Org2 peer');
    const issuer = await createDevIssuer('https://idp.org1.local');
    await writeFile(join(dir, 'jwks.json'), JSON.stringify(issuer.jwks));
    const o1 = net.orgs[0]!;
    // Generous: the built-in simulator creates its OPC UA certificates on first start (slow on a loaded machine).
    const proc = await startServiceProcess({
      name: 'device-agent',
      entry: serviceEntry('device-agent'),
      readyTimeoutMs: 150_000,
      env: {
        ...process.env,
        PORT: '0', LOG_LEVEL: 'info', MSP_ID: 'Org1MSP', TWIN_ID: twin2, DATA_DIR: join(dir, 'proc-data'), SIMULATOR: 'true', SYNC_INTERVAL_MS: '1000',
        PEER_ENDPOINT: o1.peer.endpoint, PEER_TLS_ROOT_CERT: o1.peer.tlsRootCertPath, PEER_HOST_ALIAS: o1.peer.hostAlias ?? '',
        FABRIC_CERT_FILE: o1.users[1]!.certPath, FABRIC_KEY_FILE: o1.users[1]!.keyPath, CHANNEL: net.channel, CHAINCODE: net.chaincode,
        KAFKA_BROKERS: net.kafka!.bootstrap, AUTH_ISSUER: issuer.issuer, AUTH_JWKS_FILE: join(dir, 'jwks.json'),
        SAFETY_ENVELOPE_FILE: join(dirname(fileURLToPath(import.meta.url)), '../config/bottling-plant.envelope.json'),
      },
    });
    try {
      const base = proc.url;
      const auth = { authorization: `Bearer ${await issuer.issue({ sub: 'operator', org: 'Org1MSP', audience: 'twinledger' })}` };
      await until(() => fetch(`${base}/readyz`).then((r) => r.status), (st) => st === 200, 60_000, 'readyz');
      await until(() => org2.listSensorFeeds(twin2), (f) => f.length === 4, 30_000, 'process registered feeds');
      const status = (await (await fetch(`${base}/status`, { headers: auth })).json()) as { device: { state: string }; events: { gateway: boolean }; stream: { produced: number } };
      // The built-in simulator is served and reached over the secured link by default.
      expect(status).toMatchObject({ device: { state: 'connected', link: { securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', userIdentity: 'username:device-agent' } }, events: { gateway: true } });
      const sync = await fetch(`${base}/sync`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'operator check' }) });
      expect(sync.status).toBe(200);
      expect(await sync.json()).toMatchObject({ ok: true, actions: [], drift: { items: [] } });
      expect((await fetch(`${base}/drift`)).status).toBe(401);
      const callId = (await owner.callProgram(twin2, 'SetConveyorSpeed', { speed: 0.5 })).result.callId;
      const done = await until(() => org2.getProgramCall(twin2, callId), (c) => c.status !== 'PENDING', 30_000, 'process executed the call');
      expect(done).toMatchObject({ status: 'EXECUTED', acknowledgement: { result: { readBack: { speed: 0.5 } } } });
      // Org2's peer can show the acknowledgement before the agent's own submit returned and it journaled 'acked'.
      const calls = await until(async () => (await (await fetch(`${base}/calls?limit=5`, { headers: auth })).json()) as { callId: number; state: string }[], (c) => c[0]?.state === 'acked', 10_000, 'journal acked');
      expect(calls[0]).toMatchObject({ callId, state: 'acked' });
      await until(async () => ((await (await fetch(`${base}/status`, { headers: auth })).json()) as typeof status).stream.produced, (n) => n > 0, 20_000, 'process streams');
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/twinledger_device_agent_program_calls_total\{status="EXECUTED"\} 1/);
      expect(metrics).toMatch(/twinledger_device_agent_sync_duration_seconds_count\{outcome="ok"\} [1-9]/);
    } finally {
      await proc.stop();
    }
    // A graceful close: SIGTERM ended it with status 0.
    expect(proc.process.exited()).toEqual({ code: 0, signal: null });
  }, 300_000);
});
