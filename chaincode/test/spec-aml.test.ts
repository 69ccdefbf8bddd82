import { canonicalizeDocument, ErrorCodes, Events } from '../src';
import { FIXTURE, TWIN, applySafetyChange, expectRefusal, newWorld, who, worldWithTwin } from './support/world';

const IE = (id: string, name = id, inner = '') => `<InternalElement Name="${name}" ID="${id}">${inner}</InternalElement>`;

async function childIds(w: Awaited<ReturnType<typeof worldWithTwin>>, id: string): Promise<string[]> {
  const el = await w.ledger.invoke(who.owner, w.spec, 'getElement', TWIN, id);
  // Direct children only: the InternalElement lines indented one level below the element.
  return [...(el.aml as string).matchAll(/^  <InternalElement ID="([^"]+)"/gm)].map((m) => m[1] as string);
}

describe('createTwin', () => {
  it('stores the fixture and reassembles it canonically', async () => {
    const w = newWorld();
    const res = await w.ledger.invoke(who.owner, w.spec, 'createTwin', TWIN, 'Bottling plant 1', FIXTURE, '');
    expect(res).toMatchObject({ twinId: TWIN, deviceId: TWIN, schemaVersion: '3.0', elements: 13 });
    expect(res.programs.map((p: { elementId: string }) => p.elementId).sort()).toEqual([
      'prog-set-conveyor-speed',
      'prog-set-valve-inlet-1',
      'prog-set-valve-outlet-1',
    ]);
    expect(w.ledger.lastTx.event).toEqual({
      name: Events.TwinCreated,
      payload: { twinId: TWIN, deviceId: TWIN, deviceName: 'Bottling plant 1', elements: 13, txId: w.ledger.lastTx.txId },
    });
    const spec = await w.ledger.invoke(who.outsider, w.spec, 'getSpecification', TWIN);
    expect(spec.aml).toBe(canonicalizeDocument(FIXTURE));
    expect(spec.aml).toContain('<InternalElement ID="conveyor-1" Name="Conveyor">');
    // Canonical form is a fixed point.
    expect(canonicalizeDocument(spec.aml)).toBe(spec.aml);
  });

  it('gives the creator OWNER, everyone READER, and the requested roles', async () => {
    const w = await worldWithTwin();
    const grants = (await w.ledger.invoke(who.auditor, w.acl, 'listGrants', TWIN)).items;
    const summary = grants.map((g: { mspId: string; role?: string; identity?: string }) => `${g.mspId}:${g.role}${g.identity ? ':id' : ''}`).sort();
    expect(summary).toEqual([
      '*:READER',
      'AuditorMSP:AUDITOR',
      'MaintainerMSP:MAINTAINER',
      'ManufacturerMSP:MANUFACTURER',
      'OwnerMSP:DEVICE_AGENT:id',
      'OwnerMSP:OWNER',
    ]);
  });

  it('accepts the object form of grants', async () => {
    const w = newWorld();
    await w.ledger.invoke(who.owner, w.spec, 'createTwin', TWIN, 'x', FIXTURE, JSON.stringify({ AuditorMSP: ['AUDITOR'], MaintainerMSP: 'MAINTAINER' }));
    const a = await w.ledger.invoke(who.maintainer, w.acl, 'checkAccess', TWIN, 'spec:write');
    expect(a.allowed).toBe(true);
    expect(a.roles).toEqual(['MAINTAINER', 'READER']);
  });

  it.each([
    ['duplicate twin', null, ErrorCodes.ALREADY_EXISTS],
    ['DOCTYPE', FIXTURE.replace('<CAEXFile', '<!DOCTYPE x [<!ENTITY a "b">]><CAEXFile'), ErrorCodes.DOCTYPE_FORBIDDEN],
    ['malformed XML', FIXTURE.replace('</CAEXFile>', ''), ErrorCodes.AML_INVALID],
    ['not CAEX', '<Foo SchemaVersion="3.0"/>', ErrorCodes.AML_INVALID],
    ['unsupported schema version', FIXTURE.replace('SchemaVersion="3.0"', 'SchemaVersion="4.0"'), ErrorCodes.AML_INVALID],
    ['duplicate ID', FIXTURE.replace('ID="sensor-flow-1"', 'ID="sensor-fill-level-1"'), ErrorCodes.DUPLICATE_ID],
    ['InternalElement without ID', FIXTURE.replace(' ID="filler-1"', ''), ErrorCodes.AML_INVALID],
    ['unknown element', FIXTURE.replace('<Version>1.0</Version>', '<Bogus/>'), ErrorCodes.AML_INVALID],
    ['undefined entity', FIXTURE.replace('fill level', 'fill &level;'), ErrorCodes.AML_INVALID],
    ['too large', `${FIXTURE}${' '.repeat(8 * 1024 * 1024)}`, ErrorCodes.TOO_LARGE],
  ])('refuses %s', async (_name, aml, code) => {
    const w = await worldWithTwin();
    const before = w.ledger.snapshot();
    const other = aml === null ? TWIN : 'other-twin';
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'createTwin', other, 'x', aml ?? FIXTURE, ''), code);
    expect(w.ledger.snapshot()).toEqual(before);
  });

  it.each([
    ['bad twin id', ['has space', 'x', FIXTURE, ''], ErrorCodes.VALIDATION_FAILED],
    ['empty name', ['t2', ' ', FIXTURE, ''], ErrorCodes.VALIDATION_FAILED],
    ['grants not JSON', ['t2', 'x', FIXTURE, '{'], ErrorCodes.VALIDATION_FAILED],
    ['unknown role', ['t2', 'x', FIXTURE, '{"AuditorMSP":"KING"}'], ErrorCodes.VALIDATION_FAILED],
    ['write role to everyone', ['t2', 'x', FIXTURE, '[{"mspId":"*","role":"OWNER"}]'], ErrorCodes.VALIDATION_FAILED],
  ])('refuses %s', async (_n, args, code) => {
    const w = newWorld();
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'createTwin', ...(args as [string, string, string, string])), code);
    expect(w.ledger.state.size).toBe(0);
  });

  it('accepts CAEX 2.15', async () => {
    const w = newWorld();
    const aml215 = `<?xml version="1.0"?><CAEXFile FileName="a.aml" SchemaVersion="2.15"><InstanceHierarchy Name="IH">
      <InternalElement Name="A" ID="a"><ExternalInterface Name="noId"/></InternalElement></InstanceHierarchy></CAEXFile>`;
    await w.ledger.invoke(who.owner, w.spec, 'createTwin', 'old', 'x', aml215, '');
    const s = await w.ledger.invoke(who.owner, w.spec, 'getSpecification', 'old');
    expect(s.schemaVersion).toBe('2.15');
    expect(s.aml).toContain('<ExternalInterface Name="noId"/>');
  });
});

