import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createDhtClient } from '@twinledger/dht-client';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork, type OrgHandle } from '@twinledger/devnet';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, type DevIssuer } from '@twinledger/service-kit';
import { startSpecService, type SpecService } from '../src/main.js';

/*
 * Issue #27 item 2: with the organization's own peer frozen (SIGSTOP: the process holds its
 * sockets open and answers nothing, the nastiest way for a peer to fail), requests that need it
 * answer 503 with Retry-After at once and /readyz says not ready; with another organization's
 * peer frozen, writes still commit after a bounded delay; after SIGCONT nothing is lost or
 * half-written. The repo has no timed assertions: times are logged, bounds are generous.
 */

const fabric = await fabricAvailability();
const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');
const ORGS = ['org1', 'org2', 'org3'] as const;
type OrgIndex = 0 | 1 | 2;

function identitiesDir(root: string, org: OrgHandle): string {
  const dir = join(root, org.name);
  mkdirSync(dir, { recursive: true });
  symlinkSync(dirname(org.users[0]!.mspDir), join(dir, 'User1'));
  return dir;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`[peer-fault] ${line}\n`);

/** Polls until `ok` holds (or `ms` pass); answers the milliseconds it took. */
async function until(ok: () => Promise<boolean>, ms: number): Promise<number> {
  const t0 = performance.now();
  while (!(await ok())) {
    if (performance.now() - t0 > ms) throw new Error(`condition not met within ${ms} ms`);
    await sleep(100);
  }
  return Math.round(performance.now() - t0);
}

