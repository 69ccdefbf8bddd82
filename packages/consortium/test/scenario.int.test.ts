import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { verifyBlockBundle, type AuditBlockBundle } from '@twinledger/audit';
import { fabricAvailability, testNetworkInit } from '@twinledger/devnet';
import { SignJWT, importJWK } from 'jose';
import { FIXTURE_AML } from '../src/layout.js';
import { describeEndpoints, runScenario, startConsortium, type Consortium, type OrgRuntime, type ScenarioReport } from '../src/index.js';
import { request, waitFor } from '../src/http.js';
import { ScriptedBrowser } from '@twinledger/oidc-dev-provider/testing';
import { walkOpenApi, type WalkHit } from './route-walk.js';

const fabric = await fabricAvailability();

// The `npm start` scenario of issue #9, run by the same code against the real consortium: four
// Fabric orgs, Kafka, 17 service processes from services/*/dist (build first: `npm run build`;
// `npm test` does), services/console per org when built, and the simulated plant. Each step already checks its own outcome; the
// assertions here re-check the values every step established.
(fabric.ok ? describe : describe.skip)('npm start consortium scenario (end to end)', () => {
  let c: Consortium;
  let report: ScenarioReport | undefined;
  let failure: unknown;
  const lines: string[] = [];

  beforeAll(async () => {
    c = await startConsortium({ ...testNetworkInit(), twinId: `bottling-${Date.now()}`, log: (l) => void lines.push(l) });
    try {
      report = await runScenario(c, { log: (l) => void lines.push(l) });
    } catch (err) {
      failure = err;
      process.stderr.write(`scenario failed; logs kept in ${c.preserveLogs()}\n${lines.join('\n')}\n`);
    }
  }, 420_000);

  afterAll(async () => {
    const pids = c?.orgs.flatMap((o) => o.processes.map((p) => p.pid));
    await c?.stop();
    // Nothing of ours is left: every service process is gone.
    for (const pid of pids ?? []) expect(() => process.kill(pid!, 0)).toThrow();
  }, 120_000);

  it('runs all 17 steps in order', () => {
    expect(failure).toBeUndefined();
    expect(report!.steps.map((s) => s.n)).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
  });

  it('starts every service of every org as its own process, ready', async () => {
    expect(c.orgs.map((o) => o.mspId)).toEqual(['ManufacturerMSP', 'OwnerMSP', 'MaintainerMSP', 'AuditorMSP']);
    for (const o of c.orgs) {
      const urls = [o.urls.spec, o.urls.acl, o.urls.dht, o.urls.feed, ...(o.urls.agent ? [o.urls.agent] : []), ...(o.urls.console ? [o.urls.console] : [])];
      for (const u of urls) {
        expect((await request(`${u}/readyz`)).status).toBe(200);
        expect((await request(`${u}/docs/json`)).status).toBe(200);
      }
    }
    const pids = c.orgs.flatMap((o) => o.processes.map((p) => p.pid));
    // 4 orgs x 4 services + the Owner's device agent, plus a console per org once it is built.
    const expected = 17 + c.orgs.filter((o) => o.urls.console !== undefined).length;
    expect(pids).toHaveLength(expected);
    expect(new Set(pids).size).toBe(expected);
  });

  it('runs an OpenID provider per org: each console signs its users in there, the services verify the tokens', async () => {
    for (const o of c.orgs.filter((x) => x.urls.console !== undefined)) {
      const discovery = (await request(`${o.idp.url}/.well-known/openid-configuration`)).json as { issuer: string; code_challenge_methods_supported: string[] };
      expect(discovery.issuer).toBe(o.idp.url);
      expect(discovery.code_challenge_methods_supported).toEqual(['S256']);
      expect(describeEndpoints(c).join('\n')).toContain(`sign in at   ${o.urls.console}/ (OpenID provider ${o.idp.url}) as user1 / ${o.idp.users[0]!.password} (User1)`);
      const b = new ScriptedBrowser(o.urls.console!);
      expect((await b.signIn(o.idp.users[0]!.username, o.idp.users[0]!.password)).status).toBe(302);
      const session = await fetch(`${o.urls.console}/api/console/session`, { headers: { cookie: b.cookieHeader(o.urls.console!) } });
      expect(await session.json()).toMatchObject({ subject: o.idp.users[0]!.username, mspId: o.mspId, fabricIdentity: 'User1' });
      // Through the session, the org's spec-service answers as that user.
      expect((await fetch(`${o.urls.console}/api/spec/twins?limit=1`, { headers: { cookie: b.cookieHeader(o.urls.console!) } })).status).toBe(200);
    }
  });

  it('steps 1-3: the twin is created with the grants, the agent registers the four sensor feeds', () => {
    const f = report!.facts;
    expect(f.createTx).toMatch(/^[0-9a-f]{64}$/);
    expect(f.initialFeeds).toEqual(['sensor-fill-level-1', 'sensor-flow-1', 'sensor-pressure-1', 'sensor-temperature-1']);
  });

  it('steps 4-7: sensor breaks and is replaced, the agent updates the spec, the new stream flows', () => {
    const f = report!.facts;
    expect(f.floodingAfterBreak).toBe(true);
    expect(f.agentChangeCreator).toBe(c.deviceAgentIdentity);
    expect(f.agentChangeCreator).toContain('CN=User2@owner.twinledger.local');
    expect(f.newSensorFeedId).toMatch(/^[0-9a-f]{64}$/);
    expect(f.ownerLatestReading?.component).toBe('sensor-fill-level-2');
    expect(typeof f.ownerLatestReading?.v).toBe('number');
  });

  it('steps 8-13: report uploaded; parties read what their roles allow (auditor through its own DHT node)', () => {
    const f = report!.facts;
    expect(f.reportHash).toMatch(/^[0-9a-f]{64}$/);
    expect(f.secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(f.auditorReadingCount).toBeGreaterThan(0);
  });

  it('steps 12 and 14: every refusal is an actual 403 ACCESS_DENIED', () => {
    expect(c.ownerNamespace).toBe('bottling-');
    expect(report!.facts.refusals).toEqual([
      { who: 'manufacturer', what: 'read secret document', status: 403, code: 'ACCESS_DENIED' },
      { who: 'manufacturer', what: 'insert AML element', status: 403, code: 'ACCESS_DENIED' },
      { who: 'manufacturer', what: 'call program', status: 403, code: 'ACCESS_DENIED' },
      { who: 'auditor', what: 'read secret document', status: 403, code: 'ACCESS_DENIED' },
      { who: 'auditor', what: 'upload document', status: 403, code: 'ACCESS_DENIED' },
      { who: 'auditor', what: 'call program', status: 403, code: 'ACCESS_DENIED' },
      { who: 'auditor', what: 'grant a role', status: 403, code: 'ACCESS_DENIED' },
      // The Owner claimed its plant's namespace: the twin ID up to its last separator.
      { who: 'auditor', what: `create a twin in the Owner's namespace ${c.ownerNamespace}`, status: 403, code: 'ACCESS_DENIED' },
    ]);
  });

  it('step 15: the audit bundle verifies, and its hashes are recomputable from the file alone', () => {
    const f = report!.facts;
    expect(f.audit?.ok).toBe(true);
    expect(f.audit?.checks.every((x) => x.ok)).toBe(true);
    expect(existsSync(f.auditBundleFile!)).toBe(true);
    const b = JSON.parse(readFileSync(f.auditBundleFile!, 'utf8')) as AuditBlockBundle;
    const sha = (x: Buffer | string): string => createHash('sha256').update(x).digest('hex');
    expect(b.documents.map((d) => [d.hash, sha(Buffer.from(d.contentBase64, 'base64'))])).toEqual([[f.reportHash, f.reportHash]]);
    // The replayed specification: the replacement sensor is there, the broken one is gone.
    const keys = Object.keys(b.specification.state).join('\n');
    expect(keys).toContain('sensor-fill-level-2');
    expect(keys).not.toContain('sensor-fill-level-1\u0000');
    // The new sensor's readings, proven against the Owner's anchors, verify again from the file alone.
    expect(b.feeds?.find((x) => x.feedId === f.newSensorFeedId)?.updates.length).toBeGreaterThan(0);
    const again = verifyBlockBundle(b);
    expect(again.failures).toEqual([]);
    expect(again.feeds?.find((x) => x.feedId === f.newSensorFeedId)?.provenSegments).toBeGreaterThan(0);
  });

  it('steps 16-17: the authorized call runs on the plant, the out-of-bounds one is refused', async () => {
    const f = report!.facts;
    expect(f.callStatus).toBe('EXECUTED');
    expect(f.plantSpeedAfterCall).toBe(1.2);
    expect(f.outOfBounds).toEqual({ status: 400, code: 'OUT_OF_BOUNDS', plantSpeed: 1.2 });
    const plant = (await request(`${c.plant.controlUrl}/state`)).json as { invocations: { method: string; args: { speed?: number } }[] };
    expect(plant.invocations.filter((i) => i.method === 'SetConveyorSpeed').map((i) => i.args.speed)).toEqual([1.2]);
  });
  // Issue #17: off-chain data obeys the ledger. A twin the Owner keeps to itself (the
  // everyone-READER default revoked), with a secret document and a feed; the other parties'
  // users then try every route of every service of theirs, and the DHT directly.
  describe('a party with no grant gets no protected byte by any route', () => {
    const tag = randomTag();
    const markers = { spec: `ACME-PRIVATE-${tag}`, doc: `PRIVATE-DOCUMENT-${tag}`, reading: '4242.4242' };
    const ids: Record<string, string> = {};
    let setupError: unknown;

    beforeAll(async () => {
      if (failure !== undefined) return;
      try {
        const owner = c.org('owner');
        const token = await owner.token('User1');
        const twinId = `private-${tag}`;
        const aml = readFileSync(FIXTURE_AML(), 'utf8').replace('ACME Bottling Systems', markers.spec);
        const created = await request(`${owner.urls.spec}/twins`, { token, json: { deviceId: twinId, deviceName: 'Private line', aml } });
        if (created.status !== 201) throw new Error(`create private twin: ${created.status} ${created.bytes.toString('utf8')}`);
        const revoked = await request(`${owner.urls.acl}/twins/${twinId}/grants/revoke`, { token, json: { mspId: '*', role: 'READER' } });
        if (revoked.status !== 200) throw new Error(`revoke READER: ${revoked.status} ${revoked.bytes.toString('utf8')}`);
        const q = new URLSearchParams({ title: 'Private contract', confidentiality: 'secret' });
        const doc = await request(`${owner.urls.spec}/twins/${twinId}/documents?${q.toString()}`, { token, bytes: Buffer.from(`${markers.doc}\n`) });
        if (doc.status !== 201) throw new Error(`upload private document: ${doc.status} ${doc.bytes.toString('utf8')}`);
        const up = doc.json as { result: { hash: string }; stored: { ref: string } };
        const feed = await request(`${owner.urls.feed}/feeds`, { token, json: { twinId, componentId: 'plant-1', unit: 'm/s', expectedRange: { min: 0, max: 10_000 }, acl: [owner.mspId] } });
        if (feed.status !== 201) throw new Error(`register private feed: ${feed.status} ${feed.bytes.toString('utf8')}`);
        const feedId = (feed.json as { feedId: string }).feedId;
        const sent = await request(`${owner.urls.feed}/readings`, { token, json: [{ feed: feedId, component: 'plant-1', ts: Date.now(), v: Number(markers.reading), u: 'm/s' }] });
        if (sent.status !== 202) throw new Error(`private readings: ${sent.status} ${sent.bytes.toString('utf8')}`);
        await waitFor(
          async () => {
            const res = await request(`${owner.urls.feed}/feeds/${feedId}/latest`, { token });
            return res.status === 200 && res.bytes.toString('utf8').includes(markers.reading) ? true : undefined;
          },
          { step: 'private reading stored in the DHT', timeoutMs: 90_000 },
        );
        Object.assign(ids, { twinId, deviceId: twinId, hash: up.result.hash, documentHash: up.result.hash, originalHash: up.result.hash, ref: up.stored.ref, feedId, id: 'plant-1', elementId: 'plant-1', componentId: 'plant-1' });
      } catch (err) {
        setupError = err;
      }
    }, 240_000);

    const outsiders = (): OrgRuntime[] => [c.org('auditor'), c.org('manufacturer')];

    it('the setup of the private twin succeeded', () => {
      expect(failure).toBeUndefined();
      expect(setupError).toBeUndefined();
    });

    it('walks every route of every user-facing service of the other parties: no marker of the private twin in any answer, no 2xx on its data, no 5xx', async () => {
      expect(setupError).toBeUndefined();
      const hits: WalkHit[] = [];
      for (const o of outsiders()) {
        const token = await o.token('User1');
        const services: Array<[string, string | undefined]> = [['spec', o.urls.spec], ['acl', o.urls.acl], ['feed', o.urls.feed], ['agent', o.urls.agent], ['console', o.urls.console]];
        for (const [name, url] of services) {
          if (url === undefined) continue;
          hits.push(...(await walkOpenApi(`${o.party}.${name}`, url, token, ids, Object.values(markers))));
        }
      }
      expect(hits.length).toBeGreaterThan(30);
      expect(hits.filter((h) => h.leaked.length > 0)).toEqual([]);
      expect(hits.filter((h) => h.status >= 500)).toEqual([]);
      // A route addressing the private twin, its document or its feed serves nothing to them.
      const addressed = hits.filter((h) => /\{(twinId|hash|ref|feedId)\}/.test(h.route) && h.method === 'GET');
      expect(addressed.length).toBeGreaterThan(5);
      expect(addressed.filter((h) => h.status < 300)).toEqual([]);
    }, 300_000);

    it("no user reaches a DHT gateway: the Owner's user cannot change the secret document's ACL, the Auditor cannot read it there", async () => {
      expect(setupError).toBeUndefined();
      const owner = c.org('owner');
      const auditor = c.org('auditor');
      const ownerToken = await owner.token('User1');
      const widen = await request(`${owner.urls.dht}/objects/${ids['ref']}/acl`, { method: 'PUT', token: ownerToken, json: { parties: [owner.mspId, auditor.mspId] } });
      expect([401, 403]).toContain(widen.status);
      if (owner.urls.console !== undefined) {
        const viaConsole = await request(`${owner.urls.console}/api/dht/objects/${ids['ref']}/acl`, { method: 'PUT', token: ownerToken, json: { parties: [owner.mspId, auditor.mspId] } });
        expect(viaConsole.status).toBe(404);
      }
      const auditorToken = await auditor.token('User1');
      if (auditor.urls.console !== undefined) {
        const read = await request(`${auditor.urls.console}/api/dht/objects/${ids['ref']}`, { token: auditorToken });
        expect(read.status).toBe(404);
        expect(read.bytes.toString('utf8')).not.toContain(markers.doc);
      }
      const hits = await walkOpenApi('auditor.dht', auditor.urls.dht, auditorToken, ids, Object.values(markers));
      expect(hits.filter((h) => !['/healthz', '/readyz', '/metrics'].includes(h.route) && h.status !== 401 && h.status !== 403)).toEqual([]);
      expect(hits.filter((h) => h.leaked.length > 0)).toEqual([]);
      // The secret document's ACL on the DHT still names the Owner alone.
      const spec = await request(`${owner.urls.spec}/twins/${ids['twinId']}/documents/${ids['hash']}/content`, { token: auditorToken });
      expect(spec.status).toBe(401);
      const auditorSpec = await request(`${auditor.urls.spec}/twins/${ids['twinId']}/documents/${ids['hash']}/content`, { token: auditorToken });
      expect(auditorSpec.status).toBe(403);
    }, 120_000);

    it('tokens without exp, with iat in the future, too long-lived, or naming another organization are refused by every service', async () => {
      expect(setupError).toBeUndefined();
      const auditor = c.org('auditor');
      const key = await importJWK(await auditor.issuer.exportPrivate(), 'ES256');
      const kid = `${auditor.issuer.issuer}#dev`;
      const now = Math.floor(Date.now() / 1000);
      const sign = (claims: { org?: string; iat?: number; exp?: number; aud?: string }): Promise<string> => {
        let jwt = new SignJWT({ org: claims.org ?? auditor.mspId, fabric_identity: 'User1', roles: [] })
          .setProtectedHeader({ alg: 'ES256', kid })
          .setIssuer(auditor.issuer.issuer)
          .setSubject('mallory@auditor')
          .setAudience(claims.aud ?? 'twinledger')
          .setIssuedAt(claims.iat ?? now);
        if (claims.exp !== undefined) jwt = jwt.setExpirationTime(claims.exp);
        return jwt.sign(key);
      };
      const bad = {
        noExp: await sign({}),
        futureIat: await sign({ iat: now + 600, exp: now + 1200 }),
        tooLong: await sign({ exp: now + 30 * 24 * 3600 }),
        otherOrg: await sign({ org: c.org('owner').mspId, exp: now + 600 }),
      };
      const protectedRoute: Array<[string, string]> = [
        ['spec', `${auditor.urls.spec}/twins`],
        ['acl', `${auditor.urls.acl}/parties`],
        ['feed', `${auditor.urls.feed}/feeds`],
        ['dht', `${auditor.urls.dht}/objects/${ids['ref']}/manifest`],
      ];
      const answers: Array<{ service: string; token: string; status: number }> = [];
      for (const [service, url] of protectedRoute) {
        for (const [name, token] of Object.entries(bad)) answers.push({ service, token: name, status: (await request(url, { token })).status });
      }
      expect(answers.filter((a) => a.status !== 401 && a.status !== 403)).toEqual([]);
      expect(answers.filter((a) => a.token === 'otherOrg' && a.service !== 'dht').map((a) => a.status)).toEqual([403, 403, 403]);
    }, 60_000);
  });
});

function randomTag(): string {
  return createHash('sha256').update(`${process.pid}-${Date.now()}-${Math.random()}`).digest('hex').slice(0, 12);
}
