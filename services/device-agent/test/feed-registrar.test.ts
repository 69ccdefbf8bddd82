import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { feedIngestRegistrar } from '../src/domain/feed-registrar.js';

// A small stand-in for feed-ingest's POST /feeds (its contract: 201 record, 409 FEED_EXISTS
// with details.feedId), on 127.0.0.1.
describe('feed-ingest registrar', () => {
  let server: Server;
  let base: string;
  const seen: { auth: string | undefined; body: Record<string, unknown> }[] = [];
  const existing = new Map<string, string>();
  let fail = false;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (d: Buffer) => (raw += d.toString()));
      req.on('end', () => {
        const body = JSON.parse(raw) as Record<string, unknown>;
        seen.push({ auth: req.headers.authorization, body });
        res.setHeader('content-type', 'application/json');
        if (fail) {
          res.statusCode = 503;
          res.end(JSON.stringify({ code: 'UNAVAILABLE', message: 'down' }));
          return;
        }
        const key = `${String(body['twinId'])}/${String(body['componentId'])}`;
        const known = existing.get(key);
        if (known) {
          res.statusCode = 409;
          res.end(JSON.stringify({ code: 'FEED_EXISTS', message: 'exists', details: { feedId: known } }));
          return;
        }
        const feedId = String(existing.size + 1).padStart(64, 'a');
        existing.set(key, feedId);
        res.statusCode = 201;
        res.end(JSON.stringify({ feedId, twinId: body['twinId'], componentId: body['componentId'] }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((r) => server.close(() => r())));

  const sensor = { componentId: 'sensor-fill-level-2', kind: 'sensor', name: 'FillLevelSensor', parentId: 'filler-1', unit: 'mm', expectedMin: 180, expectedMax: 195 };

  it('registers the feed with unit, expected range and ACL, and gets the same feed on a second try', async () => {
    const r = feedIngestRegistrar({ baseUrl: base, token: 'tok', acl: ['Org2MSP'] });
    const id = await r.ensureFeed('plant-1', sensor);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(seen[0]).toEqual({ auth: 'Bearer tok', body: { twinId: 'plant-1', componentId: 'sensor-fill-level-2', unit: 'mm', expectedRange: { min: 180, max: 195 }, acl: ['Org2MSP'] } });
    // Remembered: a second sync does not ask again.
    await expect(r.ensureFeed('plant-1', sensor)).resolves.toBe(id);
    expect(seen).toHaveLength(1);
    // A restarted agent (a new registrar) asks, gets 409 FEED_EXISTS, and the same feed.
    let calls = 0;
    const fresh = feedIngestRegistrar({ baseUrl: base, token: async () => `rotated-${++calls}`, acl: ['Org2MSP'] });
    await expect(fresh.ensureFeed('plant-1', sensor)).resolves.toBe(id);
    expect(seen[1]?.auth).toBe('Bearer rotated-1');
  });

  it('reports feed-ingest refusals and outages as FEED_REGISTRATION_FAILED (retryable)', async () => {
    fail = true;
    await expect(feedIngestRegistrar({ baseUrl: base, token: 't', acl: [] }).ensureFeed('plant-1', { ...sensor, componentId: 'x' })).rejects.toMatchObject({ code: 'FEED_REGISTRATION_FAILED', httpStatus: 503, details: { status: 503 } });
    fail = false;
    await expect(feedIngestRegistrar({ baseUrl: 'http://127.0.0.1:1', token: 't', acl: [] }).ensureFeed('plant-1', sensor)).rejects.toMatchObject({ code: 'FEED_REGISTRATION_FAILED' });
  });
});
