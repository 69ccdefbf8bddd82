import { useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { parentOf, siblingPositions, visibleRows, type Row } from '../aml';

const ROW_HEIGHT = 28;
const OVERSCAN = 10;

/**
 * A WAI-ARIA tree (APG tree view pattern) that renders only the rows in view, so a
 * specification of thousands of elements opens at once. Keys: Up/Down move; Right opens a closed
 * node, else moves to its first child; Left closes an open node, else moves to its parent;
 * Home/End first/last; PageUp/PageDown a page; Enter or Space selects; `*` opens every sibling;
 * a printable character moves to the next row whose label starts with it. Rows that are not
 * rendered still count: each rendered row carries aria-level, aria-posinset and aria-setsize.
 */
export function VirtualTree({ rows, label, height = 480, onSelect, selected }: { rows: readonly Row[]; label: string; height?: number; onSelect?: (row: Row) => void; selected?: string | undefined }) {
  const [collapsed, setCollapsed] = useState<ReadonlySet<number>>(() => new Set());
  const [scrollTop, setScrollTop] = useState(0);
  const [focus, setFocus] = useState(0);
  const box = useRef<HTMLDivElement>(null);
  const visible = useMemo(() => visibleRows(rows, collapsed), [rows, collapsed]);
  const siblings = useMemo(() => siblingPositions(rows), [rows]);
  /** Row index -> position among the visible rows (moves to a parent or child go by row index). */
  const positionOf = (idx: number): number => visible.indexOf(idx);
  const page = Math.max(1, Math.floor(height / ROW_HEIGHT) - 1);
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(visible.length, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);

  const toggle = (i: number, open?: boolean): void => {
    setCollapsed((prev) => {
      const next = new Set(prev);
      const isOpen = !next.has(i);
      if (open === undefined ? isOpen : !open) next.add(i);
      else next.delete(i);
      return next;
    });
  };
  const moveTo = (pos: number): void => {
    const p = Math.max(0, Math.min(visible.length - 1, pos));
    setFocus(p);
    const el = box.current;
    if (el) {
      const top = p * ROW_HEIGHT;
      if (top < el.scrollTop) el.scrollTop = top;
      else if (top + ROW_HEIGHT > el.scrollTop + height) el.scrollTop = top + ROW_HEIGHT - height;
    }
  };
  const onKey = (e: KeyboardEvent): void => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const at = Math.min(focus, visible.length - 1);
    const idx = visible[at];
    if (idx === undefined) return;
    const row = rows[idx]!;
    const open = row.hasChildren && !collapsed.has(idx);
    if (e.key === 'ArrowDown') moveTo(at + 1);
    else if (e.key === 'ArrowUp') moveTo(at - 1);
    else if (e.key === 'Home') moveTo(0);
    else if (e.key === 'End') moveTo(visible.length - 1);
    else if (e.key === 'PageDown') moveTo(at + page);
    else if (e.key === 'PageUp') moveTo(at - page);
    else if (e.key === 'ArrowRight') {
      if (row.hasChildren && !open) toggle(idx, true);
      else if (open) moveTo(at + 1);
    } else if (e.key === 'ArrowLeft') {
      if (open) toggle(idx, false);
      else {
        const p = parentOf(rows, idx);
        if (p !== undefined) moveTo(positionOf(p));
      }
    } else if (e.key === 'Enter' || e.key === ' ') onSelect?.(row);
    else if (e.key === '*') {
      // Opens the focused row's siblings (APG): the rows under the same parent with children.
      const p = parentOf(rows, idx);
      const from = p === undefined ? 0 : p + 1;
      const to = p === undefined ? rows.length : rows[p]!.end;
      setCollapsed((prev) => {
        const next = new Set(prev);
        for (let i = from; i < to; i = rows[i]!.end) next.delete(i);
        return next;
      });
    } else if (e.key.length === 1 && /\S/.test(e.key)) {
      const ch = e.key.toLowerCase();
      for (let k = 1; k <= visible.length; k++) {
        const p = (at + k) % visible.length;
        if (rows[visible[p]!]!.label.toLowerCase().startsWith(ch)) {
          moveTo(p);
          break;
        }
      }
    } else return;
    e.preventDefault();
  };

  const activeId = visible[Math.min(focus, visible.length - 1)] !== undefined ? `tree-row-${visible[Math.min(focus, visible.length - 1)]}` : undefined;
  return (
    <div
      ref={box}
      className="tree"
      role="tree"
      aria-label={label}
      tabIndex={0}
      aria-activedescendant={activeId}
      style={{ height, overflowY: 'auto' }}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      onKeyDown={onKey}
      data-rows={rows.length}
    >
      <div style={{ height: visible.length * ROW_HEIGHT, position: 'relative' }} role="presentation">
        {visible.slice(first, last).map((idx, k) => {
          const row = rows[idx]!;
          const pos = first + k;
          const expanded = row.hasChildren ? !collapsed.has(idx) : undefined;
          return (
            <div
              key={row.key}
              id={`tree-row-${idx}`}
              role="treeitem"
              aria-level={row.depth + 1}
              aria-posinset={siblings.pos[idx]}
              aria-setsize={siblings.size[idx]}
              aria-expanded={expanded}
              aria-selected={selected !== undefined && row.elementId === selected}
              className={`tree-row kind-${row.kind}${pos === focus ? ' focused' : ''}`}
              style={{ position: 'absolute', top: pos * ROW_HEIGHT, height: ROW_HEIGHT, paddingLeft: 8 + row.depth * 16, left: 0, right: 0 }}
              onClick={() => {
                setFocus(pos);
                onSelect?.(row);
              }}
            >
              {row.hasChildren ? (
                <span
                  className="twisty"
                  aria-hidden="true"
                  onClick={(e) => {
                    e.stopPropagation();
                    toggle(idx);
                  }}
                >
                  {expanded ? '▾' : '▸'}
                </span>
              ) : (
                <span className="twisty" aria-hidden="true" />
              )}
              <span className={`badge badge-${row.kind}`}>{row.kind}</span> <span className="label">{row.label}</span>{' '}
              <span className="detail">{row.detail}</span>
            </div>
          );
        })}
      </div>
    </div>
  );
}
