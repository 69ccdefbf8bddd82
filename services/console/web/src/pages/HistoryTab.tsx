import { allPages, call, MAX_PAGE } from '../client';
import { ErrorNotice } from '../components/ErrorNotice';
import { useLoad } from '../hooks';
import type { ChangeHeader } from '../ledger-types';

export function ChangeTable({ changes, caption }: { changes: readonly ChangeHeader[]; caption: string }) {
  if (changes.length === 0) return <p>No changes recorded.</p>;
  return (
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Who</th>
          <th scope="col">Operation</th>
          <th scope="col">Transaction</th>
          <th scope="col">Block</th>
        </tr>
      </thead>
      <tbody>
        {changes.map((c) => (
          <tr key={`${c.txId}:${c.operation}`}>
            <td>{c.timestamp}</td>
            <td>
              {c.mspId} <span className="muted">{shortIdentity(c.creator)}</span>
            </td>
            <td>
              {c.operation}
              {c.targets.length > 0 ? <span className="muted"> {c.targets.map((t) => `${t.kind}:${t.id}`).join(', ').slice(0, 80)}</span> : null}
            </td>
            <td>
              <code title={c.txId}>{c.txId.slice(0, 12)}…</code>
            </td>
            <td>{c.blockNumber ?? '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `x509::/C=US/.../CN=User1@org1.example.com::/...` → `User1@org1.example.com`. */
function shortIdentity(creator: string): string {
  return /CN=([^/:]+)/.exec(creator)?.[1] ?? creator.slice(0, 40);
}

export function HistoryTab({ twinId }: { twinId: string }) {
  const history = useLoad(
    (signal) =>
      allPages((bookmark) => call('spec', 'get', '/twins/{twinId}/history', { params: { twinId }, query: { limit: MAX_PAGE, bookmark }, signal })).then((changes) => ({
        changes: changes as unknown as ChangeHeader[],
      })),
    [twinId],
  );
  return (
    <>
      <h2>History</h2>
      <ErrorNotice error={history.error} action="read the history" />
      {history.data ? <ChangeTable changes={history.data.changes} caption="Every change to this twin, oldest first" /> : null}
    </>
  );
}
