import { ErrorCodes } from '../src';
import { chunkHash, creationDigest } from '../src/spec/creation';
import { TWIN, expectRefusal, newWorld, who, type World } from './support/world';

/**
 * Chunked creation (ADR-14): a twin too large for one transaction is staged chunk by chunk and
 * appears whole at the seal. The split here is the simple one a flat plant needs (the
 * workspace's splitAmlDocument, packages/aml, is tested against the chaincode's reader there).
 */

const sensor = (i: number, p = 's'): string =>
  `<InternalElement Name="S${i}" ID="${p}${i}"><Attribute Name="Max" AttributeDataType="xs:double"><Value>${i}</Value></Attribute><Attribute Name="Unit"><Value>bar</Value></Attribute></InternalElement>`;
const HEAD = '<CAEXFile SchemaVersion="3.0" FileName="plant.aml"><SuperiorStandardVersion>AutomationML 2.10</SuperiorStandardVersion>';
const whole = (n: number): string => `${HEAD}<InstanceHierarchy Name="IH" ID="ih">${Array.from({ length: n }, (_, i) => sensor(i)).join('')}</InstanceHierarchy><RoleClassLib Name="R"/></CAEXFile>`;
const skeleton = `${HEAD}<InstanceHierarchy Name="IH" ID="ih"/><RoleClassLib Name="R"/></CAEXFile>`;

interface Plan {
  skeleton: string;
  chunks: { parentId: string; aml: string }[];
  digest: string;
}

function plan(n: number, per: number): Plan {
  const chunks: Plan['chunks'] = [];
  for (let i = 0; i < n; i += per) {
    chunks.push({ parentId: 'ih', aml: Array.from({ length: Math.min(per, n - i) }, (_, k) => sensor(i + k)).join('') });
  }
  return { skeleton, chunks, digest: creationDigest([chunkHash('', skeleton), ...chunks.map((c) => chunkHash(c.parentId, c.aml))]) };
}

const begin = (w: World, p: Plan, caller = who.owner, grants = '') =>
  w.ledger.invoke(caller, w.spec, 'beginTwinCreation', TWIN, 'Plant', p.skeleton, grants, String(p.chunks.length), p.digest);
const append = (w: World, id: string, p: Plan, i: number, caller = who.owner) =>
  w.ledger.invoke(caller, w.spec, 'appendTwinChunk', TWIN, id, String(i + 1), p.chunks[i]!.parentId, p.chunks[i]!.aml);
const seal = (w: World, id: string, caller = who.owner) => w.ledger.invoke(caller, w.spec, 'sealTwinCreation', TWIN, id);

async function created(n: number, per: number, order?: number[]): Promise<{ w: World; id: string; sealed: Record<string, unknown> }> {
  const w = newWorld();
  const p = plan(n, per);
  const { creationId } = await begin(w, p);
  for (const i of order ?? p.chunks.map((_, k) => k)) await append(w, creationId, p, i);
  return { w, id: creationId, sealed: await seal(w, creationId) };
}

/** Keys of the twin in the world state, except the change log the staged chunks wrote. */
function twinKeys(w: World): string[] {
  return [...w.ledger.state.keys()].filter((k) => k.includes(TWIN));
}

