import { useState } from 'react';
import { call, send } from '../client';
import { ErrorNotice } from '../components/ErrorNotice';
import { useLoad } from '../hooks';
import type { TwinHeader } from '../ledger-types';
import { AccessTab } from './AccessTab';
import { AuditTab } from './AuditTab';
import { DocumentsTab } from './DocumentsTab';
import { FeedsTab } from './FeedsTab';
import { HistoryTab } from './HistoryTab';
import { ProgramsTab } from './ProgramsTab';
import { SourcesTab } from './SourcesTab';
import { SpecTab } from './SpecTab';

const TABS = [
  ['spec', 'Specification'],
  ['history', 'History'],
  ['documents', 'Documents'],
  ['feeds', 'Sensor feeds'],
  ['sources', 'External sources'],
  ['programs', 'Programs'],
  ['access', 'Roles and grants'],
  ['audit', 'Audit'],
] as const;
type Tab = (typeof TABS)[number][0];

/**
 * The twin as an AASX package (spec-service GET /twins/:twinId/aasx): shell, submodels, the AML
 * and the documents this user may read, each document verified against the ledger's hash by
 * the service before it is packed.
 */
function AasxDownload({ twinId }: { twinId: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const download = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      const res = await send('spec', 'get', '/twins/{twinId}/aasx', { params: { twinId } });
      const url = URL.createObjectURL(new Blob([await res.arrayBuffer()], { type: 'application/asset-administration-shell-package' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `${twinId.replace(/[^A-Za-z0-9._-]/g, '_')}.aasx`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <p>
      <button type="button" onClick={() => void download()} disabled={busy} aria-label={`Download ${twinId} as an AASX package (Asset Administration Shell)`}>
        {busy ? 'Packing AASX…' : 'AASX'}
      </button>
      <ErrorNotice error={error} action="download the AASX package" />
    </p>
  );
}

export function TwinView({ twinId, tab }: { twinId: string; tab: string | undefined }) {
  const current: Tab = (TABS.find(([k]) => k === tab)?.[0] ?? 'spec') as Tab;
  const header = useLoad((signal) => call('spec', 'get', '/twins/{twinId}', { params: { twinId }, signal }) as Promise<unknown> as Promise<TwinHeader>, [twinId]);
  const base = `#/twins/${encodeURIComponent(twinId)}`;
  return (
    <section aria-labelledby="twin-title">
      <p>
        <a href="#/">← All twins</a>
      </p>
      <h1 id="twin-title">{header.data?.deviceName ?? twinId}</h1>
      <ErrorNotice error={header.error} action="read the twin" />
      {header.data ? (
        <dl className="facts">
          <dt>Twin ID</dt>
          <dd>
            <code>{header.data.twinId}</code>
          </dd>
          <dt>Device</dt>
          <dd>{header.data.deviceId}</dd>
          <dt>Created</dt>
          <dd>
            {header.data.createdAt} by {header.data.createdBy.mspId} (tx <code>{header.data.txId.slice(0, 16)}…</code>)
          </dd>
        </dl>
      ) : null}
      {header.data ? <AasxDownload twinId={twinId} /> : null}
      <nav aria-label="Twin sections" className="tabs">
        {TABS.map(([key, label]) => (
          <a key={key} href={`${base}/${key}`} aria-current={key === current ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      <div className="tab-panel">
        {current === 'spec' ? <SpecTab twinId={twinId} /> : null}
        {current === 'history' ? <HistoryTab twinId={twinId} /> : null}
        {current === 'documents' ? <DocumentsTab twinId={twinId} /> : null}
        {current === 'feeds' ? <FeedsTab twinId={twinId} /> : null}
        {current === 'sources' ? <SourcesTab twinId={twinId} /> : null}
        {current === 'programs' ? <ProgramsTab twinId={twinId} /> : null}
        {current === 'access' ? <AccessTab twinId={twinId} /> : null}
        {current === 'audit' ? <AuditTab twinId={twinId} /> : null}
      </div>
    </section>
  );
}
