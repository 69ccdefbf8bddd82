import { ErrorCodes, Events } from '../src';
import { TWIN, applySafetyChange, expectRefusal, hash, who, worldWithTwin, type World } from './support/world';

const doc = (n: number, confidentiality: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ hash: hash(n), dhtRef: `dht:${n}`, title: `Doc ${n}`, description: 'report', confidentiality, ...extra });

describe('documents', () => {
  it('adds, versions, lists by level, and removes', async () => {
    const w = await worldWithTwin();
    const d = await w.ledger.invoke(who.maintainer, w.spec, 'addDocument', TWIN, doc(1, 'internal', { componentId: 'sensor-flow-1' }));
    expect(d).toMatchObject({ hash: hash(1), componentId: 'sensor-flow-1', confidentiality: 'internal', versionCount: 1, owner: { mspId: 'MaintainerMSP' } });
    expect(w.ledger.lastTx.event).toMatchObject({ name: Events.DocumentAdded, payload: { twinId: TWIN, hash: hash(1), confidentiality: 'internal' } });
    await w.ledger.invoke(who.owner, w.spec, 'addDocument', TWIN, doc(2, 'secret'));
    await w.ledger.invoke(who.owner, w.spec, 'addDocument', TWIN, doc(3, 'public'));

    const v = await w.ledger.invoke(who.maintainer, w.spec, 'addDocumentVersion', TWIN, hash(1), hash(11), 'dht:11');
    expect(v).toMatchObject({ originalHash: hash(1), version: 2, hash: hash(11) });
    expect(w.ledger.lastTx.event).toMatchObject({ name: Events.DocumentVersionAdded, payload: { version: 2 } });

    const titles = async (caller: (typeof who)[keyof typeof who]) =>
      ((await w.ledger.invoke(caller, w.spec, 'listDocuments', TWIN)).items).map((x: { hash: string }) => x.hash).sort();
    expect(await titles(who.owner)).toEqual([hash(1), hash(2), hash(3)].sort());
    expect(await titles(who.auditor)).toEqual([hash(1), hash(3)].sort());
    expect(await titles(who.outsider)).toEqual([hash(3)]);

    const h = await w.ledger.invoke(who.auditor, w.spec, 'getDocumentHistory', TWIN, hash(11));
    expect(h.versions.map((x: { hash: string }) => x.hash)).toEqual([hash(1), hash(11)]);
    expect(h.document.latest).toEqual({ version: 2, hash: hash(11), dhtRef: 'dht:11' });
    expect(h.ledgerHistory).toHaveLength(2);
    await expect(w.ledger.invoke(who.outsider, w.spec, 'getDocumentHistory', TWIN, hash(1))).rejects.toMatchObject({ code: 'ACCESS_DENIED' });

    await w.ledger.invoke(who.maintainer, w.spec, 'removeDocument', TWIN, hash(1));
    expect(w.ledger.lastTx.event?.name).toBe(Events.DocumentRemoved);
    expect(await titles(who.owner)).toEqual([hash(2), hash(3)].sort());
    const gone = await w.ledger.invoke(who.auditor, w.spec, 'getDocumentHistory', TWIN, hash(1));
    expect(gone).toMatchObject({ removed: true, document: null });
    expect(gone.ledgerHistory[0].isDelete).toBe(true);
    // The hash is free again once removed.
    await w.ledger.invoke(who.maintainer, w.spec, 'addDocument', TWIN, doc(11, 'public'));
  });

  it('refuses the document list to a caller with no document read level on the twin (no empty 200)', async () => {
    const w = await worldWithTwin();
    await w.ledger.invoke(who.owner, w.spec, 'addDocument', TWIN, doc(3, 'public'));
    expect((await w.ledger.invoke(who.outsider, w.spec, 'listDocuments', TWIN)).items).toHaveLength(1);
    await w.ledger.invoke(who.owner, w.acl, 'revoke', TWIN, JSON.stringify({ mspId: '*', role: 'READER' }));
    await expectRefusal(w, w.ledger.invoke(who.outsider, w.spec, 'listDocuments', TWIN), ErrorCodes.ACCESS_DENIED);
    expect((await w.ledger.invoke(who.auditor, w.spec, 'listDocuments', TWIN)).items).toHaveLength(1);
  });

  it.each([
    ['bad hash', [TWIN, doc(1, 'public', { hash: 'xyz' })], ErrorCodes.VALIDATION_FAILED],
    ['bad level', [TWIN, doc(1, 'top')], ErrorCodes.VALIDATION_FAILED],
    ['unknown member', [TWIN, doc(1, 'public', { owner: 'me' })], ErrorCodes.VALIDATION_FAILED],
    ['not JSON', [TWIN, 'nope'], ErrorCodes.VALIDATION_FAILED],
    ['missing title', [TWIN, JSON.stringify({ hash: hash(1), dhtRef: 'r', confidentiality: 'public' })], ErrorCodes.VALIDATION_FAILED],
    ['unknown component', [TWIN, doc(1, 'public', { componentId: 'ghost' })], ErrorCodes.NOT_FOUND],
    ['unknown twin', ['ghost-twin', doc(1, 'public')], ErrorCodes.NOT_FOUND],
    ['duplicate hash', [TWIN, doc(5, 'public')], ErrorCodes.ALREADY_EXISTS],
    ['level above the role', [TWIN, doc(1, 'secret')], ErrorCodes.ACCESS_DENIED],
  ])('addDocument refuses %s', async (_n, args, code) => {
    const w = await worldWithTwin();
    await w.ledger.invoke(who.owner, w.spec, 'addDocument', TWIN, doc(5, 'public'));
    await expectRefusal(w, w.ledger.invoke(who.maintainer, w.spec, 'addDocument', ...(args as [string, string])), code);
  });

  it('document writes follow roles', async () => {
    const w = await worldWithTwin(undefined, 'elsewhere');
    for (const caller of [who.manufacturer, who.auditor, who.outsider, who.agentElsewhere]) {
      await expectRefusal(w, w.ledger.invoke(caller, w.spec, 'addDocument', TWIN, doc(1, 'public')), ErrorCodes.ACCESS_DENIED);
    }
    await w.ledger.invoke(who.owner, w.spec, 'addDocument', TWIN, doc(2, 'secret'));
    await expectRefusal(w, w.ledger.invoke(who.maintainer, w.spec, 'addDocumentVersion', TWIN, hash(2), hash(3), 'r'), ErrorCodes.ACCESS_DENIED);
    await expectRefusal(w, w.ledger.invoke(who.maintainer, w.spec, 'removeDocument', TWIN, hash(2)), ErrorCodes.ACCESS_DENIED);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'addDocumentVersion', TWIN, hash(9), hash(3), 'r'), ErrorCodes.NOT_FOUND);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'addDocumentVersion', TWIN, hash(2), hash(2), 'r'), ErrorCodes.ALREADY_EXISTS);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'removeDocument', TWIN, hash(9)), ErrorCodes.NOT_FOUND);
  });
});

