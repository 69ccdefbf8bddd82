import { describe, expect, it } from '@jest/globals';
import { childElements, flatten, insertionPreview, parentOf, removalPreview, siblingPositions, type AmlNode } from '../web/src/aml.js';
import { isWebLink } from '../web/src/links.js';
import { anomaliesOf, flaggedBuckets, readAllReadings, sensorProfile, type Reading } from '../web/src/sensor.js';

function el(tag: string, attributes: Record<string, string>, children: AmlNode[] = [], text?: string): AmlNode {
  return { tag, attributes, children, ...(text !== undefined ? { text } : {}) };
}
const attr = (name: string, value: string, unit?: string): AmlNode => el('Attribute', { Name: name, ...(unit ? { Unit: unit } : {}) }, [el('Value', {}, [], value)]);

const tree = el('CAEXFile', {}, [
  el('InstanceHierarchy', { Name: 'Plant', ID: 'ih' }, [
    el('InternalElement', { Name: 'Filler', ID: 'f1' }, [attr('Throughput', '12000'), el('InternalElement', { Name: 'Seal', ID: 's1' })]),
    el('InternalElement', { Name: 'Valve', ID: 'v1' }),
    el('InternalElement', { Name: 'Capper', ID: 'c1' }),
  ]),
]);
const rows = flatten(tree);
const at = (id: string): number => rows.findIndex((r) => r.elementId === id);
const show = (lines: ReturnType<typeof removalPreview>): string[] => lines.map((l) => `${l.sign}${'.'.repeat(l.depth)}${l.label}`);

describe('change previews of the specification tree', () => {
  it('lists the direct element children only (attributes and grandchildren are not insert positions)', () => {
    expect(childElements(rows, at('ih')).map((i) => rows[i]!.elementId)).toEqual(['f1', 'v1', 'c1']);
    expect(childElements(rows, at('f1')).map((i) => rows[i]!.elementId)).toEqual(['s1']);
  });

  it('a removal removes the whole subtree, under its parent shown for context', () => {
    expect(show(removalPreview(rows, at('f1')))).toEqual([' Plant', '-.Filler', '-..Throughput', '-..Seal']);
    expect(show(removalPreview(rows, at('c1')))).toEqual([' Plant', '-.Capper']);
  });

  it('an insertion adds the fragment rows at the chosen position, at the parent depth + 1', () => {
    const fragment = flatten(el('Fragment', {}, [el('InternalElement', { Name: 'Sensor', ID: 'n1' }, [attr('ExpectedMin', '1')])]));
    expect(show(insertionPreview(rows, at('ih'), 'f1', fragment))).toEqual([' Plant', ' .Filler', '+.Sensor', '+..ExpectedMin', ' .Valve', ' .Capper']);
    expect(show(insertionPreview(rows, at('ih'), undefined, fragment))).toEqual([' Plant', '+.Sensor', '+..ExpectedMin', ' .Filler', ' .Valve', ' .Capper']);
    expect(show(insertionPreview(rows, at('ih'), 'c1', fragment)).at(-2)).toBe('+.Sensor');
  });

  it('gives every row its place among its siblings and its parent (for aria-posinset/setsize and Left)', () => {
    const { pos, size } = siblingPositions(rows);
    expect([pos[at('f1')], size[at('f1')]]).toEqual([1, 3]);
    expect([pos[at('c1')], size[at('c1')]]).toEqual([3, 3]);
    expect([pos[at('s1')], size[at('s1')]]).toEqual([2, 2]);
    expect([pos[0], size[0]]).toEqual([1, 1]);
    expect(parentOf(rows, at('s1'))).toBe(at('f1'));
    expect(parentOf(rows, at('v1'))).toBe(at('ih'));
    expect(parentOf(rows, 0)).toBeUndefined();
  });
});

