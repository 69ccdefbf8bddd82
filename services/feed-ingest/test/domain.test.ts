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
  const sensor = (attrs: string): string => `<InternalElement Name="S" ID="s">${attrs}</InternalElement>`;
  it('reads a fragment holding the sensor element', () => {
    expect(expectedRangeFromAml(sensor('<Attribute Name="ExpectedMin"><Value> 1.5 </Value></Attribute><Attribute Name="ExpectedMax"><Value>2</Value></Attribute>'))).toEqual({ min: 1.5, max: 2 });
  });
  it('refuses fragments without exactly one min and max, and inverted ranges', () => {
    expect(() => expectedRangeFromAml(sensor('<Attribute Name="ExpectedMin"><Value>1</Value></Attribute>'))).toThrow(expect.objectContaining({ code: 'INVALID_EXPECTED_RANGE' }));
    expect(() => expectedRangeFromAml(fixture)).toThrow(expect.objectContaining({ code: 'INVALID_EXPECTED_RANGE' }));
    expect(() => expectedRangeFromAml(fixture, 'nope')).toThrow(expect.objectContaining({ code: 'INVALID_EXPECTED_RANGE' }));
    expect(() => expectedRangeFromAml(sensor('<Attribute Name="Min"><Value>5</Value></Attribute><Attribute Name="Max"><Value>1</Value></Attribute>'))).toThrow(expect.objectContaining({ code: 'INVALID_EXPECTED_RANGE' }));
  });
  it('refuses a bound held as element content (CAEX 2.15 xs:anyType): an invalid range, never a guessed number', () => {
    const bounds = '<Attribute Name="ExpectedMin"><Value><v unit="mm">1</v></Value></Attribute><Attribute Name="ExpectedMax"><Value>2</Value></Attribute>';
    // Counted as a bound that is no number (not as a missing one).
    const invalid = expect.objectContaining({ code: 'INVALID_EXPECTED_RANGE', details: { min: 'NaN', max: '2' } });
    expect(() => expectedRangeFromAml(sensor(bounds))).toThrow(invalid);
    const doc215 = `<CAEXFile SchemaVersion="2.15" FileName="s.aml"><InstanceHierarchy Name="h">${sensor(bounds.replace('<v unit="mm">1</v>', '1 <sub>0</sub>'))}</InstanceHierarchy></CAEXFile>`;
    expect(() => expectedRangeFromAml(doc215)).toThrow(invalid);
    // In 3.0 such a value is no CAEX at all.
    expect(() => expectedRangeFromAml(doc215.replace('2.15', '3.0'))).toThrow(expect.objectContaining({ code: 'AML_INVALID' }));
  });
  it('refuses what the ledger refuses, with the ledger\'s codes, never a parser crash', async () => {
    const { AML_CASES } = await import('../../../packages/aml/test/corpus.js');
    for (const c of AML_CASES.filter((x) => x.code !== undefined && x.code !== 'TOO_LARGE')) {
      expect([c.name, (() => { try { expectedRangeFromAml(c.xml()); return 'accepted'; } catch (e) { return (e as { code: string }).code; } })()]).toEqual([c.name, c.code]);
    }
    // Bare Attributes are no sensor element.
    expect(() => expectedRangeFromAml('<Attribute Name="ExpectedMin"><Value>1</Value></Attribute>')).toThrow(expect.objectContaining({ code: 'AML_INVALID' }));
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
