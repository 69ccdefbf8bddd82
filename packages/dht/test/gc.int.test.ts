import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { createMetricsRegistry, type Registry } from '@twinledger/observability';
import { type DhtNode } from '@twinledger/dht';
import { holdsBlob, slowStoreWrites, spawnTestNetwork, type TestNetwork } from '@twinledger/dht/testing';

// Four real nodes of four orgs over TCP on 127.0.0.1, r = 3, small chunks, a 1.5 s grace period.
const ORGS = ['Org1', 'Org2', 'Org3', 'Org4'];
const CHUNK = 16 * 1024;
const GRACE_MS = 1500;
jest.setTimeout(60_000);

let net: TestNetwork;
const registries: Registry[] = [];
const n = (i: number): DhtNode => net.nodes[i] as DhtNode;
const chunksHeld = (): number => net.nodes.reduce((a, node) => a + node.status().store.chunks, 0);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function copiesOf(hash: string): Promise<number> {
  let c = 0;
  for (const node of net.nodes) if (await holdsBlob(node, 'chunk', hash)) c++;
  return c;
}

async function collectAll(): Promise<number> {
  let removed = 0;
  for (const node of net.nodes) removed += (await node.collectGarbage()).chunksRemoved;
  return removed;
}

beforeAll(async () => {
  net = await spawnTestNetwork({
    orgs: ORGS,
    nodeInit: { chunkSize: CHUNK, requestTimeoutMs: 5000, orphanGraceMs: GRACE_MS },
    metricsRegistry: (i) => (registries[i] = createMetricsRegistry({ prefix: 'twinledger_dht_', defaultMetrics: false })),
  });
  await net.connectAll();
});

afterAll(async () => {
  await net?.teardown();
});

describe('orphan chunk garbage collection', () => {
  it("removes an aborted upload's chunks after the grace period and never a completed object's", async () => {
    const complete = new Uint8Array(randomBytes(CHUNK * 4 + 100));
    const put = await n(0).putObject(complete, { acl: ['Org1', 'Org2'] });
    const manifest = await n(1).getManifest(put.ref);
    expect(manifest.chunks).toHaveLength(5);
    for (const c of manifest.chunks) expect(await copiesOf(c.hash)).toBe(3);
    const before = chunksHeld();
    expect(before).toBe(15);
    const perNodeBefore = net.nodes.map((node) => node.status().store.chunks);

    // An upload whose source fails after 6 chunks: the chunks already sent stay, no manifest is written.
    async function* failing(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 6; i++) yield new Uint8Array(randomBytes(CHUNK));
      throw new Error('client went away');
    }
    await expect(n(0).putObject(failing(), { acl: ['Org1'] })).rejects.toThrow('client went away');
    // The writer answers once the chunk writes it sent have settled: they are all held already.
    expect(chunksHeld()).toBe(before + 18);

    // Within the grace period nothing goes; repair does not spread orphans (no manifest lists them).
    expect(await collectAll()).toBe(0);
    for (const node of net.nodes) await node.repair();
    expect(chunksHeld()).toBe(before + 18);

    await sleep(GRACE_MS + 200);
    // One replica collects first; a repair pass of the others must not hand the orphans back
    // to it with a fresh stored time (they would then never die).
    const first = net.nodes.findIndex((node, i) => node.status().store.chunks === (perNodeBefore[i] as number) + 6);
    expect(first).toBeGreaterThanOrEqual(0);
    expect((await n(first).collectGarbage()).chunksRemoved).toBe(6);
    for (const node of net.nodes) await node.repair();
    expect(n(first).status().store.chunks).toBe(perNodeBefore[first]);
    expect(await collectAll()).toBe(12);
    expect(chunksHeld()).toBe(before);
    for (const c of manifest.chunks) expect(await copiesOf(c.hash)).toBe(3);
    expect(Buffer.from(await n(1).getObject(put.ref)).equals(Buffer.from(complete))).toBe(true);
    // A second pass finds nothing more; the metric counts what each node removed.
    expect(await collectAll()).toBe(0);
    let metricTotal = 0;
    for (const reg of registries) {
      const text = await reg.getSingleMetricAsString('twinledger_dht_gc_removed_chunks_total');
      metricTotal += Number(text.split('\n').find((l) => l.startsWith('twinledger_dht_gc_removed_chunks_total'))?.split(' ').pop());
    }
    expect(metricTotal).toBe(18);
    expect(n(0).status().lastGc?.chunksRemoved).toBeGreaterThanOrEqual(0);
  });

  it("keeps every version's chunks after a revoke re-keys the object, however old", async () => {
    const data = new Uint8Array(randomBytes(CHUNK * 2 + 7));
    const put = await n(0).putObject(data, { acl: ['Org1', 'Org2', 'Org3'] });
    const v1 = await n(0).getManifest(put.ref);
    const upd = await n(0).updateAcl(put.ref, ['Org1', 'Org2']);
    expect(upd.rekeyed).toBe(true);
    const v2 = await n(0).getManifest(upd.ref);
    await sleep(GRACE_MS + 200);
    expect(await collectAll()).toBe(0);
    for (const c of [...v1.chunks, ...v2.chunks]) expect(await copiesOf(c.hash)).toBe(3);
    expect(Buffer.from(await n(1).getObject(upd.ref)).equals(Buffer.from(data))).toBe(true);
  });

  it('a failed upload answers only once its chunk writes have settled: nothing lands after the error', async () => {
    // Slow replicas keep every chunk write in flight when the source fails (a gateway's 413,
    // a client that went away): before the fix the error came back first and chunks landed after it.
    const undo = net.nodes.map((node) => slowStoreWrites(node, 300));
    try {
      const before = chunksHeld();
      async function* failing(): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < 4; i++) yield new Uint8Array(randomBytes(CHUNK));
        throw new Error('client went away');
      }
      await expect(n(0).putObject(failing(), { acl: ['Org1'] })).rejects.toThrow('client went away');
      const atAnswer = chunksHeld();
      expect(atAnswer).toBe(before + 12);
      await sleep(1000);
      expect(chunksHeld()).toBe(atAnswer);
    } finally {
      for (const u of undo) u();
    }
  });
});