describe('external sources and sensor feeds', () => {
  it('registers, lists and removes external sources', async () => {
    const w = await worldWithTwin();
    const s = await w.ledger.invoke(who.owner, w.spec, 'addExternalSource', TWIN, 'https://erp.owner.example/plant/1', 'ERP');
    expect(s).toMatchObject({ uri: 'https://erp.owner.example/plant/1', description: 'ERP', owner: { mspId: 'OwnerMSP' } });
    expect(w.ledger.lastTx.event).toMatchObject({ name: Events.ExternalSourceAdded, payload: { twinId: TWIN, uri: s.uri } });
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'addExternalSource', TWIN, s.uri, 'again'), ErrorCodes.ALREADY_EXISTS);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'addExternalSource', TWIN, 'not a uri', ''), ErrorCodes.VALIDATION_FAILED);
    await expectRefusal(w, w.ledger.invoke(who.auditor, w.spec, 'addExternalSource', TWIN, 'https://x.example', ''), ErrorCodes.ACCESS_DENIED);
    expect((await w.ledger.invoke(who.auditor, w.spec, 'listExternalSources', TWIN)).items).toHaveLength(1);
    await expectRefusal(w, w.ledger.invoke(who.manufacturer, w.spec, 'removeExternalSource', TWIN, s.uri), ErrorCodes.ACCESS_DENIED);
    await w.ledger.invoke(who.maintainer, w.spec, 'removeExternalSource', TWIN, s.uri);
    expect(w.ledger.lastTx.event?.name).toBe(Events.ExternalSourceRemoved);
    expect((await w.ledger.invoke(who.auditor, w.spec, 'listExternalSources', TWIN)).items).toEqual([]);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'removeExternalSource', TWIN, s.uri), ErrorCodes.NOT_FOUND);
  });

  it('registers, lists and removes sensor feeds', async () => {
    const w = await worldWithTwin();
    const f = await w.ledger.invoke(who.deviceAgent, w.spec, 'addSensorFeed', TWIN, 'sensor-pressure-1', 'feed:01ab');
    expect(f).toMatchObject({ componentId: 'sensor-pressure-1', feedRef: 'feed:01ab' });
    expect(w.ledger.lastTx.event).toMatchObject({ name: Events.SensorFeedAdded, payload: { twinId: TWIN, componentId: 'sensor-pressure-1', feedRef: 'feed:01ab' } });
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'addSensorFeed', TWIN, 'sensor-pressure-1', 'feed:2'), ErrorCodes.ALREADY_EXISTS);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'addSensorFeed', TWIN, 'ghost', 'feed:2'), ErrorCodes.NOT_FOUND);
    await expectRefusal(w, w.ledger.invoke(who.auditor, w.spec, 'addSensorFeed', TWIN, 'sensor-flow-1', 'feed:2'), ErrorCodes.ACCESS_DENIED);
    await expectRefusal(w, w.ledger.invoke(who.manufacturer, w.spec, 'removeSensorFeed', TWIN, 'sensor-pressure-1'), ErrorCodes.ACCESS_DENIED);
    expect((await w.ledger.invoke(who.manufacturer, w.spec, 'listSensorFeeds', TWIN)).items).toHaveLength(1);
    await w.ledger.invoke(who.maintainer, w.spec, 'removeSensorFeed', TWIN, 'sensor-pressure-1');
    expect(w.ledger.lastTx.event?.name).toBe(Events.SensorFeedRemoved);
    await expectRefusal(w, w.ledger.invoke(who.maintainer, w.spec, 'removeSensorFeed', TWIN, 'sensor-pressure-1'), ErrorCodes.NOT_FOUND);
  });
});

