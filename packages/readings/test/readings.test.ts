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

  it('sends uniform batches in the columnar form, mixed ones as an array, and decodes both', () => {
    const scalar: Reading[] = Array.from({ length: 4 }, (_, i) => ({ ...base, ts: base.ts + i, v: 20 + i / 4 }));
    const [columnar] = encodeReadingsMessages(scalar);
    expect(JSON.parse(columnar!.value)).toEqual({ feed: 'f1', component: 'TT101', u: 'degC', ts: scalar.map((r) => r.ts), v: [20, 20.25, 20.5, 20.75] });
    expect(decodeReadingsMessage(columnar!.key, columnar!.value)).toEqual(scalar);
    // About a sixth of the array form's bytes for a scalar stream with real feed ids.
    const feed = 'ab'.repeat(32);
    const many: Reading[] = Array.from({ length: 500 }, (_, i) => ({ ...base, feed, ts: base.ts + i, v: 20 + (i % 7) / 4 }));
    expect(encodeReadingsMessages(many)[0]!.value.length).toBeLessThan(JSON.stringify(many).length / 4);

    const named: Reading[] = [
      { ...base, v: { x: 1, y: 2 } },
      { ...base, ts: base.ts + 1, v: { x: -1, y: 0.5 } },
    ];
    const [n] = encodeReadingsMessages(named);
    expect(JSON.parse(n!.value)).toMatchObject({ v: { x: [1, -1], y: [2, 0.5] } });
    expect(decodeReadingsMessage(n!.key, n!.value)).toEqual(named);

    const mixed: Reading[] = [base, { ...base, ts: base.ts + 1, u: 'K' }, { ...base, ts: base.ts + 2, v: { x: 1 } }];
    const [m] = encodeReadingsMessages(mixed);
    expect(Array.isArray(JSON.parse(m!.value))).toBe(true);
    expect(decodeReadingsMessage(m!.key, m!.value)).toEqual(mixed);
  });

  const col = (over: Record<string, unknown>) => JSON.stringify({ feed: 'f1', component: 'TT101', u: 'degC', ts: [1, 2], v: [1, 2], ...over });
  it.each([
    [col({ ts: [] }), 'EMPTY_BATCH'],
    [col({ ts: Array.from({ length: 10_001 }, (_, i) => i), v: Array.from({ length: 10_001 }, () => 1) }), 'BATCH_TOO_LARGE'],
    [col({ v: [1] }), 'BAD_VALUE'],
    [col({ v: { x: [1] } }), 'BAD_VALUE'],
    [col({ v: 'x' }), 'BAD_VALUE'],
    [col({ v: [1, null] }), 'BAD_VALUE'],
    [col({ v: { x: [1, 2], '': [1, 2] } }), 'BAD_VALUE'],
    [col({ ts: [1, 1.5] }), 'BAD_TIMESTAMP'],
    [col({ feed: 'f2' }), 'KEY_MISMATCH'],
    [col({ component: '' }), 'BAD_COMPONENT'],
    [col({ u: 7 }), 'BAD_UNIT'],
    [col({ extra: 1 }), 'UNKNOWN_FIELD'],
  ])('refuses the columnar batch %#', (value, reason) => {
    expect(() => decodeReadingsMessage('f1', value)).toThrow(expect.objectContaining({ reason }));
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
