import { ApiError } from '../client';

/** Shows a refusal or failure exactly as the service gave it: status, stable code, message, request id. */
export function ErrorNotice({ error, action }: { error: unknown; action?: string }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : new ApiError(0, 'CLIENT_ERROR', error instanceof Error ? error.message : String(error), 'console');
  const refused = e.status === 401 || e.status === 403;
  return (
    <div role="alert" className={refused ? 'notice refused' : 'notice error'} data-code={e.code}>
      <strong>{refused ? 'Refused' : 'Failed'}{action ? `: ${action}` : ''}</strong>{' '}
      <span className="code">{e.code}</span>
      {e.status > 0 ? <span className="status"> (HTTP {e.status} from {e.service})</span> : null}
      <div>{e.message}</div>
      {e.requestId ? <div className="muted">request id {e.requestId}</div> : null}
    </div>
  );
}

/** An action the user may not take, shown as such with the ledger's reason. */
export function NotAllowed({ what, reason }: { what: string; reason: string }) {
  return (
    <p className="not-allowed" role="note">
      <strong>You may not {what}.</strong> {reason}
    </p>
  );
}
