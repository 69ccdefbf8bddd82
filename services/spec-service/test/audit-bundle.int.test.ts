import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { verifyBlockBundle, type AuditBlockBundle } from '@twinledger/audit';
import { createDhtClient } from '@twinledger/dht-client';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork } from '@twinledger/devnet';
import { createFabricClient, createPeerConnectionPool, loadIdentity, type FabricClient, type PeerConnectionPool } from '@twinledger/fabric-client';
import { createTwinLedger, type TwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, type DevIssuer } from '@twinledger/service-kit';
import { startSpecService, type SpecService } from '../src/main.js';

const fabric = await fabricAvailability();
const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');

(fabric.ok ? describe : describe.skip)('audit bundles with block proofs from the real network', () => {
  let net: DevNetwork;
  let root: string;
  let pool: PeerConnectionPool;
  let ownerClient: FabricClient;
  let owner: TwinLedger;
  const issuers: DevIssuer[] = [];
  const services: SpecService[] = [];
  const stamp = Date.now().toString(36);
  const twin = `audit-${stamp}`;
  const report = randomBytes(2048);
  const reportHash = createHash('sha256').update(report).digest('hex');

  const token = (i: number) => issuers[i]!.issue({ sub: `u${i}`, org: net.orgs[i]!.mspId, fabricIdentity: 'User1', audience: 'twinledger' });
  const get = async (i: number, url: string) => services[i]!.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await token(i)}` } });

  beforeAll(async () => {
    net = await startNetwork({ orgs: ['org1', 'org2'], kafka: false, ...testNetworkInit() });
    root = mkdtempSync(join(tmpdir(), 'spec-audit-int-'));
    pool = createPeerConnectionPool();
    ownerClient = createFabricClient({ pool, peer: net.orgs[0]!.peer, identity: await loadIdentity(net.orgs[0]!.users[0]!), channel: net.channel, chaincode: net.chaincode });
    owner = createTwinLedger(ownerClient);
    for (const [i, org] of net.orgs.entries()) {
      issuers[i] = await createDevIssuer(`https://idp.${org.name}.local`);
      const dir = join(root, org.name);
      mkdirSync(dir, { recursive: true });
      symlinkSync(dirname(org.users[0]!.mspDir), join(dir, 'User1'));
      const s = await startSpecService(
        {
          mspId: org.mspId,
          identitiesDir: dir,
          peer: org.peer,
          channel: net.channel,
          chaincode: net.chaincode,
          auth: { issuer: issuers[i]!.issuer, audience: 'twinledger', jwks: issuers[i]!.jwks, expectedOrg: org.mspId },
          dht: createDhtClient({ baseUrl: 'http://127.0.0.1:9' }),
          kafkaBrokers: [],
          relay: false,
          relayIdentity: 'User1',
          dataDir: join(root, `state-${org.name}`),
        },
        silentLogger(),
      );
      await s.app.ready();
      services.push(s);
    }
    // Org 1's twin, private to it (the default read grant revoked), with a document and a source.
    await owner.createTwin(twin, 'Audited plant', AML);
    await owner.revoke(twin, { mspId: '*', role: 'READER' });
    await owner.addDocument(twin, { hash: reportHash, dhtRef: `ref-${stamp}`, title: 'Inspection report', confidentiality: 'public' });
    // Another twin's change in between: a block of the channel that is not the audited twin's.
    await owner.createTwin(`${twin}-other`, 'Other plant', AML);
    await owner.addExternalSource(twin, `https://example.org/${stamp}`, 'manual');
  });

  afterAll(async () => {
    for (const s of services) {
      await s.app.close();
      await s.close();
    }
    ownerClient?.close();
    pool?.close();
    await net?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('exports the blocks of every change and the bundle verifies offline', async () => {
    const res = await get(0, `/twins/${twin}/audit-bundle`);
    expect(res.statusCode).toBe(200);
    const bundle = res.json() as AuditBlockBundle;
    expect(bundle.changes.map((c) => c.seq)).toEqual([1, 2, 3, 4]);
    expect(bundle.blocks.length).toBeGreaterThan(0);
    expect(Object.keys(bundle.specification.state).length).toBeGreaterThan(1);
    // The auditor holds the document's bytes (the DHT is out of this test's scope).
    const withDoc: AuditBlockBundle = { ...bundle, documents: [{ hash: reportHash, contentBase64: report.toString('base64') }] };
    const result = verifyBlockBundle(JSON.parse(JSON.stringify(withDoc)));
    expect(result.failures).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.checks.every((c) => c.ok)).toBe(true);
    // The unit tests' tamper cases run on this very bundle, saved when asked for.
    if (process.env['AUDIT_FIXTURE_OUT']) writeFileSync(process.env['AUDIT_FIXTURE_OUT'], JSON.stringify(withDoc, null, 1));

    // A bound: the first two changes only; still verifies (the spec state is that of seq 2).
    const bounded = await get(0, `/twins/${twin}/audit-bundle?asOfSeq=2`);
    expect(bounded.statusCode).toBe(200);
    const b2 = bounded.json() as AuditBlockBundle;
    expect(b2.changes.map((c) => c.seq)).toEqual([1, 2]);
    expect(verifyBlockBundle(b2).failures).toEqual([]);

    // The same bound given as the as-of route takes it.
    const byAt = await get(0, `/twins/${twin}/audit-bundle?at=${b2.changes[1]!.txId}`);
    expect(byAt.statusCode).toBe(200);
    expect((byAt.json() as AuditBlockBundle).changes).toEqual(b2.changes);
    expect((await get(0, `/twins/${twin}/audit-bundle?at=seq:2&asOfSeq=2`)).statusCode).toBe(400);

    // Contiguous: every block from the creation to the last change, so the list is proven complete.
    const contiguous = await get(0, `/twins/${twin}/audit-bundle?contiguous=true`);
    expect(contiguous.statusCode).toBe(200);
    const b3 = contiguous.json() as AuditBlockBundle;
    const r3 = verifyBlockBundle(b3);
    expect(r3.failures).toEqual([]);
    expect(r3.completeThrough).toBe(Math.max(...b3.changes.map((c) => c.blockNumber)));
    expect(b3.blocks.length).toBe(r3.completeThrough! - b3.changes[0]!.blockNumber + 1);
    expect(b3.blocks.length).toBeGreaterThan(bundle.blocks.length);
    // Without the other twin's block, the plain export proves the list complete only up to the gap.
    expect(verifyBlockBundle(bundle).completeThrough).toBeLessThan(r3.completeThrough!);
  });

  it('refuses a caller who may not read the twin, and bad input, with their codes', async () => {
    const denied = await get(1, `/twins/${twin}/audit-bundle`);
    expect(denied.statusCode).toBe(403);
    const bad = await get(0, `/twins/${twin}/audit-bundle?documents=nothex`);
    expect(bad.statusCode).toBe(400);
    const none = await get(0, `/twins/nope-${stamp}/audit-bundle`);
    expect(none.statusCode).toBe(404);
  });

  it('feeds=true adds each feed\'s anchor transactions and their blocks; feed-anchors lists the latest root per feed (ADR-18)', async () => {
    const feedId = createHash('sha256').update(`feed-${stamp}`).digest('hex');
    await owner.addSensorFeed(twin, 'sensor-flow-1', feedId);
    // A feed whose ledger record names no feed ID (not 64 hex digits) cannot be anchored: skipped.
    await owner.addSensorFeed(twin, 'sensor-pressure-1', `feed:${stamp}`);
    const first = await owner.anchorFeedRoot(twin, 'sensor-flow-1', feedId, 0, 9, 'a'.repeat(64));
    const second = await owner.anchorFeedRoot(twin, 'sensor-flow-1', feedId, 10, 19, 'b'.repeat(64));

    const all = await get(0, `/twins/${twin}/audit-bundle?feeds=true`);
    expect(all.statusCode).toBe(200);
    const b = all.json() as AuditBlockBundle;
    expect(b.feeds).toEqual([{ feedId, componentId: 'sensor-flow-1', anchors: [expect.objectContaining({ txId: first.result.txId }), expect.objectContaining({ txId: second.result.txId })], updates: [], conflicts: [] }]);
    expect(b.anchorBlocks!.length).toBeGreaterThanOrEqual(1);
    const r = verifyBlockBundle(b);
    expect(r.failures).toEqual([]);
    expect(r.feeds).toEqual([expect.objectContaining({ feedId, anchors: 2, anchored: { from: 0, to: 19 }, latestRoot: expect.objectContaining({ root: 'b'.repeat(64), toIndex: 19 }) })]);

    // Only the anchors overlapping the index range.
    const ranged = (await get(0, `/twins/${twin}/audit-bundle?feeds=true&feedFrom=12&feedTo=30`)).json() as AuditBlockBundle;
    expect(ranged.feeds![0]!.anchors.map((a) => a.txId)).toEqual([second.result.txId]);
    expect(verifyBlockBundle(ranged).failures).toEqual([]);

    const tips = await get(0, `/twins/${twin}/feed-anchors`);
    expect(tips.statusCode).toBe(200);
    expect(tips.json()).toEqual({ twinId: twin, anchors: [expect.objectContaining({ feedId, fromIndex: 10, toIndex: 19, root: 'b'.repeat(64), txId: second.result.txId })] });
    expect((await get(1, `/twins/${twin}/feed-anchors`)).statusCode).toBe(403);
    expect((await get(0, `/twins/${twin}/audit-bundle?feeds=true&feedFrom=-1`)).statusCode).toBe(400);
  });
});
