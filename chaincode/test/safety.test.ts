import { ErrorCodes, Events } from '../src';
import { TWIN, expectRefusal, who, worldWithTwin } from './support/world';

/** The fixture's SetConveyorSpeed with another maximum: the issue #19 widening attack. */
const conveyorProgram = (max: string, id = 'prog-set-conveyor-speed') => `<InternalElement Name="SetConveyorSpeed" ID="${id}">
  <Attribute Name="speed" AttributeDataType="xs:double" Unit="m/s">
    <Constraint Name="SpeedRange"><OrdinalScaledType>
      <RequiredMaxValue>${max}</RequiredMaxValue><RequiredMinValue>0</RequiredMinValue>
    </OrdinalScaledType></Constraint>
  </Attribute>
  <RoleRequirements RefBaseRoleClassPath="TwinLedgerRoleClassLib/Program"/>
</InternalElement>`;

describe('safety rules need safety:write and a second organization', () => {
  it('refuses the maintainer widening SetConveyorSpeed by removeAML + insertAML (spec:write only)', async () => {
    const w = await worldWithTwin();
    await expectRefusal(w, w.ledger.invoke(who.maintainer, w.spec, 'removeAML', TWIN, 'prog-set-conveyor-speed'), ErrorCodes.SAFETY_APPROVAL_REQUIRED);
    // Even under a fresh ID, a new program is safety content.
    await expectRefusal(
      w,
      w.ledger.invoke(who.maintainer, w.spec, 'insertAML', TWIN, conveyorProgram('1000', 'prog-fast'), 'conveyor-1', ''),
      ErrorCodes.SAFETY_APPROVAL_REQUIRED,
    );
    await expectRefusal(w, w.ledger.invoke(who.maintainer, w.spec, 'callProgram', TWIN, 'SetConveyorSpeed', '{"speed":250}', 'safety-req-1', ''), ErrorCodes.OUT_OF_BOUNDS);
  });

  it('refuses the owner too (it holds safety:write, but four eyes apply to everyone), and removal of an element containing a program', async () => {
    const w = await worldWithTwin();
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'removeAML', TWIN, 'prog-set-conveyor-speed'), ErrorCodes.SAFETY_APPROVAL_REQUIRED);
    await expectRefusal(w, w.ledger.invoke(who.maintainer, w.spec, 'removeAML', TWIN, 'conveyor-1'), ErrorCodes.SAFETY_APPROVAL_REQUIRED);
    await expectRefusal(w, w.ledger.invoke(who.deviceAgent, w.spec, 'removeAML', TWIN, 'plant-1'), ErrorCodes.SAFETY_APPROVAL_REQUIRED);
    // Inside a non-program element, a program nested in the fragment is found too.
    const nested = `<InternalElement Name="Cabinet" ID="cab">${conveyorProgram('1000', 'prog-nested')}</InternalElement>`;
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'insertAML', TWIN, nested, 'plant-1', ''), ErrorCodes.SAFETY_APPROVAL_REQUIRED);
    for (const cls of ['Interlock', 'SafeState']) {
      const el = `<InternalElement Name="X" ID="x-${cls}"><SupportedRoleClass RefRoleClassPath="TwinLedgerRoleClassLib/${cls}"/></InternalElement>`;
      await expectRefusal(w, w.ledger.invoke(who.maintainer, w.spec, 'insertAML', TWIN, el, 'conveyor-1', ''), ErrorCodes.SAFETY_APPROVAL_REQUIRED);
    }
    // Ordinary content stays spec:write: a sensor, or an element nested under a program (not a rule).
    await w.ledger.invoke(who.maintainer, w.spec, 'insertAML', TWIN, '<InternalElement Name="Spare" ID="spare"/>', 'prog-set-conveyor-speed', '');
    await w.ledger.invoke(who.maintainer, w.spec, 'removeAML', TWIN, 'spare');
    await w.ledger.invoke(who.deviceAgent, w.spec, 'removeAML', TWIN, 'sensor-flow-1');
  });

  it('a proposal by the owner and the approval of the manufacturer apply the new bound', async () => {
    const w = await worldWithTwin();
    const before = await w.ledger.invoke(who.owner, w.spec, 'getSpecificationRevision', TWIN);
    // The maintainer holds spec:write but not safety:write: it cannot even propose.
    await expectRefusal(
      w,
      w.ledger.invoke(who.maintainer, w.spec, 'proposeSafetyChange', TWIN, 'replaceAML', JSON.stringify({ ID: 'prog-set-conveyor-speed', amlFragment: conveyorProgram('1000') }), ''),
      ErrorCodes.ACCESS_DENIED,
    );
    const p = await w.ledger.invoke(
      who.owner,
      w.spec,
      'proposeSafetyChange',
      TWIN,
      'replaceAML',
      JSON.stringify({ ID: 'prog-set-conveyor-speed', amlFragment: conveyorProgram('3.5') }),
      'faster belt after the motor upgrade',
    );
    expect(p).toMatchObject({
      proposalId: 1,
      operation: 'replaceAML',
      status: 'PENDING',
      baseRevision: before.revision,
      proposedBy: { mspId: 'OwnerMSP' },
      impact: {
        removed: [{ id: 'prog-set-conveyor-speed', kind: 'program', name: 'SetConveyorSpeed' }],
        inserted: [{ id: 'prog-set-conveyor-speed', kind: 'program', name: 'SetConveyorSpeed' }],
        programsRemoved: [{ parameters: [{ name: 'speed', max: 2.5 }] }],
        programsInserted: [{ parameters: [{ name: 'speed', max: 3.5 }] }],
      },
    });
    expect(w.ledger.lastTx.event).toMatchObject({ name: Events.SafetyChangeProposed, payload: { proposalId: 1, operation: 'replaceAML' } });
    // Proposed is not applied.
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'callProgram', TWIN, 'SetConveyorSpeed', '{"speed":3}', 'safety-req-2', ''), ErrorCodes.OUT_OF_BOUNDS);
    expect((await w.ledger.invoke(who.owner, w.spec, 'getSpecificationRevision', TWIN)).revision).toBe(before.revision);
    expect(((await w.ledger.invoke(who.auditor, w.spec, 'listSafetyProposals', TWIN, 'PENDING')).items).map((x: { proposalId: number }) => x.proposalId)).toEqual([1]);

    const a = await w.ledger.invoke(who.manufacturer, w.spec, 'approveSafetyChange', TWIN, '1');
    expect(a).toMatchObject({ status: 'APPLIED', decision: { status: 'APPLIED', by: { mspId: 'ManufacturerMSP' } }, removed: ['prog-set-conveyor-speed'], inserted: ['prog-set-conveyor-speed'] });
    expect(w.ledger.lastTx.event).toMatchObject({ name: Events.SafetyChangeApproved, payload: { proposalId: 1, proposedBy: 'OwnerMSP' } });
    const call = await w.ledger.invoke(who.maintainer, w.spec, 'callProgram', TWIN, 'SetConveyorSpeed', '{"speed":3}', 'safety-req-3', '');
    expect(call).toMatchObject({ status: 'PENDING', parameters: { speed: 3 } });
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'callProgram', TWIN, 'SetConveyorSpeed', '{"speed":250}', 'safety-req-4', ''), ErrorCodes.OUT_OF_BOUNDS);
    // Same place in the tree as before.
    const conveyor = await w.ledger.invoke(who.owner, w.spec, 'getElement', TWIN, 'conveyor-1');
    expect(conveyor.aml).toContain('<RequiredMaxValue>3.5</RequiredMaxValue>');

    // Visible in the history: who proposed, who approved, what changed.
    const h = await w.ledger.invoke(who.auditor, w.spec, 'history', TWIN, '');
    const ops = h.changes.map((c: { operation: string; mspId: string }) => `${c.operation}:${c.mspId}`);
    expect(ops.slice(-3)).toEqual(['proposeSafetyChange:OwnerMSP', 'approveSafetyChange:ManufacturerMSP', 'callProgram:MaintainerMSP']);
    const el = await w.ledger.invoke(who.auditor, w.spec, 'history', TWIN, 'prog-set-conveyor-speed');
    expect(el.changes.map((c: { operation: string }) => c.operation)).toEqual(['createTwin', 'approveSafetyChange']);
    expect(await w.ledger.invoke(who.auditor, w.spec, 'getSafetyProposal', TWIN, '1')).toMatchObject({ status: 'APPLIED' });
    expect((await w.ledger.invoke(who.auditor, w.spec, 'listSafetyProposals', TWIN, 'PENDING')).items).toEqual([]);
    // Decided once.
    await expectRefusal(w, w.ledger.invoke(who.manufacturer, w.spec, 'approveSafetyChange', TWIN, '1'), ErrorCodes.INVALID_STATE);
  });

  it('refuses approval by the proposer\'s own organization, and by parties without safety:write', async () => {
    const w = await worldWithTwin();
    await w.ledger.invoke(who.owner, w.spec, 'proposeSafetyChange', TWIN, 'removeAML', JSON.stringify({ ID: 'prog-set-valve-inlet-1' }), '');
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'approveSafetyChange', TWIN, '1'), ErrorCodes.SELF_APPROVAL);
    // Another identity of the same organization is the same pair of eyes.
    await expectRefusal(w, w.ledger.invoke(who.deviceAgent, w.spec, 'approveSafetyChange', TWIN, '1'), ErrorCodes.SELF_APPROVAL);
    for (const caller of [who.maintainer, who.auditor, who.outsider, who.agentElsewhere]) {
      await expectRefusal(w, w.ledger.invoke(caller, w.spec, 'approveSafetyChange', TWIN, '1'), ErrorCodes.ACCESS_DENIED);
    }
    // The reverse direction works: the manufacturer proposes, the owner approves.
    await w.ledger.invoke(who.manufacturer, w.spec, 'proposeSafetyChange', TWIN, 'removeAML', JSON.stringify({ ID: 'prog-set-valve-outlet-1' }), '');
    await w.ledger.invoke(who.owner, w.spec, 'approveSafetyChange', TWIN, '2');
    const programs = (await w.ledger.invoke(who.owner, w.spec, 'listPrograms', TWIN)).items;
    expect(programs.map((x: { elementId: string }) => x.elementId).sort()).toEqual(['prog-set-conveyor-speed', 'prog-set-valve-inlet-1']);
  });

  it("refuses to apply a proposal whose proposer no longer holds safety:write (no change on one organization's say)", async () => {
    const w = await worldWithTwin();
    await w.ledger.invoke(who.manufacturer, w.spec, 'proposeSafetyChange', TWIN, 'removeAML', JSON.stringify({ ID: 'prog-set-valve-inlet-1' }), '');
    // The owner takes the proposer's role away, then approves as the "second" organization.
    await w.ledger.invoke(who.owner, w.acl, 'revoke', TWIN, JSON.stringify({ mspId: 'ManufacturerMSP', role: 'MANUFACTURER' }));
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'approveSafetyChange', TWIN, '1'), ErrorCodes.STALE_PROPOSAL);
    const programs = (await w.ledger.invoke(who.owner, w.spec, 'listPrograms', TWIN)).items;
    expect(programs.map((x: { elementId: string }) => x.elementId)).toContain('prog-set-valve-inlet-1');
  });

  it('refuses a stale proposal: the specification changed after it was proposed', async () => {
    const w = await worldWithTwin();
    await w.ledger.invoke(who.owner, w.spec, 'proposeSafetyChange', TWIN, 'replaceAML', JSON.stringify({ ID: 'prog-set-conveyor-speed', amlFragment: conveyorProgram('3') }), '');
    await w.ledger.invoke(who.maintainer, w.spec, 'insertAML', TWIN, '<InternalElement Name="Spare" ID="spare"/>', 'filler-1', '');
    await expectRefusal(w, w.ledger.invoke(who.manufacturer, w.spec, 'approveSafetyChange', TWIN, '1'), ErrorCodes.STALE_PROPOSAL);
    expect(await w.ledger.invoke(who.auditor, w.spec, 'getSafetyProposal', TWIN, '1')).toMatchObject({ status: 'PENDING' });
    const r = await w.ledger.invoke(who.manufacturer, w.spec, 'rejectSafetyChange', TWIN, '1', 'stale: propose again');
    expect(r).toMatchObject({ status: 'REJECTED', decision: { reason: 'stale: propose again', by: { mspId: 'ManufacturerMSP' } } });
    expect(w.ledger.lastTx.event).toMatchObject({ name: Events.SafetyChangeRejected, payload: { proposalId: 1 } });
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'rejectSafetyChange', TWIN, '1', ''), ErrorCodes.INVALID_STATE);
    expect(((await w.ledger.invoke(who.auditor, w.spec, 'listSafetyProposals', TWIN, 'REJECTED')).items).length).toBe(1);
  });

  it.each([
    ['unknown operation', ['moveAML', '{"ID":"prog-set-conveyor-speed"}'], ErrorCodes.VALIDATION_FAILED],
    ['changeJson not JSON', ['removeAML', '{'], ErrorCodes.VALIDATION_FAILED],
    ['unknown member', ['removeAML', '{"ID":"prog-set-conveyor-speed","x":1}'], ErrorCodes.VALIDATION_FAILED],
    ['unknown element', ['removeAML', '{"ID":"ghost"}'], ErrorCodes.NOT_FOUND],
    ['no safety content', ['removeAML', '{"ID":"sensor-flow-1"}'], ErrorCodes.VALIDATION_FAILED],
    ['invalid program', ['insertAML', JSON.stringify({ amlFragment: conveyorProgram('-1', 'p2'), parentID: 'conveyor-1' })], ErrorCodes.AML_INVALID],
    ['existing ID', ['insertAML', JSON.stringify({ amlFragment: conveyorProgram('1', 'filler-1'), parentID: 'conveyor-1' })], ErrorCodes.DUPLICATE_ID],
    ['replace without fragment', ['replaceAML', '{"ID":"prog-set-conveyor-speed"}'], ErrorCodes.VALIDATION_FAILED],
  ])('refuses a proposal with %s', async (_n, [op, change], code) => {
    const w = await worldWithTwin();
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'proposeSafetyChange', TWIN, op as string, change as string, ''), code);
  });

  it('inserts a new program by proposal', async () => {
    const w = await worldWithTwin();
    const change = JSON.stringify({ amlFragment: conveyorProgram('1', 'prog-slow'), parentID: 'conveyor-1', afterID: 'prog-set-conveyor-speed' });
    await w.ledger.invoke(who.owner, w.spec, 'proposeSafetyChange', TWIN, 'insertAML', change, '');
    await w.ledger.invoke(who.manufacturer, w.spec, 'approveSafetyChange', TWIN, '1');
    await w.ledger.invoke(who.owner, w.spec, 'callProgram', TWIN, 'prog-slow', '{"speed":1}', 'safety-req-5', '');
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'callProgram', TWIN, 'prog-slow', '{"speed":2}', 'safety-req-6', ''), ErrorCodes.OUT_OF_BOUNDS);
  });
});