describe('sensor feeds judged against the specification', () => {
  const sensor = el('InternalElement', { Name: 'Temperature sensor', ID: 'ts2' }, [attr('ExpectedMin', '4', 'degC'), attr('ExpectedMax', '8', 'degC'), attr('Vendor', 'Acme')]);

  it('reads the expected range and unit from the sensor element', () => {
    expect(sensorProfile(sensor)).toEqual({ name: 'Temperature sensor', unit: 'degC', range: { min: 4, max: 8 }, rangeProblem: undefined });
  });

  it('judges nothing when the specification is ambiguous or invalid', () => {
    const two = el('InternalElement', { ID: 'x' }, [attr('ExpectedMin', '4'), attr('Min', '3'), attr('ExpectedMax', '8')]);
    expect(sensorProfile(two).range).toBeUndefined();
    expect(sensorProfile(two).rangeProblem).toMatch(/2 minimum and 1 maximum/);
    const inverted = el('InternalElement', { ID: 'y' }, [attr('ExpectedMin', '9'), attr('ExpectedMax', '8')]);
    expect(sensorProfile(inverted).range).toBeUndefined();
    expect(sensorProfile(el('InternalElement', { ID: 'z' }, [attr('ExpectedMin', 'warm'), attr('ExpectedMax', '8')])).range).toBeUndefined();
  });

  it('judges nothing when a bound is element content (a CAEX 2.15 value), and says so', () => {
    const structured = el('Attribute', { Name: 'ExpectedMin' }, [el('Value', {}, [el('#text', {}, [], 'about '), el('v', {}, [], '4')])]);
    const profile = sensorProfile(el('InternalElement', { ID: 'w' }, [structured, attr('ExpectedMax', '8')]));
    expect(profile.range).toBeUndefined();
    expect(profile.rangeProblem).toMatch(/not a finite min ≤ max/);
  });

  it('flags exactly the buckets whose extremes leave the range, with their time span', () => {
    const buckets = [
      { start: 0, count: 10, values: { v: { min: 5, max: 7, mean: 6 } } },
      { start: 100, count: 10, values: { v: { min: 5, max: 8.5, mean: 6 } } },
      { start: 200, count: 0, values: {} },
      { start: 300, count: 3, values: { v: { min: 3.9, max: 6, mean: 5 } } },
    ];
    expect(flaggedBuckets(buckets, 399, { min: 4, max: 8 })).toEqual([
      { from: 100, to: 199, name: 'v', min: 5, max: 8.5 },
      { from: 300, to: 399, name: 'v', min: 3.9, max: 6 },
    ]);
    expect(flaggedBuckets(buckets.slice(0, 1), 99, { min: 4, max: 8 })).toEqual([]);
  });

  it('lists every out-of-range value of scalar and named readings, bounds included as normal', () => {
    const readings = [
      { ts: 1, v: 4 },
      { ts: 2, v: 8 },
      { ts: 3, v: 12.5 },
      { ts: 4, v: { temperature: 3, humidity: 5 } },
    ];
    expect(anomaliesOf(readings, { min: 4, max: 8 })).toEqual([
      { ts: 3, name: 'v', value: 12.5 },
      { ts: 4, name: 'temperature', value: 3 },
    ]);
  });
});

describe('external source links', () => {
  it('links http(s) only; script and local schemes stay text', () => {
    expect(isWebLink('https://vendor.example/manual')).toBe(true);
    expect(isWebLink('HTTP://vendor.example')).toBe(true);
    for (const bad of ['javascript:alert(1)', ' javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,<script>alert(1)</script>', 'file:///etc/passwd', 'https:// x', 'opc.tcp://plant:4840']) expect(isWebLink(bad)).toBe(false);
  });
});

describe('readAllReadings (the anomaly list reads a whole bucket, not its first page)', () => {
  // feed-ingest's contract: at most `limit` readings from `from`, `truncated` when more may exist.
  const pager = (all: Reading[], limit: number) => {
    const asked: number[] = [];
    const page = async (from: number, to: number) => {
      asked.push(from);
      const inRange = all.filter((r) => r.ts >= from && r.ts <= to);
      return { readings: inRange.slice(0, limit), truncated: inRange.length > limit };
    };
    return { page, asked };
  };
  const at = (ts: number, v: number): Reading => ({ ts, v }) as Reading;

  it('follows truncated to the end, skipping the readings repeated at the cursor', async () => {
    const all = Array.from({ length: 25 }, (_, i) => at(Math.floor(i / 3), i));
    const { page, asked } = pager(all, 10);
    const r = await readAllReadings(page, 0, 100);
    expect(r).toEqual({ readings: all, complete: true });
    expect(asked).toEqual([0, 3, 6]);
  });

  it('finds an anomaly past the first page', async () => {
    const all = [...Array.from({ length: 2500 }, (_, i) => at(i, 5)), at(2500, 99)];
    const { page } = pager(all, 1000);
    expect(anomaliesOf((await readAllReadings(page, 0, 3000)).readings, { min: 0, max: 10 })).toEqual([{ ts: 2500, name: 'v', value: 99 }]);
  });

  it('stops, incomplete, at its page bound or when a page makes no progress', async () => {
    const { page } = pager(Array.from({ length: 100 }, (_, i) => at(i, 0)), 10);
    expect(await readAllReadings(page, 0, 1000, 3)).toMatchObject({ complete: false });
    const same = pager(Array.from({ length: 30 }, (_, i) => at(7, i)), 10);
    expect(await readAllReadings(same.page, 0, 100)).toMatchObject({ complete: false });
  });
});
