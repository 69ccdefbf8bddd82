import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { join } from 'node:path';
import { createDhtNode, generateEncryptionKeyPair, peerIdOfDataDir, type DhtNode } from '@twinledger/dht';
import { spawnTestNetwork, type TestNetwork } from '@twinledger/dht/testing';

// Organizations' services start in any order: a node may start before the node it bootstraps
// from is listening (consortium scenario: the owner's feed-ingest node came up before every
// dht-gateway, was dialled by nobody, and refused all writes for want of replicas). Three real
// nodes plus that early one, over TCP on 127.0.0.1.
jest.setTimeout(60_000);

let net: TestNetwork;
let early: DhtNode | undefined;
const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

beforeAll(async () => {
  net = await spawnTestNetwork({ orgs: ['Org1', 'Org2', 'Org3'], nodeInit: { requestTimeoutMs: 3000 } });
  await net.connectAll();
});

afterAll(async () => {
  await early?.stop();
  await net?.teardown();
});

describe('bootstrap addresses not listening yet', () => {
  it('are dialled again until reached, and the node then writes at full replication', async () => {
    const target = net.nodes[0] as DhtNode;
    const addr = target.multiaddrs()[0] as string;
    await net.stopNode(0);

    const keys = generateEncryptionKeyPair();
    const dataDir = join(net.rootDir, 'early');
    net.registry.upsert({ mspId: 'Org4', peerIds: [await peerIdOfDataDir(dataDir)], encryptionPublicKey: keys.publicKey });
    early = createDhtNode(
      { dataDir, mspId: 'Org4', encryptionKey: keys.privateKey, swarmKey: net.swarmKey, bootstrap: [addr], bootstrapRetryMs: 250, requestTimeoutMs: 3000, repairIntervalMs: 0, gcIntervalMs: 0 },
      { registry: net.registry },
    );
    await early.start();
    expect(early.status().peers).toHaveLength(0);

    // The bootstrap node comes up on the same address; nobody dials the early node.
    const back = await net.restartNode(0);
    let peers: string[] = [];
    for (let i = 0; i < 40 && !peers.includes(back.peerId); i++) {
      await sleep(250);
      peers = early.status().peers.map((p) => p.peerId);
    }
    expect(peers).toContain(back.peerId);

    // Connected to one node, it finds the rest through it (kad-dht; the bootstrap node's own
    // routing table fills as its identify exchanges finish, and the client asks at most every
    // 5 s) and then stores with r = 3 replicas, as a writer retrying would.
    const body = new TextEncoder().encode('written by a node that started first');
    let put: Awaited<ReturnType<DhtNode['putObject']>> | undefined;
    for (let i = 0; i < 20 && put === undefined; i++) {
      put = await early.putObject(body, { acl: ['Org4', 'Org2'] }).catch((err: { code?: string }) => {
        if (err.code !== 'DHT_QUORUM_NOT_REACHED') throw err;
        return sleep(1000).then(() => undefined);
      });
    }
    expect(put?.replicas).toHaveLength(3);
    expect(new TextDecoder().decode(await (net.nodes[1] as DhtNode).getObject(put!.ref))).toBe('written by a node that started first');
  });
});