(fabric.ok ? describe : describe.skip)('spec-service with a frozen peer (three organizations)', () => {
  let net: DevNetwork;
  let root: string;
  const issuers: DevIssuer[] = [];
  const services: SpecService[] = [];
  const twinId = `fault-${Date.now().toString(36)}`;
  /** Element ids whose insert answered 201 (committed) and those answered 503 (never ordered). */
  const committed: string[] = [];
  const refused: string[] = [];

  const token = (i: OrgIndex) => issuers[i]!.issue({ sub: `user-${i}`, org: net.orgs[i]!.mspId, fabricIdentity: 'User1', audience: 'twinledger' });
  const call = async (i: OrgIndex, method: 'GET' | 'POST', url: string, payload?: unknown) =>
    services[i]!.app.inject({ method, url, ...(payload !== undefined ? { payload: payload as string } : {}), headers: { authorization: `Bearer ${await token(i)}` } });
  const timed = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
    const t0 = performance.now();
    const out = await f();
    return [out, Math.round(performance.now() - t0)];
  };
  const insert = (i: OrgIndex, id: string) => call(i, 'POST', `/twins/${twinId}/elements`, { aml: `<InternalElement Name="Spare" ID="${id}"/>`, parentId: 'conveyor-1' });
  /** SIGSTOP `org`'s peer for the duration of `body`, SIGCONT whatever happens. */
  const frozen = async (org: OrgHandle, body: () => Promise<void>): Promise<void> => {
    org.peerProcess.pause();
    try {
      await body();
    } finally {
      org.peerProcess.resume();
    }
  };

  beforeAll(async () => {
    net = await startNetwork({ orgs: ORGS, kafka: false, ...testNetworkInit() });
    root = mkdtempSync(join(tmpdir(), 'spec-peer-fault-'));
    for (const [i, org] of net.orgs.entries()) {
      identitiesDir(root, org);
      issuers[i] = await createDevIssuer(`https://idp.${org.name}.local`);
      const s = await startSpecService(
        {
          mspId: org.mspId,
          identitiesDir: join(root, org.name),
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
    const created = await call(0, 'POST', '/twins', { deviceId: twinId, deviceName: 'Plant', aml: AML, grants: { Org2MSP: 'AUDITOR', Org3MSP: 'AUDITOR' } });
    expect(created.statusCode).toBe(201);
  });

  afterAll(async () => {
    // Never leave a peer frozen, whatever failed above.
    for (const org of net?.orgs ?? []) org.peerProcess.resume();
    for (const s of services) {
      await s.app.close();
      await s.close();
    }
    await net?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After at once and /readyz not ready while its own peer is frozen; recovers after SIGCONT', async () => {
    expect((await call(0, 'GET', `/twins/${twinId}/spec?format=json`)).statusCode).toBe(200);
    expect((await services[0]!.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);

    await frozen(net.orgs[0]!, async () => {
      const [read, readMs] = await timed(() => call(0, 'GET', `/twins/${twinId}/spec?format=json`));
      log(`own peer frozen: spec read answered ${read.statusCode} ${read.json<{ code: string }>().code} retry-after=${read.headers['retry-after']} in ${readMs} ms`);
      expect(read.statusCode).toBe(503);
      expect(read.headers['retry-after']).toMatch(/^\d+$/);
      expect(read.json()).toMatchObject({ code: expect.any(String), message: expect.any(String), requestId: expect.any(String) });
      expect(readMs).toBeLessThan(5_000);

      const [ready, readyMs] = await timed(() => services[0]!.app.inject({ method: 'GET', url: '/readyz' }));
      log(`own peer frozen: /readyz answered ${ready.statusCode} ${ready.body} in ${readyMs} ms`);
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: 'not ready', checks: { peer: false } });

      const [write, writeMs] = await timed(() => insert(0, 'own-frozen-1'));
      log(`own peer frozen: write answered ${write.statusCode} ${write.json<{ code: string }>().code} retry-after=${write.headers['retry-after']} in ${writeMs} ms`);
      expect(write.statusCode).toBe(503);
      expect(write.headers['retry-after']).toMatch(/^\d+$/);
      refused.push('own-frozen-1');
    });

    const recoveredMs = await until(async () => (await call(0, 'GET', `/twins/${twinId}/spec?format=json`)).statusCode === 200, 30_000);
    const readyAgainMs = await until(async () => (await services[0]!.app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 30_000);
    log(`after SIGCONT: reads answer 200 after ${recoveredMs} ms, /readyz 200 after a further ${readyAgainMs} ms`);
  });

  it('commits writes while another organization\'s peer is frozen, and every organization then sees exactly the committed writes', async () => {
    // The Gateway picks one of the layouts that satisfy MAJORITY (two of three organizations),
    // so only some writes ask the frozen peer: six in a row make it near certain that one does.
    await frozen(net.orgs[2]!, async () => {
      for (let n = 1; n <= 6; n++) {
        const id = `other-frozen-${n}`;
        const [res, ms] = await timed(() => insert(0, id));
        log(`org3 peer frozen: write ${n} answered ${res.statusCode}${res.statusCode >= 400 ? ` ${res.json<{ code: string }>().code}` : ''} in ${ms} ms`);
        expect(res.statusCode).toBe(201);
        committed.push(id);
      }
    });

    // After SIGCONT org3's peer catches up on the blocks it missed; then all three agree.
    const last = committed[committed.length - 1]!;
    const caughtUpMs = await until(async () => (await call(2, 'GET', `/twins/${twinId}/elements/${last}`)).statusCode === 200, 60_000);
    log(`after SIGCONT: org3 sees the last write after ${caughtUpMs} ms`);
    const histories: string[][] = [];
    for (const i of [0, 1, 2] as const) {
      for (const id of committed) expect({ org: i, id, status: (await call(i, 'GET', `/twins/${twinId}/elements/${id}`)).statusCode }).toEqual({ org: i, id, status: 200 });
      for (const id of refused) expect({ org: i, id, status: (await call(i, 'GET', `/twins/${twinId}/elements/${id}`)).statusCode }).toEqual({ org: i, id, status: 404 });
      const history = await call(i, 'GET', `/twins/${twinId}/history?limit=1000`);
      expect(history.statusCode).toBe(200);
      histories.push(history.json<{ changes: { txId: string }[] }>().changes.map((c) => c.txId));
    }
    // One create and the committed inserts, the same at every organization.
    expect(histories[0]).toHaveLength(1 + committed.length);
    expect(histories[1]).toEqual(histories[0]);
    expect(histories[2]).toEqual(histories[0]);
  });
});
