import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  FailureCodes,
  ReadingsProofCodes,
  blockNumberOfTx,
  createAuditBundleExporter,
  createQsccBlockReader,
  verifyBlockBundle,
  verifyReadingsProof,
  type AuditBlockBundle,
  type BundleFeed,
  type ReadingsWithProof,
} from '@twinledger/audit';
import type { IdentityRegistry } from '@twinledger/ledger-gateway';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork, type OrgHandle } from '@twinledger/devnet';
import { feedUpdateAddress, signFeedUpdate, signingKeyFromSeed, type FeedUpdate } from '@twinledger/dht/records';
import { placementOrder, rawStoreRequest, spawnTestNetwork, type TestNetwork } from '@twinledger/dht/testing';
import { createFabricClient, createPeerConnectionPool, loadIdentity, type FabricClient, type PeerConnectionPool } from '@twinledger/fabric-client';
import { createTwinLedger, type TwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { encodeSegment, type Reading } from '@twinledger/readings';
import { createDevIssuer, createJwtVerifier, type DevIssuer } from '@twinledger/service-kit';
import { createFeedIngest, DEFAULTS, type FeedIngestRuntime } from '../src/main.js';
import { feedIngestLedgerOf } from './support/ledger.js';

// Issue #22 item 3 (ADR-18) end to end on real engines: Fabric (two organizations, MAJORITY
// endorsement, the twinledger chaincode), Kafka and libp2p DHT nodes. feed-ingest ingests
// readings, anchors the feed's update records on the ledger, serves proofs; spec-service's
// exporter adds the anchor blocks; the offline verifier checks the assembled bundle and each
// tamper fails with its own code.
const fabric = await fabricAvailability();
const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');
const COMPONENT = 'sensor-fill-level-1';
const BOUND_MS = 30_000;

async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + BOUND_MS;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`not within ${BOUND_MS} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

(fabric.ok ? describe : describe.skip)('feed anchors and proofs (real Fabric, Kafka, DHT)', () => {
  let net: DevNetwork;
  let dht: TestNetwork;
  let root = '';
  let pool: PeerConnectionPool;
  let issuer: DevIssuer;
  let identities: IdentityRegistry | undefined;
  let runtime: FeedIngestRuntime;
  let owner: TwinLedger;
  let qscc: FabricClient;
  let org2Client: FabricClient;
  const twinId = `anchors-${Date.now().toString(36)}`;
  let feedId = '';
  const firstTs = Date.now() - 3_600_000;
  let nextTs = firstTs;
  let bundle: AuditBlockBundle;

  const headers = async (org: string) => ({ authorization: `Bearer ${await issuer.issue({ sub: `u@${org}`, org, fabricIdentity: 'User1', audience: 'twinledger' })}` });

  async function writeBatch(n: number): Promise<number> {
    const before = (await dht.nodes[0]!.feedHead(feedId))?.latestIndex ?? -1;
    const readings: Reading[] = Array.from({ length: n }, () => ({ feed: feedId, component: COMPONENT, ts: nextTs++, v: 5, u: 'mm' }));
    const res = await runtime.app.inject({ method: 'POST', url: '/readings', headers: await headers('Org1MSP'), payload: readings });
    expect(res.statusCode).toBe(202);
    const last = readings[n - 1]!.ts;
    return eventually('the batch in the DHT', async () => {
      const h = await dht.nodes[0]!.feedHead(feedId);
      return h && h.latestIndex > before && h.latestTimeEnd >= last ? h.latestIndex : undefined;
    });
  }

  beforeAll(async () => {
    net = await startNetwork({ orgs: ['org1', 'org2'], fabric: true, kafka: true, ...testNetworkInit() });
    root = mkdtempSync(join(tmpdir(), 'feed-anchors-'));
    // Three nodes: the feed's writes need the replication factor's quorum (r = 3).
    dht = await spawnTestNetwork({ orgs: ['Org1MSP', 'Org2MSP', 'Org1MSP'] });
    await dht.connectAll();
    issuer = await createDevIssuer('https://idp.test');
    pool = createPeerConnectionPool();
    const org = net.orgs[0] as OrgHandle;
    const ledger = await feedIngestLedgerOf(net, org, root, pool);
    identities = ledger.identities;
    // Anchor blocks for readings proofs: qscc on the organization's peer, as main.ts wires it.
    qscc = createFabricClient({ pool, peer: org.peer, identity: await loadIdentity(org.users[0]!), channel: net.channel, chaincode: 'qscc' });
    const qsccBlocks = createQsccBlockReader((fn, args) => qscc.evaluate(fn, args), net.channel);
    runtime = await createFeedIngest(
      {
        ...DEFAULTS,
        mspId: org.mspId,
        dataDir: join(root, org.name),
        brokers: [net.kafka!.bootstrap],
        groupId: `feed-ingest-${org.mspId}`,
        readingsTopic: `${org.mspId}.anchors.readings`,
        deadLetterTopic: `${org.mspId}.anchors.dead-letter`,
        maxSegmentReadings: 40,
        maxSegmentAgeMs: 100,
        // No timer: the test runs each pass itself; no floor between anchors.
        feedAnchor: { periodMs: 0, minIntervalMs: 0, maxPendingUpdates: 0, maxUpdatesPerAnchor: 1000 },
      },
      { dht: dht.nodes[0]!, parties: dht.registry, ledger: { ...ledger, blocks: { blockNumberOf: (txId) => blockNumberOfTx(qsccBlocks, txId) } }, auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: org.mspId }), logger: silentLogger() },
    );
    owner = createTwinLedger(await identities.clientByName('User1'));
    const org2 = net.orgs[1] as OrgHandle;
    org2Client = createFabricClient({ pool, peer: org2.peer, identity: await loadIdentity(org2.users[0]!), channel: net.channel, chaincode: net.chaincode });
    await owner.createTwin(twinId, 'Plant', AML);
  });

  afterAll(async () => {
    await runtime?.close().catch(() => undefined);
    await runtime?.app.close().catch(() => undefined);
    identities?.close();
    qscc?.close();
    org2Client?.close();
    pool?.close();
    await dht?.teardown();
    await net?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('anchors the feed contiguously from index 0; another organization may not anchor it', async () => {
    const created = await runtime.app.inject({ method: 'POST', url: '/feeds', headers: await headers('Org1MSP'), payload: { twinId, componentId: COMPONENT, unit: 'mm', expectedRange: { min: 0, max: 10 } } });
    expect({ status: created.statusCode, body: created.statusCode === 201 ? undefined : created.json() }).toEqual({ status: 201, body: undefined });
    feedId = (created.json() as { feedId: string }).feedId;
    await owner.addSensorFeed(twinId, COMPONENT, feedId);
    // Several batches, so each anchor covers several updates (a tree with real audit paths).
    let first = -1;
    for (let i = 0; i < 5; i++) first = await writeBatch(20);
    expect(first).toBeGreaterThanOrEqual(4);
    await runtime.anchorer.pass();
    expect(runtime.anchorer.tip(feedId)).toMatchObject({ fromIndex: 0, toIndex: first, feedId, anchoredBy: { mspId: 'Org1MSP' } });
    let second = -1;
    for (let i = 0; i < 3; i++) second = await writeBatch(20);
    await runtime.anchorer.pass();
    const tips = await owner.listFeedAnchorTips(twinId);
    expect(tips).toEqual([expect.objectContaining({ feedId, fromIndex: first + 1, toIndex: second })]);
    // A pass with nothing new submits nothing.
    await runtime.anchorer.pass();
    expect((await owner.listFeedAnchorsPage(twinId, feedId)).items).toHaveLength(2);
    // Org2 holds the default READER only; even as the twin's maintainer it did not register the feed.
    await owner.grant(twinId, { mspId: 'Org2MSP', role: 'MAINTAINER' });
    await expect(createTwinLedger(org2Client).anchorFeedRoot(twinId, COMPONENT, feedId, second + 1, second + 1, 'a'.repeat(64))).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
  });

  it('a bundle with the anchor blocks and the served proofs verifies offline; every tamper fails with its code', async () => {
    const exporter = createAuditBundleExporter({ blocks: createQsccBlockReader((fn, args) => qscc.evaluate(fn, args), net.channel), channel: net.channel, chaincode: net.chaincode, mspId: 'Org1MSP' });
    const history = await owner.history(twinId);
    const anchors = (await owner.listFeedAnchorsPage(twinId, feedId)).items;
    const base = await exporter.export({ twinId, changes: history.changes.map((c) => ({ seq: c.seq, txId: c.txId })), feeds: [{ feedId, componentId: COMPONENT, anchorTxIds: anchors.map((a) => a.txId) }] });
    const last = anchors[anchors.length - 1]!.toIndex;
    const res = await runtime.app.inject({ method: 'GET', url: `/feeds/${feedId}/evidence?fromIndex=0&toIndex=${last}&scanReplicas=true`, headers: await headers('Org1MSP') });
    expect(res.statusCode).toBe(200);
    const evidence = res.json() as Pick<BundleFeed, 'updates' | 'conflicts'> & { unanchoredFrom: number };
    expect(evidence.unanchoredFrom).toBe(last + 1);
    expect(evidence.conflicts).toEqual([]);
    bundle = { ...base, feeds: base.feeds!.map((f) => ({ ...f, updates: evidence.updates, conflicts: evidence.conflicts })) };
    if (process.env['AUDIT_FEED_FIXTURE_OUT']) writeFileSync(process.env['AUDIT_FEED_FIXTURE_OUT'], JSON.stringify(bundle));

    const ok = verifyBlockBundle(bundle);
    expect(ok.failures).toEqual([]);
    expect(ok.feeds).toEqual([expect.objectContaining({ feedId, anchors: 2, anchored: { from: 0, to: last }, provenUpdates: last + 1, provenSegments: last + 1, equivocations: [] })]);

    const feed = bundle.feeds![0]!;
    const withFeed = (f: Partial<BundleFeed>, extra: Partial<AuditBlockBundle> = {}): AuditBlockBundle => ({ ...bundle, ...extra, feeds: [{ ...feed, ...f }] });
    const codes = (b: AuditBlockBundle): string[] => [...new Set(verifyBlockBundle(b).failures.map((x) => x.code))].sort();

    // A reading altered: one byte of one segment.
    expect(feed.updates.length).toBeGreaterThanOrEqual(8);
    expect(feed.updates.every((u) => u.proof.length >= 1)).toBe(true);
    const lastItem = feed.updates.length - 1;
    const seg = Buffer.from(feed.updates[lastItem]!.segmentBase64!, 'base64');
    seg[seg.length - 1] ^= 1;
    expect(codes(withFeed({ updates: feed.updates.map((u, i) => (i === lastItem ? { ...u, segmentBase64: seg.toString('base64') } : u)) }))).toEqual([FailureCodes.segmentMismatch]);

    // An anchor left out: the updates it covered have no root.
    expect(codes(withFeed({ anchors: feed.anchors.slice(1) }))).toEqual([FailureCodes.anchorMissing]);
    // An anchor forged: a change of the twin passed off as the anchor (valid, endorsed, writes no anchor).
    const change = bundle.changes[0]!;
    expect(codes(withFeed({ anchors: [{ txId: change.txId, blockNumber: change.blockNumber }, ...feed.anchors.slice(1)] }))).toEqual([FailureCodes.anchorInvalid, FailureCodes.anchorMissing]);
    // The anchor's block dropped from the bundle.
    expect(codes(withFeed({}, { anchorBlocks: [] }))).toContain(FailureCodes.txNotInBlock);

    // The owner key signs a second update for index 1 (what a dishonest owner stores on some replica).
    const key = signingKeyFromSeed(new Uint8Array(readFileSync(join(root, 'org1', 'owner.key'))));
    const honest = feed.updates[1]!.update as unknown as FeedUpdate;
    const forged = signFeedUpdate(key, { topic: honest.topic, index: honest.index, timeStart: honest.timeStart, timeEnd: honest.timeEnd, ref: 'b'.repeat(64) });
    // Served instead of the honest one: not the anchored update.
    expect(codes(withFeed({ updates: feed.updates.map((u, i) => (i === 1 ? { update: { ...forged }, proof: u.proof } : u)) }))).toEqual([FailureCodes.proofInvalid]);
    // Both seen: equivocation evidence, with the anchored one named.
    const eq = verifyBlockBundle(withFeed({ conflicts: [{ index: 1, updates: [{ ...honest }, { ...forged }] }] }));
    expect(eq.failures.map((f) => f.code)).toEqual([FailureCodes.equivocation]);
    expect(eq.feeds![0]!.equivocations).toEqual([expect.objectContaining({ index: 1, anchored: expect.any(String) })]);
  });

  it('readings served with a proof verify against the anchors of a verified block bundle; one reading altered is READING_ALTERED', async () => {
    // A tail past the last anchor: served with anchor null, counted apart by the verifier.
    await writeBatch(20);
    const to = nextTs - 1;
    const res = await runtime.app.inject({ method: 'GET', url: `/feeds/${feedId}/readings?from=${firstTs}&to=${to}&proof=true`, headers: await headers('Org1MSP') });
    expect(res.statusCode).toBe(200);
    const answer = res.json() as ReadingsWithProof;
    expect(answer.readings).toHaveLength(180);
    const anchored = (await owner.listFeedAnchorsPage(twinId, feedId)).items;
    expect(answer.proof.unanchoredFrom).toBe(anchored[anchored.length - 1]!.toIndex + 1);
    expect(answer.proof.segments.at(-1)!.anchor).toBeNull();
    // The auditor's trusted roots: the anchors of the bundle that verified (previous test).
    const verified = verifyBlockBundle(bundle);
    expect(verified.failures).toEqual([]);
    const trusted = verified.feeds![0]!.verifiedAnchors;
    expect(trusted.map((a) => a.txId)).toEqual(anchored.map((a) => a.txId));
    expect(answer.proof.anchors).toEqual(trusted.map(({ feedId: _f, ...a }) => a));
    const r = verifyReadingsProof(answer, trusted, { feedId, from: firstTs, to });
    expect(r.failures).toEqual([]);
    expect(r).toMatchObject({ provenReadings: 160, unanchoredReadings: 20 });
    // The plain answer is the same readings.
    const plain = await runtime.app.inject({ method: 'GET', url: `/feeds/${feedId}/readings?from=${firstTs}&to=${to}`, headers: await headers('Org1MSP') });
    expect((plain.json() as { readings: Reading[] }).readings).toEqual(answer.readings);

    const altered = JSON.parse(res.payload) as ReadingsWithProof;
    (altered.readings[42] as { v: number }).v = 9;
    expect(verifyReadingsProof(altered, trusted, { feedId, from: firstTs, to }).failures.map((f) => f.code)).toEqual([ReadingsProofCodes.readingAltered]);
  });

  it('the edges of a range: neighbour records prove no segment left out; an answer without its first segment, or an empty one, is checked the same way', async () => {
    const trusted = verifyBlockBundle(bundle).feeds![0]!.verifiedAnchors;
    const read = async (from: number, to: number): Promise<ReadingsWithProof> => {
      const res = await runtime.app.inject({ method: 'GET', url: `/feeds/${feedId}/readings?from=${from}&to=${to}&proof=true`, headers: await headers('Org1MSP') });
      expect(res.statusCode).toBe(200);
      return res.json() as ReadingsWithProof;
    };
    const all = await read(firstTs, nextTs - 1);
    const time = (i: number) => all.proof.segments[i]!.update as { index: number; timeStart: number; timeEnd: number };
    // Segments 2..4 exactly: index 1 before, 5 after, all three under the first anchor.
    const [from, to] = [time(2).timeStart, time(4).timeEnd];
    const mid = await read(from, to);
    expect(mid.proof.segments.map((s) => s.update['index'])).toEqual([2, 3, 4]);
    expect([mid.proof.before?.update['index'], mid.proof.after?.update['index']]).toEqual([1, 5]);
    expect(mid.proof.before).not.toHaveProperty('segmentBase64');
    const r = verifyReadingsProof(mid, trusted, { feedId, from, to });
    expect(r.failures).toEqual([]);
    expect(r.edges).toEqual({ before: 'anchored', after: 'anchored' });
    // A server that leaves out the range's first segment and shows its record as the neighbour.
    const first = mid.proof.segments[0]!;
    const n = first.readings.count;
    const cut: ReadingsWithProof = {
      ...mid,
      readings: mid.readings.slice(n),
      proof: { ...mid.proof, before: { update: first.update, anchor: first.anchor, proof: first.proof }, segments: mid.proof.segments.slice(1).map((s) => ({ ...s, readings: { ...s.readings, offset: s.readings.offset - n } })) },
    };
    expect(verifyReadingsProof(cut, trusted, { feedId, from, to }).failures.map((f) => [f.code, f.edge])).toEqual([[ReadingsProofCodes.incomplete, 'before']]);
    // ... or keeps the old neighbour, or drops it.
    expect(verifyReadingsProof({ ...cut, proof: { ...cut.proof, before: mid.proof.before } }, trusted, { feedId, from, to }).failures.map((f) => f.code)).toEqual([ReadingsProofCodes.edgeMissing]);
    // Before the feed's first reading: no segment, the record of index 0 after.
    const early = await read(firstTs - 1000, firstTs - 1);
    expect({ segments: early.proof.segments.length, before: early.proof.before, after: early.proof.after?.update['index'] }).toEqual({ segments: 0, before: null, after: 0 });
    expect(verifyReadingsProof(early, trusted, { feedId, from: firstTs - 1000, to: firstTs - 1 })).toMatchObject({ ok: true, edges: { before: 'feed-start', after: 'anchored' } });
    // Past the feed's last reading: the last record (past the anchors) before, nothing after: open.
    const late = await read(nextTs + 1000, nextTs + 2000);
    expect(late.proof.before?.anchor).toBeNull();
    expect(verifyReadingsProof(late, trusted, { feedId, from: nextTs + 1000, to: nextTs + 2000 })).toMatchObject({ ok: true, edges: { before: 'signed', after: 'open' } });
  });

  it('two owner-signed updates for one index on different replicas of the real DHT: the exported bundle reports FEED_EQUIVOCATION', async () => {
    // A dishonest owner: the organization's own feed key, a second feed of the twin.
    const seed = new Uint8Array(readFileSync(join(root, 'org1', 'owner.key')));
    const key = signingKeyFromSeed(seed);
    const node = dht.nodes[0]!;
    const topic = `${twinId}/sensor-eq`;
    const info = await node.createFeed({ topic, ownerKey: seed, acl: ['Org1MSP', 'Org2MSP'] });
    const writer = { topic, ownerKey: seed, objectId: info.objectId };
    const seg = (v: number): Uint8Array => encodeSegment([{ feed: info.feedId, component: 'sensor-eq', ts: 1000 + v, v, u: 'mm' }], { feedId: info.feedId });
    await node.appendFeed(writer, 0, seg(0), { start: 1000, end: 1000 });
    // Index 1: one segment for replica 0, another for the rest, each under its own signed record.
    const [a, b] = await Promise.all([node.putObject(seg(1), { acl: ['Org1MSP', 'Org2MSP'] }), node.putObject(seg(2), { acl: ['Org1MSP', 'Org2MSP'] })]);
    const address = feedUpdateAddress(info.feedId, 1);
    const replicas = await placementOrder(node, address);
    expect(replicas.length).toBeGreaterThanOrEqual(2);
    for (const [i, peerId] of replicas.entries()) {
      const update = signFeedUpdate(key, { topic, index: 1, timeStart: 1001, timeEnd: 1001, ref: i === 0 ? a.ref : b.ref });
      await rawStoreRequest(node, peerId, { op: 'put-feed-update', address, update });
    }
    // The owner's writer (a fresh one, on another node of the organization: no memory of index 0)
    // finds index 1 taken, moves the head over it and refuses to write another update there.
    await dht.nodes[2]!.appendFeed(writer, 1, seg(3), { start: 1001, end: 1001 }).then(
      () => {
        throw new Error('the append over a taken index succeeded');
      },
      (err: { code?: string }) => expect(err.code).toBe('DHT_FEED_REPLAY'),
    );
    expect((await node.feedHead(info.feedId))?.latestIndex).toBe(1);

    const res = await runtime.app.inject({ method: 'GET', url: `/feeds/${info.feedId}/evidence?fromIndex=0&toIndex=1&scanReplicas=true&segments=false`, headers: await headers('Org1MSP') });
    expect(res.statusCode).toBe(200);
    const ev = res.json() as Pick<BundleFeed, 'updates' | 'conflicts'>;
    expect(ev.conflicts).toEqual([expect.objectContaining({ index: 1 })]);
    const withEq: AuditBlockBundle = { ...bundle, feeds: [...bundle.feeds!, { feedId: info.feedId, componentId: 'sensor-eq', anchors: [], updates: ev.updates, conflicts: ev.conflicts }] };
    const r = verifyBlockBundle(withEq);
    expect(r.failures.filter((f) => f.feedId === info.feedId && f.code === FailureCodes.equivocation)).toEqual([expect.objectContaining({ index: 1 })]);
    expect(r.feeds![1]!.equivocations).toEqual([expect.objectContaining({ index: 1, updateHashes: [expect.any(String), expect.any(String)] })]);
    // The honest feed of the bundle is untouched by it.
    expect(r.failures.filter((f) => f.feedId === feedId)).toEqual([]);
  });
});
