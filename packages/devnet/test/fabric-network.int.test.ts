import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { EndorsementFailedError, createFabricClient, createPeerConnectionPool, loadIdentity, type FabricClient, type PeerConnectionPool } from '@twinledger/fabric-client';
import { fabricAvailability, startNetwork, testNetworkInit, watchForEvent, type DevNetwork } from '../src/index.js';

const fabric = await fabricAvailability();

(fabric.ok ? describe : describe.skip)('a real two-organization Fabric network', () => {
  let net: DevNetwork;
  let pool: PeerConnectionPool;
  let org1: FabricClient;
  let org2: FabricClient;

  beforeAll(async () => {
    net = await startNetwork({ orgs: ['org1', 'org2'], kafka: false, ...testNetworkInit() });
    pool = createPeerConnectionPool();
    const [o1, o2] = net.orgs;
    org1 = createFabricClient({ pool, peer: o1!.peer, identity: await loadIdentity(o1!.users[0]!), channel: net.channel, chaincode: net.chaincode });
    org2 = createFabricClient({ pool, peer: o2!.peer, identity: await loadIdentity(o2!.users[0]!), channel: net.channel, chaincode: net.chaincode });
  });

  afterAll(async () => {
    org1?.close();
    org2?.close();
    pool?.close();
    await net?.stop();
  });

  it('runs every engine as a real native process', () => {
    for (const o of net.orgs) {
      expect(o.peerProcess.isRunning()).toBe(true);
      expect(o.ordererProcess.isRunning()).toBe(true);
      const cmdline = execFileSync('ps', ['-o', 'args=', '-p', String(o.peerProcess.pid)]).toString();
      expect(cmdline).toMatch(/peer node start/);
    }
  });

  it('commits through one org\'s Gateway and reads back through the other org\'s peer, with the event', async () => {
    const watcher = await watchForEvent(org2);
    try {
      const key = `k-${Date.now()}`;
      const res = await org1.submit('diag:put', [key, 'v1']);
      expect(res.transactionId).toMatch(/^[0-9a-f]{64}$/);
      expect(res.blockNumber).toBeGreaterThan(0n);
      expect(Buffer.from(await org2.evaluate('diag:get', [key])).toString()).toContain('v1');
      await expect(watcher.until(res.transactionId)).resolves.toBe('DiagPut');
    } finally {
      watcher.close();
    }
  });

  it('refuses a transaction signed by an identity the channel does not know', async () => {
    const outsider = createFabricClient({
      pool,
      peer: net.orgs[0]!.peer,
      identity: await loadIdentity(net.outsider!),
      channel: net.channel,
      chaincode: net.chaincode,
    });
    try {
      const err = await outsider.submit('diag:put', ['intruder', 'x']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EndorsementFailedError);
      expect(err).toMatchObject({ code: 'ENDORSEMENT_FAILED' });
      // Nothing was written.
      await expect(org1.evaluate('diag:get', ['intruder'])).rejects.toMatchObject({ refusedByChaincode: true, peerMessages: [expect.stringMatching(/NOT_FOUND: /)] });
    } finally {
      outsider.close();
    }
  });

  it("keeps a coded chaincode refusal in the peers' answers (the ledger package types it by its code)", async () => {
    const err = await org1.submit('spec:getSpecification', ['no-such-twin']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EndorsementFailedError);
    expect(err).toMatchObject({ refusedByChaincode: true, peerMessages: [expect.stringMatching(/NOT_FOUND: /)] });
  });
});

describe('devnet teardown', () => {
  (fabric.ok ? it : it.skip)('leaves no process behind after stop', async () => {
    const n = await startNetwork({ orgs: ['solo'], kafka: false, ...testNetworkInit() });
    const pids = [...n.orgs.flatMap((o) => [o.peerProcess.pid, o.ordererProcess.pid]), n.chaincodeServer?.pid];
    await n.stop();
    for (const pid of pids) expect(() => process.kill(pid!, 0)).toThrow();
  });
});
