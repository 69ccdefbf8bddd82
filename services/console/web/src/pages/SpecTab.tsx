import { useMemo, useState } from 'react';
import { childElements, flatten, insertionPreview, removalPreview, type AmlNode, type DiffLine, type Row } from '../aml';
import { allPages, call, MAX_PAGE } from '../client';
import { ErrorNotice, NotAllowed } from '../components/ErrorNotice';
import { Receipt } from '../components/Receipt';
import { VirtualTree } from '../components/VirtualTree';
import { useLoad, usePermission } from '../hooks';
import type { ChangeHeader } from '../ledger-types';
import { ChangeTable } from './HistoryTab';

interface Done {
  readonly what: string;
  readonly transactionId: string;
  readonly blockNumber: number | null;
}

export function SpecTab({ twinId }: { twinId: string }) {
  // After a write the tree is re-read fenced at its transaction: spec-service's read model
  // answers only once it reflects that transaction (else its cached tree could be the one
  // before the write, and nothing would read it again).
  const [fence, setFence] = useState<string>();
  const spec = useLoad(
    (signal) => call('spec', 'get', '/twins/{twinId}/spec', { params: { twinId }, query: { format: 'json', ...(fence ? { atLeastTx: fence } : {}) }, signal }),
    [twinId, fence],
  );
  const rows = useMemo(() => {
    const d = spec.data;
    return d && typeof d === 'object' ? flatten(d.tree as unknown as AmlNode) : [];
  }, [spec.data]);
  const [selectedId, setSelectedId] = useState<string>();
  // The selection follows the element across reloads (row indices change after an edit).
  const selected = useMemo(() => (selectedId === undefined ? undefined : rows.findIndex((r) => r.elementId === selectedId)), [rows, selectedId]);
  const [done, setDone] = useState<Done>();
  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const r of rows) c[r.kind] = (c[r.kind] ?? 0) + 1;
    return c;
  }, [rows]);
  const committed = (d: Done, keepSelection: boolean): void => {
    setDone(d);
    if (!keepSelection) setSelectedId(undefined);
    setFence(d.transactionId);
  };

  return (
    <div className="spec-layout">
      <div>
        <h2 id="spec-title">AML specification</h2>
        <ErrorNotice error={spec.error} action="read the specification" />
        {spec.loading ? <p role="status">Loading the specification…</p> : null}
        {done ? <Receipt {...done} /> : null}
        {rows.length > 0 ? (
          <>
            <p className="muted" data-testid="spec-summary">
              {counts['element'] ?? 0} components, {counts['attribute'] ?? 0} attributes, {counts['interface'] ?? 0} interfaces, {counts['program'] ?? 0} programs
            </p>
            <VirtualTree rows={rows} label="AML specification" onSelect={(r) => setSelectedId(r.elementId)} selected={selectedId} />
          </>
        ) : null}
      </div>
      <aside aria-labelledby="element-title">
        <h2 id="element-title">Element</h2>
        {selected !== undefined && selected >= 0 ? (
          <>
            <ElementDetail twinId={twinId} row={rows[selected]!} />
            <ElementEdit key={rows[selected]!.elementId} twinId={twinId} rows={rows} index={selected} onCommitted={committed} />
          </>
        ) : (
          <p>Select a component, program or interface to see its history and change it.</p>
        )}
      </aside>
    </div>
  );
}

function ElementDetail({ twinId, row }: { twinId: string; row: Row }) {
  const elementId = row.elementId!;
  const history = useLoad(
    (signal) =>
      allPages((bookmark) => call('spec', 'get', '/twins/{twinId}/history', { params: { twinId }, query: { elementId, limit: MAX_PAGE, bookmark }, signal })).then((changes) => ({
        changes: changes as unknown as ChangeHeader[],
      })),
    [twinId, elementId],
  );
  return (
    <div data-testid="element-detail">
      <p>
        <strong>{row.label}</strong> ({row.kind}) <code>{elementId}</code>
      </p>
      <h3>Element history</h3>
      <ErrorNotice error={history.error} action="read the element history" />
      {history.data ? <ChangeTable changes={history.data.changes} caption={`Changes to ${row.label}`} /> : null}
    </div>
  );
}

/** The fragment's elements as the tree shows them, read by the browser's XML parser for the preview only (the service and the ledger judge it on commit). */
function fragmentRows(aml: string): Row[] {
  const body = aml.replace(/^\s*<\?xml[^>]*\?>/, '');
  const doc = new DOMParser().parseFromString(`<Fragment>${body}</Fragment>`, 'application/xml');
  const error = doc.getElementsByTagName('parsererror')[0];
  if (error) throw new Error(`the fragment is not well-formed XML: ${(error.textContent ?? '').trim().split('\n')[0] ?? ''}`);
  const toNode = (root: Element): AmlNode => {
    const out: AmlNode = { tag: root.tagName, attributes: {}, children: [] };
    const stack: [Element, AmlNode][] = [[root, out]];
    while (stack.length > 0) {
      const [el, node] = stack.pop()!;
      for (const a of Array.from(el.attributes)) node.attributes[a.name] = a.value;
      const text = Array.from(el.childNodes).filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent ?? '').join('').trim();
      if (text !== '') (node as { text?: string }).text = text;
      for (const c of Array.from(el.children)) {
        const n: AmlNode = { tag: c.tagName, attributes: {}, children: [] };
        node.children.push(n);
        stack.push([c, n]);
      }
    }
    return out;
  };
  const rows = flatten(toNode(doc.documentElement));
  if (!rows.some((r) => r.kind === 'element' || r.kind === 'program' || r.kind === 'hierarchy')) throw new Error('the fragment holds no InternalElement or InstanceHierarchy');
  return rows;
}

