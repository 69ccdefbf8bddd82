import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createDhtClient } from '@twinledger/dht-client';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork } from '@twinledger/devnet';
import { createFabricClient, createPeerConnectionPool, loadIdentity, type FabricClient, type PeerConnectionPool } from '@twinledger/fabric-client';
import { createTwinLedger, type TwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, type DevIssuer } from '@twinledger/service-kit';
import { startSpecService, type SpecService } from '../src/main.js';

const fabric = await fabricAvailability();
const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');

interface Received {
  readonly id: string;
  readonly eventName: string;
  readonly twinId?: string;
  readonly transactionId: string;
}

/** A real SSE client over HTTP: parses `data:` records as they arrive. */
function subscribe(url: string, token: string): { events: Received[]; status: Promise<number>; close(): void } {
  const events: Received[] = [];
  let req: ClientRequest;
  const status = new Promise<number>((resolve, reject) => {
    req = request(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      resolve(res.statusCode ?? 0);
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk: string) => {
        buf += chunk;
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const rec = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const data = /^data: (.*)$/m.exec(rec)?.[1];
          if (data) events.push(JSON.parse(data) as Received);
        }
      });
      res.on('error', () => undefined);
    });
    req.on('error', (err) => (err.message === 'socket hang up' ? undefined : reject(err)));
    req.end();
  });
  return { events, status, close: () => req.destroy() };
}

async function waitFor(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

(fabric.ok ? describe : describe.skip)('spec-service /events: per-twin read filter on the real network', () => {
  let net: DevNetwork;
  let root: string;
  let pool: PeerConnectionPool;
  let ownerClient: FabricClient;
  let owner: TwinLedger;
  const issuers: DevIssuer[] = [];
  const services: SpecService[] = [];
  const base: string[] = [];
  const stamp = Date.now().toString(36);
  const hidden = `sse-hidden-${stamp}`;
  const open = `sse-open-${stamp}`;

  const token = (i: number) => issuers[i]!.issue({ sub: `u${i}`, org: net.orgs[i]!.mspId, fabricIdentity: 'User1', audience: 'twinledger' });

  beforeAll(async () => {
    net = await startNetwork({ orgs: ['org1', 'org2'], kafka: true, ...testNetworkInit() });
    root = mkdtempSync(join(tmpdir(), 'spec-events-int-'));
    pool = createPeerConnectionPool();
    ownerClient = createFabricClient({ pool, peer: net.orgs[0]!.peer, identity: await loadIdentity(net.orgs[0]!.users[0]!), channel: net.channel, chaincode: net.chaincode });
    owner = createTwinLedger(ownerClient);
    for (const [i, org] of net.orgs.entries()) {
      issuers[i] = await createDevIssuer(`https://idp.${org.name}.local`);
      const dir = join(root, org.name);
      mkdirSync(dir, { recursive: true });
      symlinkSync(dirname(org.users[0]!.mspDir), join(dir, 'User1'));
      // Only org 2 relays (the network has one Kafka broker); org 1's replica shows the 503.
      const s = await startSpecService(
        {
          mspId: org.mspId,
          identitiesDir: dir,
          peer: org.peer,
          channel: net.channel,
          chaincode: net.chaincode,
          auth: { issuer: issuers[i]!.issuer, audience: 'twinledger', jwks: issuers[i]!.jwks, expectedOrg: net.orgs[i]!.mspId },
          dht: createDhtClient({ baseUrl: 'http://127.0.0.1:9' }),
          kafkaBrokers: [net.kafka!.bootstrap],
          relay: i === 1,
          relayIdentity: 'User1',
          dataDir: join(root, `state-${org.name}`),
        },
        silentLogger(),
      );
      await s.app.listen({ host: '127.0.0.1', port: 0 });
      base.push(`http://127.0.0.1:${(s.app.server.address() as AddressInfo).port}`);
      services.push(s);
    }
    await waitFor(() => services[1]!.relay?.connected === true);
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

  it('never sends org 2 the events of a twin it may not read, and starts with the grant', async () => {
    // The twin is private to org 1: the default "read for everyone" grant is revoked at once.
    await owner.createTwin(hidden, 'Private plant', AML);
    await owner.revoke(hidden, { mspId: '*', role: 'READER' });
    await owner.createTwin(open, 'Shared plant', AML);

    const sub = subscribe(`${base[1]}/events`, await token(1));
    expect(await sub.status).toBe(200);
    const only = subscribe(`${base[1]}/events?twinId=${open}`, await token(1));
    expect(await only.status).toBe(200);
    try {
      const secret = await owner.insertAML(hidden, '<InternalElement Name="Secret" ID="secret-1"/>', 'prog-set-conveyor-speed', '');
      const visible = await owner.insertAML(open, '<InternalElement Name="Shared" ID="shared-1"/>', 'prog-set-conveyor-speed', '');
      await waitFor(() => sub.events.some((e) => e.transactionId === visible.transactionId));
      await waitFor(() => only.events.some((e) => e.transactionId === visible.transactionId));
      expect(sub.events.some((e) => e.transactionId === secret.transactionId)).toBe(false);

      // Org 1 grants org 2 AUDITOR on the private twin: the grant's event and later ones flow.
      const granted = await owner.grant(hidden, { mspId: 'Org2MSP', role: 'AUDITOR' });
      const after = await owner.insertAML(hidden, '<InternalElement Name="Later" ID="later-1"/>', 'prog-set-conveyor-speed', '');
      await waitFor(() => sub.events.some((e) => e.transactionId === after.transactionId));
      expect(sub.events.some((e) => e.transactionId === granted.transactionId && e.eventName === 'GrantAdded')).toBe(true);

      // Revoked again: the revocation ends the flow; nothing of the twin follows.
      const revoked = await owner.revoke(hidden, { mspId: 'Org2MSP', role: 'AUDITOR' });
      const gone = await owner.insertAML(hidden, '<InternalElement Name="Gone" ID="gone-1"/>', 'prog-set-conveyor-speed', '');
      const marker = await owner.insertAML(open, '<InternalElement Name="Marker" ID="marker-1"/>', 'prog-set-conveyor-speed', '');
      await waitFor(() => sub.events.some((e) => e.transactionId === marker.transactionId));
      const seen = sub.events.map((e) => e.transactionId);
      expect(seen).not.toContain(secret.transactionId);
      expect(seen).not.toContain(revoked.transactionId);
      expect(seen).not.toContain(gone.transactionId);
      // Events before the private twin existed were relayed too; none of them is about it outside the grant window.
      const hiddenSeen = sub.events.filter((e) => e.twinId === hidden).map((e) => e.transactionId);
      expect(hiddenSeen).toEqual([granted.transactionId, after.transactionId]);
      // The twinId filter shows the one twin only.
      await waitFor(() => only.events.some((e) => e.transactionId === marker.transactionId));
      expect(new Set(only.events.map((e) => e.twinId))).toEqual(new Set([open]));
    } finally {
      sub.close();
      only.close();
    }
  });

  it('answers 403 to ?twinId of a twin the caller may not read, and 503 on a replica that does not relay', async () => {
    const denied = await services[1]!.app.inject({ method: 'GET', url: `/events?twinId=${hidden}`, headers: { authorization: `Bearer ${await token(1)}` } });
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: 'ACCESS_DENIED' });
    const standby = await services[0]!.app.inject({ method: 'GET', url: '/events', headers: { authorization: `Bearer ${await token(0)}` } });
    expect(standby.statusCode).toBe(503);
    expect(standby.json()).toMatchObject({ code: 'EVENTS_NOT_RELAYED' });
  });
});
