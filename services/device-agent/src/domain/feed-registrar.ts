import { createHash } from 'node:crypto';
import { UnavailableError } from '@twinledger/errors';
import type { DeviceComponent } from './device.js';

/** Gives the feed reference under which a sensor's stream is published (and registered on chain). */
export interface FeedRegistrar {
  /** Idempotent: the same twin component always gets the same feed. */
  ensureFeed(twinId: string, component: DeviceComponent): Promise<string>;
}

/**
 * Without a feed-ingest service to ask, the feed ID is derived from twin and component:
 * stable across restarts and agents, so a re-run never registers a second feed.
 */
export function derivedFeedRegistrar(): FeedRegistrar {
  return {
    async ensureFeed(twinId, component) {
      return createHash('sha256').update(`twinledger-feed\0${twinId}\0${component.componentId}`).digest('hex');
    },
  };
}

export class FeedRegistrationError extends UnavailableError {
  override readonly code = 'FEED_REGISTRATION_FAILED';
}

export interface FeedIngestRegistrarInit {
  /** Base URL of this organization's feed-ingest service. */
  readonly baseUrl: string;
  /** Bearer token the agent presents to feed-ingest, or a function giving the current one (a rotated, mounted token file). */
  readonly token: string | (() => Promise<string>);
  /** Organizations that may read the feed (feed-ingest always adds its own). */
  readonly acl: readonly string[];
  readonly timeoutMs?: number;
}

/**
 * Registers the feed with feed-ingest (`POST /feeds`), which creates the DHT feed the readings
 * go to. A second registration of the same component answers 409 FEED_EXISTS with the existing
 * feed ID, which makes this idempotent too. A confirmed registration is remembered for the
 * process's life, so the sync can ask on every run without a request per sensor each time.
 */
export function feedIngestRegistrar(init: FeedIngestRegistrarInit): FeedRegistrar {
  const confirmed = new Map<string, string>();
  return {
    async ensureFeed(twinId, c) {
      const key = `${twinId}\0${c.componentId}`;
      const known = confirmed.get(key);
      if (known !== undefined) return known;
      const feedId = await register(twinId, c);
      confirmed.set(key, feedId);
      return feedId;
    },
  };

  async function register(twinId: string, c: DeviceComponent): Promise<string> {
    const token = typeof init.token === 'string' ? init.token : await init.token();
    const body = {
      twinId,
      componentId: c.componentId,
      unit: c.unit ?? '',
      ...(c.expectedMin !== undefined && c.expectedMax !== undefined ? { expectedRange: { min: c.expectedMin, max: c.expectedMax } } : {}),
      acl: [...init.acl],
    };
    let res: Response;
    try {
      res = await fetch(new URL('/feeds', init.baseUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new FeedRegistrationError('feed-ingest unreachable', { cause: err, retryAfterSeconds: 2 });
    }
    const json = (await res.json().catch(() => ({}))) as { feedId?: unknown; code?: unknown; details?: { feedId?: unknown } };
    if (res.status === 201 && typeof json.feedId === 'string') return json.feedId;
    if (res.status === 409 && typeof json.details?.feedId === 'string') return json.details.feedId;
    throw new FeedRegistrationError(`feed-ingest refused the feed: ${res.status} ${String(json.code ?? '')}`, { retryAfterSeconds: 2, details: { status: res.status, componentId: c.componentId } });
  }
}
