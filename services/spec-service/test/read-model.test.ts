import { describe, expect, it } from '@jest/globals';
import { createReadModel, type ReadModelInit } from '../src/domain/read-model.js';

/** A model with a clock, a follower switch and a peer of our own; loads are counted. */
function setup(over: Partial<ReadModelInit> = {}) {
  const clock = { t: 1_000_000 };
  const state = { following: true, height: 10n, txs: new Set<string>(), journal: new Map<string, number>() };
  const reads = createReadModel({
    maxChars: 100,
    maxAgeMs: 30_000,
    fenceWaitMs: 50,
    fencePollMs: 5,
    following: () => state.following,
    blockOf: (tx) => state.journal.get(tx),
    chain: { height: async () => state.height, hasTransaction: async (tx) => state.txs.has(tx) },
    startBlock: 5,
    now: () => clock.t,
    ...over,
  });
  let loads = 0;
  const load = (value: string, chars = 10) => async () => {
    loads++;
    return { value, chars };
  };
  return { reads, clock, state, load, loads: () => loads };
}

describe('createReadModel', () => {
  it('answers from the cache until an event of the twin, with the block it reflects', async () => {
    const { reads, load, loads } = setup();
    expect(await reads.read('t1', 'spec', load('v1'))).toMatchObject({ value: 'v1', lookup: 'miss', block: 5, stale: false });
    expect(await reads.read('t1', 'spec', load('v2'))).toMatchObject({ value: 'v1', lookup: 'hit', block: 5 });
    reads.onLedgerEvent({ eventName: 'AmlInserted', twinId: 't2', blockNumber: 6 });
    expect(await reads.read('t1', 'spec', load('v2'))).toMatchObject({ value: 'v1', lookup: 'hit', block: 6 });
    reads.onLedgerEvent({ eventName: 'AmlInserted', twinId: 't1', blockNumber: 7 });
    expect(await reads.read('t1', 'spec', load('v2'))).toMatchObject({ value: 'v2', lookup: 'miss', block: 7 });
    expect(loads()).toBe(2);
  });

  it('does not keep an answer loaded across an event of its twin, and shares a load only within one generation', async () => {
    const { reads } = setup();
    let release!: () => void;
    const slow = () => new Promise<{ value: string; chars: number }>((r) => (release = () => r({ value: 'old', chars: 10 })));
    const first = reads.read('t1', 'spec', slow);
    reads.onLedgerEvent({ eventName: 'GrantRevoked', twinId: 't1', blockNumber: 6 });
    // Started after the event: its own load, not the one under way.
    const second = reads.read('t1', 'spec', async () => ({ value: 'new', chars: 10 }));
    expect((await second).value).toBe('new');
    release();
    expect((await first).value).toBe('old');
    await new Promise((r) => setImmediate(r));
    expect((await reads.read('t1', 'spec', async () => ({ value: 'x', chars: 1 }))).value).toBe('new');
  });

  it('stays within maxChars, least recently used first out, and keeps nothing larger than the bound', async () => {
    const { reads, load } = setup();
    for (const t of ['a', 'b', 'c']) await reads.read(t, 'spec', load(t, 40));
    await new Promise((r) => setImmediate(r));
    expect(reads.stats()).toEqual({ entries: 2, chars: 80 });
    expect((await reads.read('a', 'spec', load('a2', 40))).lookup).toBe('miss');
    await reads.read('big', 'spec', load('big', 101));
    expect(reads.stats().chars).toBeLessThanOrEqual(100);
    expect((await reads.read('big', 'spec', load('big', 101))).lookup).toBe('miss');
  });

  it('while events are not followed serves entries marked stale up to maxAgeMs, then reads the peer again', async () => {
    const { reads, load, state, clock } = setup();
    await reads.read('t1', 'spec', load('v1'));
    await new Promise((r) => setImmediate(r));
    clock.t += 1_000;
    expect((await reads.read('t1', 'spec', load('v2'))).lookup).toBe('hit'); // confirms at t0 + 1 s
    state.following = false;
    clock.t += 29_000;
    expect(await reads.read('t1', 'spec', load('v2'))).toMatchObject({ value: 'v1', stale: true, lookup: 'stale' });
    clock.t += 1_001;
    expect(await reads.read('t1', 'spec', load('v2'))).toMatchObject({ value: 'v2', stale: false, lookup: 'miss' });
  });

  it('reads everything again once the event stream was reopened (the missed events are still replaying), not after a peer outage alone', async () => {
    let resumed = 0;
    let epoch = 1;
    const { reads, load, state } = setup({ onResume: () => resumed++, streamEpoch: () => epoch });
    await reads.read('t1', 'spec', load('v1'));
    await new Promise((r) => setImmediate(r));
    // The peer marked down and up again, the stream open throughout: nothing was missed.
    state.following = false;
    expect((await reads.read('t1', 'spec', load('v2'))).lookup).toBe('stale');
    state.following = true;
    expect(await reads.read('t1', 'spec', load('v2'))).toMatchObject({ value: 'v1', lookup: 'hit' });
    epoch = 2;
    expect(await reads.read('t1', 'spec', load('v2'))).toMatchObject({ value: 'v2', lookup: 'miss' });
    expect(resumed).toBe(1);
  });

  it('fences: served once the events reach the block or transaction, by the peer when only it has, else 504 FENCE_NOT_REACHED', async () => {
    const { reads, load, state, loads } = setup();
    await reads.read('t1', 'spec', load('v1'));
    await new Promise((r) => setImmediate(r));
    expect((await reads.read('t1', 'spec', load('v2'), { minBlock: 5 })).lookup).toBe('hit');
    // Block 9 is committed at the peer (height 10) but its events have not arrived.
    expect(await reads.read('t1', 'spec', load('peer'), { minBlock: 9 })).toMatchObject({ value: 'peer', lookup: 'fenced', block: 9 });
    await expect(reads.read('t1', 'spec', load('never'), { minBlock: 10 })).rejects.toMatchObject({ code: 'FENCE_NOT_REACHED', httpStatus: 504 });
    const tx = 'a'.repeat(64);
    const pending = reads.read('t1', 'spec', load('v3'), { atLeastTx: tx });
    state.journal.set(tx, 6);
    reads.onLedgerEvent({ eventName: 'AmlInserted', twinId: 't1', blockNumber: 6 });
    expect(await pending).toMatchObject({ value: 'v3', block: 6 });
    state.txs.add('b'.repeat(64));
    expect((await reads.read('t1', 'spec', load('v4'), { atLeastTx: 'b'.repeat(64) })).lookup).toBe('fenced');
    expect(loads()).toBe(4);
  });

  it('a model without events (maxChars 0) keeps nothing and still honours fences on the peer', async () => {
    const { reads, load, loads } = setup({ maxChars: 0, following: () => false });
    await reads.read('t1', 'spec', load('v1'));
    expect((await reads.read('t1', 'spec', load('v1'))).lookup).toBe('uncached');
    expect((await reads.read('t1', 'spec', load('v1'), { minBlock: 9 })).lookup).toBe('fenced');
    await expect(reads.read('t1', 'spec', load('v1'), { minBlock: 50 })).rejects.toMatchObject({ code: 'FENCE_NOT_REACHED' });
    expect(loads()).toBe(3);
  });
});
