import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fabricAvailability, testNetworkInit } from '@twinledger/devnet';
import { runScenario, startConsortium, type Consortium, type ScenarioReport } from '../src/index.js';
import { request } from '../src/http.js';

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
    expect(report!.facts.refusals).toEqual([
      { who: 'manufacturer', what: 'read secret document', status: 403, code: 'ACCESS_DENIED' },
      { who: 'manufacturer', what: 'insert AML element', status: 403, code: 'ACCESS_DENIED' },
      { who: 'manufacturer', what: 'call program', status: 403, code: 'ACCESS_DENIED' },
      { who: 'auditor', what: 'read secret document', status: 403, code: 'ACCESS_DENIED' },
      { who: 'auditor', what: 'upload document', status: 403, code: 'ACCESS_DENIED' },
      { who: 'auditor', what: 'call program', status: 403, code: 'ACCESS_DENIED' },
      { who: 'auditor', what: 'grant a role', status: 403, code: 'ACCESS_DENIED' },
    ]);
  });

  it('step 15: the audit bundle verifies, and its hashes are recomputable from the file alone', () => {
    const f = report!.facts;
    expect(f.audit?.ok).toBe(true);
    expect(f.audit?.checks.every((x) => x.ok)).toBe(true);
    expect(existsSync(f.auditBundleFile!)).toBe(true);
    const b = JSON.parse(readFileSync(f.auditBundleFile!, 'utf8')) as {
      documentExport: { document: { hash: string } };
      specificationExport: { specification: { sha256: string; aml: string } };
      documentContentBase64: string;
    };
    const sha = (x: Buffer | string): string => createHash('sha256').update(x).digest('hex');
    expect(sha(Buffer.from(b.documentContentBase64, 'base64'))).toBe(f.reportHash);
    expect(b.documentExport.document.hash).toBe(f.reportHash);
    expect(sha(b.specificationExport.specification.aml)).toBe(b.specificationExport.specification.sha256);
    expect(b.specificationExport.specification.aml).toContain('ID="sensor-fill-level-2"');
    expect(b.specificationExport.specification.aml).not.toContain('ID="sensor-fill-level-1"');
  });

  it('steps 16-17: the authorized call runs on the plant, the out-of-bounds one is refused', async () => {
    const f = report!.facts;
    expect(f.callStatus).toBe('EXECUTED');
    expect(f.plantSpeedAfterCall).toBe(1.2);
    expect(f.outOfBounds).toEqual({ status: 400, code: 'OUT_OF_BOUNDS', plantSpeed: 1.2 });
    const plant = (await request(`${c.plant.controlUrl}/state`)).json as { invocations: { method: string; args: { speed?: number } }[] };
    expect(plant.invocations.filter((i) => i.method === 'SetConveyorSpeed').map((i) => i.args.speed)).toEqual([1.2]);
  });
});
