import { useMemo, useState } from 'react';
import { flatten, type AmlNode, type Row } from '../aml';
import { allPages, call, MAX_PAGE } from '../client';
import { ErrorNotice } from '../components/ErrorNotice';
import { VirtualTree } from '../components/VirtualTree';
import { useLoad } from '../hooks';
import type { ChangeHeader } from '../ledger-types';
import { ChangeTable } from './HistoryTab';

export function SpecTab({ twinId }: { twinId: string }) {
  const spec = useLoad((signal) => call('spec', 'get', '/twins/{twinId}/spec', { params: { twinId }, query: { format: 'json' }, signal }), [twinId]);
  const rows = useMemo(() => {
    const d = spec.data;
    return d && typeof d === 'object' ? flatten(d.tree as unknown as AmlNode) : [];
  }, [spec.data]);
  const [selected, setSelected] = useState<Row>();
  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const r of rows) c[r.kind] = (c[r.kind] ?? 0) + 1;
    return c;
  }, [rows]);

  return (
    <div className="spec-layout">
      <div>
        <h2 id="spec-title">AML specification</h2>
        <ErrorNotice error={spec.error} action="read the specification" />
        {spec.loading ? <p role="status">Loading the specification…</p> : null}
        {rows.length > 0 ? (
          <>
            <p className="muted" data-testid="spec-summary">
              {counts['element'] ?? 0} components, {counts['attribute'] ?? 0} attributes, {counts['interface'] ?? 0} interfaces, {counts['program'] ?? 0} programs
            </p>
            <VirtualTree rows={rows} label="AML specification" onSelect={setSelected} selected={selected?.elementId} />
          </>
        ) : null}
      </div>
      <aside aria-labelledby="element-title">
        <h2 id="element-title">Element</h2>
        {selected?.elementId ? <ElementDetail twinId={twinId} row={selected} /> : <p>Select a component, program or interface to see its history.</p>}
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