describe('programs', () => {
  it('lists the programs with their safety rules', async () => {
    const w = await worldWithTwin();
    const ps = (await w.ledger.invoke(who.auditor, w.spec, 'listPrograms', TWIN)).items;
    const speed = ps.find((p: { name: string }) => p.name === 'SetConveyorSpeed');
    expect(speed.parameters).toEqual([{ name: 'speed', dataType: 'xs:double', type: 'double', unit: 'm/s', required: true, min: 0, max: 2.5 }]);
  });

  it('queues calls within bounds with monotonic ids; the device agent acknowledges', async () => {
    const w = await worldWithTwin();
    const c1 = await w.ledger.invoke(who.owner, w.spec, 'callProgram', TWIN, 'SetConveyorSpeed', '{"speed":2.5}', 'req-1', '');
    expect(c1).toMatchObject({ callId: 1, status: 'PENDING', programElementId: 'prog-set-conveyor-speed', parameters: { speed: 2.5 } });
    expect(w.ledger.lastTx.event).toMatchObject({ name: Events.ProgramCalled, payload: { twinId: TWIN, callId: 1, programName: 'SetConveyorSpeed' } });
    const c2 = await w.ledger.invoke(who.maintainer, w.spec, 'callProgram', TWIN, 'prog-set-valve-inlet-1', '{"open":true}', 'req-2', '');
    expect(c2).toMatchObject({ callId: 2, programName: 'SetValve', parameters: { open: true } });
    const pending = (await w.ledger.invoke(who.deviceAgent, w.spec, 'listPendingProgramCalls', TWIN)).items;
    expect(pending.map((c: { callId: number }) => c.callId)).toEqual([1, 2]);

    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'acknowledgeProgramCall', TWIN, '1', 'EXECUTED', ''), ErrorCodes.ACCESS_DENIED);
    await expectRefusal(w, w.ledger.invoke(who.maintainer, w.spec, 'acknowledgeProgramCall', TWIN, '1', 'EXECUTED', ''), ErrorCodes.ACCESS_DENIED);
    const ack = await w.ledger.invoke(who.deviceAgent, w.spec, 'acknowledgeProgramCall', TWIN, '1', 'EXECUTED', '{"appliedSpeed":2.5}');
    expect(ack).toMatchObject({ callId: 1, status: 'EXECUTED', acknowledgement: { status: 'EXECUTED', result: { appliedSpeed: 2.5 } } });
    expect(w.ledger.lastTx.event).toMatchObject({ name: Events.ProgramCallAcknowledged, payload: { callId: 1, status: 'EXECUTED' } });
    await expectRefusal(w, w.ledger.invoke(who.deviceAgent, w.spec, 'acknowledgeProgramCall', TWIN, '1', 'FAILED', ''), ErrorCodes.INVALID_STATE);
    await expectRefusal(w, w.ledger.invoke(who.deviceAgent, w.spec, 'acknowledgeProgramCall', TWIN, '9', 'FAILED', ''), ErrorCodes.NOT_FOUND);
    await expectRefusal(w, w.ledger.invoke(who.deviceAgent, w.spec, 'acknowledgeProgramCall', TWIN, '2', 'PENDING', ''), ErrorCodes.VALIDATION_FAILED);
    await expectRefusal(w, w.ledger.invoke(who.deviceAgent, w.spec, 'acknowledgeProgramCall', TWIN, 'x', 'FAILED', ''), ErrorCodes.VALIDATION_FAILED);
    expect(((await w.ledger.invoke(who.auditor, w.spec, 'listPendingProgramCalls', TWIN)).items).map((c: { callId: number }) => c.callId)).toEqual([2]);
    expect(await w.ledger.invoke(who.auditor, w.spec, 'getProgramCall', TWIN, '1')).toMatchObject({ status: 'EXECUTED' });
    const c3 = await w.ledger.invoke(who.owner, w.spec, 'callProgram', TWIN, 'SetConveyorSpeed', '{"speed":0}', 'req-3', '');
    expect(c3.callId).toBe(3);
  });

  it.each([
    ['above the maximum', 'SetConveyorSpeed', '{"speed":2.5000001}', ErrorCodes.OUT_OF_BOUNDS],
    ['below the minimum', 'SetConveyorSpeed', '{"speed":-0.1}', ErrorCodes.OUT_OF_BOUNDS],
    ['wrong type', 'SetConveyorSpeed', '{"speed":"fast"}', ErrorCodes.VALIDATION_FAILED],
    ['missing parameter', 'SetConveyorSpeed', '{}', ErrorCodes.VALIDATION_FAILED],
    ['unknown parameter', 'SetConveyorSpeed', '{"speed":1,"turbo":true}', ErrorCodes.VALIDATION_FAILED],
    ['parameters not an object', 'SetConveyorSpeed', '[1]', ErrorCodes.VALIDATION_FAILED],
    ['boolean as number', 'prog-set-valve-outlet-1', '{"open":1}', ErrorCodes.VALIDATION_FAILED],
    ['ambiguous name', 'SetValve', '{"open":true}', ErrorCodes.VALIDATION_FAILED],
    ['unknown program', 'SelfDestruct', '{}', ErrorCodes.NOT_FOUND],
    ['an element that is no program', 'conveyor-1', '{}', ErrorCodes.NOT_FOUND],
  ])('refuses a call %s', async (_n, program, params, code) => {
    const w = await worldWithTwin();
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'callProgram', TWIN, program, params, 'req-4', ''), code);
  });

  it.each([
    ['manufacturer', who.manufacturer],
    ['auditor', who.auditor],
    ['device agent (role alone)', who.agentElsewhere],
    ['outsider', who.outsider],
  ])('refuses calls by the %s', async (_n, caller) => {
    const w = await worldWithTwin(undefined, 'elsewhere');
    await expectRefusal(w, w.ledger.invoke(caller, w.spec, 'callProgram', TWIN, 'SetConveyorSpeed', '{"speed":1}', 'req-5', ''), ErrorCodes.ACCESS_DENIED);
  });

  it('honours nominal values, integer types and defaults', async () => {
    const w = await worldWithTwin();
    const prog = `<InternalElement Name="SetMode" ID="prog-mode">
      <Attribute Name="mode" AttributeDataType="xs:string"><Constraint Name="modes"><NominalScaledType>
        <RequiredValue>auto</RequiredValue><RequiredValue>manual</RequiredValue></NominalScaledType></Constraint></Attribute>
      <Attribute Name="batch" AttributeDataType="xs:int"><DefaultValue>10</DefaultValue><Constraint Name="b"><OrdinalScaledType>
        <RequiredMinValue>1</RequiredMinValue><RequiredMaxValue>100</RequiredMaxValue></OrdinalScaledType></Constraint></Attribute>
      <RoleRequirements RefBaseRoleClassPath="TwinLedgerRoleClassLib/Program"/></InternalElement>`;
    await applySafetyChange(w, 'insertAML', { amlFragment: prog, parentID: 'filler-1' });
    const c = await w.ledger.invoke(who.owner, w.spec, 'callProgram', TWIN, 'SetMode', '{"mode":"auto"}', 'req-6', '');
    expect(c.parameters).toEqual({ mode: 'auto', batch: 10 });
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'callProgram', TWIN, 'SetMode', '{"mode":"turbo"}', 'req-7', ''), ErrorCodes.OUT_OF_BOUNDS);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'callProgram', TWIN, 'SetMode', '{"mode":"auto","batch":1.5}', 'req-8', ''), ErrorCodes.VALIDATION_FAILED);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'callProgram', TWIN, 'SetMode', '{"mode":"auto","batch":101}', 'req-9', ''), ErrorCodes.OUT_OF_BOUNDS);
  });
});

