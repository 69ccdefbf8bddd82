import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFabricClient, createPeerConnectionPool, loadIdentity, type FabricClient, type PeerConnectionPool } from '@twinledger/fabric-client';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork } from '@twinledger/devnet';
import { createTwinLedger, type DocumentRecord, type TwinLedger } from '../src/index.js';

/*
 * Issue #20 item 4 on the real peer: lists, history and as-of page and are never cut
 * silently. The peers run with ledger.state.totalQueryLimit = 200, so every read of more
 * than 200 records that does not page would come back short without an error (the peer's
 * query response builder simply stops there).
 */

const fabric = await fabricAvailability();

const FIXTURE = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../../chaincode/fixtures/bottling-plant.aml'), 'utf8');
const QUERY_LIMIT = 200;
const sha = (twin: number, n: number): string => `${twin.toString(16).padStart(8, '0')}${n.toString(16).padStart(56, '0')}`;

/** Runs `f` over `items`, `width` at a time: transactions on different documents do not conflict. */
async function inBatches<T>(items: readonly T[], width: number, f: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(f));
}

(fabric.ok ? describe : describe.skip)('paging against the real peer (totalQueryLimit 200)', () => {
  let net: DevNetwork;
  let pool: PeerConnectionPool;
  let client: FabricClient;
  let org1: TwinLedger;
  const big = `paging-big-${Date.now()}`; // 250 documents: 251 changes, more than one peer query answers
  const mid = `paging-mid-${Date.now()}`; // 150 documents: 151 changes, within it
  const nums = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  const addDocs = (twin: string, t: number, n: number) =>
    inBatches(nums(n), 50, (i) => org1.addDocument(twin, { hash: sha(t, i), dhtRef: `dht:${t}:${i}`, title: `Doc ${i}`, confidentiality: 'public' }));

  beforeAll(async () => {
    net = await startNetwork({ orgs: ['org1', 'org2'], kafka: false, totalQueryLimit: QUERY_LIMIT, ...testNetworkInit() });
    pool = createPeerConnectionPool();
    const o1 = net.orgs[0]!;
    client = createFabricClient({ pool, peer: o1.peer, identity: await loadIdentity(o1.users[0]!), channel: net.channel, chaincode: net.chaincode });
    org1 = createTwinLedger(client);
    await org1.createTwin(big, 'Big', FIXTURE);
    await org1.createTwin(mid, 'Mid', FIXTURE);
    await Promise.all([addDocs(big, 1, 250), addDocs(mid, 2, 150)]);
  }, 600_000);

  afterAll(async () => {
    client?.close();
    pool?.close();
    await net?.stop();
  });

  it('250 documents in pages of 100: three pages, every document once, though the peer answers 200 per query', async () => {
    const seen: DocumentRecord[] = [];
    const pages: number[] = [];
    let bookmark = '';
    do {
      const page = await org1.listDocumentsPage(big, { limit: 100, bookmark });
      pages.push(page.items.length);
      seen.push(...page.items);
      bookmark = page.bookmark;
    } while (bookmark !== '');
    expect(pages).toEqual([100, 100, 50]);
    expect(seen.map((d) => d.hash)).toEqual(nums(250).map((i) => sha(1, i)));
    // The all-pages reader agrees.
    expect((await org1.listDocuments(big)).length).toBe(250);
  });

  it('151 changes in pages of 50: every seq once, in ledger order, and as-of at the last one holds all 150 documents', async () => {
    const seqs: number[] = [];
    let bookmark = '';
    do {
      const page = await org1.historyPage(mid, { limit: 50, bookmark });
      seqs.push(...page.changes.map((c) => c.seq));
      bookmark = page.bookmark;
    } while (bookmark !== '');
    expect(seqs).toEqual(nums(151));
    // The change log of this twin holds far more than 200 writes (createTwin alone writes its
    // elements, child index and grants; each document three): a replay cut at 200 would lose them.
    const past = await org1.getTwinAsOf(mid, { seq: 151 });
    expect(past.documents.map((d) => d.hash).sort()).toEqual(nums(150).map((i) => sha(2, i)));
    expect(past.specification).toBe((await org1.getSpecification(mid)).aml);
  });

  it('a change log longer than the peer answers is refused with TOO_LARGE, never a shorter history', async () => {
    await expect(org1.historyPage(big, { limit: 10 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
    await expect(org1.getTwinAsOf(big, { seq: 1 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });

  it("refuses a bookmark from another twin's list", async () => {
    const first = await org1.listDocumentsPage(big, { limit: 1 });
    await expect(org1.listDocumentsPage(mid, { limit: 1, bookmark: first.bookmark })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
