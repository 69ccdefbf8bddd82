import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
// The chaincode's own reader and canonical form: a split must read back on the ledger as the
// document it was cut from (the chaincode's chunked creation is tested with its ledger fake in
// chaincode/test/creation.test.ts).
import { canonicalizeDocument, parseCaexFragment } from '../../../chaincode/src/aml/caex';
import { AmlLimits, assembleAmlSplit, chunkHash, creationDigest, readAmlFragment, splitAmlDocument, type AmlSplit } from '../src/index.js';

const PLANT = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');

const sensor = (i: number): string =>
  `<InternalElement Name="S${i}" ID="s${i}"><Attribute Name="Max" AttributeDataType="xs:double"><Value>${i}</Value></Attribute><Attribute Name="Unit"><Value>bar</Value></Attribute></InternalElement>`;
const flat = (n: number): string =>
  `<CAEXFile SchemaVersion="3.0" FileName="plant.aml"><InstanceHierarchy Name="IH" ID="ih"><Description>plant</Description>${Array.from({ length: n }, (_, i) => sensor(i)).join('')}</InstanceHierarchy><RoleClassLib Name="R"/></CAEXFile>`;
/** Lines of lines: three areas, each with `n` sensors and a trailing InternalLink. */
const nested = (n: number): string =>
  `<CAEXFile SchemaVersion="3.0" FileName="n.aml"><InstanceHierarchy Name="IH">${[0, 1, 2]
    .map((a) => `<InternalElement Name="A${a}" ID="a${a}"><Attribute Name="x"><Value>${a}</Value></Attribute>${Array.from({ length: n }, (_, i) => sensor(a * 100_000 + i)).join('')}<InternalLink Name="L" RefPartnerSideA="a" RefPartnerSideB="b"/></InternalElement>`)
    .join('')}</InstanceHierarchy></CAEXFile>`;

function checkPieces(split: AmlSplit, max: number): void {
  for (const c of split.chunks) {
    expect(c.bytes).toBeLessThanOrEqual(c.elementCount === 1 ? AmlLimits.MAX_FRAGMENT_BYTES : max);
    expect(c.after).toBeLessThan(c.index);
    // Each chunk is a fragment both readers accept, of the elements it claims.
    expect(readAmlFragment(c.aml, split.schemaVersion).elementCount).toBe(c.elementCount);
    expect(() => parseCaexFragment(c.aml, split.schemaVersion)).not.toThrow();
    expect(c.sha256).toBe(chunkHash(c.parentId, c.aml));
  }
  expect(split.chunks.reduce((n, c) => n + c.elementCount, 0)).toBe(split.elementCount);
  expect(split.digest).toBe(creationDigest([chunkHash('', split.skeleton), ...split.chunks.map((c) => c.sha256)]));
}

describe('splitAmlDocument', () => {
  it.each([
    ['the bottling plant in 1 KiB chunks', PLANT, 1024],
    ['a flat plant of 3,000 sensors', flat(3000), 64 * 1024],
    ['three areas too large for a chunk each (nested split)', nested(400), 32 * 1024],
  ])('cuts %s into pieces that assemble to the document, losslessly', (_name, xml, max) => {
    const split = splitAmlDocument(xml, { maxChunkBytes: max });
    checkPieces(split, max);
    expect(split.chunks.length).toBeGreaterThan(1);
    expect(canonicalizeDocument(assembleAmlSplit(split))).toBe(canonicalizeDocument(xml));
  });

  it('splits a nested area: the area alone first, its children under it after', () => {
    const split = splitAmlDocument(nested(400), { maxChunkBytes: 32 * 1024 });
    const area = split.chunks.find((c) => c.aml.includes('ID="a1"'));
    expect(area).toMatchObject({ parentId: 'IH', elementCount: 1 });
    const children = split.chunks.filter((c) => c.parentId === 'a1');
    expect(children.length).toBeGreaterThan(1);
    for (const c of children) expect(c.after).toBe(area?.index);
  });

  it('takes InternalElements held in a CAEX 2.15 Value for content, not for elements to split or fill', () => {
    // The value quotes an InternalElement with the ID of the area whose children travel in chunks.
    const quoted = '<Attribute Name="Template"><Value>like <InternalElement Name="q" ID="a1"><InternalElement Name="q2" ID="q2"/></InternalElement></Value></Attribute>';
    const xml = nested(40).replace('SchemaVersion="3.0"', 'SchemaVersion="2.15"').replace('<Attribute Name="x"><Value>1</Value></Attribute>', quoted);
    const split = splitAmlDocument(xml, { maxChunkBytes: 1024 });
    checkPieces(split, 1024);
    expect(split.chunks.filter((c) => c.parentId === 'a1').length).toBeGreaterThan(1);
    expect(canonicalizeDocument(assembleAmlSplit(split))).toBe(canonicalizeDocument(xml));
  });

  it('fits 20,000 components in chunks of the default size', () => {
    const xml = flat(AmlLimits.MAX_ELEMENTS_PER_TWIN);
    const split = splitAmlDocument(xml);
    checkPieces(split, 128 * 1024);
    expect(split.elementCount).toBe(20_000);
    expect(canonicalizeDocument(assembleAmlSplit(split))).toBe(canonicalizeDocument(xml));
  });

  it('refuses what the ledger refuses, and an element whose own content exceeds a chunk', () => {
    expect(() => splitAmlDocument(flat(AmlLimits.MAX_ELEMENTS_PER_TWIN + 1))).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }) as never);
    const fat = (n: number): string => `<CAEXFile SchemaVersion="3.0" FileName="f.aml"><InstanceHierarchy Name="IH"><InternalElement Name="F" ID="f"><Description>${'x'.repeat(n)}</Description></InternalElement></InstanceHierarchy></CAEXFile>`;
    // Above the chunk size, an element goes alone, up to the fragment limit.
    expect(splitAmlDocument(fat(5000), { maxChunkBytes: 1024 }).chunks.map((c) => c.elementCount)).toEqual([1]);
    expect(() => splitAmlDocument(fat(AmlLimits.MAX_FRAGMENT_BYTES))).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }) as never);
  });
});
