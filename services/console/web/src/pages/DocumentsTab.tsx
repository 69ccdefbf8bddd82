import { useState, type FormEvent } from 'react';
import { allPages, call, MAX_PAGE, send } from '../client';
import { ErrorNotice, NotAllowed } from '../components/ErrorNotice';
import { useLoad, usePermission } from '../hooks';
import type { DocumentRecord } from '../ledger-types';

const LEVELS = ['public', 'internal', 'confidential', 'secret'] as const;

async function sha256Hex(data: ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', data);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

type Verdict = { hash: string; ok: true; size: number } | { hash: string; ok: false; error: unknown };

export function DocumentsTab({ twinId }: { twinId: string }) {
  const docs = useLoad(
    (signal) =>
      allPages((bookmark) => call('spec', 'get', '/twins/{twinId}/documents', { params: { twinId }, query: { limit: MAX_PAGE, bookmark }, signal })) as Promise<unknown> as Promise<DocumentRecord[]>,
    [twinId],
  );
  const [verdicts, setVerdicts] = useState<Record<string, Verdict>>({});
  const [actionError, setActionError] = useState<unknown>();

  /**
   * The service serves a document only after the DHT bytes hashed to the on-chain hash; the
   * browser hashes what it received once more against the ledger record before saving it.
   */
  const download = async (d: DocumentRecord): Promise<void> => {
    const expected = d.latest.hash;
    try {
      const res = await send('spec', 'get', `/twins/{twinId}/documents/{hash}/content`, { params: { twinId, hash: d.hash } });
      const bytes = await res.arrayBuffer();
      const actual = await sha256Hex(bytes);
      if (actual !== expected) throw new Error(`received bytes hash to ${actual}, the ledger records ${expected}`);
      setVerdicts((v) => ({ ...v, [d.hash]: { hash: actual, ok: true, size: bytes.byteLength } }));
      const url = URL.createObjectURL(new Blob([bytes]));
      const a = document.createElement('a');
      a.href = url;
      a.download = d.title;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      setVerdicts((v) => ({ ...v, [d.hash]: { hash: expected, ok: false, error } }));
    }
  };

  return (
    <>
      <h2>Documents</h2>
      <ErrorNotice error={docs.error} action="list documents" />
      <ErrorNotice error={actionError} action="change documents" />
      {docs.data && docs.data.length === 0 ? <p>No documents you may read.</p> : null}
      {docs.data && docs.data.length > 0 ? (
        <table>
          <caption>Documents you may read (others are not listed)</caption>
          <thead>
            <tr>
              <th scope="col">Title</th>
              <th scope="col">Component</th>
              <th scope="col">Confidentiality</th>
              <th scope="col">Versions</th>
              <th scope="col">Owner</th>
              <th scope="col">Download</th>
            </tr>
          </thead>
          <tbody>
            {docs.data.map((d) => {
              const v = verdicts[d.hash];
              return (
                <tr key={d.hash}>
                  <td>
                    {d.title}
                    <div className="muted">
                      <code title={d.hash}>{d.hash.slice(0, 12)}…</code>
                    </div>
                  </td>
                  <td>{d.componentId ?? '—'}</td>
                  <td>{d.confidentiality}</td>
                  <td>
                    {d.versionCount}
                    <NewVersion twinId={twinId} doc={d} onDone={docs.reload} onError={setActionError} />
                  </td>
                  <td>{d.owner.mspId}</td>
                  <td>
                    <button type="button" onClick={() => void download(d)} aria-label={`Download ${d.title}`}>
                      Download
                    </button>
                    {v?.ok ? (
                      <span className="verified" role="status">
                        {' '}
                        ✔ verified against the ledger ({v.size} bytes)
                      </span>
                    ) : null}
                    {v && !v.ok ? (
                      <>
                        <span className="refused-text"> ✘ refused</span>
                        <ErrorNotice error={v.error} action={`download ${d.title}`} />
                      </>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      <Upload twinId={twinId} onDone={docs.reload} />
    </>
  );
}

function NewVersion({ twinId, doc, onDone, onError }: { twinId: string; doc: DocumentRecord; onDone: () => void; onError: (e: unknown) => void }) {
  const id = `version-${doc.hash.slice(0, 12)}`;
  return (
    <div>
      <label htmlFor={id} className="small">
        New version of {doc.title}
      </label>
      <input
        id={id}
        type="file"
        onChange={async (e) => {
          const file = e.target.files?.[0];
          if (!file) return;
          try {
            await send('spec', 'post', '/twins/{twinId}/documents/{hash}/versions', {
              params: { twinId, hash: doc.hash },
              raw: { body: file, contentType: 'application/octet-stream' },
            });
            onDone();
          } catch (err) {
            onError(err);
          }
        }}
      />
    </div>
  );
}

function Upload({ twinId, onDone }: { twinId: string; onDone: () => void }) {
  const [level, setLevel] = useState<(typeof LEVELS)[number]>('internal');
  const [title, setTitle] = useState('');
  const [componentId, setComponentId] = useState('');
  const [file, setFile] = useState<File>();
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const may = usePermission(twinId, `doc:write:${level}`);

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (!file) return;
    setError(undefined);
    setDone(undefined);
    try {
      const r = await call('spec', 'post', '/twins/{twinId}/documents', {
        params: { twinId },
        query: { title: title || file.name, confidentiality: level, ...(componentId ? { componentId } : {}) },
        raw: { body: file, contentType: 'application/octet-stream' },
      });
      setDone(`Stored ${r.stored.size} bytes, SHA-256 ${r.stored.sha256.slice(0, 16)}…, transaction ${r.transactionId.slice(0, 12)}… in block ${r.blockNumber}`);
      onDone();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} className="card" aria-labelledby="upload-title">
      <h3 id="upload-title">Upload a document</h3>
      <label htmlFor="doc-file">File</label>
      <input id="doc-file" type="file" required onChange={(e) => setFile(e.target.files?.[0])} />
      <label htmlFor="doc-title">Title</label>
      <input id="doc-title" value={title} onChange={(e) => setTitle(e.target.value)} />
      <label htmlFor="doc-level">Confidentiality</label>
      <select id="doc-level" value={level} onChange={(e) => setLevel(e.target.value as (typeof LEVELS)[number])}>
        {LEVELS.map((l) => (
          <option key={l}>{l}</option>
        ))}
      </select>
      <label htmlFor="doc-component">Component ID (optional)</label>
      <input id="doc-component" value={componentId} onChange={(e) => setComponentId(e.target.value)} />
      {may && !may.allowed ? <NotAllowed what={`upload ${level} documents`} reason={may.reason} /> : null}
      <button type="submit" disabled={!file || (may !== undefined && !may.allowed)}>
        Upload
      </button>
      {done ? <p role="status">{done}</p> : null}
      <ErrorNotice error={error} action="upload the document" />
    </form>
  );
}
