import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { allPages, ApiError, buildUrl, call, MAX_PAGE, streamEvents, type Ok } from '../client';
import type { AmlNode } from '../aml';
import { ErrorNotice, NotAllowed } from '../components/ErrorNotice';
import { SeriesChart, type SeriesPoint } from '../components/SeriesChart';
import { useLoad, usePermission } from '../hooks';
import type { SensorFeedRef } from '../ledger-types';
import { anomaliesOf, flaggedBuckets, readAllReadings, sensorProfile, type Anomaly, type ExpectedRange, type SensorProfile } from '../sensor';

type Reading = NonNullable<Ok<'feeds', '/feeds/{feedId}/latest', 'get'>['reading']>;

const WINDOWS = [
  ['60000', 'last minute'],
  ['3600000', 'last hour'],
  ['86400000', 'last day'],
  ['604800000', 'last week'],
] as const;
const BUCKETS = 400;
const LIVE_POINTS = 600;
/** Flagged buckets whose exact readings are fetched (newest first): bounded work per view. */
const ANOMALY_BUCKETS = 10;
const ANOMALIES_SHOWN = 50;

/** The first value of a reading (named feeds: the first name), for the live chart. */
function firstValue(r: Reading): number | undefined {
  if (typeof r.v === 'number') return r.v;
  const v = Object.values(r.v)[0];
  return typeof v === 'number' ? v : undefined;
}

/**
 * The twin's sensor feeds as the ledger records them (spec-service `GET /twins/:id/feeds`, which
 * the chaincode answers only with `feed:read`), whichever organization operates the device; each
 * is read through this organization's own feed-ingest, which asks the ledger again and reads the
 * feed from the DHT (only parties of the feed's ACL get its keys).
 */
export function FeedsTab({ twinId }: { twinId: string }) {
  const permission = usePermission(twinId, 'feed:read');
  const feeds = useLoad(
    (signal) => allPages((bookmark) => call('spec', 'get', '/twins/{twinId}/feeds', { params: { twinId }, query: { limit: MAX_PAGE, bookmark }, signal })).then((items) => items as unknown as SensorFeedRef[]),
    [twinId],
  );
  return (
    <>
      <h2>Sensor feeds</h2>
      {permission && !permission.allowed ? <NotAllowed what="read this twin's sensor feeds (feed:read)" reason={permission.reason} /> : null}
      <ErrorNotice error={feeds.error} action="list the twin's sensor feeds from the ledger" />
      {feeds.loading ? <p role="status">Loading feeds…</p> : null}
      {feeds.data && feeds.data.length === 0 ? <p>The ledger records no sensor feed for this twin.</p> : null}
      {feeds.data?.map((f) => <LedgerFeed key={f.componentId} twinId={twinId} feed={f} />)}
    </>
  );
}

/** Reads the sensor element from the specification, then shows the feed against its expected range. */
function LedgerFeed({ twinId, feed }: { twinId: string; feed: SensorFeedRef }) {
  const element = useLoad(
    (signal) =>
      call('spec', 'get', '/twins/{twinId}/elements/{elementId}', { params: { twinId, elementId: feed.componentId }, query: { format: 'json' }, signal }).then(
        (r) => sensorProfile((r as unknown as { tree: AmlNode }).tree),
        // The element can be removed between the feed list and this read (removeAML drops its
        // feed's entry too, so the next list will not show it): the feed is shown without a range.
        (err: unknown): SensorProfile => {
          if (err instanceof ApiError && err.status === 404) return { name: feed.componentId, unit: undefined, range: undefined, rangeProblem: 'the sensor element is no longer in the specification' };
          throw err;
        },
      ),
    [twinId, feed.componentId],
  );
  const id = feed.componentId.replace(/[^\w-]/g, '_');
  const by = typeof feed.registeredBy === 'string' ? feed.registeredBy : feed.registeredBy.mspId;
  return (
    <section className="card feed" aria-labelledby={`feed-${id}`} data-feed-id={feed.feedRef} data-component-id={feed.componentId}>
      <h3 id={`feed-${id}`}>
        {element.data?.name ?? feed.componentId} <span className="muted">({feed.componentId}{element.data?.unit ? `, ${element.data.unit}` : ''})</span>
      </h3>
      <p className="muted wrap">
        Feed <code>{feed.feedRef}</code> · registered by {by} at {feed.timestamp}
        {feed.txId ? (
          <>
            {' '}
            in transaction <code title={feed.txId}>{feed.txId.slice(0, 12)}…</code>
          </>
        ) : null}
      </p>
      <ErrorNotice error={element.error} action="read the sensor element from the specification" />
      {element.data ? (
        <>
          {element.data.range ? (
            <p data-testid="expected-range">
              Expected range (specification): {element.data.range.min}–{element.data.range.max} {element.data.unit ?? ''}
            </p>
          ) : (
            <p className="not-allowed" role="note">
              No anomalies are judged: {element.data.rangeProblem}.
            </p>
          )}
          <FeedPanel feedId={feed.feedRef} label={element.data.name} profile={element.data} />
        </>
      ) : null}
    </section>
  );
}

