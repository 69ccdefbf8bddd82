import { useEffect, useState } from 'react';
import { buildUrl, streamEvents, type ApiError } from '../client';
import type { LedgerEvent } from '../ledger-types';

/**
 * Live ledger events that concern the user: spec-service relays the chaincode events of the
 * twins the caller may read (Server-Sent Events), newest first. Announced politely to screen readers.
 */
export function Notifications() {
  const [events, setEvents] = useState<LedgerEvent[]>([]);
  const [unread, setUnread] = useState(0);
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<ApiError>();

  useEffect(() => {
    const ctrl = new AbortController();
    void streamEvents(
      buildUrl('spec', '/events'),
      (m) => {
        try {
          const e = JSON.parse(m.data) as LedgerEvent;
          setEvents((prev) => [e, ...prev].slice(0, 100));
          setUnread((n) => n + 1);
          setError(undefined);
        } catch {
          // A frame that is not an event (a comment or keep-alive) carries nothing to show.
        }
      },
      ctrl.signal,
      setError,
    );
    return () => ctrl.abort();
  }, []);

  const latest = events[0];
  return (
    <div className="notifications">
      <button
        type="button"
        aria-expanded={open}
        aria-controls="notification-list"
        onClick={() => {
          setOpen(!open);
          setUnread(0);
        }}
      >
        Ledger events{unread > 0 ? ` (${unread} new)` : ''}
      </button>
      <div className="visually-hidden" aria-live="polite">
        {latest ? `Ledger event ${latest.eventName}${latest.twinId ? ` on twin ${latest.twinId}` : ''}` : ''}
      </div>
      {open ? (
        <div id="notification-list" className="popover">
          {error ? <p className="notice error" role="alert">{error.code}: {error.message}</p> : null}
          {events.length === 0 ? <p>No ledger events since you signed in.</p> : null}
          <ul>
            {events.map((e) => (
              <li key={e.id}>
                <strong>{e.eventName}</strong> {e.twinId ? <a href={`#/twins/${encodeURIComponent(e.twinId)}`}>{e.twinId}</a> : null} · block {e.blockNumber} ·{' '}
                <code title={e.transactionId}>{e.transactionId.slice(0, 12)}…</code>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </div>
  );
}
