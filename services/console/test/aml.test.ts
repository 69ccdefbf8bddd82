import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { flatten, visibleRows, type AmlNode } from '../web/src/aml.js';

function el(tag: string, attributes: Record<string, string>, children: AmlNode[] = [], text?: string): AmlNode {
  return { tag, attributes, children, ...(text !== undefined ? { text } : {}) };
}

describe('AML tree rows', () => {
  const tree = el('CAEXFile', {}, [
    el('SuperiorStandardVersion', {}, [], 'AutomationML 2.10'),
    el('InstanceHierarchy', { Name: 'Plant', ID: 'ih' }, [
      el('InternalElement', { Name: 'Filler', ID: 'f1' }, [
        el('Attribute', { Name: 'Throughput', Unit: 'bottles/h' }, [el('Value', {}, [], '12000')]),
        el('InternalElement', { Name: 'SetSpeed', ID: 'p1' }, [el('Attribute', { Name: 'speed', AttributeDataType: 'xs:double' }), el('RoleRequirements', { RefBaseRoleClassPath: 'TwinLedgerRoleClassLib/Program' })]),
      ]),
      el('InternalElement', { Name: 'Valve', ID: 'v1' }, [el('ExternalInterface', { Name: 'Signal', ID: 's', RefBaseClassPath: 'Lib/SignalInterface' })]),
    ]),
  ]);

  it('flattens depth first with kinds, labels, subtree ends', () => {
    const rows = flatten(tree);
    expect(rows.map((r) => [r.depth, r.kind, r.label, r.detail, r.end])).toEqual([
      [0, 'hierarchy', 'Plant', 'instance hierarchy', 8],
      [1, 'element', 'Filler', '', 6],
      [2, 'attribute', 'Throughput', '12000 bottles/h', 3],
      [2, 'program', 'SetSpeed', 'program', 6],
      [3, 'attribute', 'speed', 'xs:double', 5],
      [3, 'role', 'Program', 'role', 6],
      [1, 'element', 'Valve', '', 8],
      [2, 'interface', 'Signal', 'SignalInterface', 8],
    ]);
  });

  it('says an attribute value is XML content (CAEX 2.15), not an empty value with its unit', () => {
    const value = el('Value', {}, [el('#text', {}, [], 'up to '), el('b', {}, [], '5'), el('Attribute', { Name: 'inside' })]);
    const rows = flatten(el('CAEXFile', {}, [el('InstanceHierarchy', { Name: 'H' }, [el('Attribute', { Name: 'Stroke', Unit: 'mm' }, [value])])]));
    expect(rows.map((r) => [r.kind, r.label, r.detail])).toEqual([
      ['hierarchy', 'H', 'instance hierarchy'],
      ['attribute', 'Stroke', 'XML content'],
    ]);
  });

  it('skips collapsed subtrees', () => {
    const rows = flatten(tree);
    expect(visibleRows(rows, new Set())).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(visibleRows(rows, new Set([1]))).toEqual([0, 1, 6, 7]);
    expect(visibleRows(rows, new Set([0]))).toEqual([0]);
  });

  it('handles a deep tree without recursion', () => {
    let node = el('InternalElement', { Name: 'leaf', ID: 'leaf' });
    for (let i = 0; i < 20_000; i++) node = el('InternalElement', { Name: `n${i}`, ID: `n${i}` }, [node]);
    const rows = flatten(el('CAEXFile', {}, [el('InstanceHierarchy', { Name: 'deep' }, [node])]));
    expect(rows).toHaveLength(20_002);
    expect(rows[0]!.end).toBe(20_002);
    expect(rows.at(-1)!.depth).toBe(20_001);
  });

  it('reads the fixture shape: programs are marked', () => {
    const aml = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');
    expect(aml).toContain('TwinLedgerRoleClassLib/Program');
  });
});