function FeedPanel({ feedId, label, profile }: { feedId: string; label: string; profile: SensorProfile }) {
  const range = profile.range;
  const unit = profile.unit ?? '';
  const [windowMs, setWindowMs] = useState<string>('3600000');
  const [custom, setCustom] = useState<{ from: number; to: number }>();
  // One request: the relative windows are anchored at the newest reading by feed-ingest itself
  // (`last`), so the page does not wait for a separate latest-reading read before the series.
  const series = useLoad(
    (signal) =>
      call('feeds', 'get', '/feeds/{feedId}/series', {
        params: { feedId },
        query: custom ? { from: custom.from, to: custom.to, buckets: BUCKETS } : { last: Number(windowMs), buckets: BUCKETS },
        signal,
      }),
    [feedId, custom?.from, custom?.to, windowMs],
  );
  const bounds = custom ?? (series.data ? { from: series.data.from, to: series.data.to } : undefined);
  const points: SeriesPoint[] = useMemo(
    () =>
      (series.data?.buckets ?? []).flatMap((b) => {
        const s = Object.values(b.values)[0];
        return s ? [{ t: b.start, min: s.min, max: s.max, mean: s.mean }] : [];
      }),
    [series.data],
  );

  const [live, setLive] = useState<SeriesPoint[]>([]);
  const [liveAnomalies, setLiveAnomalies] = useState<Anomaly[]>([]);
  const [streamError, setStreamError] = useState<ApiError>();
  useEffect(() => {
    const ctrl = new AbortController();
    void streamEvents(
      buildUrl('feeds', '/feeds/{feedId}/stream', { feedId }),
      (m) => {
        if (m.event === 'readings') {
          const readings = JSON.parse(m.data) as Reading[];
          const pts = readings.flatMap((r) => {
            const v = firstValue(r);
            return v === undefined ? [] : [{ t: r.ts, min: v, max: v, mean: v }];
          });
          setLive((prev) => [...prev, ...pts].slice(-LIVE_POINTS));
          // Judged here against the specification, for every reader: feed-ingest's own `anomaly`
          // events reach only streams of the organization that ingests the feed.
          if (range) {
            const found = anomaliesOf(readings, range);
            if (found.length > 0) setLiveAnomalies((prev) => [...found.reverse(), ...prev].slice(0, ANOMALIES_SHOWN));
          }
          setStreamError(undefined);
        } else if (m.event === 'error') {
          const e = JSON.parse(m.data) as { code: string };
          setStreamError(new ApiError(0, e.code, 'the feed could not be read from the DHT', 'feeds'));
        }
      },
      ctrl.signal,
      setStreamError,
    );
    return () => ctrl.abort();
  }, [feedId, range?.min, range?.max]);

  const applyCustom = (e: FormEvent<HTMLFormElement>): void => {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const from = Date.parse(`${String(data.get('from'))}Z`);
    const to = Date.parse(`${String(data.get('to'))}Z`);
    if (Number.isFinite(from) && Number.isFinite(to) && from < to) setCustom({ from, to });
  };
  const id = feedId.slice(0, 16);
  const latest = series.data?.latest;

  return (
    <>
      {latest ? (
        <p data-testid="latest-reading">
          Latest reading: {JSON.stringify(latest.v)} {latest.u} at {new Date(latest.ts).toISOString()}
          {range && anomaliesOf([latest], range).length > 0 ? <strong className="anomaly-flag"> outside the expected range</strong> : null}
        </p>
      ) : null}
      <h4>Live</h4>
      <ErrorNotice error={streamError} action="follow the live feed" />
      <SeriesChart points={live} range={range} unit={unit} label={`${label} live`} height={160} />
      {liveAnomalies.length > 0 ? (
        <div role="log" aria-label={`Live anomalies of ${label}`} className="anomalies">
          <h4>Live anomalies</h4>
          <AnomalyList anomalies={liveAnomalies} range={range!} unit={unit} />
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
      <SeriesChart points={points} range={range} unit={unit} label={bounds ? `${label} ${new Date(bounds.from).toISOString()} to ${new Date(bounds.to).toISOString()}` : `${label} history`} />
      {series.data?.sampled ? (
        <p role="note" data-testid="series-sampled">
          Sampled: the window holds {series.data.sampled.of.toLocaleString()} segments; the chart is computed from {series.data.sampled.segments.toLocaleString()} of them, spread over the whole window. Choose a shorter window for every reading.
        </p>
      ) : null}
      {series.data?.truncated ? (
        <p role="note" data-testid="series-partial">
          Partial: segments of the window may be missing from the chart (the feed's time ran backwards). Choose a shorter window for the rest.
        </p>
      ) : null}
      {range && series.data ? <HistoryAnomalies feedId={feedId} buckets={series.data.buckets} seriesTo={series.data.to} range={range} unit={unit} label={label} sampled={series.data.sampled !== undefined} /> : null}
    </>
  );
}

/**
 * The anomalies of the shown window: the buckets whose exact min/max leave the expected range
 * (so none is missed however many readings a bucket holds), then the exact readings of the newest
 * flagged buckets, read through feed-ingest like the series.
 */
function HistoryAnomalies({
  feedId,
  buckets,
  seriesTo,
  range,
  unit,
  label,
  sampled,
}: {
  feedId: string;
  buckets: Parameters<typeof flaggedBuckets>[0];
  seriesTo: number;
  range: ExpectedRange;
  unit: string;
  label: string;
  /** The series was sampled: its min/max are those of the segments read, so the flags are too. */
  sampled: boolean;
}) {
  const flagged = useMemo(() => flaggedBuckets(buckets, seriesTo, range), [buckets, seriesTo, range]);
  /** Intervals, not (interval, value name) pairs: a named feed's bucket may be flagged for several names. */
  const intervals = useMemo(() => new Set(flagged.map((f) => f.from)).size, [flagged]);
  const exact = useLoad(async (signal) => {
    // Newest first; a bucket flagged for several value names is read once.
    const newest = [...new Map(flagged.map((f) => [f.from, f])).values()].slice(-ANOMALY_BUCKETS).reverse();
    const found: Anomaly[] = [];
    // A bucket may hold more readings than one range read answers: paged to its end (bounded).
    const page = (from: number, to: number) => call('feeds', 'get', '/feeds/{feedId}/readings', { params: { feedId }, query: { from, to, limit: 1000 }, signal });
    for (const b of newest) {
      const r = await readAllReadings(page, b.from, b.to);
      found.push(...anomaliesOf(r.readings, range).reverse());
      if (found.length >= ANOMALIES_SHOWN) break;
    }
    return found.slice(0, ANOMALIES_SHOWN);
  }, [feedId, flagged]);
  return (
    <div className="anomalies" data-testid="history-anomalies" data-count={intervals}>
      <h4>Anomalies in this window</h4>
      {flagged.length === 0 ? (
        <p>{sampled ? 'No sampled reading of this window is outside the expected range (a shorter window checks every reading).' : 'No reading in this window is outside the expected range.'}</p>
      ) : (
        <>
          <p className="anomaly-flag">
            {intervals} of {buckets.length} intervals with readings hold readings outside {range.min}–{range.max} {unit}
            {sampled ? ' (in the sampled segments; a shorter window checks every reading)' : ''}
          </p>
          <ErrorNotice error={exact.error} action="read the anomalous readings" />
          {exact.data ? <AnomalyList anomalies={exact.data} range={range} unit={unit} caption={`Newest readings of ${label} outside the expected range`} /> : null}
        </>
      )}
    </div>
  );
}

function AnomalyList({ anomalies, range, unit, caption }: { anomalies: readonly Anomaly[]; range: ExpectedRange; unit: string; caption?: string }) {
  return (
    <table className="fit">
      {caption ? <caption>{caption}</caption> : null}
      <thead>
        <tr>
          <th scope="col">Time (UTC)</th>
          <th scope="col">Value</th>
          <th scope="col">Expected</th>
        </tr>
      </thead>
      <tbody>
        {anomalies.map((a) => (
          <tr key={`${a.ts}-${a.name}`}>
            <td>{new Date(a.ts).toISOString()}</td>
            <td className="anomaly-flag">
              {a.name !== 'v' ? `${a.name} = ` : ''}
              {a.value} {unit}
            </td>
            <td>
              {range.min}–{range.max} {unit}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
