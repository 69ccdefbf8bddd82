import { describe, expect, it } from '@jest/globals';
import type { AuditBlockBundle, BundleFeedUpdate } from '../src/bundle.js';
import { assembleAuditBundle } from '../src/assemble.js';

const update = (index: number): BundleFeedUpdate => ({ update: { index }, proof: [] });
const bundle = {
  twinId: 't',
  feeds: [
    { feedId: 'a'.repeat(64), componentId: 'c1', anchors: [{ txId: 'tx1', blockNumber: 5 }], updates: [], conflicts: [] },
    { feedId: 'b'.repeat(64), componentId: 'c2', anchors: [], updates: [], conflicts: [] },
  ],
} as unknown as AuditBlockBundle;

describe('assembleAuditBundle', () => {
  it('merges each anchored feed\'s evidence, keeping the updates the bundle\'s anchors cover and every conflict', async () => {
    const asked: string[] = [];
    const conflict = { index: 9, updates: [{ index: 9 }, { index: 9, ref: 'x' }] };
    const out = await assembleAuditBundle(
      {
        spec: async (path) => {
          asked.push(`spec ${path}`);
          return bundle;
        },
        feeds: async (path) => {
          asked.push(`feeds ${path}`);
          // tx2 was anchored after spec-service answered: its updates cannot be proven by this bundle.
          return { anchors: [{ txId: 'tx1', fromIndex: 0, toIndex: 2 }, { txId: 'tx2', fromIndex: 3, toIndex: 4 }], updates: [0, 1, 2, 3, 4, 5].map(update), conflicts: [conflict] };
        },
      },
      { twinId: 't/1', feedFrom: 0, feedTo: 9, bundleQuery: { documents: 'd' } },
    );
    expect(asked).toEqual([`spec /twins/t%2F1/audit-bundle?documents=d&feeds=true&feedFrom=0&feedTo=9`, `feeds /feeds/${'a'.repeat(64)}/evidence?fromIndex=0&toIndex=9`]);
    expect(out.feeds![0]!.updates.map((u) => u.update['index'])).toEqual([0, 1, 2]);
    expect(out.feeds![0]!.conflicts).toEqual([conflict]);
    // A feed without an anchor in the range is asked nothing.
    expect(out.feeds![1]!.updates).toEqual([]);
  });
});
