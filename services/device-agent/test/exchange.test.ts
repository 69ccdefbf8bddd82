import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@twinledger/observability';
import type { BottlingPlantSimulator } from '@twinledger/plant-sim';
import type { DeviceAdapter } from '../src/domain/device.js';
import { derivedFeedRegistrar } from '../src/domain/feed-registrar.js';
import { createSyncEngine, type SyncEngine } from '../src/domain/sync.js';
import { opcua, simulator, until } from './support/opcua.js';
import { securePair } from './support/pki.js';
import { ledgerDouble, withSerial, type LedgerDouble } from './support/ledger-double.js';

const TWIN = 'twin-exchange';
const SENSORS = ['sensor-fill-level-1', 'sensor-flow-1', 'sensor-pressure-1', 'sensor-temperature-1'];

// The simulator over real (secured) OPC UA and the sync engine deciding from a ledger double:
// which writes a same-tag exchange and an unreachable part lead to.
describe('component exchange by identity, unreachable parts', () => {
  let dir: string;
  let sim: BottlingPlantSimulator;
  let adapter: DeviceAdapter;
  let d: LedgerDouble;
  let engine: SyncEngine;
  let fixture: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'da-exchange-'));
    const pair = await securePair(dir);
    sim = await simulator.startBottlingPlantSimulator({ pkiDir: join(dir, 'plant-server-pki'), tickMs: 50, security: pair.server });
    adapter = opcua.createOpcUaAdapter({ endpointUrl: sim.endpointUrl, pkiDir: join(dir, 'agent-client-pki'), logger: silentLogger(), security: pair.client, samplingIntervalMs: 50 });
    await adapter.start();
    d = await ledgerDouble();
    fixture = d.aml;
    const feeds = derivedFeedRegistrar();
    // Every sensor already has its feed on the "ledger": only exchange steps show up as writes.
    d.feeds = await Promise.all(SENSORS.map(async (componentId) => ({ componentId, feedRef: await feeds.ensureFeed(TWIN, { componentId, kind: 'sensor', name: '', parentId: 'filler-1' }) })));
    engine = createSyncEngine({ twinId: TWIN, ledger: d.ledger, adapter, feeds, logger: silentLogger() });
  }, 60_000);

  afterAll(async () => {
    await adapter?.stop();
    await sim?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a sensor swapped for a part with the same tag but another serial number is an exchange: removeAML + insertAML in place + feed', async () => {
    d.aml = withSerial(fixture, 'sensor-flow-1', 'SN-sensor-flow-1');
    expect((await engine.sync('baseline')).actions).toEqual([]);
    d.writes.length = 0;

    sim.swapSensorPart('sensor-flow-1', { serialNumber: 'SN-FLOW-NEW-9' });
    const inv = await until(() => adapter.inventory(), (i) => i.find((c) => c.componentId === 'sensor-flow-1')?.serialNumber === 'SN-FLOW-NEW-9');
    expect(inv.map((c) => c.componentId)).toContain('sensor-flow-1');
    expect((await engine.drift()).items).toContainEqual({ type: 'EXCHANGED', componentId: 'sensor-flow-1', details: { attribute: 'SerialNumber', twin: 'SN-sensor-flow-1', device: 'SN-FLOW-NEW-9' } });

    const report = await engine.sync('device-change');
    expect(report.ok).toBe(true);
    const exchange = { attribute: 'SerialNumber', old: 'SN-sensor-flow-1', new: 'SN-FLOW-NEW-9' };
    expect(report.actions).toEqual([
      { action: 'removeAML', componentId: 'sensor-flow-1', txId: 'tx-1', exchange },
      // Back where the old part was: after the fill-level sensor, under the filler.
      { action: 'insertAML', componentId: 'sensor-flow-1', txId: 'tx-2', parentId: 'filler-1', afterId: 'sensor-fill-level-1', exchange },
      expect.objectContaining({ action: 'addSensorFeed', componentId: 'sensor-flow-1' }),
    ]);
    expect(d.writes[0]).toBe('removeAML(["sensor-flow-1"])');
    expect(d.writes[1]).toContain('SN-FLOW-NEW-9');
    expect(d.writes[1]).toContain('"filler-1","sensor-fill-level-1"]');
    expect(d.writes).toHaveLength(3);
  });

  it('a part whose reads fail is reported unreachable and stays in the specification', async () => {
    d.aml = withSerial(fixture, 'sensor-flow-1', 'SN-FLOW-NEW-9');
    d.writes.length = 0;
    sim.setUnreachable('sensor-pressure-1', true);
    const inv = await adapter.inventory();
    expect(inv.find((c) => c.componentId === 'sensor-pressure-1')).toMatchObject({ componentId: 'sensor-pressure-1', reachable: false });
    const report = await engine.sync('interval');
    expect(report).toMatchObject({ ok: true, actions: [] });
    expect(report.drift?.items).toEqual([{ type: 'UNREACHABLE', componentId: 'sensor-pressure-1' }]);
    expect(d.writes).toEqual([]);

    sim.setUnreachable('sensor-pressure-1', false);
    const healed = await engine.sync('interval');
    expect(healed).toMatchObject({ ok: true, actions: [] });
    expect(healed.drift?.items).toEqual([]);
    expect(d.writes).toEqual([]);
  });
});
