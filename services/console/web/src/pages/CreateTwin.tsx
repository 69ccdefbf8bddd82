import { useState, type FormEvent } from 'react';
import { allPages, call, MAX_PAGE, type Ok } from '../client';
import { ErrorNotice } from '../components/ErrorNotice';
import { Receipt } from '../components/Receipt';
import { useLoad } from '../hooks';
import { ROLES, type Role } from './AccessTab';

/** The spec-service's own limit is checked again there; this only spares uploading what it refuses. */
const MAX_AML_BYTES = 8 * 1024 * 1024; // AmlLimits.MAX_AML_BYTES (the chaincode's)
const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

interface ExtraGrant {
  readonly key: number;
  mspId: string;
  role: Role;
}

/**
 * The paper's setup step: a twin from the manufacturer's AML file (spec-service `POST /twins`).
 * The ledger always grants the creating organization OWNER and every party READER; extra grants
 * are added to those in the same transaction.
 */
export function CreateTwin() {
  const parties = useLoad(
    (signal) => allPages((bookmark) => call('acl', 'get', '/parties', { query: { limit: MAX_PAGE, bookmark }, signal })).then((items) => items.map((p) => String((p as { mspId?: unknown }).mspId ?? '')).filter((m) => m !== '')),
    [],
  );
  const [file, setFile] = useState<{ name: string; text: string }>();
  const [fileError, setFileError] = useState<string>();
  const [grants, setGrants] = useState<ExtraGrant[]>([]);
  const [nextKey, setNextKey] = useState(0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [created, setCreated] = useState<Ok<'spec', '/twins', 'post'>>();

  const pick = async (f: File | undefined): Promise<void> => {
    setFile(undefined);
    setFileError(undefined);
    if (!f) return;
    if (f.size > MAX_AML_BYTES) {
      setFileError(`${f.name} is ${f.size} bytes; the ledger takes at most ${MAX_AML_BYTES}`);
      return;
    }
    setFile({ name: f.name, text: await f.text() });
  };

  const submit = async (e: FormEvent<HTMLFormElement>): Promise<void> => {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    const deviceId = String(d.get('deviceId') ?? '').trim();
    const deviceName = String(d.get('deviceName') ?? '').trim();
    setError(undefined);
    setCreated(undefined);
    if (!file) return setFileError('choose the AML file');
    setBusy(true);
    try {
      const extra = grants.filter((g) => g.mspId !== '');
      const body = { deviceId, deviceName, aml: file.text, ...(extra.length > 0 ? { grants: extra.map((g) => ({ mspId: g.mspId, role: g.role })) } : {}) };
      setCreated(await call('spec', 'post', '/twins', { body }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const twinId = created ? String((created.result as { twinId?: unknown }).twinId ?? '') : '';
  return (
    <section aria-labelledby="create-title">
      <p>
        <a href="#/">← All twins</a>
      </p>
      <h1 id="create-title">Create a twin from an AML file</h1>
      <form onSubmit={(e) => void submit(e)} className="card">
        <label htmlFor="deviceId">Device ID (becomes the twin ID)</label>
        <input id="deviceId" name="deviceId" required pattern={DEVICE_ID.source} maxLength={128} autoComplete="off" />
        <label htmlFor="deviceName">Device name</label>
        <input id="deviceName" name="deviceName" required maxLength={4096} />
        <label htmlFor="amlFile">AML file (CAEX 3.0 or 2.15)</label>
        <input id="amlFile" name="amlFile" type="file" accept=".aml,.xml,application/xml,text/xml" required onChange={(e) => void pick(e.currentTarget.files?.[0])} />
        {fileError ? (
          <p role="alert" className="notice">
            {fileError}
          </p>
        ) : null}
        {file ? (
          <p className="muted" data-testid="aml-file">
            {file.name}: {file.text.length.toLocaleString()} characters, {(file.text.match(/<InternalElement\b/g) ?? []).length.toLocaleString()} InternalElements (read and checked by
            spec-service and the ledger on submit)
          </p>
        ) : null}
        <fieldset>
          <legend>Grants</legend>
          <p className="muted">Always granted by the ledger: your organization OWNER, every party READER. Extra grants:</p>
          <ErrorNotice error={parties.error} action="list the registered parties" />
          {/* Suggestions only: an MSP the party registry does not list yet can still be granted (the ledger decides). */}
          <datalist id="registered-parties">
            {(parties.data ?? []).map((m) => (
              <option key={m} value={m} />
            ))}
          </datalist>
          {grants.map((g, i) => (
            <div className="controls" key={g.key} data-testid="extra-grant">
              <label htmlFor={`grant-msp-${g.key}`}>Organization {i + 1} (MSP ID)</label>
              <input
                id={`grant-msp-${g.key}`}
                list="registered-parties"
                value={g.mspId}
                required
                pattern="^[A-Za-z0-9._-]{1,128}$"
                onChange={(e) => setGrants(grants.map((x) => (x.key === g.key ? { ...x, mspId: e.target.value.trim() } : x)))}
              />
              <label htmlFor={`grant-role-${g.key}`}>Role {i + 1}</label>
              <select id={`grant-role-${g.key}`} value={g.role} onChange={(e) => setGrants(grants.map((x) => (x.key === g.key ? { ...x, role: e.target.value as Role } : x)))}>
                {ROLES.map((r) => (
                  <option key={r}>{r}</option>
                ))}
              </select>
              <button type="button" onClick={() => setGrants(grants.filter((x) => x.key !== g.key))}>
                Remove grant {i + 1}
              </button>
            </div>
          ))}
          <button
            type="button"
            onClick={() => {
              setGrants([...grants, { key: nextKey, mspId: '', role: 'AUDITOR' }]);
              setNextKey(nextKey + 1);
            }}
          >
            Add a grant
          </button>
        </fieldset>
        <p>
          <button type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create twin'}
          </button>
        </p>
      </form>
      <ErrorNotice error={error} action="create the twin" />
      {created ? (
        <>
          <Receipt what={`Twin ${twinId} created`} transactionId={created.transactionId} blockNumber={created.blockNumber} />
          <p>
            <a href={`#/twins/${encodeURIComponent(twinId)}`}>Open {twinId}</a>
          </p>
        </>
      ) : null}
    </section>
  );
}
