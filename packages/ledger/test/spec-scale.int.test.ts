import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createFabricClient, createPeerConnectionPool, loadIdentity, type FabricClient, type IdentityFiles, type PeerConnectionPool } from '@twinledger/fabric-client';
import { ChaincodeRejectedError, createTwinLedger, type TwinLedger } from '../src/index.js';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork } from '@twinledger/devnet';
import { splitAmlDocument } from '@twinledger/aml';

const fabric = await fabricAvailability();

/** A plant of n components, each with two attributes (about 5 MB at 20,000). */
const plant = (n: number, prefix = 'c'): string =>
  `<CAEXFile SchemaVersion="3.0" FileName="plant.aml"><InstanceHierarchy Name="Plant" ID="plant">${Array.from(
    { length: n },
    (_, i) =>
      `<InternalElement Name="Component ${i}" ID="${prefix}-${i}"><Attribute Name="SerialNumber" AttributeDataType="xs:string"><Value>SN-${i}</Value></Attribute><Attribute Name="Rating" AttributeDataType="xs:double" Unit="kW"><Value>${i % 100}.5</Value></Attribute></InternalElement>`,
  ).join('')}</InstanceHierarchy></CAEXFile>`;

const countElements = (xml: string): number => xml.match(/<InternalElement /g)?.length ?? 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The other org's peer commits a block a moment after the submitter's: poll briefly. */
async function eventually<T>(f: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await f();
    } catch (err) {
      if (Date.now() > until) throw err;
    }
    await sleep(300);
  }
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof ChaincodeRejectedError ? err.code : String(err);
  }
}

(fabric.ok ? describe : describe.skip)('plant-size twins on the real two-org network (issue #21)', () => {
  let net: DevNetwork;
  let pool: PeerConnectionPool;
  const clients: FabricClient[] = [];
  let org1: TwinLedger;
  let org2: TwinLedger;
  const run = Date.now().toString(36);

  const ledgerFor = async (org: number, who: IdentityFiles): Promise<TwinLedger> => {
    const o = net.orgs[org]!;
    // Assembling a 20,000-element specification on the peer takes longer than the 5 s default.
    const c = createFabricClient({ pool, peer: o.peer, identity: await loadIdentity(who), channel: net.channel, chaincode: net.chaincode, deadlines: { evaluateMs: 120_000 } });
    clients.push(c);
    return createTwinLedger(c);
  };

  beforeAll(async () => {
    net = await startNetwork({ orgs: ['org1', 'org2'], kafka: false, ...testNetworkInit() });
    pool = createPeerConnectionPool();
    org1 = await ledgerFor(0, net.orgs[0]!.users[0]!);
    org2 = await ledgerFor(1, net.orgs[1]!.users[0]!);
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    pool?.close();
    await net?.stop();
  });

  it('creates a 20,000-component twin, reads it whole and by element from the other org, and edits one element', async () => {
    const twin = `plant20k-${run}`;
    const created = await org1.createTwin(twin, 'Plant of 20,000 components', plant(20_000));
    expect(created.result).toMatchObject({ twinId: twin, elements: 20_001 });

    const spec = await eventually(() => org2.getSpecification(twin));
    expect(countElements(spec.aml)).toBe(20_000);
    const el = await org2.getElement(twin, 'c-12345');
    expect(el).toMatchObject({ id: 'c-12345', parentId: 'plant', name: 'Component 12345' });
    expect(el.aml).toContain('SN-12345');

    await org1.insertAML(twin, '<InternalElement Name="Added" ID="added"/>', 'plant', 'c-12345');
    await org1.removeAML(twin, 'c-12346');
    const after = await eventually(async () => {
      const s = await org2.getSpecification(twin);
      if (!s.aml.includes('ID="added"')) throw new Error('not yet');
      return s;
    });
    expect(countElements(after.aml)).toBe(20_000);
    expect(after.aml.indexOf('ID="added"')).toBeGreaterThan(after.aml.indexOf('ID="c-12345"'));
    expect(after.aml).not.toContain('ID="c-12346"');
    const history = await org2.history(twin);
    expect(history.changes.map((c) => c.operation)).toEqual(['createTwin', 'insertAML', 'removeAML']);
  }, 900_000);

  it('shows a twin being created to no reader, and an aborted creation leaves nothing', async () => {
    const twin = `plant-half-${run}`;
    const split = splitAmlDocument(plant(3000, 'h'), { maxChunkBytes: 64 * 1024 });
    const { result: begun } = await org1.beginTwinCreation(twin, 'Half', split.skeleton, { Org2MSP: 'MAINTAINER' }, split.chunks.length, split.digest);
    for (const c of split.chunks.slice(0, 2)) await org1.appendTwinChunk(twin, begun.creationId, c.index, c.parentId, c.aml);
    // Committed on org2's peer too (the staged chunks are there), and still no twin for anyone.
    await sleep(3000);
    for (const reader of [org2, org1]) {
      expect(await codeOf(reader.getTwin(twin))).toBe('NOT_FOUND');
      expect(await codeOf(reader.getSpecification(twin))).toBe('NOT_FOUND');
      expect(await codeOf(reader.getElement(twin, 'h-1'))).toBe('NOT_FOUND');
    }
    expect((await org2.listTwins()).map((t) => t.twinId)).not.toContain(twin);
    expect(await codeOf(org2.getTwinCreation(twin))).toBe('NOT_FOUND');
    expect(await codeOf(org2.appendTwinChunk(twin, begun.creationId, 3, split.chunks[2]!.parentId, split.chunks[2]!.aml))).toBe('NOT_FOUND');
    expect(await org1.getTwinCreation(twin)).toMatchObject({ staged: [0, 1, 2], status: 'OPEN' });

    for (;;) {
      const { result } = await org1.abortTwinCreation(twin, begun.creationId);
      if (result.remainingChunks === 0) break;
    }
    expect(await codeOf(org1.getTwinCreation(twin))).toBe('NOT_FOUND');
    // Nothing left: the same IDs create a twin in one transaction (a leftover element would be DUPLICATE_ID).
    const again = await org1.createTwin(twin, 'Again', plant(50, 'h'));
    expect(again.result.elements).toBe(51);
    const spec = await eventually(() => org2.getSpecification(twin));
    expect(countElements(spec.aml)).toBe(50);
  }, 600_000);
});
