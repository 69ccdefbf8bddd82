import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { buildUrl, call, streamEvents, type ApiError, type Ok } from '../client';
import { ErrorNotice } from '../components/ErrorNotice';
import { SeriesChart, type SeriesPoint } from '../components/SeriesChart';
import { useLoad } from '../hooks';

type Feed = Ok<'feeds', '/feeds/{feedId}', 'get'>;
type Reading = NonNullable<Ok<'feeds', '/feeds/{feedId}/latest', 'get'>['reading']>;

const WINDOWS = [
  ['60000', 'last minute'],
  ['3600000', 'last hour'],
  ['86400000', 'last day'],
  ['604800000', 'last week'],
] as const;
const BUCKETS = 400;
const LIVE_POINTS = 600;

function valueName(feed: Feed): string {
  return feed.valueSchema.kind === 'named' ? (feed.valueSchema.names[0] ?? 'v') : 'v';
}
function valueOf(r: Reading, name: string): number | undefined {
  if (typeof r.v === 'number') return r.v;
  const v = (r.v as Record<string, unknown>)[name];
  return typeof v === 'number' ? v : undefined;
}

export function FeedsTab({ twinId }: { twinId: string }) {
  const feeds = useLoad((signal) => call('feeds', 'get', '/feeds', { signal }).then((r) => r.feeds.filter((f) => f.twinId === twinId)), [twinId]);
  return (
    <>
      <h2>Sensor feeds</h2>
      <ErrorNotice error={feeds.error} action="list sensor feeds" />
      {feeds.loading ? <p role="status">Loading feeds…</p> : null}
      {feeds.data && feeds.data.length === 0 ? <p>No sensor feeds of this twin that your organization may read.</p> : null}
      {feeds.data?.map((f) => <FeedPanel key={f.feedId} feed={f} />)}
    </>
  );
}

function FeedPanel({ feed }: { feed: Feed }) {
  const name = valueName(feed);
  const range = feed.expectedRange;
  const [windowMs, setWindowMs] = useState<string>('3600000');
  const [custom, setCustom] = useState<{ from: number; to: number }>();
  // One request: the relative windows are anchored at the newest reading by feed-ingest itself
  // (`last`), so the page does not wait for a separate latest-reading read before the series.
  const series = useLoad(
    (signal) =>
      call('feeds', 'get', '/feeds/{feedId}/series', {
        params: { feedId: feed.feedId },
        query: custom ? { from: custom.from, to: custom.to, buckets: BUCKETS } : { last: Number(windowMs), buckets: BUCKETS },
        signal,
      }),
    [feed.feedId, custom?.from, custom?.to, windowMs],
  );
  const bounds = custom ?? (series.data ? { from: series.data.from, to: series.data.to } : undefined);
  const points: SeriesPoint[] = useMemo(
    () =>
      (series.data?.buckets ?? []).flatMap((b) => {
        const s = b.values[name];
        return s ? [{ t: b.start, min: s.min, max: s.max, mean: s.mean }] : [];
      }),
    [series.data, name],
  );

  const [live, setLive] = useState<SeriesPoint[]>([]);
  const [anomalies, setAnomalies] = useState<{ ts: number; value: number; name: string }[]>([]);
  const [streamError, setStreamError] = useState<ApiError>();
  useEffect(() => {
    const ctrl = new AbortController();
    void streamEvents(
      buildUrl('feeds', '/feeds/{feedId}/stream', { feedId: feed.feedId }),
      (m) => {
        if (m.event === 'readings') {
          const readings = JSON.parse(m.data) as Reading[];
          const pts = readings.flatMap((r) => {
            const v = valueOf(r, name);
            return v === undefined ? [] : [{ t: r.ts, min: v, max: v, mean: v }];
          });
          setLive((prev) => [...prev, ...pts].slice(-LIVE_POINTS));
          setStreamError(undefined);
        } else if (m.event === 'anomaly') {
          const a = JSON.parse(m.data) as { ts: number; value: number; name: string };
          setAnomalies((prev) => [a, ...prev].slice(0, 50));
        } else if (m.event === 'error') {
          const e = JSON.parse(m.data) as { code: string };
          setStreamError({ name: 'ApiError', code: e.code, message: 'the feed could not be read from the DHT', status: 0, service: 'feeds' } as ApiError);
        }
      },
      ctrl.signal,
      setStreamError,
    );
    return () => ctrl.abort();
  }, [feed.feedId, name]);

  const applyCustom = (e: FormEvent<HTMLFormElement>): void => {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const from = Date.parse(`${String(data.get('from'))}Z`);
    const to = Date.parse(`${String(data.get('to'))}Z`);
    if (Number.isFinite(from) && Number.isFinite(to) && from < to) setCustom({ from, to });
  };
  const id = feed.feedId.replace(/[^\w-]/g, '_');

  return (
    <section className="card feed" aria-labelledby={`feed-${id}`} data-feed-id={feed.feedId}>
      <h3 id={`feed-${id}`}>
        {feed.componentId} <span className="muted">({feed.unit})</span>
      </h3>
      <p className="muted">
        Feed <code>{feed.feedId}</code> · expected {range.min}–{range.max} {feed.unit} · readable by {feed.acl.join(', ')}
      </p>
      <h4>Live</h4>
      <ErrorNotice error={streamError} action="follow the live feed" />
      <SeriesChart points={live} range={range} unit={feed.unit} label={`${feed.componentId} live`} height={160} />
      {anomalies.length > 0 ? (
        <div role="log" aria-label={`Anomalies of ${feed.componentId}`} className="anomalies">
          <h4>Anomalies</h4>
          <ul>
            {anomalies.map((a) => (
              <li key={`${a.ts}-${a.name}`}>
                {new Date(a.ts).toISOString()}: {a.name && a.name !== 'v' ? `${a.name} = ` : ''}{a.value} {feed.unit} outside {range.min}–{range.max}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <h4>History</h4>
      <div className="controls">
        <label htmlFor={`win-${id}`}>Time range</label>
        <select
          id={`win-${id}`}
          value={custom ? 'custom' : windowMs}
          onChange={(e) => {
            if (e.target.value !== 'custom') {
              setCustom(undefined);
              setWindowMs(e.target.value);
            }
          }}
        >
          {WINDOWS.map(([v, l]) => (
            <option key={v} value={v}>
              {l} before the latest reading
            </option>
          ))}
          <option value="custom">custom (below)</option>
        </select>
        <form onSubmit={applyCustom} className="inline">
          <label htmlFor={`from-${id}`}>From (UTC)</label>
          <input id={`from-${id}`} name="from" type="datetime-local" step="1" />
          <label htmlFor={`to-${id}`}>To (UTC)</label>
          <input id={`to-${id}`} name="to" type="datetime-local" step="1" />
          <button type="submit">Show range</button>
        </form>
      </div>
      <ErrorNotice error={series.error} action="read the feed history" />
      {series.loading ? <p role="status">Loading the series…</p> : null}
      <SeriesChart points={points} range={range} unit={feed.unit} label={bounds ? `${feed.componentId} ${new Date(bounds.from).toISOString()} to ${new Date(bounds.to).toISOString()}` : `${feed.componentId} history`} />
    </section>
  );
}
