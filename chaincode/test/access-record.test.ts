import { ErrorCodes, Events } from '../src';
import { identity } from './support/fake-ledger';
import { TWIN, expectRefusal, hash, who, worldWithTwin, type World } from './support/world';

const KEY = Buffer.alloc(32, 7).toString('base64');
const PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA';
const ORIGINAL = hash(1);
const VERSION2 = hash(2);

/**
 * The owner's document (version 1, uploaded by OwnerMSP) and a version 2 uploaded by the
 * maintainer; Owner, Maintainer and Auditor are registered parties.
 */
async function world(): Promise<World> {
  const w = await worldWithTwin();
  // A peer ID is one organization's: each gets its own (the last letters differ).
  for (const [i, msp] of ['OwnerMSP', 'MaintainerMSP', 'AuditorMSP'].entries()) {
    await w.ledger.invoke(identity(msp, 'Admin', 'admin'), w.acl, 'registerParty', JSON.stringify([`${PEER.slice(0, -1)}${'ABC'[i]}`]), KEY);
  }
  await w.ledger.invoke(who.owner, w.spec, 'addDocument', TWIN, JSON.stringify({ hash: ORIGINAL, dhtRef: 'ref-1', title: 'Manual', confidentiality: 'confidential' }));
  await w.ledger.invoke(who.maintainer, w.spec, 'addDocumentVersion', TWIN, ORIGINAL, VERSION2, 'ref-2');
  return w;
}

const parties = (...p: string[]) => JSON.stringify(p);

