import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@twinledger/observability';
import type { TwinLedger } from '@twinledger/ledger';
import type { BottlingPlantSimulator } from '@twinledger/plant-sim';
import type { DeviceAdapter } from '../src/domain/device.js';
import { openCallJournal } from '../src/domain/call-journal.js';
import { createEnvelopeGuard, parseEnvelope } from '../src/domain/envelope.js';
import { createProgramExecutor, type ProgramExecutor } from '../src/domain/program-executor.js';
import { opcua, simulator } from './support/opcua.js';
import { securePair } from './support/pki.js';

const TWIN = 'twin-envelope';
// The ledger's rule for the belt (the fixture's): 0..2.5 m/s.
const PROGRAM = { twinId: TWIN, elementId: 'prog-set-conveyor-speed', name: 'SetConveyorSpeed', parameters: [{ name: 'speed', dataType: 'xs:double', type: 'double' as const, required: true, min: 0, max: 2.5 }] };

// The executor over the simulator (real, secured OPC UA) with a ledger stand-in that holds queued
// calls and records acknowledgements: calls inside the ledger's rules, outside the operator's
// envelope, never reach the device.
describe("program calls against the operator's envelope", () => {
  let dir: string;
  let sim: BottlingPlantSimulator;
  let adapter: DeviceAdapter;
  let executor: ProgramExecutor;
  const calls = new Map<number, Record<string, number>>();
  const acks = new Map<number, { status: string; result: unknown }>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'da-envelope-'));
    const pair = await securePair(dir);
    sim = await simulator.startBottlingPlantSimulator({ pkiDir: join(dir, 'plant-server-pki'), tickMs: 50, security: pair.server });
    adapter = opcua.createOpcUaAdapter({ endpointUrl: sim.endpointUrl, pkiDir: join(dir, 'agent-client-pki'), logger: silentLogger(), security: pair.client });
    await adapter.start();
    const ledger = {
      getProgramCall: async (_t: string, callId: number) => ({ twinId: TWIN, callId, programName: 'SetConveyorSpeed', programElementId: PROGRAM.elementId, parameters: calls.get(callId), status: acks.has(callId) ? acks.get(callId)!.status : 'PENDING', requestedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 300_000).toISOString() }),
      listPrograms: async () => [PROGRAM],
      getElement: async () => ({ id: PROGRAM.elementId, parentId: 'conveyor-1' }),
      acknowledgeProgramCall: async (_t: string, callId: number, status: string, result: unknown) => {
        acks.set(callId, { status, result });
        return { transactionId: `ack-${callId}` };
      },
    } as unknown as TwinLedger;
    const envelope = createEnvelopeGuard(parseEnvelope({
      version: 1,
      programs: { SetConveyorSpeed: { parameters: { speed: { min: 0, max: 1.8 } }, requiredState: [{ variable: 'Flooding', equals: false }], maxCallsPerMinute: 2 } },
    }));
    executor = createProgramExecutor({ twinId: TWIN, ledger, adapter, journal: await openCallJournal(join(dir, 'calls.jsonl')), logger: silentLogger(), envelope });
  }, 60_000);

  afterAll(async () => {
    await adapter?.stop();
    await sim?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a speed the ledger allows but the envelope does not is REJECTED with the reason; the plant is untouched', async () => {
    calls.set(1, { speed: 2.2 });
    const speed = sim.conveyorSpeed;
    await expect(executor.submit(1)).resolves.toMatchObject({ status: 'REJECTED' });
    expect(acks.get(1)).toEqual({ status: 'REJECTED', result: { reason: 'OUTSIDE_ENVELOPE', source: 'envelope', parameter: 'speed', message: 'parameter speed=2.2 is above the envelope maximum 1.8' } });
    expect(sim.conveyorSpeed).toBe(speed);
    expect(sim.invocations).toEqual([]);
  });

  it('refuses while the device state is not permitted (bottles overflowing)', async () => {
    sim.breakSensor('sensor-fill-level-1');
    calls.set(2, { speed: 1 });
    await expect(executor.submit(2)).resolves.toMatchObject({ status: 'REJECTED' });
    expect(acks.get(2)).toMatchObject({ status: 'REJECTED', result: { reason: 'DEVICE_STATE_NOT_PERMITTED', source: 'envelope', observed: true } });
    expect(sim.invocations).toEqual([]);
    sim.replaceSensor('sensor-fill-level-1', { componentId: 'sensor-fill-level-2' });
  });

  it('past the per-minute budget a call is refused (RATE_LIMITED) before the device', async () => {
    for (const [id, speed] of [[3, 1.1], [4, 1.2], [5, 1.3]] as const) calls.set(id, { speed });
    const out = await Promise.all([3, 4, 5].map((id) => executor.submit(id)));
    expect(out.map((o) => o.status)).toEqual(['EXECUTED', 'EXECUTED', 'REJECTED']);
    expect(acks.get(5)).toMatchObject({ result: { reason: 'RATE_LIMITED', source: 'envelope' } });
    expect(sim.invocations.map((i) => i.args)).toEqual([{ speed: 1.1 }, { speed: 1.2 }]);
    expect(sim.conveyorSpeed).toBe(1.2);
  });
});
