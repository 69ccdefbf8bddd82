import { ErrorCodes, Events } from '../src';
import { TWIN, expectRefusal, hash, who, worldWithTwin, type World } from './support/world';

const FEED = 'f'.repeat(64);
const ROOT = 'e'.repeat(64);

/** The twin with the pressure sensor's feed registered by the owner's device agent (OwnerMSP). */
async function withFeed(): Promise<World> {
  const w = await worldWithTwin();
  await w.ledger.invoke(who.deviceAgent, w.spec, 'addSensorFeed', TWIN, 'sensor-pressure-1', FEED);
  return w;
}

const anchor = (w: World, caller: (typeof who)[keyof typeof who], from: string, to: string, extra: Partial<{ component: string; feed: string; root: string }> = {}) =>
  w.ledger.invoke(caller, w.spec, 'anchorFeedRoot', TWIN, extra.component ?? 'sensor-pressure-1', extra.feed ?? FEED, from, to, extra.root ?? ROOT);

describe('anchorFeedRoot', () => {
  it('records contiguous anchors from index 0 with an event, without a change of the twin', async () => {
    const w = await withFeed();
    const before = (await w.ledger.invoke(who.owner, w.spec, 'history', TWIN, '', '', '')).changes.length;
    const a = await anchor(w, who.deviceAgent, '0', '59');
    expect(a).toMatchObject({ twinId: TWIN, componentId: 'sensor-pressure-1', feedId: FEED, fromIndex: 0, toIndex: 59, root: ROOT, anchoredBy: { mspId: 'OwnerMSP' } });
    expect(w.ledger.lastTx.event).toMatchObject({ name: Events.FeedRootAnchored, payload: { twinId: TWIN, feedId: FEED, fromIndex: 0, toIndex: 59, root: ROOT } });
    // Another identity of the owning organization continues the chain.
    await anchor(w, who.owner, '60', '60', { root: hash(7) });
    const list = await w.ledger.invoke(who.auditor, w.spec, 'listFeedAnchors', TWIN, FEED, '', '');
    expect(list.items.map((r: { fromIndex: number; toIndex: number }) => [r.fromIndex, r.toIndex])).toEqual([
      [0, 59],
      [60, 60],
    ]);
    const tips = await w.ledger.invoke(who.manufacturer, w.spec, 'listFeedAnchorTips', TWIN, '', '');
    expect(tips.items).toEqual([expect.objectContaining({ feedId: FEED, fromIndex: 60, toIndex: 60, root: hash(7) })]);
    // Not in the twin's change log: a minute's anchor would otherwise fill MAX_KEY_HISTORY.
    expect((await w.ledger.invoke(who.owner, w.spec, 'history', TWIN, '', '', '')).changes.length).toBe(before);
  });

  it('refuses a gap, an overlap and a second root for an anchored index', async () => {
    const w = await withFeed();
    await expectRefusal(w, anchor(w, who.deviceAgent, '1', '5'), ErrorCodes.INVALID_STATE);
    await anchor(w, who.deviceAgent, '0', '9');
    await expectRefusal(w, anchor(w, who.deviceAgent, '0', '9', { root: hash(1) }), ErrorCodes.INVALID_STATE);
    await expectRefusal(w, anchor(w, who.deviceAgent, '5', '20'), ErrorCodes.INVALID_STATE);
    await expectRefusal(w, anchor(w, who.deviceAgent, '11', '20'), ErrorCodes.INVALID_STATE);
  });

  it('only the organization that registered the feed anchors it, and only its recorded feed', async () => {
    const w = await withFeed();
    // The maintainer holds feed:register on the twin but did not register this feed.
    await expectRefusal(w, anchor(w, who.maintainer, '0', '0'), ErrorCodes.ACCESS_DENIED);
    // The auditor holds no feed:register at all; an outsider nothing.
    await expectRefusal(w, anchor(w, who.auditor, '0', '0'), ErrorCodes.ACCESS_DENIED);
    await expectRefusal(w, anchor(w, who.outsider, '0', '0'), ErrorCodes.ACCESS_DENIED);
    await expectRefusal(w, anchor(w, who.deviceAgent, '0', '0', { feed: 'a'.repeat(64) }), ErrorCodes.NOT_FOUND);
    await expectRefusal(w, anchor(w, who.deviceAgent, '0', '0', { component: 'sensor-flow-1' }), ErrorCodes.NOT_FOUND);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'anchorFeedRoot', 'ghost', 'sensor-pressure-1', FEED, '0', '0', ROOT), ErrorCodes.NOT_FOUND);
  });

  it('validates every argument', async () => {
    const w = await withFeed();
    for (const [from, to] of [
      ['-1', '2'],
      ['01', '2'],
      ['1e3', '2000'],
      ['0', 'x'],
      ['', '1'],
      ['3', '2'],
      ['0', '9007199254740992'],
    ]) {
      await expectRefusal(w, anchor(w, who.deviceAgent, from!, to!), ErrorCodes.VALIDATION_FAILED);
    }
    await expectRefusal(w, anchor(w, who.deviceAgent, '0', '1000000'), ErrorCodes.TOO_LARGE);
    await expectRefusal(w, anchor(w, who.deviceAgent, '0', '0', { root: 'E'.repeat(64) }), ErrorCodes.VALIDATION_FAILED);
    await expectRefusal(w, anchor(w, who.deviceAgent, '0', '0', { root: 'ab' }), ErrorCodes.VALIDATION_FAILED);
    await expectRefusal(w, anchor(w, who.deviceAgent, '0', '0', { feed: 'feed:abc' }), ErrorCodes.VALIDATION_FAILED);
    await expectRefusal(w, anchor(w, who.deviceAgent, '0', '0', { component: '' }), ErrorCodes.VALIDATION_FAILED);
    await expect(w.ledger.invoke(who.auditor, w.spec, 'listFeedAnchors', TWIN, 'nothex', '', '')).rejects.toMatchObject({ code: ErrorCodes.VALIDATION_FAILED });
    await expect(w.ledger.invoke(who.outsider, w.spec, 'listFeedAnchorTips', 'ghost', '', '')).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
  });
});
