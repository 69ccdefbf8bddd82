import { describe, expect, it } from '@jest/globals';
import type { Specification, SpecificationRevision, TwinLedger } from '@twinledger/ledger';
import { createSpecCache } from '../src/domain/spec-cache.js';

const doc = (label: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<CAEXFile SchemaVersion="3.0">\n  <InstanceHierarchy ID="ih" Name="${label}"/>\n</CAEXFile>\n`;

/** The two reads the cache uses, over a mutable "ledger" of twin -> {revision, aml}. */
function fakeLedger(state: Map<string, { revision: string; aml: string }>) {
  const calls: string[] = [];
  let failing = false;
  const get = (twinId: string) => {
    if (failing) throw Object.assign(new Error('ACCESS_DENIED'), { code: 'ACCESS_DENIED' });
    const s = state.get(twinId);
    if (!s) throw Object.assign(new Error('NOT_FOUND'), { code: 'NOT_FOUND' });
    return s;
  };
  const ledger = {
    async getSpecification(twinId: string): Promise<Specification> {
      calls.push(`spec ${twinId}`);
      const s = get(twinId);
      return { twinId, schemaVersion: '3.0', revision: s.revision, aml: s.aml };
    },
    async getSpecificationRevision(twinId: string): Promise<SpecificationRevision> {
      calls.push(`rev ${twinId}`);
      return { twinId, schemaVersion: '3.0', revision: get(twinId).revision };
    },
  } as unknown as TwinLedger;
  return { ledger, calls, fail: (f: boolean) => void (failing = f) };
}

describe('specification cache', () => {
  it('serves a hit after the revision check, re-reads a moved revision, and propagates refusals', async () => {
    const state = new Map([['t', { revision: 'r1', aml: doc('one') }]]);
    const { ledger, calls, fail } = fakeLedger(state);
    const cache = createSpecCache({ maxChars: 1_000_000 });
    expect((await cache.read(ledger, 't')).lookup).toBe('miss');
    const hit = await cache.read(ledger, 't');
    expect(hit.lookup).toBe('hit');
    expect(JSON.parse(hit.entry.json())).toMatchObject({ twinId: 't', revision: 'r1', tree: { tag: 'CAEXFile' } });
    expect(calls).toEqual(['spec t', 'rev t']);

    state.set('t', { revision: 'r2', aml: doc('two') });
    const stale = await cache.read(ledger, 't');
    expect(stale.lookup).toBe('stale');
    expect(stale.entry.aml).toContain('two');

    fail(true);
    await expect(cache.read(ledger, 't')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
  });

  it('never keeps a specification without a revision, and evicts the least recently used over the bound', async () => {
    const state = new Map([
      ['a', { revision: 'ra', aml: doc('a'.repeat(100)) }],
      ['b', { revision: 'rb', aml: doc('b'.repeat(100)) }],
      ['old', { revision: '', aml: doc('old') }],
    ]);
    const { ledger } = fakeLedger(state);
    const cache = createSpecCache({ maxChars: 300 });
    expect((await cache.read(ledger, 'old')).lookup).toBe('uncacheable');
    expect((await cache.read(ledger, 'old')).lookup).toBe('uncacheable');
    await cache.read(ledger, 'a');
    await cache.read(ledger, 'b');
    expect(cache.stats().entries).toBe(1);
    expect((await cache.read(ledger, 'b')).lookup).toBe('hit');
    expect((await cache.read(ledger, 'a')).lookup).toBe('miss');
    expect(cache.stats().bytes).toBeLessThanOrEqual(300);
  });

  it('refresh keeps viewed twins at the current revision, coalesces bursts, and leaves others alone', async () => {
    const state = new Map([
      ['t', { revision: 'r1', aml: doc('one') }],
      ['unviewed', { revision: 'u1', aml: doc('u') }],
    ]);
    const { ledger, calls, fail } = fakeLedger(state);
    const cache = createSpecCache({ maxChars: 1_000_000 });
    await cache.refresh(ledger, 'unviewed');
    expect(calls).toEqual([]);

    await cache.read(ledger, 't');
    calls.length = 0;
    await cache.refresh(ledger, 't');
    expect(calls).toEqual(['rev t']); // same revision: nothing re-read

    state.set('t', { revision: 'r2', aml: doc('two') });
    calls.length = 0;
    // Three events of one burst: one pass, plus one more for those that came during it.
    await Promise.all([cache.refresh(ledger, 't'), cache.refresh(ledger, 't'), cache.refresh(ledger, 't')]);
    expect(calls).toEqual(['rev t', 'spec t', 'rev t']);
    calls.length = 0;
    const after = await cache.read(ledger, 't');
    expect(after.lookup).toBe('hit');
    expect(after.entry.aml).toContain('two');
    expect(calls).toEqual(['rev t']);

    // A read arriving during a refresh waits for it instead of reading the specification again.
    state.set('t', { revision: 'r3', aml: doc('three') });
    calls.length = 0;
    const refreshed = cache.refresh(ledger, 't');
    const during = await cache.read(ledger, 't');
    await refreshed;
    expect(during.lookup).toBe('hit');
    expect(during.entry.revision).toBe('r3');
    expect([...calls].sort()).toEqual(['rev t', 'rev t', 'spec t']);

    // Two readers racing after a write: one specification read between them.
    state.set('t', { revision: 'r4', aml: doc('four') });
    calls.length = 0;
    const [x, y] = await Promise.all([cache.read(ledger, 't'), cache.read(ledger, 't')]);
    expect(x.entry.aml).toContain('four');
    expect(y.entry).toBe(x.entry);
    expect(calls.filter((c) => c === 'spec t')).toHaveLength(1);

    // A refused or failed refresh leaves the entry; reads still check the caller each time.
    fail(true);
    await expect(cache.refresh(ledger, 't')).resolves.toBeUndefined();
    fail(false);
    expect((await cache.read(ledger, 't')).lookup).toBe('hit');
  });
});
