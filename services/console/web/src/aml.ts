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
      const valueNode = node.children.find((c) => c.tag === 'Value');
      const unit = a['Unit'] ? ` ${a['Unit']}` : '';
      // A CAEX 2.15 value may hold elements (xs:anyType): said so, not shown as its first text.
      if (valueNode !== undefined && valueNode.children.length > 0) return { kind: 'attribute', label: a['Name'] ?? '(attribute)', detail: 'XML content' };
      const value = valueNode?.text;
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

/** One line of a change preview: a tree row kept for context (' '), added ('+') or removed ('-'). */
export interface DiffLine {
  readonly sign: ' ' | '+' | '-';
  readonly depth: number;
  readonly kind: RowKind;
  readonly label: string;
  readonly detail: string;
  readonly elementId: string | undefined;
}

const line = (sign: DiffLine['sign'], r: Row, depthShift = 0): DiffLine => ({ sign, depth: r.depth + depthShift, kind: r.kind, label: r.label, detail: r.detail, elementId: r.elementId });

/** The indices of a row's direct children that are elements (insertAML's `afterId` candidates). */
export function childElements(rows: readonly Row[], parent: number): number[] {
  const p = rows[parent]!;
  const out: number[] = [];
  for (let i = parent + 1; i < p.end; i = rows[i]!.end) if (rows[i]!.elementId !== undefined && rows[i]!.kind !== 'hierarchy') out.push(i);
  return out;
}

/** removeAML(elementId) as a diff: the element's whole subtree goes, under its parent kept for context. */
export function removalPreview(rows: readonly Row[], index: number): DiffLine[] {
  const r = rows[index]!;
  const out: DiffLine[] = [];
  let parent: number | undefined;
  for (let i = index - 1; i >= 0; i--) if (rows[i]!.depth === r.depth - 1) {
    parent = i;
    break;
  }
  if (parent !== undefined) out.push(line(' ', rows[parent]!));
  for (let i = index; i < r.end; i++) out.push(line('-', rows[i]!));
  return out;
}

/**
 * insertAML(fragment, parentId, afterId) as a diff: the parent, its element children for
 * context (one line each), and the fragment's rows added after `afterId` (first when none).
 */
export function insertionPreview(rows: readonly Row[], parent: number, afterId: string | undefined, fragment: readonly Row[]): DiffLine[] {
  const p = rows[parent]!;
  const shift = p.depth + 1;
  const added = fragment.map((r) => line('+', r, shift));
  const out: DiffLine[] = [line(' ', p)];
  if (afterId === undefined) out.push(...added);
  for (const c of childElements(rows, parent)) {
    out.push(line(' ', rows[c]!));
    if (rows[c]!.elementId === afterId) out.push(...added);
  }
  return out;
}

/** Each row's position among its siblings and their count (aria-posinset / aria-setsize): a virtualized tree renders only some of them. */
export function siblingPositions(rows: readonly Row[]): { pos: Uint32Array; size: Uint32Array } {
  const pos = new Uint32Array(rows.length);
  const size = new Uint32Array(rows.length);
  // Walk each sibling list by jumping over subtrees: O(rows) in total.
  const lists: [number, number][] = [[0, rows.length]];
  while (lists.length > 0) {
    const [from, to] = lists.pop()!;
    const members: number[] = [];
    for (let i = from; i < to; i = rows[i]!.end) {
      members.push(i);
      if (rows[i]!.hasChildren) lists.push([i + 1, rows[i]!.end]);
    }
    members.forEach((m, k) => {
      pos[m] = k + 1;
      size[m] = members.length;
    });
  }
  return { pos, size };
}

/** The index of a row's parent row, or undefined for a top-level row. */
export function parentOf(rows: readonly Row[], index: number): number | undefined {
  const depth = rows[index]!.depth;
  for (let i = index - 1; i >= 0; i--) if (rows[i]!.depth < depth) return i;
  return undefined;
}
