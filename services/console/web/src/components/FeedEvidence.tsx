import { useState, type FormEvent } from 'react';
import { call, send } from '../client';
import { saveAs } from '../download';
import { useLoad } from '../hooks';
import { ErrorNotice } from './ErrorNotice';

/** What the console server's verifier answers (@twinledger/audit verifyBlockBundle). */
interface Verification {
  readonly ok: boolean;
  readonly configBlock: { number: number; headerHash: string } | null;
  readonly completeThrough: number | null;
  readonly checks: readonly { check: string; ok: boolean; count: number }[];
  readonly failures: readonly { code: string; reason: string }[];
  readonly feeds: readonly {
    feedId: string;
    componentId: string;
    anchors: number;
    provenUpdates: number;
    provenSegments: number;
    equivocations: readonly { index: number; updateHashes: readonly string[] }[];
  }[];
}

/** Per feed of the twin, the latest Merkle root on the ledger (ADR-18). */
export function AnchoredRoots({ twinId }: { twinId: string }) {
  const tips = useLoad((signal) => call('spec', 'get', '/twins/{twinId}/feed-anchors', { params: { twinId }, signal }), [twinId]);
  return (
    <section className="card" aria-labelledby="anchors-title">
      <h3 id="anchors-title">Anchored feed roots</h3>
      <ErrorNotice error={tips.error} action="read the feed anchors" />
      {tips.data && tips.data.anchors.length === 0 ? <p>No feed of this twin is anchored yet.</p> : null}
      {tips.data && tips.data.anchors.length > 0 ? (
        <table data-testid="feed-anchors">
          <thead>
            <tr>
              <th scope="col">Component</th>
              <th scope="col">Updates anchored</th>
              <th scope="col">Latest root</th>
              <th scope="col">Transaction</th>
              <th scope="col">At</th>
            </tr>
          </thead>
          <tbody>
            {tips.data.anchors.map((a) => (
              <tr key={a.feedId}>
                <td>{a.componentId}</td>
                <td>0..{a.toIndex}</td>
                <td>
                  <code title={a.root}>{a.root.slice(0, 16)}…</code>
                </td>
                <td>
                  <code title={a.txId}>{a.txId.slice(0, 12)}…</code>
                </td>
                <td>{a.timestamp}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

/**
 * Assembles the twin's audit bundle with feed proofs (console server: spec-service blocks and
 * anchors + feed-ingest proofs), shows the verifier's result and downloads the bundle, which an
 * auditor re-checks with `npm run verify -- <file>` without any TwinLedger service.
 */
export function VerifiedBundle({ twinId }: { twinId: string }) {
  const [result, setResult] = useState<Verification>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const run = async (e: FormEvent<HTMLFormElement>): Promise<void> => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const from = String(form.get('feedFrom') ?? '').trim();
    const to = String(form.get('feedTo') ?? '').trim();
    setError(undefined);
    setResult(undefined);
    setBusy(true);
    try {
      const res = await send('console', 'get', '/twins/{twinId}/audit', { params: { twinId }, query: { feedFrom: from || undefined, feedTo: to || undefined } });
      const body = (await res.json()) as { verification: Verification; bundle: unknown };
      setResult(body.verification);
      saveAs(new Blob([JSON.stringify(body.bundle)], { type: 'application/json' }), `audit-bundle-${twinId}.json`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={(e) => void run(e)} aria-labelledby="bundle-title">
      <h3 id="bundle-title">Block-proof audit bundle</h3>
      <p>Fabric blocks of every change, the feeds&apos; anchor transactions and their readings with inclusion proofs, verified here and downloaded.</p>
      <label htmlFor="feed-from">First feed update index (default 0)</label>
      <input id="feed-from" name="feedFrom" inputMode="numeric" pattern="[0-9]*" />
      <label htmlFor="feed-to">Last feed update index (default first + 99; at most 1,000 per feed)</label>
      <input id="feed-to" name="feedTo" inputMode="numeric" pattern="[0-9]*" />
      <button type="submit" disabled={busy}>
        Download audit bundle
      </button>
      <ErrorNotice error={error} action="assemble and verify the audit bundle" />
      {result ? (
        <div data-testid="verification" role="status">
          <p>
            <strong>{result.ok ? 'Verified' : 'NOT verified'}</strong>
            {result.configBlock ? (
              <>
                {' '}
                against config block {result.configBlock.number} (header hash <code>{result.configBlock.headerHash.slice(0, 16)}…</code>; compare it out of band)
              </>
            ) : null}
            {result.completeThrough !== null ? `; change list complete through block ${result.completeThrough}` : ''}.
          </p>
          <ul>
            {result.checks.map((c) => (
              <li key={c.check}>
                {c.ok ? '✓' : '✗'} {c.check} ({c.count})
              </li>
            ))}
          </ul>
          {result.feeds.map((f) => (
            <p key={f.feedId}>
              Feed of {f.componentId}: {f.anchors} anchors, {f.provenUpdates} updates proven, {f.provenSegments} segments of readings hashed
              {f.equivocations.length > 0 ? `; EQUIVOCATION at indices ${f.equivocations.map((q) => q.index).join(', ')}` : ''}.
            </p>
          ))}
          {result.failures.length > 0 ? (
            <ul aria-label="failures">
              {result.failures.map((f, i) => (
                <li key={i}>
                  <code>{f.code}</code> {f.reason}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
    </form>
  );
}
