import { useState, type FormEvent } from 'react';
import { allPages, call, MAX_PAGE } from '../client';
import { ErrorNotice, NotAllowed } from '../components/ErrorNotice';
import { useLoad, usePermission } from '../hooks';
import type { Program, ProgramCall, ProgramParameter } from '../ledger-types';

function bounds(p: ProgramParameter): string {
  const parts: string[] = [];
  if (p.min !== undefined) parts.push(`≥ ${p.min}`);
  if (p.max !== undefined) parts.push(`≤ ${p.max}`);
  if (p.allowed) parts.push(`one of ${p.allowed.map(String).join(', ')}`);
  return parts.length ? parts.join(', ') : 'no bounds';
}

function parse(p: ProgramParameter, raw: string): string | number | boolean {
  if (p.dataType.includes('boolean')) return raw === 'true';
  if (/double|float|decimal|int|long|short/.test(p.dataType)) return Number(raw);
  return raw;
}

export function ProgramsTab({ twinId }: { twinId: string }) {
  const programs = useLoad(
    (signal) => allPages((bookmark) => call('spec', 'get', '/twins/{twinId}/programs', { params: { twinId }, query: { limit: MAX_PAGE, bookmark }, signal })) as Promise<unknown> as Promise<Program[]>,
    [twinId],
  );
  const pending = useLoad(
    (signal) =>
      allPages((bookmark) => call('spec', 'get', '/twins/{twinId}/program-calls', { params: { twinId }, query: { limit: MAX_PAGE, bookmark }, signal })) as Promise<unknown> as Promise<ProgramCall[]>,
    [twinId],
  );
  const may = usePermission(twinId, 'program:call');
  return (
    <>
      <h2>Programs</h2>
      <ErrorNotice error={programs.error} action="list programs" />
      {may && !may.allowed ? <NotAllowed what="call programs of this twin" reason={may.reason} /> : null}
      {programs.data?.map((p) => <ProgramCard key={p.elementId} twinId={twinId} program={p} disabled={may !== undefined && !may.allowed} onCalled={pending.reload} />)}
      <h2>Pending calls</h2>
      <ErrorNotice error={pending.error} action="list pending calls" />
      {pending.data && pending.data.length === 0 ? <p>No pending calls.</p> : null}
      {pending.data && pending.data.length > 0 ? <CallTable calls={pending.data} /> : null}
      <CallLookup twinId={twinId} />
    </>
  );
}

function CallTable({ calls }: { calls: readonly ProgramCall[] }) {
  return (
    <table>
      <caption>Program calls</caption>
      <thead>
        <tr>
          <th scope="col">Call</th>
          <th scope="col">Program</th>
          <th scope="col">Parameters</th>
          <th scope="col">Status</th>
          <th scope="col">Requested</th>
          <th scope="col">Expires</th>
          <th scope="col">Result</th>
        </tr>
      </thead>
      <tbody>
        {calls.map((c) => (
          <tr key={c.callId}>
            <td>
              <code>{c.callId}</code>
            </td>
            <td>{c.programName}</td>
            <td>
              <code>{JSON.stringify(c.parameters)}</code>
            </td>
            <td>{c.status}</td>
            <td>
              {c.requestedAt} by {c.requestedBy.mspId}
            </td>
            <td>{c.expiresAt ?? '—'}</td>
            <td>{c.acknowledgement ? `${c.acknowledgement.status} by ${c.acknowledgement.by.mspId}: ${JSON.stringify(c.acknowledgement.result)}` : '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ProgramCard({ twinId, program, disabled, onCalled }: { twinId: string; program: Program; disabled: boolean; onCalled: () => void }) {
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const submit = async (e: FormEvent<HTMLFormElement>): Promise<void> => {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const parameters: Record<string, string | number | boolean> = {};
    for (const p of program.parameters) {
      const raw = data.get(p.name);
      if (typeof raw === 'string' && raw !== '') parameters[p.name] = parse(p, raw);
    }
    setError(undefined);
    setDone(undefined);
    try {
      const r = await call('spec', 'post', '/twins/{twinId}/program-calls', { params: { twinId }, body: { program: program.name, parameters } });
      const callId = (r.result as { callId?: string }).callId ?? '?';
      setDone(`Requested call ${callId} (transaction ${r.transactionId.slice(0, 12)}…, block ${r.blockNumber})`);
      onCalled();
    } catch (err) {
      setError(err);
    }
  };
  const fid = (p: string): string => `prog-${program.elementId}-${p}`.replace(/[^\w-]/g, '_');
  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-label={`Call ${program.name}`}>
      <h3>
        {program.name} <span className="muted">on {program.elementId}</span>
      </h3>
      {program.parameters.map((p) => (
        <div key={p.name} className="param">
          <label htmlFor={fid(p.name)}>
            {p.name} ({p.dataType}
            {p.unit ? `, ${p.unit}` : ''}
            {p.required ? ', required' : ''}) — safety bounds: {bounds(p)}
          </label>
          {p.dataType.includes('boolean') ? (
            <select id={fid(p.name)} name={p.name} defaultValue={p.default === undefined ? '' : String(p.default)}>
              <option value="">(unset)</option>
              <option value="true">true</option>
              <option value="false">false</option>
            </select>
          ) : (
            <input id={fid(p.name)} name={p.name} required={p.required} defaultValue={p.default === undefined ? '' : String(p.default)} />
          )}
        </div>
      ))}
      <button type="submit" disabled={disabled}>
        Request call
      </button>
      {done ? <p role="status">{done}</p> : null}
      <ErrorNotice error={error} action={`call ${program.name}`} />
    </form>
  );
}

function CallLookup({ twinId }: { twinId: string }) {
  const [result, setResult] = useState<ProgramCall>();
  const [error, setError] = useState<unknown>();
  const submit = async (e: FormEvent<HTMLFormElement>): Promise<void> => {
    e.preventDefault();
    const callId = String(new FormData(e.currentTarget).get('callId') ?? '').trim();
    setError(undefined);
    setResult(undefined);
    try {
      setResult((await call('spec', 'get', '/twins/{twinId}/program-calls/{callId}', { params: { twinId, callId } })) as unknown as ProgramCall);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-labelledby="lookup-title">
      <h3 id="lookup-title">Result of a call</h3>
      <label htmlFor="call-id">Call ID</label>
      <input id="call-id" name="callId" required />
      <button type="submit">Look up</button>
      <ErrorNotice error={error} action="read the call" />
      {result ? <CallTable calls={[result]} /> : null}
    </form>
  );
}
