import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@twinledger/observability';
import type { BottlingPlantSimulator } from '@twinledger/plant-sim';
import type { DeviceAdapter, SensorSample } from '../src/domain/device.js';
import { derivedFeedRegistrar } from '../src/domain/feed-registrar.js';
import { createSyncEngine } from '../src/domain/sync.js';
import { opcua, opcuaPki, simulator, until } from './support/opcua.js';
import { AGENT_USER, securePair, type SecurePair } from './support/pki.js';
import { ledgerDouble } from './support/ledger-double.js';

// Real OPC UA over TCP on 127.0.0.1: the simulator is the plant (a node-opcua server), the
// adapter is the agent's client; certificates are made the way the launcher makes them.
describe('secured OPC UA link between the agent and the plant', () => {
  let dir: string;
  let pair: SecurePair;
  let plant: BottlingPlantSimulator;
  const adapters: DeviceAdapter[] = [];
  const sims: BottlingPlantSimulator[] = [];

  const adapterFor = (endpointUrl: string, security: SecurePair['client'], pkiName = 'agent-client-pki'): DeviceAdapter => {
    const a = opcua.createOpcUaAdapter({ endpointUrl, pkiDir: join(dir, pkiName), logger: silentLogger(), security, samplingIntervalMs: 50, reconnectInitialMs: 100, reconnectMaxMs: 400 });
    adapters.push(a);
    return a;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'da-opcua-sec-'));
    pair = await securePair(dir);
    plant = await simulator.startBottlingPlantSimulator({ pkiDir: join(dir, 'plant-server-pki'), tickMs: 50, security: pair.server });
    sims.push(plant);
  }, 60_000);

  afterAll(async () => {
    for (const a of adapters) await a.stop();
    for (const s of sims) await s.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs SignAndEncrypt with Basic256Sha256 and a user token: inventory, a program call and readings', async () => {
    const adapter = adapterFor(plant.endpointUrl, pair.client);
    await adapter.start();
    expect(adapter.link).toEqual({ securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', userIdentity: `username:${AGENT_USER.username}`, serverThumbprint: expect.stringMatching(/^[0-9a-f]{40}$/) });
    const plantDer = await opcuaPki.readCertificateDer(pair.server.certificate.certificateFile);
    expect(adapter.link?.serverThumbprint).toBe(opcuaPki.thumbprintOf(plantDer));
    expect((await adapter.inventory()).map((c) => c.componentId)).toEqual(['conveyor-1', 'sensor-fill-level-1', 'sensor-flow-1', 'sensor-pressure-1', 'sensor-temperature-1', 'valve-inlet-1', 'valve-outlet-1']);
    await expect(adapter.callProgram('conveyor-1', 'SetConveyorSpeed', { speed: 1.7 })).resolves.toEqual({ readBack: { speed: 1.7 } });
    expect(plant.conveyorSpeed).toBe(1.7);
    const samples: SensorSample[] = [];
    await adapter.watchSensors(['sensor-pressure-1'], (s) => samples.push(s));
    await until(() => samples.length, (n) => n > 2);
    expect(samples.every((s) => s.good && s.value >= 1.5 && s.value <= 3)).toBe(true);
    await adapter.stop();
  }, 30_000);

  it('refuses an impersonating server at the plant address (DEVICE_UNTRUSTED) and syncs nothing from it', async () => {
    // The impostor has its own certificate, trusts the agent's (public) certificate and accepts
    // the agent's user: everything right except the key only the real plant holds.
    const impostorPair = await securePair(join(dir, 'impostor'), 'Basic256Sha256', 'impostor');
    const impostor = await simulator.startBottlingPlantSimulator({
      pkiDir: join(dir, 'impostor-server-pki'),
      tickMs: 50,
      security: { ...impostorPair.server, trustedClientCertificates: [pair.client.certificate.certificateFile] },
    });
    sims.push(impostor);
    // A fake inventory is what would make the agent rewrite the specification.
    impostor.replaceSensor('sensor-fill-level-1', { componentId: 'sensor-fill-level-666', serialNumber: 'EVIL' });

    const adapter = adapterFor(impostor.endpointUrl, pair.client);
    let changes = 0;
    adapter.onInventoryChange(() => void (changes += 1));
    void adapter.start();
    const failure = await until(() => adapter.lastFailure, (f) => f !== undefined);
    const impostorDer = await opcuaPki.readCertificateDer(impostorPair.server.certificate.certificateFile);
    expect(failure).toMatchObject({ code: 'DEVICE_UNTRUSTED' });
    expect(failure?.message).toContain('not in the trust list');
    expect(failure?.message).toContain(opcuaPki.thumbprintOf(impostorDer));
    expect(adapter.state).not.toBe('connected');
    expect(adapter.link).toBeUndefined();
    await expect(adapter.inventory()).rejects.toMatchObject({ code: 'DEVICE_UNAVAILABLE' });

    const { ledger, writes } = await ledgerDouble();
    const engine = createSyncEngine({ twinId: 'twin-x', ledger, adapter, feeds: derivedFeedRegistrar(), logger: silentLogger() });
    const report = await engine.sync('test');
    expect(report).toMatchObject({ ok: false, actions: [], error: { code: 'DEVICE_UNAVAILABLE' } });
    // Still refusing after more attempts; never a session, so never a change signal.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(adapter.lastFailure?.code).toBe('DEVICE_UNTRUSTED');
    expect(changes).toBe(0);
    expect(writes).toEqual([]);
    expect(impostor.invocations).toEqual([]);
    await adapter.stop();
  }, 30_000);

  it('the plant refuses an agent whose certificate it does not trust; no call reaches the device', async () => {
    const stranger = await opcuaPki.ensureApplicationCertificate({ pkiDir: join(dir, 'stranger-pki'), applicationUri: 'urn:twinledger:test:stranger', commonName: 'stranger' });
    const adapter = adapterFor(plant.endpointUrl, { ...pair.client, certificate: stranger }, 'stranger-client-pki');
    void adapter.start();
    const failure = await until(() => adapter.lastFailure, (f) => f !== undefined);
    expect(failure?.code).toBeDefined();
    expect(adapter.state).not.toBe('connected');
    await expect(adapter.callProgram('conveyor-1', 'SetConveyorSpeed', { speed: 0.3 })).rejects.toMatchObject({ code: 'DEVICE_UNAVAILABLE' });
    expect(plant.invocations.some((i) => i.args['speed'] === 0.3)).toBe(false);
    await adapter.stop();
  }, 30_000);

  it('a wrong password is refused by the plant (DEVICE_AUTH_FAILED)', async () => {
    const adapter = adapterFor(plant.endpointUrl, { ...pair.client, user: { username: AGENT_USER.username, password: 'guess' } });
    void adapter.start();
    const failure = await until(() => adapter.lastFailure, (f) => f !== undefined);
    expect(failure).toMatchObject({ code: 'DEVICE_AUTH_FAILED' });
    expect(adapter.state).not.toBe('connected');
    await adapter.stop();
  }, 30_000);

  it('also runs with Aes256_Sha256_RsaPss', async () => {
    const rsaPss = await securePair(join(dir, 'pss'), 'Aes256_Sha256_RsaPss');
    const sim = await simulator.startBottlingPlantSimulator({ pkiDir: join(dir, 'pss-server-pki'), tickMs: 50, security: rsaPss.server });
    sims.push(sim);
    const adapter = adapterFor(sim.endpointUrl, rsaPss.client, 'pss-client-pki');
    await adapter.start();
    expect(adapter.link).toMatchObject({ securityMode: 'SignAndEncrypt', securityPolicy: 'Aes256_Sha256_RsaPss' });
    expect((await adapter.inventory()).length).toBe(7);
    await adapter.stop();
  }, 30_000);
});
