import { describe, expect, it } from '@jest/globals';
import {
  decodeReadingsMessage,
  decodeSegment,
  encodeReadingsMessages,
  encodeSegment,
  ReadingValidationError,
  segmentReadings,
  validateReading,
  type Reading,
} from '../src/index.js';

const base: Reading = { feed: 'f1', component: 'TT101', ts: 1_700_000_000_000, v: 21.5, u: 'degC' };

describe('validateReading', () => {
  it('accepts scalar and named values', () => {
    expect(validateReading(base)).toEqual(base);
    const named = { ...base, v: { x: 1, y: -2.5 } };
    expect(validateReading(named)).toEqual(named);
  });

  it.each([
    [null, 'NOT_AN_OBJECT'],
    [[base], 'NOT_AN_OBJECT'],
    [{ ...base, extra: 1 }, 'UNKNOWN_FIELD'],
    [{ ...base, feed: '' }, 'BAD_FEED'],
    [{ ...base, feed: 'a b' }, 'BAD_FEED'],
    [{ ...base, component: 7 }, 'BAD_COMPONENT'],
    [{ ...base, ts: 1.5 }, 'BAD_TIMESTAMP'],
    [{ ...base, ts: -1 }, 'BAD_TIMESTAMP'],
    [{ ...base, ts: 2 ** 50 }, 'BAD_TIMESTAMP'],
    [{ ...base, v: 'x' }, 'BAD_VALUE'],
    [{ ...base, v: {} }, 'BAD_VALUE'],
    [{ ...base, v: { '': 1 } }, 'BAD_VALUE'],
    [{ ...base, v: { a: null } }, 'BAD_VALUE'],
    [{ ...base, u: 'x'.repeat(33) }, 'BAD_UNIT'],
    [{ ...base, u: 3 }, 'BAD_UNIT'],
  ])('refuses %j with %s', (input, reason) => {
    expect(() => validateReading(input)).toThrow(ReadingValidationError);
    try {
      validateReading(input);
    } catch (err) {
      expect(err).toMatchObject({ code: 'INVALID_READING', httpStatus: 400, reason, details: { reason } });
    }
  });
});

describe('dt.readings messages', () => {
  it('groups by feed, batches and round-trips', () => {
    const readings: Reading[] = [];
    for (let i = 0; i < 7; i++) readings.push({ ...base, feed: i % 2 ? 'f2' : 'f1', ts: base.ts + i });
    const messages = encodeReadingsMessages(readings, 3);
    expect(messages.map((m) => m.key)).toEqual(['f1', 'f1', 'f2']);
    const back = messages.flatMap((m) => decodeReadingsMessage(m.key, Buffer.from(m.value)));
    expect(back.filter((r) => r.feed === 'f1')).toEqual(readings.filter((r) => r.feed === 'f1'));
    expect(back.filter((r) => r.feed === 'f2')).toEqual(readings.filter((r) => r.feed === 'f2'));
    const single = encodeReadingsMessages([base])[0]!;
    expect(JSON.parse(single.value)).toEqual(base);
  });

  it.each([
    [null, '{}', 'MISSING_KEY'],
    ['f1', null, 'MALFORMED_JSON'],
    ['f1', '{not json', 'MALFORMED_JSON'],
    ['f1', '[]', 'EMPTY_BATCH'],
    ['f2', JSON.stringify(base), 'KEY_MISMATCH'],
    ['f1', JSON.stringify([base, { ...base, v: null }]), 'BAD_VALUE'],
  ])('refuses key %j value %j with %s', (key, value, reason) => {
    expect(() => decodeReadingsMessage(key, value)).toThrow(expect.objectContaining({ reason }));
  });
});

describe('segment codec', () => {
  it('round-trips mixed shapes, components and units exactly', () => {
    const readings: Reading[] = [
      base,
      { ...base, ts: base.ts + 3, v: -0.125 },
      { ...base, ts: base.ts + 1, v: { x: 1e300, y: -5 }, u: 'm/s2' },
      { ...base, ts: base.ts - 100_000, component: 'TT102', v: { x: 2 } },
      { ...base, ts: 0, v: Number.MIN_VALUE },
      { ...base, ts: 2 ** 50 - 1, v: 0 },
    ];
    const bytes = encodeSegment(readings, { partition: 2, first: '10', last: '15' });
    const seg = decodeSegment(bytes);
    expect(seg.header.meta).toEqual({ partition: 2, first: '10', last: '15' });
    expect(segmentReadings(seg, 'f1')).toEqual(readings);
  });

  it('is compact for a steady scalar stream', () => {
    const readings: Reading[] = Array.from({ length: 10_000 }, (_, i) => ({ ...base, ts: base.ts + i * 2, v: Math.sin(i) }));
    const bytes = encodeSegment(readings);
    expect(bytes.length).toBeLessThan(10_000 * 10);
    expect(segmentReadings(decodeSegment(bytes), 'f1')).toEqual(readings);
  });

  it('refuses malformed bytes', () => {
    const good = encodeSegment([base]);
    expect(() => decodeSegment(good.subarray(0, good.length - 1))).toThrow(expect.objectContaining({ code: 'SEGMENT_MALFORMED' }));
    expect(() => decodeSegment(Buffer.concat([good, Buffer.from([0])]))).toThrow(expect.objectContaining({ code: 'SEGMENT_MALFORMED' }));
    expect(() => decodeSegment(Buffer.from('nope'))).toThrow(expect.objectContaining({ code: 'SEGMENT_MALFORMED' }));
    expect(() => encodeSegment([])).toThrow(RangeError);
  });
});
