import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { type DhtNode } from '@twinledger/dht';
import { holdsBlob, spawnTestNetwork, type TestNetwork } from '@twinledger/dht/testing';

// Three orgs, r = 3: every node holds every object. Org1 writes 1 MiB chunks;
// Org2 and Org3 are configured for 16 KiB chunks, as a consortium mid-upgrade may be.
jest.setTimeout(60_000);

let net: TestNetwork;
const n = (i: number): DhtNode => net.nodes[i] as DhtNode;

beforeAll(async () => {
  net = await spawnTestNetwork({
    orgs: ['Org1', 'Org2', 'Org3'],
    nodeInit: { replicationFactor: 3, faultTolerance: 1, requestTimeoutMs: 10_000 },
    nodeInitAt: (i) => ({ chunkSize: i === 0 ? 1024 * 1024 : 16 * 1024 }),
  });
  await net.connectAll();
});

afterAll(async () => {
  await net?.teardown();
});

describe('chunk size is a writer setting', () => {
  it("stores a writer's 1 MiB chunks on nodes configured for smaller ones, and each reads the others' objects", async () => {
    const big = randomBytes(3 * 1024 * 1024 + 5);
    const put = await n(0).putObject(big, { acl: ['Org1', 'Org2', 'Org3'] });
    expect(put.replicas).toHaveLength(3);
    const manifest = await n(1).getManifest(put.ref);
    expect(manifest.chunkSize).toBe(1024 * 1024);
    expect(manifest.chunks).toHaveLength(4);
    for (const node of net.nodes) for (const c of manifest.chunks) expect(await holdsBlob(node, 'chunk', c.hash)).toBe(true);
    const read = await n(2).getObject(put.ref);
    expect(createHash('sha256').update(read).digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));

    const small = randomBytes(100_000);
    const back = await n(1).putObject(small, { acl: ['Org1', 'Org2'] });
    expect((await n(0).getManifest(back.ref)).chunks).toHaveLength(7);
    expect(Buffer.compare(Buffer.from(await n(0).getObject(back.ref)), small)).toBe(0);
  });
});
