import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createDhtClient } from '@twinledger/dht-client';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork } from '@twinledger/devnet';
import { createFabricClient, createPeerConnectionPool, loadIdentity, type FabricClient, type PeerConnectionPool } from '@twinledger/fabric-client';
import { createTwinLedger, type TwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, type DevIssuer } from '@twinledger/service-kit';
import { startSpecService, type SpecService } from '../src/main.js';

/*
 * Issue #27 item 1 on the real network: org 1's spec-service serves reads from its read model
 * (kept current by its event relay); org 2 writes. Delays are measured and logged, never
 * asserted beyond the bounds the service states (READ_CACHE_MAX_AGE_MS for staleness,
 * AUTH_DECISION_TTL_MS for a revocation).
 */

const fabric = await fabricAvailability();
const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');
const MAX_AGE_MS = 30_000;
const DECISION_TTL_MS = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`[read-cache] ${line}\n`);

/** Polls until `ok` holds (or `ms` pass); answers the milliseconds it took. */
async function until(ok: () => Promise<boolean>, ms: number): Promise<number> {
  const t0 = performance.now();
  while (!(await ok())) {
    if (performance.now() - t0 > ms) throw new Error(`condition not met within ${ms} ms`);
    await sleep(20);
  }
  return Math.round(performance.now() - t0);
}

