import fc from 'fast-check';
import { ErrorCodes } from '../src';
import { changeOrderKey } from '../src/ledger/order';
import { FakeStub } from './support/fake-ledger';
import { expectRefusal, newWorld, TWIN, who, worldWithTwin, type World } from './support/world';

/*
 * Issue #20 item 3: a twin's changes are ordered by the ledger, never by the submitter's
 * clock. The fake ledger commits in invocation order (its "block order") and stamps each
 * proposal with `ledger.clock`, which the tests set to model skewed or back-dated clients.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

/** Runs one transaction whose proposal carries the given time (seconds); the ledger's own clock keeps going. */
async function stamped<T>(w: World, seconds: number, run: () => Promise<T>): Promise<T> {
  const real = w.ledger.clock;
  w.ledger.clock = seconds - w.ledger.step;
  try {
    return await run();
  } finally {
    w.ledger.clock = Math.max(real + w.ledger.step, seconds);
  }
}

const el = (id: string): string => `<InternalElement Name="E-${id}" ID="${id}"/>`;
const live = async (w: World): Promise<string> => (await w.ledger.invoke(who.owner, w.spec, 'getSpecification', TWIN)).aml;
const asOf = (w: World, at: string) => w.ledger.invoke(who.auditor, w.spec, 'getTwinAsOf', TWIN, at);