describe('insertAML / removeAML', () => {
  it('inserts first, after and between siblings, without touching the siblings', async () => {
    const w = await worldWithTwin();
    await w.ledger.invoke(who.maintainer, w.spec, 'insertAML', TWIN, IE('s-first'), 'filler-1', '');
    expect(w.ledger.lastTx.event).toMatchObject({ name: Events.AmlInserted, payload: { twinId: TWIN, parentId: 'filler-1', afterId: '', ids: ['s-first'] } });
    await w.ledger.invoke(who.maintainer, w.spec, 'insertAML', TWIN, IE('s-mid') + IE('s-mid2'), 'filler-1', 'sensor-flow-1');
    await w.ledger.invoke(who.maintainer, w.spec, 'insertAML', TWIN, IE('s-last'), 'filler-1', 'sensor-temperature-1');
    const res = await w.ledger.invoke(who.maintainer, w.spec, 'insertAML', TWIN, IE('s-between'), 'filler-1', 's-mid');
    expect(res.inserted).toEqual(['s-between']);
    // 1 element + 1 child-index entry + the change's header in the change-order key (carrying
    // its writes) + the spec revision: no sibling rewritten, and no key every edit of the twin
    // reads (concurrent edits do not conflict).
    expect(w.ledger.lastTx.writeCalls).toBe(2 + 1 + 1);
    expect(await childIds(w, 'filler-1')).toEqual([
      's-first',
      'sensor-fill-level-1',
      'sensor-flow-1',
      's-mid',
      's-between',
      's-mid2',
      'sensor-pressure-1',
      'sensor-temperature-1',
      's-last',
    ]);
    // Nested elements of the parent stay before RoleRequirements (CAEX sequence order).
    const filler = await w.ledger.invoke(who.owner, w.spec, 'getElement', TWIN, 'filler-1');
    expect(filler.aml.lastIndexOf('<InternalElement')).toBeLessThan(filler.aml.lastIndexOf('<RoleRequirements'));
  });

  it('inserts a nested subtree and a new InstanceHierarchy', async () => {
    const w = await worldWithTwin();
    await w.ledger.invoke(who.maintainer, w.spec, 'insertAML', TWIN, IE('cab', 'Cabinet', IE('cab-fan', 'Fan')), 'plant-1', 'valve-outlet-1');
    const cab = await w.ledger.invoke(who.auditor, w.spec, 'getElement', TWIN, 'cab-fan');
    expect(cab).toMatchObject({ id: 'cab-fan', parentId: 'cab', depth: 3, name: 'Fan' });
    await w.ledger.invoke(who.maintainer, w.spec, 'insertAML', TWIN, '<InstanceHierarchy Name="Spares"/>', '', 'ih-bottling-plant');
    const spec = await w.ledger.invoke(who.auditor, w.spec, 'getSpecification', TWIN);
    expect(spec.aml.indexOf('Name="Spares"')).toBeGreaterThan(spec.aml.indexOf('Name="BottlingPlant"'));
    expect(spec.aml.indexOf('Name="Spares"')).toBeLessThan(spec.aml.indexOf('<RoleClassLib'));
  });

  it('removes a whole subtree, its programs and its feeds', async () => {
    const w = await worldWithTwin();
    await w.ledger.invoke(who.maintainer, w.spec, 'addSensorFeed', TWIN, 'sensor-flow-1', 'feed:abc');
    const res = await w.ledger.invoke(who.maintainer, w.spec, 'removeAML', TWIN, 'filler-1');
    expect(res.removed).toEqual(['filler-1', 'sensor-fill-level-1', 'sensor-flow-1', 'sensor-pressure-1', 'sensor-temperature-1']);
    expect(res.feedsRemoved).toEqual(['sensor-flow-1']);
    expect(w.ledger.lastTx.event?.name).toBe(Events.AmlRemoved);
    await expect(w.ledger.invoke(who.owner, w.spec, 'getElement', TWIN, 'sensor-flow-1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await w.ledger.invoke(who.owner, w.spec, 'listSensorFeeds', TWIN)).items).toEqual([]);
    // The conveyor holds a program: its removal is a safety change (proposal + approval).
    await applySafetyChange(w, 'removeAML', { ID: 'conveyor-1' });
    const programs = (await w.ledger.invoke(who.owner, w.spec, 'listPrograms', TWIN)).items;
    expect(programs.map((p: { elementId: string }) => p.elementId)).toEqual(['prog-set-valve-inlet-1', 'prog-set-valve-outlet-1']);
    // The sensor-exchange flow: the same ID can come back after removal.
    await w.ledger.invoke(who.deviceAgent, w.spec, 'insertAML', TWIN, IE('filler-1', 'Filler2'), 'plant-1', '');
    expect(await childIds(w, 'plant-1')).toEqual(['filler-1', 'valve-inlet-1', 'valve-outlet-1']);
  });

  it.each([
    ['unknown twin', ['nope', IE('n'), 'filler-1', ''], ErrorCodes.NOT_FOUND],
    ['unknown parent', [TWIN, IE('n'), 'ghost', ''], ErrorCodes.NOT_FOUND],
    ['unknown after', [TWIN, IE('n'), 'filler-1', 'ghost'], ErrorCodes.NOT_FOUND],
    ['after not a child of parent', [TWIN, IE('n'), 'filler-1', 'conveyor-1'], ErrorCodes.VALIDATION_FAILED],
    ['existing ID', [TWIN, IE('conveyor-1'), 'filler-1', ''], ErrorCodes.DUPLICATE_ID],
    ['existing hierarchy name as ID', [TWIN, IE('ih-bottling-plant'), 'filler-1', ''], ErrorCodes.DUPLICATE_ID],
    ['duplicate within fragment', [TWIN, IE('n1') + IE('n1'), 'filler-1', ''], ErrorCodes.DUPLICATE_ID],
    ['DOCTYPE', [TWIN, `<!DOCTYPE x>${IE('n')}`, 'filler-1', ''], ErrorCodes.DOCTYPE_FORBIDDEN],
    ['malformed', [TWIN, '<InternalElement Name="n" ID="n">', 'filler-1', ''], ErrorCodes.AML_INVALID],
    ['not an element', [TWIN, '<Attribute Name="x"/>', 'filler-1', ''], ErrorCodes.AML_INVALID],
    ['empty fragment', [TWIN, '   ', 'filler-1', ''], ErrorCodes.AML_INVALID],
    ['element at top level', [TWIN, IE('n'), '', ''], ErrorCodes.VALIDATION_FAILED],
    ['hierarchy under an element', [TWIN, '<InstanceHierarchy Name="H"/>', 'filler-1', ''], ErrorCodes.VALIDATION_FAILED],
    ['wrapper injection', [TWIN, `</TwinLedgerFragment>${IE('n')}<TwinLedgerFragment>`, 'filler-1', ''], ErrorCodes.AML_INVALID],
    ['too large', [TWIN, IE('n', 'n', `<Description>${'x'.repeat(600 * 1024)}</Description>`), 'filler-1', ''], ErrorCodes.TOO_LARGE],
    ['too many elements', [TWIN, Array.from({ length: 2001 }, (_, i) => IE(`m${i}`)).join(''), 'filler-1', ''], ErrorCodes.TOO_LARGE],
    ['bad program bounds', [TWIN, IE('p', 'P', '<Attribute Name="x" AttributeDataType="xs:double"><Constraint Name="c"><OrdinalScaledType><RequiredMaxValue>1</RequiredMaxValue><RequiredMinValue>2</RequiredMinValue></OrdinalScaledType></Constraint></Attribute><RoleRequirements RefBaseRoleClassPath="TwinLedgerRoleClassLib/Program"/>'), 'filler-1', ''], ErrorCodes.AML_INVALID],
  ])('insertAML refuses %s', async (_n, args, code) => {
    const w = await worldWithTwin();
    const before = w.ledger.snapshot();
    await expectRefusal(w, w.ledger.invoke(who.maintainer, w.spec, 'insertAML', ...(args as [string, string, string, string])), code);
    expect(w.ledger.snapshot()).toEqual(before);
  });

  it.each([
    ['manufacturer', who.manufacturer],
    ['auditor', who.auditor],
    ['outsider', who.outsider],
  ])('refuses spec writes by the %s', async (_n, caller) => {
    const w = await worldWithTwin();
    await expectRefusal(w, w.ledger.invoke(caller, w.spec, 'insertAML', TWIN, IE('n'), 'filler-1', ''), ErrorCodes.ACCESS_DENIED);
    await expectRefusal(w, w.ledger.invoke(caller, w.spec, 'removeAML', TWIN, 'filler-1'), ErrorCodes.ACCESS_DENIED);
  });

  it.each([
    ['owner', who.owner],
    ['maintainer', who.maintainer],
    ['device agent', who.deviceAgent],
  ])('allows spec writes by the %s', async (_n, caller) => {
    const w = await worldWithTwin();
    await w.ledger.invoke(caller, w.spec, 'insertAML', TWIN, IE('n'), 'filler-1', '');
    await w.ledger.invoke(caller, w.spec, 'removeAML', TWIN, 'n');
    expect(w.ledger.lastTx.ok).toBe(true);
  });

  it('removeAML refuses unknown IDs', async () => {
    const w = await worldWithTwin();
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'removeAML', TWIN, 'ghost'), ErrorCodes.NOT_FOUND);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'removeAML', TWIN, ''), ErrorCodes.VALIDATION_FAILED);
  });

  it('reads need spec:read: revoking the everyone grant hides the spec from outsiders', async () => {
    const w = await worldWithTwin();
    await w.ledger.invoke(who.outsider, w.spec, 'getSpecification', TWIN);
    await w.ledger.invoke(who.owner, w.acl, 'revoke', TWIN, JSON.stringify({ mspId: '*', role: 'READER' }));
    await expect(w.ledger.invoke(who.outsider, w.spec, 'getSpecification', TWIN)).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await expect(w.ledger.invoke(who.outsider, w.spec, 'getElement', TWIN, 'plant-1')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await w.ledger.invoke(who.auditor, w.spec, 'getSpecification', TWIN);
  });
});