describe('history and getTwinAsOf', () => {
  type Txs = { create: string; feed: string; remove: string; insert: string; doc: string };
  async function scenario(): Promise<{ w: World; tx: Txs }> {
    const w = await worldWithTwin();
    const tx = { create: w.ledger.lastTx.txId } as Txs;
    await w.ledger.invoke(who.deviceAgent, w.spec, 'addSensorFeed', TWIN, 'sensor-flow-1', 'feed:old');
    tx.feed = w.ledger.lastTx.txId;
    // The paper's scenario: the maintainer replaces the broken flow sensor.
    await w.ledger.invoke(who.maintainer, w.spec, 'removeAML', TWIN, 'sensor-flow-1');
    tx.remove = w.ledger.lastTx.txId;
    await w.ledger.invoke(who.maintainer, w.spec, 'insertAML', TWIN, '<InternalElement Name="FlowSensor" ID="sensor-flow-2"/>', 'filler-1', 'sensor-fill-level-1');
    tx.insert = w.ledger.lastTx.txId;
    await w.ledger.invoke(who.deviceAgent, w.spec, 'addSensorFeed', TWIN, 'sensor-flow-2', 'feed:new');
    await w.ledger.invoke(who.maintainer, w.spec, 'addDocument', TWIN, JSON.stringify({ hash: hash(7), dhtRef: 'dht:7', title: 'Maintenance report', description: '', componentId: 'sensor-flow-2', confidentiality: 'internal' }));
    tx.doc = w.ledger.lastTx.txId;
    return { w, tx };
  }

  it('lists every change with transaction, time, creator and operation', async () => {
    const { w, tx } = await scenario();
    const h = await w.ledger.invoke(who.auditor, w.spec, 'history', TWIN, '');
    expect(h.changes.map((c: { operation: string }) => c.operation)).toEqual(['createTwin', 'addSensorFeed', 'removeAML', 'insertAML', 'addSensorFeed', 'addDocument']);
    const rm = h.changes[2];
    expect(rm).toMatchObject({ txId: tx.remove, mspId: 'MaintainerMSP', creator: who.maintainer.id, timestamp: expect.stringMatching(/^\d{4}-.*Z$/) });
    expect(rm.targets).toEqual(expect.arrayContaining([{ kind: 'element', id: 'sensor-flow-1' }, { kind: 'feed', id: 'sensor-flow-1' }]));

    const el = await w.ledger.invoke(who.auditor, w.spec, 'history', TWIN, 'sensor-flow-1');
    expect(el.changes.map((c: { txId: string }) => c.txId)).toEqual([tx.create, tx.remove]);
    expect(el.ledgerHistory.map((e: { txId: string; isDelete: boolean; operation: string; mspId: string }) => [e.txId, e.isDelete, e.operation, e.mspId])).toEqual([
      [tx.create, false, 'createTwin', 'OwnerMSP'],
      [tx.remove, true, 'removeAML', 'MaintainerMSP'],
    ]);
    await expect(w.ledger.invoke(who.auditor, w.spec, 'history', TWIN, 'never-existed')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('reconstructs the twin as of any transaction or time', async () => {
    const { w, tx } = await scenario();
    const before = await w.ledger.invoke(who.auditor, w.spec, 'getTwinAsOf', TWIN, tx.feed);
    expect(before.asOf).toMatchObject({ txId: tx.feed, lastTxId: tx.feed });
    expect(before.specification).toContain('ID="sensor-flow-1"');
    expect(before.specification).not.toContain('sensor-flow-2');
    expect(before.sensorFeeds.map((f: { feedRef: string }) => f.feedRef)).toEqual(['feed:old']);
    expect(before.documents).toEqual([]);

    const atCreate = await w.ledger.invoke(who.auditor, w.spec, 'getTwinAsOf', TWIN, tx.create);
    const nowSpecAtCreate = (await w.ledger.invoke(who.auditor, w.spec, 'getSpecification', TWIN)).aml;
    expect(atCreate.sensorFeeds).toEqual([]);
    expect(atCreate.specification).not.toBe(nowSpecAtCreate);

    const latest = await w.ledger.invoke(who.auditor, w.spec, 'getTwinAsOf', TWIN, tx.doc);
    expect(latest.specification).toBe(nowSpecAtCreate);
    expect(latest.documents.map((d: { title: string }) => d.title)).toEqual(['Maintenance report']);
    expect(latest.sensorFeeds.map((f: { componentId: string }) => f.componentId)).toEqual(['sensor-flow-2']);

    // By time: the header of the removal transaction carries its timestamp.
    const h = await w.ledger.invoke(who.auditor, w.spec, 'history', TWIN, '');
    const removal = h.changes.find((c: { txId: string }) => c.txId === tx.remove);
    const byTime = await w.ledger.invoke(who.auditor, w.spec, 'getTwinAsOf', TWIN, removal.timestamp);
    expect(byTime.asOf.lastTxId).toBe(tx.remove);
    expect(byTime.specification).not.toContain('sensor-flow-');
    expect(byTime.sensorFeeds).toEqual([]);

    await expect(w.ledger.invoke(who.auditor, w.spec, 'getTwinAsOf', TWIN, '2000-01-01T00:00:00Z')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(w.ledger.invoke(who.auditor, w.spec, 'getTwinAsOf', TWIN, 'f'.repeat(64))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(w.ledger.invoke(who.auditor, w.spec, 'getTwinAsOf', TWIN, 'yesterday')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