(fabric.ok ? describe : describe.skip)('spec-service read model on the real network (two organizations)', () => {
  let net: DevNetwork;
  let root: string;
  let pool: PeerConnectionPool;
  let writerClient: FabricClient;
  /** Org 2, writing through its own peer. */
  let writer: TwinLedger;
  let issuer: DevIssuer;
  let reader: SpecService;
  const stamp = Date.now().toString(36);
  const twinId = `cache-${stamp}`;

  const call = async (url: string) =>
    reader.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await issuer.issue({ sub: 'reader', org: net.orgs[0]!.mspId, fabricIdentity: 'User1', audience: 'twinledger' })}` } });

  beforeAll(async () => {
    net = await startNetwork({ orgs: ['org1', 'org2'], kafka: true, ...testNetworkInit() });
    root = mkdtempSync(join(tmpdir(), 'spec-read-cache-int-'));
    pool = createPeerConnectionPool();
    writerClient = createFabricClient({ pool, peer: net.orgs[1]!.peer, identity: await loadIdentity(net.orgs[1]!.users[0]!), channel: net.channel, chaincode: net.chaincode });
    writer = createTwinLedger(writerClient);
    const org = net.orgs[0]!;
    issuer = await createDevIssuer(`https://idp.${org.name}.local`);
    const dir = join(root, org.name);
    mkdirSync(dir, { recursive: true });
    symlinkSync(dirname(org.users[0]!.mspDir), join(dir, 'User1'));
    reader = await startSpecService(
      {
        mspId: org.mspId,
        identitiesDir: dir,
        peer: org.peer,
        channel: net.channel,
        chaincode: net.chaincode,
        auth: { issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: org.mspId },
        dht: createDhtClient({ baseUrl: 'http://127.0.0.1:9' }),
        kafkaBrokers: [net.kafka!.bootstrap],
        relay: true,
        relayIdentity: 'User1',
        dataDir: join(root, `state-${org.name}`),
        authDecisionTtlMs: DECISION_TTL_MS,
        readCache: { maxAgeMs: MAX_AGE_MS, fenceWaitMs: 2_000 },
      },
      silentLogger(),
    );
    await reader.app.ready();
    await until(async () => reader.relay?.connected === true, 60_000);
    await writer.createTwin(twinId, 'Plant', AML);
  });

  afterAll(async () => {
    // Never leave a peer frozen, whatever failed.
    for (const org of net?.orgs ?? []) org.peerProcess.resume();
    await reader?.app.close();
    await reader?.close();
    writerClient?.close();
    pool?.close();
    await net?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('serves a write of another organization once its event arrives (staleness measured), with the block it reflects', async () => {
    await until(async () => (await call(`/twins/${twinId}/spec`)).statusCode === 200, 30_000);
    const warm = await call(`/twins/${twinId}/spec`);
    expect(warm.headers['x-twinledger-block']).toMatch(/^\d+$/);
    expect(warm.headers['x-twinledger-stale']).toBeUndefined();
    // A cache hit: the metric counts it.
    expect((await reader.app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/spec_service_read_cache_lookups_total\{result="hit"\} [1-9]/);

    const res = await writer.insertAML(twinId, '<InternalElement Name="Spare" ID="stale-probe-1"/>', 'conveyor-1');
    // From org 2's commit to org 1 serving it, polling every 20 ms.
    const visibleMs = await until(async () => (await call(`/twins/${twinId}/spec`)).body.includes('stale-probe-1'), MAX_AGE_MS);
    const seen = await call(`/twins/${twinId}/spec`);
    log(`write of org 2 in block ${res.blockNumber} visible in org 1's cached spec after ${visibleMs} ms (X-TwinLedger-Block ${seen.headers['x-twinledger-block']})`);
    expect(Number(seen.headers['x-twinledger-block'])).toBeGreaterThanOrEqual(Number(res.blockNumber));
    expect((await call(`/twins/${twinId}`)).statusCode).toBe(200);
  });

  it('answers a read fenced at another organization\'s transaction with that transaction in it', async () => {
    const res = await writer.insertAML(twinId, '<InternalElement Name="Spare" ID="fenced-1"/>', 'conveyor-1');
    const t0 = performance.now();
    const el = await call(`/twins/${twinId}/elements/fenced-1?atLeastTx=${res.transactionId}`);
    log(`element fenced at org 2's tx answered ${el.statusCode} in ${Math.round(performance.now() - t0)} ms (block ${el.headers['x-twinledger-block']})`);
    expect(el.statusCode).toBe(200);
    const spec = await call(`/twins/${twinId}/spec?minBlock=${res.blockNumber}`);
    expect(spec.statusCode).toBe(200);
    expect(spec.body).toContain('fenced-1');
    expect(Number(spec.headers['x-twinledger-block'])).toBeGreaterThanOrEqual(Number(res.blockNumber));
  });

  it('answers 504 FENCE_NOT_REACHED for a fence beyond reach, and 400 for a malformed one', async () => {
    const far = await call(`/twins/${twinId}/spec?minBlock=1000000`);
    expect(far.statusCode).toBe(504);
    expect(far.json()).toMatchObject({ code: 'FENCE_NOT_REACHED' });
    const unknownTx = await call(`/twins/${twinId}/spec?atLeastTx=${randomBytes(32).toString('hex')}`);
    expect(unknownTx.statusCode).toBe(504);
    expect(unknownTx.json()).toMatchObject({ code: 'FENCE_NOT_REACHED' });
    for (const q of ['minBlock=-3', 'minBlock=x', 'atLeastTx=nothex']) {
      const bad = await call(`/twins/${twinId}/spec?${q}`);
      expect({ q, status: bad.statusCode, code: bad.json().code }).toEqual({ q, status: 400, code: 'VALIDATION_FAILED' });
    }
  });

  it('refuses a revoked party from the cache once the revocation commits (delay measured)', async () => {
    const shared = `cache-revoke-${stamp}`;
    await writer.createTwin(shared, 'Shared plant', AML);
    await until(async () => (await call(`/twins/${shared}/spec`)).statusCode === 200, 30_000);
    // Warm: both the decision and the spec are cached now.
    expect((await call(`/twins/${shared}/spec?format=json`)).statusCode).toBe(200);
    await writer.revoke(shared, { mspId: '*', role: 'READER' });
    const refusedMs = await until(async () => (await call(`/twins/${shared}/spec`)).statusCode === 403, DECISION_TTL_MS);
    log(`org 1 refused from its cache ${refusedMs} ms after org 2's revocation committed`);
    expect((await call(`/twins/${shared}/spec`)).json()).toMatchObject({ code: 'ACCESS_DENIED' });
    expect((await call(`/twins/${shared}`)).statusCode).toBe(403);
  });

  it('keeps serving cached reads marked stale while its own peer is frozen; reads it cannot serve answer 503 PEER_UNAVAILABLE', async () => {
    expect((await call(`/twins/${twinId}/spec?format=json`)).statusCode).toBe(200);
    const peer = net.orgs[0]!.peerProcess;
    peer.pause();
    try {
      const downMs = await until(async () => (await reader.app.inject({ method: 'GET', url: '/readyz' })).statusCode === 503, 10_000);
      const cached = await call(`/twins/${twinId}/spec?format=json`);
      log(`own peer frozen (marked down after ${downMs} ms): cached spec ${cached.statusCode} stale=${cached.headers['x-twinledger-stale']}`);
      expect(cached.statusCode).toBe(200);
      expect(cached.headers['x-twinledger-stale']).toBe('true');
      const history = await call(`/twins/${twinId}/history?limit=5`);
      expect(history.statusCode).toBe(503);
      expect(history.json()).toMatchObject({ code: 'PEER_UNAVAILABLE' });
      expect(history.headers['retry-after']).toMatch(/^\d+$/);
    } finally {
      peer.resume();
    }
    await until(async () => (await reader.app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 30_000);
    const fresh = await call(`/twins/${twinId}/spec`);
    expect(fresh.statusCode).toBe(200);
    expect(fresh.headers['x-twinledger-stale']).toBeUndefined();
  });
});