describe('chunked creation', () => {
  it('reads back exactly as a twin created in one transaction, chunks in any order', async () => {
    const one = newWorld();
    await one.ledger.invoke(who.owner, one.spec, 'createTwin', TWIN, 'Plant', whole(300), '');
    const expected = (await one.ledger.invoke(who.owner, one.spec, 'getSpecification', TWIN)).aml;
    const inOrder = await created(300, 70);
    const reversed = await created(300, 70, [4, 3, 2, 1, 0]);
    for (const { w, sealed } of [inOrder, reversed]) {
      expect(sealed).toMatchObject({ twinId: TWIN, elements: 301 });
      expect((await w.ledger.invoke(who.manufacturer, w.spec, 'getSpecification', TWIN)).aml).toBe(expected);
      // One change, seq 1, whose parts are the staged transactions: as-of and history see it.
      const asOf = await w.ledger.invoke(who.owner, w.spec, 'getTwinAsOf', TWIN, 'seq:1');
      expect(asOf.specification).toBe(expected);
      const h = await w.ledger.invoke(who.owner, w.spec, 'history', TWIN, 's150', '', '');
      expect(h.changes.map((c: { seq: number; operation: string }) => [c.seq, c.operation])).toEqual([[1, 'createTwin']]);
      expect(h.ledgerHistory.map((e: { seq: number }) => e.seq)).toEqual([1]);
    }
    // And it is an ordinary twin afterwards: element edits go on as usual.
    const { w } = inOrder;
    await w.ledger.invoke(who.owner, w.spec, 'insertAML', TWIN, sensor(1, 'n'), 'ih', 's299');
    await w.ledger.invoke(who.owner, w.spec, 'removeAML', TWIN, 's0');
    const el = await w.ledger.invoke(who.owner, w.spec, 'getElement', TWIN, 'ih');
    const ids = [...(el.aml as string).matchAll(/ ID="([a-z]+\d+)"/g)].map((m) => m[1]);
    expect(ids).toHaveLength(300);
    expect(ids.slice(-2)).toEqual(['s299', 'n1']);
  });

  it('shows no reader anything before the seal: the twin is missing, exactly', async () => {
    const w = newWorld();
    const p = plan(100, 40);
    const { creationId } = await begin(w, p, who.owner, JSON.stringify({ ManufacturerMSP: 'MANUFACTURER' }));
    await append(w, creationId, p, 0);
    for (const caller of [who.owner, who.manufacturer, who.outsider]) {
      for (const [fn, args] of [
        ['getTwin', [TWIN]],
        ['getSpecification', [TWIN]],
        ['getSpecificationRevision', [TWIN]],
        ['getElement', [TWIN, 's1']],
        ['history', [TWIN, '', '', '']],
      ] as const) {
        await expect(w.ledger.invoke(caller, w.spec, fn, ...args)).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
      }
      expect((await w.ledger.invoke(caller, w.spec, 'listTwins', '', '')).items).toEqual([]);
    }
    // Nor may anyone edit it.
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'insertAML', TWIN, sensor(1, 'x'), 'ih', ''), ErrorCodes.NOT_FOUND);
  });

  it('is the creator\'s alone: other identities and organizations find no creation', async () => {
    const w = newWorld();
    const p = plan(20, 10);
    const { creationId } = await begin(w, p);
    for (const caller of [who.deviceAgent, who.manufacturer]) {
      await expectRefusal(w, append(w, creationId, p, 0, caller), ErrorCodes.NOT_FOUND);
      await expectRefusal(w, seal(w, creationId, caller), ErrorCodes.NOT_FOUND);
      await expectRefusal(w, w.ledger.invoke(caller, w.spec, 'abortTwinCreation', TWIN, creationId), ErrorCodes.NOT_FOUND);
      await expect(w.ledger.invoke(caller, w.spec, 'getTwinCreation', TWIN)).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    }
    await expectRefusal(w, append(w, 'f'.repeat(64), p, 0), ErrorCodes.NOT_FOUND);
    expect(await w.ledger.invoke(who.owner, w.spec, 'getTwinCreation', TWIN)).toMatchObject({ creationId, status: 'OPEN', staged: [0], missing: [1, 2] });
  });

  it('seals only what was announced, all of it, and keeps IDs unique across chunks', async () => {
    const w = newWorld();
    const p = plan(30, 10);
    const { creationId } = await begin(w, p);
    await append(w, creationId, p, 0);
    await expectRefusal(w, seal(w, creationId), ErrorCodes.INVALID_STATE);
    // A retry of a staged chunk answers it again and writes nothing; other content is refused.
    await append(w, creationId, p, 0);
    expect(w.ledger.lastTx.writeCalls).toBe(0);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'appendTwinChunk', TWIN, creationId, '1', 'ih', sensor(99)), ErrorCodes.ALREADY_EXISTS);
    // An ID another chunk staged.
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'appendTwinChunk', TWIN, creationId, '2', 'ih', sensor(5)), ErrorCodes.DUPLICATE_ID);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'appendTwinChunk', TWIN, creationId, '4', 'ih', sensor(50)), ErrorCodes.VALIDATION_FAILED);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'appendTwinChunk', TWIN, creationId, '2', 'nope', sensor(50)), ErrorCodes.NOT_FOUND);
    // Content other than announced: the digest does not match.
    await w.ledger.invoke(who.owner, w.spec, 'appendTwinChunk', TWIN, creationId, '2', 'ih', sensor(50));
    await append(w, creationId, p, 2);
    await expectRefusal(w, seal(w, creationId), ErrorCodes.INVALID_STATE);
    // The ID stays taken while the creation is under way, by either path.
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'createTwin', TWIN, 'x', whole(1), ''), ErrorCodes.ALREADY_EXISTS);
    await expectRefusal(w, begin(w, p), ErrorCodes.ALREADY_EXISTS);
  });

  it('aborts in bounded steps and leaves nothing; the ID can then be created again', async () => {
    const w = newWorld();
    const before = twinKeys(w);
    const p = plan(200, 10);
    const { creationId } = await begin(w, p);
    for (let i = 0; i < 15; i++) await append(w, creationId, p, i);
    const steps: number[] = [];
    for (;;) {
      const r = await w.ledger.invoke(who.owner, w.spec, 'abortTwinCreation', TWIN, creationId);
      steps.push(r.remainingChunks);
      if (r.status === 'ABORTED') break;
      await expectRefusal(w, append(w, creationId, p, 15), ErrorCodes.INVALID_STATE);
    }
    expect(steps).toEqual([8, 0]);
    expect(twinKeys(w)).toEqual(before);
    const again = plan(200, 10);
    const { creationId: second } = await begin(w, again);
    for (let i = 0; i < again.chunks.length; i++) await append(w, second, again, i);
    expect(await seal(w, second)).toMatchObject({ elements: 201 });
    expect((await w.ledger.invoke(who.owner, w.spec, 'history', TWIN, '', '', '')).changes).toHaveLength(1);
  });

  it('holds the whole to the document limits at the seal', async () => {
    const w = newWorld();
    const p = plan(20_001, 2000);
    const { creationId } = await begin(w, p);
    for (let i = 0; i < p.chunks.length; i++) await append(w, creationId, p, i);
    await expectRefusal(w, seal(w, creationId), ErrorCodes.TOO_LARGE);
  });
});
