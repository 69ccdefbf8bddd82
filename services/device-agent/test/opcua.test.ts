import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@twinledger/observability';
import type { BottlingPlantSimulator } from '@twinledger/plant-sim';
import type { DeviceAdapter, SensorSample } from '../src/domain/device.js';
import { opcua, simulator, until } from './support/opcua.js';
import { securePair, type SecurePair } from './support/pki.js';

const { createOpcUaAdapter } = opcua;
const { BOTTLING_PLANT_SENSORS, startBottlingPlantSimulator } = simulator;


// Real OPC UA over TCP on 127.0.0.1 (ephemeral port): the simulator is a node-opcua server.
describe('bottling plant simulator through the OPC UA adapter', () => {
  let dir: string;
  let sim: BottlingPlantSimulator;
  let adapter: DeviceAdapter;
  let changes = 0;
  let pair: SecurePair;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'da-opcua-'));
    pair = await securePair(dir);
    sim = await startBottlingPlantSimulator({ pkiDir: join(dir, 'server-pki'), tickMs: 50, security: pair.server });
    adapter = createOpcUaAdapter({ endpointUrl: sim.endpointUrl, pkiDir: join(dir, 'client-pki'), security: pair.client, logger: silentLogger(), samplingIntervalMs: 50, reconnectInitialMs: 100, reconnectMaxMs: 400 });
    adapter.onInventoryChange(() => void (changes += 1));
    await adapter.start();
  }, 60_000);

  afterAll(async () => {
    await adapter?.stop();
    await sim?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the inventory of the fixture plant with its metadata', async () => {
    const inv = await adapter.inventory();
    expect(inv.map((c) => c.componentId)).toEqual(['conveyor-1', 'sensor-fill-level-1', 'sensor-flow-1', 'sensor-pressure-1', 'sensor-temperature-1', 'valve-inlet-1', 'valve-outlet-1']);
    expect(inv.find((c) => c.componentId === 'sensor-pressure-1')).toEqual({
      componentId: 'sensor-pressure-1', kind: 'sensor', name: 'PressureSensor', parentId: 'filler-1', measuredQuantity: 'pressure', unit: 'bar',
      expectedMin: 1.5, expectedMax: 3, manufacturer: 'ACME Sensors', serialNumber: 'SN-sensor-pressure-1',
    });
    expect(inv.find((c) => c.componentId === 'conveyor-1')).toMatchObject({ kind: 'actuator', parentId: 'plant-1' });
  });

  it('streams sensor values inside their expected ranges, and a broken sensor as bad', async () => {
    const samples: SensorSample[] = [];
    await adapter.watchSensors(BOTTLING_PLANT_SENSORS.map((s) => s.componentId), (s) => samples.push(s));
    await until(() => new Set(samples.map((s) => s.componentId)).size, (n) => n === 4);
    for (const s of samples) {
      const spec = BOTTLING_PLANT_SENSORS.find((x) => x.componentId === s.componentId)!;
      expect(s.good).toBe(true);
      expect(s.value).toBeGreaterThanOrEqual(spec.expectedMin);
      expect(s.value).toBeLessThanOrEqual(spec.expectedMax);
      expect(Math.abs(s.ts - Date.now())).toBeLessThan(10_000);
    }
    sim.breakSensor('sensor-flow-1');
    const bad = await until(() => samples.filter((s) => s.componentId === 'sensor-flow-1' && !s.good), (b) => b.length > 0);
    expect(bad[0]?.value).toBe(0);
  });

  it('executes a program and reads the state back; the device refuses a value beyond its physical limit', async () => {
    const res = await adapter.callProgram('conveyor-1', 'SetConveyorSpeed', { speed: 2.1 });
    expect(res.readBack).toEqual({ speed: 2.1 });
    expect(sim.conveyorSpeed).toBe(2.1);
    await expect(adapter.callProgram('valve-inlet-1', 'SetValve', { open: true })).resolves.toEqual({ readBack: { open: true } });
    expect(sim.valveOpen('valve-inlet-1')).toBe(true);
    expect(sim.valveOpen('valve-outlet-1')).toBe(false);
    await expect(adapter.callProgram('conveyor-1', 'SetConveyorSpeed', { speed: 9 })).rejects.toMatchObject({ code: 'DEVICE_OPERATION_FAILED', details: { status: 'BadOutOfRange' } });
    await expect(adapter.callProgram('conveyor-1', 'Explode', {})).rejects.toMatchObject({ code: 'DEVICE_NODE_MISSING' });
    expect(sim.conveyorSpeed).toBe(2.1);
  });

  it('signals a sensor exchange and reports the new part with a new ID', async () => {
    sim.breakSensor('sensor-fill-level-1');
    expect(sim.flooding).toBe(true);
    const before = changes;
    sim.replaceSensor('sensor-fill-level-1', { componentId: 'sensor-fill-level-2', serialNumber: 'SN-NEW-7' });
    await until(() => changes, (n) => n > before);
    const inv = await adapter.inventory();
    expect(inv.map((c) => c.componentId)).toContain('sensor-fill-level-2');
    expect(inv.map((c) => c.componentId)).not.toContain('sensor-fill-level-1');
    expect(inv.find((c) => c.componentId === 'sensor-fill-level-2')).toMatchObject({ name: 'FillLevelSensor', parentId: 'filler-1', unit: 'mm', expectedMin: 180, expectedMax: 195, serialNumber: 'SN-NEW-7' });
    expect(sim.flooding).toBe(false);
  });

  it('backs off while the device is gone and resumes when it is back', async () => {
    const port = sim.port;
    await sim.stop();
    await until(() => adapter.state, (s) => s === 'reconnecting');
    await expect(adapter.inventory()).rejects.toMatchObject({ code: 'DEVICE_UNAVAILABLE' });
    await new Promise((r) => setTimeout(r, 800));
    const before = changes;
    sim = await startBottlingPlantSimulator({ port, pkiDir: join(dir, 'server-pki'), tickMs: 50, security: pair.server });
    await until(() => adapter.state, (s) => s === 'connected', 20_000);
    await until(() => changes, (n) => n > before);
    expect((await adapter.inventory()).length).toBe(7);
    // The sensor selection survives the reconnect.
    const fresh: SensorSample[] = [];
    await adapter.watchSensors(['sensor-pressure-1'], (s) => fresh.push(s));
    await until(() => fresh.length, (n) => n > 0);
  }, 40_000);
});