describe('specification revision', () => {
  it('names the last transaction that changed the specification, and only such transactions', async () => {
    const w = await worldWithTwin();
    const created = await w.ledger.invoke(who.owner, w.spec, 'getSpecificationRevision', TWIN);
    expect(created.revision).toMatch(/\S/);
    expect(created).toMatchObject({ twinId: TWIN, schemaVersion: '3.0' });
    // getSpecification reports the revision of the content it returns.
    expect((await w.ledger.invoke(who.owner, w.spec, 'getSpecification', TWIN)).revision).toBe(created.revision);

    await w.ledger.invoke(who.maintainer, w.spec, 'insertAML', TWIN, IE('r1'), 'conveyor-1', '');
    const inserted = w.ledger.lastTx.txId;
    const afterInsert = await w.ledger.invoke(who.outsider, w.spec, 'getSpecificationRevision', TWIN);
    expect(afterInsert.revision).toBe(inserted);
    expect(afterInsert.revision).not.toBe(created.revision);

    // A grant changes who may read, not what is read: the revision stays.
    await w.ledger.invoke(who.owner, w.acl, 'grant', TWIN, JSON.stringify({ mspId: 'Org2MSP', role: 'AUDITOR' }));
    expect((await w.ledger.invoke(who.owner, w.spec, 'getSpecificationRevision', TWIN)).revision).toBe(inserted);

    await w.ledger.invoke(who.maintainer, w.spec, 'removeAML', TWIN, 'r1');
    const removed = w.ledger.lastTx.txId;
    const spec = await w.ledger.invoke(who.owner, w.spec, 'getSpecification', TWIN);
    expect(spec.revision).toBe(removed);
    expect(spec.revision).not.toBe(inserted);
  });

  it('is refused like getSpecification', async () => {
    const w = await worldWithTwin();
    await w.ledger.invoke(who.owner, w.acl, 'revoke', TWIN, JSON.stringify({ mspId: '*', role: 'READER' }));
    await expect(w.ledger.invoke(who.outsider, w.spec, 'getSpecificationRevision', TWIN)).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await expect(w.ledger.invoke(who.owner, w.spec, 'getSpecificationRevision', 'no-such-twin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('determinism', () => {
  it('two peers executing the same transactions hold identical state', async () => {
    const run = async () => {
      const w = await worldWithTwin();
      await w.ledger.invoke(who.maintainer, w.spec, 'insertAML', TWIN, IE('x1') + IE('x2'), 'conveyor-1', '');
      await applySafetyChange(w, 'removeAML', { ID: 'valve-inlet-1' });
      await w.ledger.invoke(who.owner, w.spec, 'callProgram', TWIN, 'SetConveyorSpeed', '{"speed":1}', 'req-10', '');
      return w.ledger.snapshot();
    };
    const [a, b] = [await run(), await run()];
    expect(a).toEqual(b);
    // State values are canonical JSON: keys sorted at every level.
    for (const [, v] of a) {
      if (v.startsWith('{')) expect(JSON.stringify(sortDeep(JSON.parse(v)))).toBe(v);
    }
  });
});

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortDeep((v as Record<string, unknown>)[k])]));
  }
  return v;
}

