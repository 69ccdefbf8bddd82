import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ReadingsProofCodes, feedLeafHash, merkleTree, verifyReadingsProof, type ReadingsWithProof, type TrustedAnchor } from '@twinledger/audit';
import type { DhtNode, FeedEntry } from '@twinledger/dht';
import { canonicalBytes, signFeedUpdate, signingKeyFromSeed, type FeedUpdate } from '@twinledger/dht/records';
import type { FeedAnchor, TwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { encodeSegment, type Reading } from '@twinledger/readings';
import { buildService, createDevIssuer, createJwtVerifier, type DevIssuer, type ServiceApp } from '@twinledger/service-kit';
import { FeedAccessDeniedError } from '../src/domain/errors.js';
import type { FeedAccess } from '../src/domain/feed-access.js';
import { createFeedEvidenceSource, type AnchorBlocks } from '../src/domain/feed-evidence.js';
import { createFeedReader } from '../src/domain/feed-reader.js';
import type { FeedRegistry } from '../src/domain/feed-registry.js';
import { queryRoutes } from '../src/routes/queries.js';

/**
 * GET /feeds/:feedId/readings?proof=true against small fakes of the DHT node (records, manifests,
 * segments) and the ledger (anchors, their blocks): the answer verifies offline with the
 * auditor's verifier; proof=false is today's answer byte for byte; failures of the ledger are
 * the stable 503 PROOF_UNAVAILABLE. The real engines: readings-proof.int.test.ts.
 */
const owner = signingKeyFromSeed(new Uint8Array(randomBytes(32)));
const TWIN = 'bp-1';
const TOPIC = `${TWIN}/sensor-fill-1`;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

// Six segments of 10 readings (segment i: ts 1000 + i*100 + k*10); indices 0..3 anchored in two anchors.
const segs = Array.from({ length: 6 }, (_, i) => {
  const readings: Reading[] = Array.from({ length: 10 }, (_, k) => ({ feed: 'x', component: 'sensor-fill-1', ts: 1000 + i * 100 + k * 10, v: 40 + k, u: 'mm' }));
  const payload = encodeSegment(readings, {});
  const manifest = { v: 1, objectId: 'c'.repeat(64), plaintextHash: sha(payload), size: payload.length, chunks: [] as unknown[] };
  const u = signFeedUpdate(owner, { topic: TOPIC, index: i, timeStart: 1000 + i * 100, timeEnd: 1000 + i * 100 + 90, ref: sha(canonicalBytes(manifest)) });
  return { payload, manifest, u };
});
const FEED = segs[0]!.u.feedId;
const anchorOver = (from: number, to: number, txId: string): FeedAnchor => ({
  twinId: TWIN,
  componentId: 'sensor-fill-1',
  feedId: FEED,
  fromIndex: from,
  toIndex: to,
  root: merkleTree(segs.slice(from, to + 1).map((s) => feedLeafHash(s.u))).root.toString('hex'),
  anchoredBy: { mspId: 'Org1MSP', id: 'x' } as unknown as FeedAnchor['anchoredBy'],
  timestamp: new Date(0).toISOString(),
  txId,
});
const ANCHORS = [anchorOver(0, 2, 'a'.repeat(64)), anchorOver(3, 3, 'b'.repeat(64))];
const BLOCK: Record<string, number> = { ['a'.repeat(64)]: 7, ['b'.repeat(64)]: 9 };

const dht = {
  async rangeByTime(_f: string, from: number, to: number): Promise<FeedEntry[]> {
    return segs.filter((s) => s.u.timeEnd >= from && s.u.timeStart <= to).map((s) => ({ feedId: FEED, index: s.u.index, timeStart: s.u.timeStart, timeEnd: s.u.timeEnd, ref: s.u.ref, payload: s.payload }));
  },
  async feedUpdateRecords(_f: string, from: number, to: number): Promise<FeedUpdate[]> {
    return segs.filter((s) => s.u.index >= from && s.u.index <= to && s.u.index !== unreadable).map((s) => s.u);
  },
  async feedHead() {
    return { feedId: FEED, latestIndex: segs.length - 1 };
  },
  async getManifest(ref: string) {
    return segs.find((s) => s.u.ref === ref)!.manifest;
  },
} as unknown as DhtNode;

let ledgerDown = false;
/** An index no replica answers for (a record the proof needs, unreadable). */
let unreadable = -1;
const ledger = {
  async listFeedAnchorsPage() {
    if (ledgerDown) throw Object.assign(new Error('peer unreachable'), { code: 'UNAVAILABLE' });
    return { items: ANCHORS, bookmark: '' };
  },
} as unknown as TwinLedger;
const blocks: AnchorBlocks = { blockNumberOf: async (txId) => BLOCK[txId]! };

let denied = false;
let proofsAssembled = 0;
const access: FeedAccess = {
  require: async () => {
    if (denied) throw new FeedAccessDeniedError('no feed:read', { details: { twinId: TWIN, permission: 'feed:read' } });
  },
  allows: async () => !denied,
  readers: async () => [],
};
const registry = { get: () => ({ twinId: TWIN, topic: TOPIC }) } as unknown as FeedRegistry;

async function appWith(withBlocks: boolean): Promise<ServiceApp> {
  const app = await buildService({ name: 'feed-ingest-test', logger: silentLogger(), auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }) });
  const source = createFeedEvidenceSource({ maxIndices: 1000 }, { dht, ledger, ...(withBlocks ? { blocks } : {}) });
  const evidence = { readingsProof: (...args: Parameters<typeof source.readingsProof>) => (proofsAssembled++, source.readingsProof(...args)) };
  const reader = createFeedReader({ dht, registry, access, maxSegmentsPerQuery: 100 });
  queryRoutes(app, { reader, evidence, events: new EventEmitter(), writesFeed: () => false, maxReadingsPerQuery: 1000, streamPollMs: 1000, accessRecheckMs: 5000 });
  await app.ready();
  return app;
}