describe('recordAccessChange', () => {
  it('records the ACL version and parties of a document version, emits an event, keeps the history', async () => {
    const w = await world();
    const rec = await w.ledger.invoke(who.owner, w.spec, 'recordAccessChange', TWIN, ORIGINAL, '2', parties('AuditorMSP', 'OwnerMSP'), '');
    expect(rec).toMatchObject({ twinId: TWIN, hash: ORIGINAL, originalHash: ORIGINAL, version: 1, dhtRef: 'ref-1', aclVersion: 2, parties: ['AuditorMSP', 'OwnerMSP'], recordedBy: { mspId: who.owner.mspId, id: who.owner.id } });
    expect(w.ledger.lastTx.event).toMatchObject({ name: Events.DocumentAccessChanged, payload: { twinId: TWIN, hash: ORIGINAL, originalHash: ORIGINAL, aclVersion: 2, parties: ['AuditorMSP', 'OwnerMSP'] } });
    // A re-key: the parties shrink, the object's new head is recorded.
    const head = 'c'.repeat(64);
    await w.ledger.invoke(who.owner, w.spec, 'recordAccessChange', TWIN, ORIGINAL, '3', parties('OwnerMSP'), head);
    const read = await w.ledger.invoke(who.auditor, w.spec, 'getAccessRecord', TWIN, ORIGINAL);
    expect(read.record).toMatchObject({ aclVersion: 3, parties: ['OwnerMSP'], head });
    expect(read.history.map((h: { value: { aclVersion: number } }) => h.value.aclVersion)).toEqual([3, 2]);
    // The maintainer's version has no record yet.
    expect((await w.ledger.invoke(who.auditor, w.spec, 'getAccessRecord', TWIN, VERSION2)).record).toBeNull();
  });

  it("a history the peer cut short is TOO_LARGE, never a shorter history (each record names the one it replaced)", async () => {
    const w = await world();
    const txs: string[] = [];
    for (let v = 2; v <= 6; v++) {
      await w.ledger.invoke(who.owner, w.spec, 'recordAccessChange', TWIN, ORIGINAL, String(v), parties('OwnerMSP'), '');
      txs.push(w.ledger.lastTx.txId);
    }
    const read = await w.ledger.invoke(who.auditor, w.spec, 'getAccessRecord', TWIN, ORIGINAL);
    expect(read.history.map((h: { value: { previousTxId: string } }) => h.value.previousTxId)).toEqual(['', ...txs.slice(0, -1)].reverse());
    w.ledger.totalQueryLimit = 3;
    await expect(w.ledger.invoke(who.auditor, w.spec, 'getAccessRecord', TWIN, ORIGINAL)).rejects.toMatchObject({ code: ErrorCodes.TOO_LARGE });
  });

  it('only a member of the organization that uploaded the version may record it', async () => {
    const w = await world();
    await expectRefusal(w, w.ledger.invoke(who.maintainer, w.spec, 'recordAccessChange', TWIN, ORIGINAL, '2', parties('MaintainerMSP', 'OwnerMSP'), ''), ErrorCodes.ACCESS_DENIED);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'recordAccessChange', TWIN, VERSION2, '2', parties('MaintainerMSP', 'OwnerMSP'), ''), ErrorCodes.ACCESS_DENIED);
    // The maintainer records its own version (of the owner's document).
    const rec = await w.ledger.invoke(who.maintainer, w.spec, 'recordAccessChange', TWIN, VERSION2, '2', parties('MaintainerMSP', 'OwnerMSP'), '');
    expect(rec).toMatchObject({ hash: VERSION2, originalHash: ORIGINAL, version: 2, dhtRef: 'ref-2', recordedBy: { mspId: who.maintainer.mspId, id: who.maintainer.id } });
  });

  it('refuses a version that does not increase', async () => {
    const w = await world();
    await w.ledger.invoke(who.owner, w.spec, 'recordAccessChange', TWIN, ORIGINAL, '5', parties('OwnerMSP'), '');
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'recordAccessChange', TWIN, ORIGINAL, '5', parties('AuditorMSP', 'OwnerMSP'), ''), ErrorCodes.INVALID_STATE);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'recordAccessChange', TWIN, ORIGINAL, '4', parties('OwnerMSP'), ''), ErrorCodes.INVALID_STATE);
  });

  it('refuses malformed arguments with VALIDATION_FAILED (TOO_LARGE above the limits)', async () => {
    const w = await world();
    const rec = (h: string, v: string, p: string, head = '', twin = TWIN) => w.ledger.invoke(who.owner, w.spec, 'recordAccessChange', twin, h, v, p, head);
    const ok = parties('OwnerMSP');
    for (const bad of ['xyz', ORIGINAL.toUpperCase(), ORIGINAL + '0', '']) await expectRefusal(w, rec(bad, '2', ok), ErrorCodes.VALIDATION_FAILED);
    for (const bad of ['0', '-1', '1.5', '1e3', '9007199254740992', 'abc', '', ' 2', '02']) await expectRefusal(w, rec(ORIGINAL, bad, ok), ErrorCodes.VALIDATION_FAILED);
    for (const bad of [
      '[]',
      '{}',
      'not json',
      parties('OwnerMSP', 'AuditorMSP'), // not sorted
      parties('AuditorMSP', 'AuditorMSP', 'OwnerMSP'), // twice
      parties('GhostMSP', 'OwnerMSP'), // not a registered party
      JSON.stringify(['OwnerMSP', 7]),
      parties('bad msp'),
    ]) {
      await expectRefusal(w, rec(ORIGINAL, '2', bad), ErrorCodes.VALIDATION_FAILED);
    }
    const many = Array.from({ length: 65 }, (_, i) => `M${String(i).padStart(3, '0')}MSP`);
    await expectRefusal(w, rec(ORIGINAL, '2', JSON.stringify(many)), ErrorCodes.TOO_LARGE);
    await expectRefusal(w, rec(ORIGINAL, '2', ok, 'h'.repeat(1025)), ErrorCodes.TOO_LARGE);
    await expectRefusal(w, rec(ORIGINAL, '2', ok, 'bad\u0001ref'), ErrorCodes.VALIDATION_FAILED);
    await expectRefusal(w, rec(ORIGINAL, '2', ok, '', 'bad twin!'), ErrorCodes.VALIDATION_FAILED);
    await expectRefusal(w, rec(hash(9), '2', ok), ErrorCodes.NOT_FOUND);
    await expectRefusal(w, rec(ORIGINAL, '2', ok, '', 'ghost-twin'), ErrorCodes.NOT_FOUND);
  });

  it('getAccessRecord needs doc:read of the document level', async () => {
    const w = await world();
    await expect(w.ledger.invoke(who.outsider, w.spec, 'getAccessRecord', TWIN, ORIGINAL)).rejects.toMatchObject({ code: ErrorCodes.ACCESS_DENIED });
    await expect(w.ledger.invoke(who.outsider, w.spec, 'getAccessRecord', TWIN, 'nope')).rejects.toMatchObject({ code: ErrorCodes.VALIDATION_FAILED });
  });
});

describe('listTwins', () => {
  it('lists the twins the caller may read', async () => {
    const w = await worldWithTwin();
    const twins = (await w.ledger.invoke(who.outsider, w.spec, 'listTwins')).items;
    expect(twins.map((t: { twinId: string }) => t.twinId)).toEqual([TWIN]);
  });
});
