import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createAuditBundleExporter, verifyBlockBundle, type AuditBlockBundle, type BlockReader } from '../src/index.js';
import { decodeBlock } from '../src/fabric.js';

const FIXTURE = JSON.parse(readFileSync(new URL('./fixtures/bundle.json', import.meta.url), 'utf8')) as AuditBlockBundle;

/** A peer that knows the fixture's blocks (a fake of our own BlockReader, not of Fabric). */
function fixturePeer(): BlockReader & { calls: string[] } {
  const byNumber = new Map<number, Uint8Array>();
  for (const raw of [...FIXTURE.blocks, FIXTURE.configBlock]) {
    const bytes = new Uint8Array(Buffer.from(raw, 'base64'));
    byNumber.set(decodeBlock(bytes).number, bytes);
  }
  const calls: string[] = [];
  return {
    calls,
    async blockByTxId(txId) {
      calls.push(`tx ${txId.slice(0, 6)}`);
      const c = FIXTURE.changes.find((x) => x.txId === txId);
      if (!c) throw new Error('NOT_FOUND');
      return byNumber.get(c.blockNumber)!;
    },
    async blockByNumber(n) {
      calls.push(`block ${n}`);
      const b = byNumber.get(n);
      if (!b) throw new Error(`no block ${n}`);
      return b;
    },
    async height() {
      // The fixture's tip is its last change's block; its metadata names config block 0.
      return Math.max(...FIXTURE.changes.map((c) => c.blockNumber)) + 1;
    },
  };
}

const changes = FIXTURE.changes.map((c) => ({ seq: c.seq, txId: c.txId }));

describe('createAuditBundleExporter', () => {
  it('builds a bundle that verifies, with the replayed specification and the bound', async () => {
    const exporter = createAuditBundleExporter({ blocks: fixturePeer(), channel: FIXTURE.channel, chaincode: FIXTURE.chaincode, mspId: 'Org1MSP' });
    const b = await exporter.export({ twinId: FIXTURE.twinId, changes, documents: FIXTURE.documents });
    expect(b.specification).toEqual(FIXTURE.specification);
    expect(b.changes).toEqual(FIXTURE.changes);
    expect(verifyBlockBundle(b).ok).toBe(true);
    const bounded = await exporter.export({ twinId: FIXTURE.twinId, changes, asOfSeq: 2 });
    expect(bounded.changes.map((c) => c.seq)).toEqual([1, 2]);
    expect(bounded.asOfSeq).toBe(2);
    expect(verifyBlockBundle(bounded).failures).toEqual([]);
  });

  it('refuses a change list that does not start with the creation, and a contiguous export above its block limit', async () => {
    const exporter = createAuditBundleExporter({ blocks: fixturePeer(), channel: 'twins', chaincode: FIXTURE.chaincode, mspId: 'Org1MSP', maxBlocks: 2 });
    await expect(exporter.export({ twinId: FIXTURE.twinId, changes: changes.slice(1) })).rejects.toMatchObject({ name: 'AuditChangesMissingError', code: 'AUDIT_CHANGES_MISSING', httpStatus: 404 });
    await expect(exporter.export({ twinId: FIXTURE.twinId, changes, contiguous: true })).rejects.toMatchObject({ name: 'AuditBundleTooLargeError', code: 'TOO_LARGE', httpStatus: 413 });
  });

  it('answers a block the peer does not hand out as 503 AUDIT_BLOCK_UNAVAILABLE', async () => {
    const peer = fixturePeer();
    const exporter = createAuditBundleExporter({ blocks: { ...peer, blockByTxId: async () => Promise.reject(new Error('UNAVAILABLE')) }, channel: 'twins', chaincode: FIXTURE.chaincode, mspId: 'Org1MSP' });
    await expect(exporter.export({ twinId: FIXTURE.twinId, changes })).rejects.toMatchObject({ name: 'BlockUnavailableError', code: 'AUDIT_BLOCK_UNAVAILABLE', httpStatus: 503 });
  });
});
