import { useState, type FormEvent } from 'react';
import { allPages, call, MAX_PAGE } from '../client';
import { ErrorNotice, NotAllowed } from '../components/ErrorNotice';
import { useLoad, usePermission } from '../hooks';
import type { Grant } from '../ledger-types';

export const ROLES = ['MANUFACTURER', 'OWNER', 'MAINTAINER', 'AUDITOR', 'DEVICE_AGENT', 'READER'] as const;
export type Role = (typeof ROLES)[number];

export function AccessTab({ twinId }: { twinId: string }) {
  const grants = useLoad(
    (signal) => allPages((bookmark) => call('acl', 'get', '/twins/{twinId}/grants', { params: { twinId }, query: { limit: MAX_PAGE, bookmark }, signal })) as Promise<unknown> as Promise<Grant[]>,
    [twinId],
  );
  const may = usePermission(twinId, 'grants:manage');
  const manage = may === undefined || may.allowed;
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();

  const act = async (kind: 'grant' | 'revoke', body: { mspId: string; role: Role; expiresAt?: string }): Promise<void> => {
    setError(undefined);
    setDone(undefined);
    try {
      const r =
        kind === 'grant'
          ? await call('acl', 'post', '/twins/{twinId}/grants', { params: { twinId }, body })
          : await call('acl', 'post', '/twins/{twinId}/grants/revoke', { params: { twinId }, body });
      setDone(`${kind === 'grant' ? 'Granted' : 'Revoked'} ${body.role} ${kind === 'grant' ? 'to' : 'of'} ${body.mspId} (transaction ${r.transactionId.slice(0, 12)}…)`);
      grants.reload();
    } catch (err) {
      setError(err);
    }
  };
  const submit = (e: FormEvent<HTMLFormElement>): void => {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    const expires = String(d.get('expiresAt') ?? '');
    void act('grant', { mspId: String(d.get('mspId')).trim(), role: String(d.get('role')) as Role, ...(expires ? { expiresAt: new Date(`${expires}Z`).toISOString() } : {}) });
  };

  return (
    <>
      <h2>Roles and grants</h2>
      <ErrorNotice error={grants.error} action="list grants" />
      <ErrorNotice error={error} action="change grants" />
      {done ? <p role="status">{done}</p> : null}
      {grants.data ? (
        <table>
          <caption>Grants on this twin</caption>
          <thead>
            <tr>
              <th scope="col">Organization</th>
              <th scope="col">Role or permission</th>
              <th scope="col">Expires</th>
              <th scope="col">Granted</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {grants.data.map((g) => (
              <tr key={`${g.mspId}:${g.identity ?? ''}:${g.role ?? g.permission ?? ''}`}>
                <td>
                  {g.mspId}
                  {g.identity ? <div className="muted">{g.identity.slice(0, 40)}</div> : null}
                </td>
                <td>{g.role ?? g.permission}</td>
                <td>{g.expiresAt ?? 'never'}</td>
                <td>{g.grantedAt}</td>
                <td>
                  {g.role && manage && !g.identity ? (
                    <button type="button" onClick={() => void act('revoke', { mspId: g.mspId, role: g.role as Role })} aria-label={`Revoke ${g.role} of ${g.mspId}`}>
                      Revoke
                    </button>
                  ) : (
                    '—'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {may && !may.allowed ? <NotAllowed what="manage grants on this twin" reason={may.reason} /> : null}
      {manage ? (
        <form className="card" onSubmit={submit} aria-labelledby="grant-title">
          <h3 id="grant-title">Grant a role</h3>
          <label htmlFor="grant-msp">Organization (MSP ID, or * for every party)</label>
          <input id="grant-msp" name="mspId" required pattern="[A-Za-z0-9.-]+|\*" />
          <label htmlFor="grant-role">Role</label>
          <select id="grant-role" name="role" defaultValue="READER">
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
          <label htmlFor="grant-expires">Expires (UTC, optional)</label>
          <input id="grant-expires" name="expiresAt" type="datetime-local" />
          <button type="submit">Grant</button>
        </form>
      ) : null}
    </>
  );
}
