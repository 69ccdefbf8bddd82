import { useState, type FormEvent } from 'react';
import { call, send } from '../client';
import { ErrorNotice } from '../components/ErrorNotice';
import { saveAs } from '../download';
import { AnchoredRoots, VerifiedBundle } from '../components/FeedEvidence';

interface AsOf {
  readonly asOf: { lastTxId?: string; lastTimestamp?: string };
  readonly twin: { deviceName?: string } | null;
  readonly specification: unknown;
  readonly documents: readonly unknown[];
  readonly sensorFeeds: readonly unknown[];
  readonly grants: readonly unknown[];
  readonly programCalls: readonly unknown[];
}

/** `at` as the services take it: a 64-hex transaction ID, an ISO time, or epoch milliseconds. */
function normalizeAt(raw: string): string {
  const v = raw.trim();
  if (/^[0-9a-f]{64}$/i.test(v) || /^\d+$/.test(v)) return v;
  const t = Date.parse(v);
  return Number.isFinite(t) ? new Date(t).toISOString() : v;
}

export function AuditTab({ twinId }: { twinId: string }) {
  const [asOf, setAsOf] = useState<AsOf>();
  const [error, setError] = useState<unknown>();
  const [exportError, setExportError] = useState<unknown>();
  const [exported, setExported] = useState<string>();

  const load = async (e: FormEvent<HTMLFormElement>): Promise<void> => {
    e.preventDefault();
    const at = normalizeAt(String(new FormData(e.currentTarget).get('at') ?? ''));
    setError(undefined);
    setAsOf(undefined);
    try {
      setAsOf((await call('spec', 'get', '/twins/{twinId}/as-of', { params: { twinId }, query: { at }, signal: undefined })) as unknown as AsOf);
    } catch (err) {
      setError(err);
    }
  };
  const exportBundle = async (e: FormEvent<HTMLFormElement>): Promise<void> => {
    e.preventDefault();
    const raw = String(new FormData(e.currentTarget).get('exportAt') ?? '').trim();
    setExportError(undefined);
    setExported(undefined);
    try {
      const res = await send('spec', 'get', '/twins/{twinId}/audit-export', { params: { twinId }, query: raw ? { at: normalizeAt(raw) } : {} });
      const text = await res.text();
      saveAs(new Blob([text], { type: 'application/json' }), `audit-${twinId}${raw ? `-${raw.replace(/[^\w-]/g, '_')}` : ''}.json`);
      setExported(`Audit bundle exported (${text.length} bytes).`);
    } catch (err) {
      setExportError(err);
    }
  };

  return (
    <>
      <h2>Audit</h2>
      <form className="card" onSubmit={(e) => void load(e)} aria-labelledby="asof-title">
        <h3 id="asof-title">The twin as of a transaction or time</h3>
        <label htmlFor="asof-at">Transaction ID, ISO time (UTC) or epoch milliseconds</label>
        <input id="asof-at" name="at" required />
        <button type="submit">Show</button>
      </form>
      <ErrorNotice error={error} action="read the twin as of that point" />
      {asOf ? (
        <div data-testid="as-of">
          <p role="status">
            As of transaction <code>{asOf.asOf.lastTxId ?? '—'}</code> at {asOf.asOf.lastTimestamp ?? '—'}: {asOf.documents.length} documents, {asOf.sensorFeeds.length} feeds,{' '}
            {asOf.grants.length} grants, {asOf.programCalls.length} program calls.
          </p>
          <details>
            <summary>Specification as of then</summary>
            <pre className="aml">{typeof asOf.specification === 'string' ? asOf.specification : JSON.stringify(asOf.specification, null, 2)}</pre>
          </details>
        </div>
      ) : null}
      <form className="card" onSubmit={(e) => void exportBundle(e)} aria-labelledby="export-title">
        <h3 id="export-title">Audit bundle</h3>
        <label htmlFor="export-at">As of (optional; empty = now)</label>
        <input id="export-at" name="exportAt" />
        <button type="submit">Export audit bundle</button>
        {exported ? <p role="status">{exported}</p> : null}
        <ErrorNotice error={exportError} action="export the audit bundle" />
      </form>
      <AnchoredRoots twinId={twinId} />
      <VerifiedBundle twinId={twinId} />
    </>
  );
}