describe('change order: the ledger, not the submitter clock', () => {
  it('a writer 20 s behind: history and as-of follow the ledger order', async () => {
    const w = await worldWithTwin();
    const create = w.ledger.lastTx.txId;
    await w.ledger.invoke(who.owner, w.spec, 'insertAML', TWIN, el('spare-1'), 'filler-1', '');
    const insert = w.ledger.lastTx.txId;
    const insertTime = w.ledger.clock;
    // The maintainer's clock is 20 s behind: its removal, committed after the insert, carries
    // an earlier timestamp than the insert.
    await stamped(w, insertTime + w.ledger.step - 20, () => w.ledger.invoke(who.maintainer, w.spec, 'removeAML', TWIN, 'spare-1'));
    const remove = w.ledger.lastTx.txId;
    const now = await live(w);
    expect(now).not.toContain('spare-1');

    const h = await w.ledger.invoke(who.auditor, w.spec, 'history', TWIN, '');
    expect(h.changes.map((c: { seq: number; txId: string }) => [c.seq, c.txId])).toEqual([
      [1, create],
      [2, insert],
      [3, remove],
    ]);
    expect(Date.parse(h.changes[2].timestamp)).toBeLessThan(Date.parse(h.changes[1].timestamp));
    const el1 = await w.ledger.invoke(who.auditor, w.spec, 'history', TWIN, 'spare-1');
    expect(el1.changes.map((c: { seq: number }) => c.seq)).toEqual([2, 3]);
    expect(el1.ledgerHistory.map((e: { seq: number }) => e.seq)).toEqual([2, 3]);

    // Every form of as-of agrees with the live specification at the end...
    for (const at of [remove, 'seq:3', iso(insertTime + 3600), String((insertTime + 3600) * 1000)]) {
      const past = await asOf(w, at);
      expect(past.specification).toBe(now);
      expect(past.asOf).toMatchObject({ lastSeq: 3, lastTxId: remove });
    }
    // ...and with the state after the insert, by its transaction or sequence number.
    for (const at of [insert, 'seq:2']) expect((await asOf(w, at)).specification).toContain('ID="spare-1"');
    // By the removal's (early) time: the longest prefix whose times are all that early is the
    // creation alone, never "created, then removed" without the insert in between.
    const atRemovalTime = await asOf(w, h.changes[2].timestamp);
    expect(atRemovalTime.asOf).toMatchObject({ timestamp: h.changes[2].timestamp, lastSeq: 1, lastTxId: create });
    await expect(asOf(w, 'seq:4')).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    await expect(asOf(w, 'seq:0')).rejects.toMatchObject({ code: ErrorCodes.VALIDATION_FAILED });
  });

  it('refuses a proposal back-dated before a grant expired once the twin has recorded a later change', async () => {
    const w = await worldWithTwin();
    const expiry = w.ledger.clock + 25;
    await w.ledger.invoke(who.owner, w.acl, 'grant', TWIN, JSON.stringify({ mspId: 'OutsiderMSP', role: 'MAINTAINER', expiresAt: iso(expiry) }));
    await w.ledger.invoke(who.outsider, w.spec, 'insertAML', TWIN, el('o-1'), 'filler-1', ''); // before the expiry
    // An honest change of the twin at a time after the expiry.
    await w.ledger.invoke(who.owner, w.spec, 'addExternalSource', TWIN, 'https://example.com/manual', 'manual');
    expect(w.ledger.clock).toBeGreaterThanOrEqual(expiry);
    // The former maintainer stamps its proposal 5 s before the expiry.
    await expectRefusal(
      w,
      stamped(w, expiry - 5, () => w.ledger.invoke(who.outsider, w.spec, 'insertAML', TWIN, el('o-2'), 'filler-1', '')),
      ErrorCodes.ACCESS_DENIED,
    );
    expect((await stamped(w, expiry - 5, () => w.ledger.invoke(who.outsider, w.acl, 'checkAccess', TWIN, 'spec:write'))).allowed).toBe(false);
    expect((await stamped(w, expiry - 5, () => w.ledger.invoke(who.owner, w.acl, 'checkAccessFor', TWIN, 'OutsiderMSP', who.outsider.id, 'spec:write'))).allowed).toBe(false);
  });

  it('states the remaining bound: with no change recorded since the expiry, a back-dated proposal still passes', async () => {
    // What limits it then is the peers' proposal time window (peer.authentication.timewindow).
    const w = await worldWithTwin();
    const expiry = w.ledger.clock + 25;
    await w.ledger.invoke(who.owner, w.acl, 'grant', TWIN, JSON.stringify({ mspId: 'OutsiderMSP', role: 'MAINTAINER', expiresAt: iso(expiry) }));
    w.ledger.clock += 60;
    await stamped(w, expiry - 5, () => w.ledger.invoke(who.outsider, w.spec, 'insertAML', TWIN, el('o-3'), 'filler-1', ''));
    expect(w.ledger.lastTx.ok).toBe(true);
  });

  it('reads the change-order key only for a caller whose access rests on an expiring grant', async () => {
    const w = await worldWithTwin();
    await w.ledger.invoke(who.owner, w.acl, 'grant', TWIN, JSON.stringify({ mspId: 'OutsiderMSP', role: 'MAINTAINER', expiresAt: iso(w.ledger.clock + 3600) }));
    const spy = jest.spyOn(FakeStub.prototype, 'getState');
    try {
      const readsOrder = () => spy.mock.calls.some(([key]) => key === changeOrderKey(TWIN));
      await w.ledger.invoke(who.owner, w.spec, 'insertAML', TWIN, el('p-1'), 'filler-1', '');
      expect(readsOrder()).toBe(false); // blind: concurrent owner edits do not conflict on it
      await w.ledger.invoke(who.outsider, w.spec, 'insertAML', TWIN, el('p-2'), 'filler-1', '');
      expect(readsOrder()).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  it('refuses as-of on a twin without a change order (a ledger from before) with INVALID_STATE', async () => {
    const w = await worldWithTwin();
    // What a twin created by the earlier chaincode looks like: no change-order history.
    w.ledger.history.delete(changeOrderKey(TWIN));
    await expect(asOf(w, 'seq:1')).rejects.toMatchObject({ code: ErrorCodes.INVALID_STATE });
  });
});

describe('property: as-of at every step equals the live specification at that step', () => {
  const CAEX = `<?xml version="1.0" encoding="UTF-8"?><CAEXFile xmlns="http://www.dke.de/CAEX" SchemaVersion="3.0" FileName="p.aml"><InstanceHierarchy Name="H" ID="ih">${el('root')}</InstanceHierarchy></CAEXFile>`;
  const step = fc.record({
    kind: fc.constantFrom('insert', 'insert', 'remove', 'source'),
    pick: fc.nat(),
    // Non-monotonic clocks: each proposal up to a minute either side of the ledger's time.
    skew: fc.integer({ min: -60, max: 60 }),
  });

  it('holds for random edits with random clocks, by sequence, by transaction and by time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 10 }), fc.integer({ min: -90, max: 700 }), async (steps, probe) => {
        const w = newWorld();
        const t0 = w.ledger.clock;
        await w.ledger.invoke(who.owner, w.spec, 'createTwin', TWIN, 'p', CAEX, '');
        const txIds = [w.ledger.lastTx.txId];
        const times = [w.ledger.clock];
        const specs = [await live(w)];
        let next = 0;
        for (const s of steps) {
          const ids = [...specs[specs.length - 1]!.matchAll(/ID="(e\d+|root)"/g)].map((m) => m[1]!);
          const target = ids[s.pick % ids.length]!;
          const at = w.ledger.clock + w.ledger.step + s.skew;
          const run = () => {
            if (s.kind === 'insert') return w.ledger.invoke(who.owner, w.spec, 'insertAML', TWIN, el(`e${next++}`), target, '');
            if (s.kind === 'remove' && target !== 'root') return w.ledger.invoke(who.owner, w.spec, 'removeAML', TWIN, target);
            return w.ledger.invoke(who.owner, w.spec, 'addExternalSource', TWIN, `https://example.com/${next++}`, '');
          };
          await stamped(w, at, run);
          txIds.push(w.ledger.lastTx.txId);
          specs.push(await live(w));
          times.push(at);
        }
        for (let i = 0; i < specs.length; i++) {
          const bySeq = await asOf(w, `seq:${i + 1}`);
          expect(bySeq.specification).toBe(specs[i]);
          expect(bySeq.asOf).toMatchObject({ lastSeq: i + 1, lastTxId: txIds[i] });
          expect((await asOf(w, txIds[i]!)).specification).toBe(specs[i]);
        }
        // By time: the state after the longest prefix whose recorded times are all <= the bound.
        const bound = t0 + probe;
        let n = 0;
        // The fake ledger stamps proposals at .123 s past the second.
        while (n < times.length && times[n]! + 0.123 <= bound) n++;
        if (n === 0) {
          await expect(asOf(w, iso(bound))).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
        } else {
          const byTime = await asOf(w, iso(bound));
          expect(byTime.specification).toBe(specs[n - 1]);
          expect(byTime.asOf.lastSeq).toBe(n);
        }
      }),
      { numRuns: Math.max(20, Math.floor(RUNS / 3)) },
    );
  });
});
