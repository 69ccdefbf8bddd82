// The AML specification (spec-service's JSON tree) as flat rows for a virtualized tree view:
// a 5,000-element twin is a few tens of thousands of nodes, so only the visible rows are rendered.
// The tree's shape is the one AML reader's (`@twinledger/aml`, which spec-service serves with
// format=json); the browser parses no XML itself.
import type { AmlNode } from '@twinledger/aml';
export type { AmlNode };

export type RowKind = 'hierarchy' | 'element' | 'program' | 'attribute' | 'interface' | 'link' | 'role';

export interface Row {
  readonly key: string;
  readonly depth: number;
  readonly kind: RowKind;
  readonly label: string;
  readonly detail: string;
  readonly elementId: string | undefined;
  readonly hasChildren: boolean;
  /** Index of the row after this row's subtree, to skip collapsed subtrees in O(1). */
  end: number;
}

const SHOWN = new Set(['InstanceHierarchy', 'InternalElement', 'Attribute', 'ExternalInterface', 'InternalLink', 'RoleRequirements']);

function childText(node: AmlNode, tag: string): string | undefined {
  return node.children.find((c) => c.tag === tag)?.text;
}

function describe(node: AmlNode): { kind: RowKind; label: string; detail: string } {
  const a = node.attributes;
  switch (node.tag) {
    case 'InstanceHierarchy':
      return { kind: 'hierarchy', label: a['Name'] ?? '(hierarchy)', detail: 'instance hierarchy' };
    case 'InternalElement': {
      const program = node.children.some((c) => c.tag === 'RoleRequirements' && (c.attributes['RefBaseRoleClassPath'] ?? '').endsWith('/Program'));
      return { kind: program ? 'program' : 'element', label: a['Name'] ?? a['ID'] ?? '(element)', detail: program ? 'program' : childText(node, 'Description') ?? '' };
    }
    case 'Attribute': {
      const value = childText(node, 'Value');
      const unit = a['Unit'] ? ` ${a['Unit']}` : '';
      return { kind: 'attribute', label: a['Name'] ?? '(attribute)', detail: value !== undefined ? `${value}${unit}` : `${a['AttributeDataType'] ?? ''}${unit}` };
    }
    case 'ExternalInterface':
      return { kind: 'interface', label: a['Name'] ?? '(interface)', detail: (a['RefBaseClassPath'] ?? '').split('/').pop() ?? '' };
    case 'InternalLink':
      return { kind: 'link', label: a['Name'] ?? '(link)', detail: `${a['RefPartnerSideA'] ?? '?'} → ${a['RefPartnerSideB'] ?? '?'}` };
    default:
      return { kind: 'role', label: (a['RefBaseRoleClassPath'] ?? node.tag).split('/').pop() ?? node.tag, detail: 'role' };
  }
}

/** Depth-first rows of the elements worth showing; iterative so deep trees cannot overflow the stack. */
export function flatten(root: AmlNode): Row[] {
  const rows: Row[] = [];
  const stack: { node: AmlNode; depth: number; row?: Row }[] = [];
  const top = root.children.filter((c) => SHOWN.has(c.tag));
  for (let i = top.length - 1; i >= 0; i--) stack.push({ node: top[i]!, depth: 0 });
  const open: Row[] = [];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    while (open.length > depth) open.pop()!.end = rows.length;
    const kids = node.children.filter((c) => SHOWN.has(c.tag));
    const d = describe(node);
    const row: Row = { key: `${rows.length}`, depth, ...d, elementId: node.attributes['ID'], hasChildren: kids.length > 0, end: rows.length + 1 };
    rows.push(row);
    open.push(row);
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ node: kids[i]!, depth: depth + 1 });
  }
  while (open.length > 0) open.pop()!.end = rows.length;
  return rows;
}

/** The rows to show given the collapsed set: skips collapsed subtrees. */
export function visibleRows(rows: readonly Row[], collapsed: ReadonlySet<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < rows.length; ) {
    out.push(i);
    i = collapsed.has(i) ? rows[i]!.end : i + 1;
  }
  return out;
}
