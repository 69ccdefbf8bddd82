import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { expectedRangeFromAml } from '../src/domain/expected-range.js';
import { checkReadingFits, openFeedRegistry, outOfRange, type FeedRecord } from '../src/domain/feed-registry.js';

const fixture = await readFile(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');

describe('expected ranges from AML', () => {
  it('reads ExpectedMin/ExpectedMax of one sensor element of the bottling-plant fixture', () => {
    expect(expectedRangeFromAml(fixture, 'sensor-fill-level-1')).toEqual({ min: 180, max: 195 });
  });
  it('refuses fragments without exactly one min and max, and inverted ranges', () => {
    expect(() => expectedRangeFromAml('<Attribute Name="ExpectedMin"><Value>1</Value></Attribute>')).toThrow(expect.objectContaining({ code: 'INVALID_EXPECTED_RANGE' }));
    expect(() => expectedRangeFromAml(fixture)).toThrow(expect.objectContaining({ code: 'INVALID_EXPECTED_RANGE' }));
    expect(() => expectedRangeFromAml('<Attribute Name="Min"><Value>5</Value></Attribute><Attribute Name="Max"><Value>1</Value></Attribute>')).toThrow(expect.objectContaining({ code: 'INVALID_EXPECTED_RANGE' }));
  });
});

describe('feed registry', () => {
  const feed: FeedRecord = {
    feedId: 'a'.repeat(64), objectId: 'b'.repeat(64), topic: 't/c', twinId: 't', componentId: 'c', unit: 'bar',
    valueSchema: { kind: 'named', names: ['x', 'y'] }, expectedRange: { min: 0, max: 10 }, acl: ['Org1MSP'], ownerPublicKey: 'k', createdAt: 'now',
  };
  it('survives a reopen and refuses duplicates', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'feed-reg-'));
    try {
      const reg = await openFeedRegistry(dir);
      await reg.add(feed);
      await expect(reg.add({ ...feed, feedId: 'c'.repeat(64) })).rejects.toMatchObject({ code: 'FEED_EXISTS' });
      const again = await openFeedRegistry(dir);
      expect(again.get(feed.feedId)).toEqual(feed);
      expect(() => again.require('nope')).toThrow(expect.objectContaining({ code: 'UNKNOWN_FEED', httpStatus: 404 }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('checks readings against the registration and the expected range', () => {
    const r = { feed: feed.feedId, component: 'c', ts: 1, v: { x: 1, y: 11 }, u: 'bar' };
    expect(() => checkReadingFits(feed, r)).not.toThrow();
    expect(outOfRange(feed, r)).toEqual([{ name: 'y', value: 11 }]);
    expect(() => checkReadingFits(feed, { ...r, v: 3 })).toThrow(expect.objectContaining({ code: 'FEED_MISMATCH' }));
    expect(() => checkReadingFits(feed, { ...r, v: { x: 1 } })).toThrow(expect.objectContaining({ code: 'FEED_MISMATCH' }));
    expect(() => checkReadingFits(feed, { ...r, u: 'Pa' })).toThrow(expect.objectContaining({ code: 'FEED_MISMATCH' }));
  });
});
