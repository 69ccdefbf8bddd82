import { useState, type FormEvent } from 'react';
import { allPages, call, MAX_PAGE } from '../client';
import { ErrorNotice, NotAllowed } from '../components/ErrorNotice';
import { Receipt } from '../components/Receipt';
import { useLoad, usePermission } from '../hooks';
import type { ExternalSource } from '../ledger-types';
import { isWebLink } from '../links';


/**
 * The twin's external sources (paper: `externalSources` {URI, owner}): data kept outside the
 * ledger and the DHT that the parties point each other to. Adding and removing needs spec:write
 * (the chaincode decides; the page pre-checks only to explain).
 */
export function SourcesTab({ twinId }: { twinId: string }) {
  const sources = useLoad(
    (signal) => allPages((bookmark) => call('spec', 'get', '/twins/{twinId}/sources', { params: { twinId }, query: { limit: MAX_PAGE, bookmark }, signal })).then((items) => items as unknown as ExternalSource[]),
    [twinId],
  );
  const may = usePermission(twinId, 'spec:write');
  const [error, setError] = useState<unknown>();
  const [receipt, setReceipt] = useState<{ what: string; transactionId: string; blockNumber: number | null }>();

  const act = async (what: string, run: () => Promise<{ transactionId: string; blockNumber: number | null }>): Promise<void> => {
    setError(undefined);
    setReceipt(undefined);
    try {
      const r = await run();
      setReceipt({ what, transactionId: r.transactionId, blockNumber: r.blockNumber });
      sources.reload();
    } catch (err) {
      setError(err);
    }
  };
  const add = (e: FormEvent<HTMLFormElement>): void => {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    const uri = String(d.get('uri') ?? '').trim();
    const description = String(d.get('description') ?? '').trim();
    void act(`External source ${uri} added`, () => call('spec', 'post', '/twins/{twinId}/sources', { params: { twinId }, body: { uri, ...(description ? { description } : {}) } }));
  };

  return (
    <>
      <h2>External sources</h2>
      <ErrorNotice error={sources.error} action="list external sources" />
      <ErrorNotice error={error} action="change external sources" />
      {receipt ? <Receipt {...receipt} /> : null}
      {sources.data && sources.data.length === 0 ? <p>No external sources recorded for this twin.</p> : null}
      {sources.data && sources.data.length > 0 ? (
        <table className="fit">
          <caption>External sources on the ledger</caption>
          <thead>
            <tr>
              <th scope="col">URI</th>
              <th scope="col">Description</th>
              <th scope="col">Added by</th>
              <th scope="col">Transaction</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {sources.data.map((s) => (
              <tr key={s.uri}>
                <td className="wrap">
                  {isWebLink(s.uri) ? (
                    <a href={s.uri} rel="noopener noreferrer nofollow" target="_blank">
                      {s.uri}
                    </a>
                  ) : (
                    <code>{s.uri}</code>
                  )}
                </td>
                <td className="wrap">{s.description ?? ''}</td>
                <td>
                  {typeof s.owner === 'string' ? s.owner : s.owner.mspId} {s.timestamp ? <span className="muted">{s.timestamp}</span> : null}
                </td>
                <td>{s.txId ? <code title={s.txId}>{s.txId.slice(0, 12)}…</code> : '—'}</td>
                <td>
                  <button
                    type="button"
                    disabled={may !== undefined && !may.allowed}
                    onClick={() => void act(`External source ${s.uri} removed`, () => call('spec', 'delete', '/twins/{twinId}/sources', { params: { twinId }, query: { uri: s.uri } }))}
                    aria-label={`Remove external source ${s.uri}`}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {may && !may.allowed ? (
        <NotAllowed what="add or remove external sources (spec:write)" reason={may.reason} />
      ) : (
        <form onSubmit={add} className="card">
          <h3>Add an external source</h3>
          <label htmlFor="source-uri">URI</label>
          <input id="source-uri" name="uri" type="url" required maxLength={2048} size={60} />
          <label htmlFor="source-description">Description (optional)</label>
          <input id="source-description" name="description" maxLength={4096} size={60} />
          <p>
            <button type="submit">Add source</button>
          </p>
        </form>
      )}
    </>
  );
}