type Pending = { readonly op: 'remove'; readonly lines: DiffLine[] } | { readonly op: 'insert'; readonly lines: DiffLine[]; readonly aml: string; readonly afterId: string | undefined };

/**
 * Insert under or remove the selected element: first a preview of the change as a diff of the
 * tree, then the write through spec-service (insertAML / removeAML), answered with its
 * transaction and block.
 */
function ElementEdit({ twinId, rows, index, onCommitted }: { twinId: string; rows: readonly Row[]; index: number; onCommitted: (d: Done, keepSelection: boolean) => void }) {
  const row = rows[index]!;
  const elementId = row.elementId!;
  const may = usePermission(twinId, 'spec:write');
  const [aml, setAml] = useState('');
  const [afterId, setAfterId] = useState<string>('');
  const [pending, setPending] = useState<Pending>();
  const [problem, setProblem] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const children = useMemo(() => childElements(rows, index), [rows, index]);

  if (may && !may.allowed) return <NotAllowed what="change the specification (spec:write)" reason={may.reason} />;

  const previewInsert = (): void => {
    setProblem(undefined);
    setError(undefined);
    try {
      const after = afterId === '' ? undefined : afterId;
      setPending({ op: 'insert', aml, afterId: after, lines: insertionPreview(rows, index, after, fragmentRows(aml)) });
    } catch (e) {
      setPending(undefined);
      setProblem((e as Error).message);
    }
  };
  const commit = async (): Promise<void> => {
    if (!pending) return;
    setBusy(true);
    setError(undefined);
    try {
      if (pending.op === 'remove') {
        const r = await call('spec', 'delete', '/twins/{twinId}/elements/{elementId}', { params: { twinId, elementId } });
        onCommitted({ what: `Removed ${row.label} (${elementId})`, transactionId: r.transactionId, blockNumber: r.blockNumber }, false);
      } else {
        const r = await call('spec', 'post', '/twins/{twinId}/elements', { params: { twinId }, body: { aml: pending.aml, parentId: elementId, ...(pending.afterId ? { afterId: pending.afterId } : {}) } });
        onCommitted({ what: `Inserted under ${row.label} (${elementId})`, transactionId: r.transactionId, blockNumber: r.blockNumber }, true);
        setAml('');
      }
      setPending(undefined);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="card" data-testid="element-edit">
      <h3>Change the specification</h3>
      <label htmlFor="insert-aml">AML fragment to insert under {row.label}</label>
      <textarea id="insert-aml" rows={6} value={aml} onChange={(e) => setAml(e.target.value)} spellCheck={false} />
      <label htmlFor="insert-after">Position</label>
      <select id="insert-after" value={afterId} onChange={(e) => setAfterId(e.target.value)}>
        <option value="">first child</option>
        {children.map((c) => (
          <option key={rows[c]!.elementId} value={rows[c]!.elementId}>
            after {rows[c]!.label} ({rows[c]!.elementId})
          </option>
        ))}
      </select>
      <p className="controls">
        <button type="button" onClick={previewInsert} disabled={aml.trim() === ''}>
          Preview insertion
        </button>
        <button type="button" onClick={() => setPending({ op: 'remove', lines: removalPreview(rows, index) })}>
          Preview removal of {row.label}
        </button>
      </p>
      {problem ? (
        <p role="alert" className="notice">
          {problem}
        </p>
      ) : null}
      {pending ? (
        <section aria-labelledby="preview-title" className="preview" data-testid="change-preview">
          <h4 id="preview-title">{pending.op === 'remove' ? `Preview: remove ${row.label} and everything under it` : `Preview: insert under ${row.label}`}</h4>
          <Diff lines={pending.lines} />
          <p className="controls">
            <button type="button" onClick={() => void commit()} disabled={busy}>
              {busy ? 'Committing…' : pending.op === 'remove' ? 'Commit removal' : 'Commit insertion'}
            </button>
            <button type="button" onClick={() => setPending(undefined)} disabled={busy}>
              Cancel
            </button>
          </p>
        </section>
      ) : null}
      <ErrorNotice error={error} action={pending?.op === 'remove' ? 'remove the element' : 'insert the fragment'} />
    </div>
  );
}

function Diff({ lines }: { lines: readonly DiffLine[] }) {
  const added = lines.filter((l) => l.sign === '+').length;
  const removed = lines.filter((l) => l.sign === '-').length;
  return (
    <>
      <p>
        {added > 0 ? <span className="diff-add">{added} rows added</span> : null}
        {added > 0 && removed > 0 ? ', ' : null}
        {removed > 0 ? <span className="diff-del">{removed} rows removed</span> : null}
      </p>
      <ul className="diff" aria-label="Change preview">
        {lines.map((l, i) => (
          <li key={i} className={l.sign === '+' ? 'diff-add' : l.sign === '-' ? 'diff-del' : 'diff-ctx'} style={{ paddingLeft: `${0.5 + l.depth}rem` }}>
            <span aria-hidden="true" className="sign">
              {l.sign}
            </span>
            <span className="visually-hidden">{l.sign === '+' ? 'added: ' : l.sign === '-' ? 'removed: ' : 'unchanged: '}</span>
            <span className={`badge badge-${l.kind}`}>{l.kind}</span> {l.label} {l.elementId ? <code>{l.elementId}</code> : null} <span className="muted">{l.detail}</span>
          </li>
        ))}
      </ul>
    </>
  );
}
