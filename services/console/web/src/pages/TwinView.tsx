import { call } from '../client';
import { ErrorNotice } from '../components/ErrorNotice';
import { useLoad } from '../hooks';
import type { TwinHeader } from '../ledger-types';
import { AccessTab } from './AccessTab';
import { AuditTab } from './AuditTab';
import { DocumentsTab } from './DocumentsTab';
import { FeedsTab } from './FeedsTab';
import { HistoryTab } from './HistoryTab';
import { ProgramsTab } from './ProgramsTab';
import { SpecTab } from './SpecTab';

const TABS = [
  ['spec', 'Specification'],
  ['history', 'History'],
  ['documents', 'Documents'],
  ['feeds', 'Sensor feeds'],
  ['programs', 'Programs'],
  ['access', 'Roles and grants'],
  ['audit', 'Audit'],
] as const;
type Tab = (typeof TABS)[number][0];

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
        {current === 'programs' ? <ProgramsTab twinId={twinId} /> : null}
        {current === 'access' ? <AccessTab twinId={twinId} /> : null}
        {current === 'audit' ? <AuditTab twinId={twinId} /> : null}
      </div>
    </section>
  );
}