describe('hostile XML', () => {
  it('refuses entity expansion attacks before parsing', async () => {
    const w = newWorld();
    const lol = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><CAEXFile SchemaVersion="3.0" FileName="x">&lol2;</CAEXFile>`;
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'createTwin', 't', 'x', lol, ''), ErrorCodes.DOCTYPE_FORBIDDEN);
    const xxe = `<!doctype CAEXFile SYSTEM "file:///etc/passwd"><CAEXFile/>`;
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'createTwin', 't', 'x', xxe, ''), ErrorCodes.DOCTYPE_FORBIDDEN);
  });

  it('refuses absurd nesting with a coded error', async () => {
    const w = newWorld();
    const deep = `<CAEXFile SchemaVersion="3.0" FileName="x"><InstanceHierarchy Name="I">${'<InternalElement Name="a" ID="a">'.repeat(1)}${'<Attribute Name="x">'.repeat(200)}${'</Attribute>'.repeat(200)}</InternalElement></InstanceHierarchy></CAEXFile>`;
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'createTwin', 't', 'x', deep, ''), ErrorCodes.AML_INVALID);
    const deeper = '<a>'.repeat(100_000) + '</a>'.repeat(100_000);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'createTwin', 't', 'x', deeper, ''), ErrorCodes.AML_INVALID);
  });

  it('keeps escaped characters and normalizes whitespace canonically', async () => {
    const w = newWorld();
    const aml = `<CAEXFile FileName="x" SchemaVersion='3.0'><InstanceHierarchy Name="I"><InternalElement ID="a" Name="A &amp; B&#10;x" Extra="  t\tab  ">
      <Description>  5 &lt; 6 &#x3E; 4 <![CDATA[& <raw>]]>  </Description></InternalElement></InstanceHierarchy></CAEXFile>`;
    await w.ledger.invoke(who.owner, w.spec, 'createTwin', 't', 'x', aml, '');
    const el = await w.ledger.invoke(who.owner, w.spec, 'getElement', 't', 'a');
    expect(el.aml).toBe(
      '<InternalElement Extra="  t ab  " ID="a" Name="A &amp; B&#10;x">\n  <Description>5 &lt; 6 &gt; 4 &amp; &lt;raw&gt;</Description>\n</InternalElement>',
    );
    expect(el.name).toBe('A & B\nx');
  });
});
