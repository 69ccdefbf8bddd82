import { useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { visibleRows, type Row } from '../aml';

const ROW_HEIGHT = 28;
const OVERSCAN = 10;

/**
 * A WAI-ARIA tree that renders only the rows in view, so a specification of thousands of
 * elements opens at once. Arrow keys move, Left/Right collapse/expand, Enter selects.
 */
export function VirtualTree({ rows, label, height = 480, onSelect, selected }: { rows: readonly Row[]; label: string; height?: number; onSelect?: (row: Row) => void; selected?: string | undefined }) {
  const [collapsed, setCollapsed] = useState<ReadonlySet<number>>(() => new Set());
  const [scrollTop, setScrollTop] = useState(0);
  const [focus, setFocus] = useState(0);
  const box = useRef<HTMLDivElement>(null);
  const visible = useMemo(() => visibleRows(rows, collapsed), [rows, collapsed]);
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
    const idx = visible[focus];
    if (idx === undefined) return;
    const row = rows[idx]!;
    if (e.key === 'ArrowDown') moveTo(focus + 1);
    else if (e.key === 'ArrowUp') moveTo(focus - 1);
    else if (e.key === 'Home') moveTo(0);
    else if (e.key === 'End') moveTo(visible.length - 1);
    else if (e.key === 'ArrowRight' && row.hasChildren) toggle(idx, true);
    else if (e.key === 'ArrowLeft' && row.hasChildren) toggle(idx, false);
    else if (e.key === 'Enter' || e.key === ' ') onSelect?.(row);
    else return;
    e.preventDefault();
  };

  const activeId = visible[focus] !== undefined ? `tree-row-${visible[focus]}` : undefined;
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