let issuer: DevIssuer;
let app: ServiceApp;
let noBlocks: ServiceApp;
const get = async (a: ServiceApp, query: string) =>
  a.inject({ method: 'GET', url: `/feeds/${FEED}/readings?${query}`, headers: { authorization: `Bearer ${await issuer.issue({ sub: 'u', org: 'Org1MSP', audience: 'twinledger' })}` } });
const trusted: TrustedAnchor[] = ANCHORS.map((a) => ({ feedId: FEED, txId: a.txId, blockNumber: BLOCK[a.txId]!, fromIndex: a.fromIndex, toIndex: a.toIndex, root: a.root }));

beforeAll(async () => {
  issuer = await createDevIssuer('https://idp.test');
  app = await appWith(true);
  noBlocks = await appWith(false);
});
afterAll(async () => {
  await app?.close();
  await noBlocks?.close();
});

describe('GET /feeds/:feedId/readings?proof=true', () => {
  it('proof=false (or absent) is today\'s answer, byte for byte', async () => {
    const plain = await get(app, 'from=1150&to=1420');
    const off = await get(app, 'from=1150&to=1420&proof=false');
    expect(plain.statusCode).toBe(200);
    expect(off.payload).toBe(plain.payload);
    expect(Object.keys(plain.json() as object)).toEqual(['readings', 'truncated']);
  });

  it('carries per segment the signed record, bytes, anchor with block and audit path; it verifies offline', async () => {
    const res = await get(app, 'from=1150&to=1420&proof=true');
    expect(res.statusCode).toBe(200);
    const answer = res.json() as ReadingsWithProof;
    const plain = (await get(app, 'from=1150&to=1420')).json() as { readings: Reading[] };
    expect(answer.readings).toEqual(plain.readings);
    expect(answer.proof.segments.map((s) => [s.update['index'], s.anchor?.blockNumber ?? null])).toEqual([
      [1, 7],
      [2, 7],
      [3, 9],
      [4, null],
    ]);
    expect(answer.proof).toMatchObject({ feedId: FEED, twinId: TWIN, unanchoredFrom: 4, anchors: [{ txId: 'a'.repeat(64), blockNumber: 7 }, { txId: 'b'.repeat(64), blockNumber: 9 }] });
    // The neighbours' records, without their bytes: index 0 (anchored) ends before 1150, index 5 (past the anchors) starts after 1420.
    expect(answer.proof.before).toEqual({ update: { ...segs[0]!.u }, anchor: answer.proof.anchors[0], proof: expect.any(Array) });
    expect(answer.proof.after).toEqual({ update: { ...segs[5]!.u }, anchor: null, proof: [] });
    const r = verifyReadingsProof(answer, trusted, { feedId: FEED, from: 1150, to: 1420 });
    expect(r.failures).toEqual([]);
    expect(r).toMatchObject({ provenReadings: 5 + 10 + 10, unanchoredReadings: 3, edges: { before: 'anchored', after: 'signed' } });
    // One reading altered on the way: the auditor's verifier says so.
    (answer.readings[7] as { v: number }).v = 0;
    expect(verifyReadingsProof(answer, trusted, { feedId: FEED, from: 1150, to: 1420 }).failures.map((f) => f.code)).toEqual([ReadingsProofCodes.readingAltered]);
  });

  it('a truncated answer proves the readings it holds', async () => {
    const answer = (await get(app, 'from=1000&to=1590&limit=25&proof=true')).json() as ReadingsWithProof;
    expect(answer).toMatchObject({ truncated: true });
    expect(answer.readings).toHaveLength(25);
    // Its end is where the next page starts: no record after.
    expect(answer.proof).toMatchObject({ before: null, after: null });
    expect(verifyReadingsProof(answer, trusted, { feedId: FEED, from: 1000, to: 1590 })).toMatchObject({ failures: [], edges: { before: 'feed-start', after: 'truncated' } });
  });

  it('the edges: none before index 0, none after the head, and the two records an empty range falls between', async () => {
    const edgesOf = async (from: number, to: number) => {
      const answer = (await get(app, `from=${from}&to=${to}&proof=true`)).json() as ReadingsWithProof;
      const { proof } = answer;
      return {
        served: proof.segments.map((s) => s.update['index']),
        before: proof.before?.update['index'] ?? null,
        after: proof.after?.update['index'] ?? null,
        edges: verifyReadingsProof(answer, trusted, { feedId: FEED, from, to }),
      };
    };
    expect(await edgesOf(1000, 1150)).toMatchObject({ served: [0, 1], before: null, after: 2, edges: { ok: true, edges: { before: 'feed-start', after: 'anchored' } } });
    // The head is index 5, past the anchors: that nothing follows it is not proven.
    expect(await edgesOf(1450, 1590)).toMatchObject({ served: [4, 5], before: 3, after: null, edges: { ok: true, edges: { before: 'anchored', after: 'open' } } });
    // 1095..1099 lies between index 0 (1000..1090) and index 1 (1100..1190).
    expect(await edgesOf(1095, 1099)).toMatchObject({ served: [], before: 0, after: 1, edges: { ok: true, edges: { before: 'anchored', after: 'anchored' } } });
    expect(await edgesOf(0, 999)).toMatchObject({ served: [], before: null, after: 0, edges: { ok: true, edges: { before: 'feed-start', after: 'anchored' } } });
    expect(await edgesOf(2000, 3000)).toMatchObject({ served: [], before: 5, after: null, edges: { ok: true, edges: { before: 'signed', after: 'open' } } });
  });

  it('503 PROOF_UNAVAILABLE when a neighbour record the edge needs is unreadable (never an answer without its edge)', async () => {
    // Index 0 before 1150..1420; index 3 (anchored) after 1150..1220.
    for (const [index, query] of [
      [0, 'from=1150&to=1420&proof=true'],
      [3, 'from=1150&to=1220&proof=true'],
    ] as const) {
      unreadable = index;
      try {
        const res = await get(app, query);
        expect({ index, status: res.statusCode, code: (res.json() as { code: string }).code }).toEqual({ index, status: 503, code: 'PROOF_UNAVAILABLE' });
      } finally {
        unreadable = -1;
      }
    }
  });

  it('503 PROOF_UNAVAILABLE when the ledger cannot be read or no block reader is wired; the plain answer does not need them', async () => {
    ledgerDown = true;
    try {
      const res = await get(app, 'from=1150&to=1420&proof=true');
      expect({ status: res.statusCode, code: (res.json() as { code: string }).code }).toEqual({ status: 503, code: 'PROOF_UNAVAILABLE' });
      expect((await get(app, 'from=1150&to=1420')).statusCode).toBe(200);
    } finally {
      ledgerDown = false;
    }
    const res = await get(noBlocks, 'from=1150&to=1420&proof=true');
    expect({ status: res.statusCode, code: (res.json() as { code: string }).code }).toEqual({ status: 503, code: 'PROOF_UNAVAILABLE' });
  });

  it('needs feed:read exactly as the plain answer: refused before any proof is assembled', async () => {
    denied = true;
    const before = proofsAssembled;
    try {
      const res = await get(app, 'from=1150&to=1420&proof=true');
      expect({ status: res.statusCode, code: (res.json() as { code: string }).code }).toEqual({ status: 403, code: 'FEED_ACCESS_DENIED' });
    } finally {
      denied = false;
    }
    expect(proofsAssembled).toBe(before);
  });
});
