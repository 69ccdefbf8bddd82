import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@twinledger/observability';
import type { TwinLedger } from '@twinledger/ledger';
import { openCallJournal } from '../src/domain/call-journal.js';
import type { DeviceAdapter } from '../src/domain/device.js';
import { callTimeRefusal, createProgramExecutor } from '../src/domain/program-executor.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('callTimeRefusal: the agent judges expiry by its own clock', () => {
  const call = { requestedAt: iso(T0), expiresAt: iso(T0 + 300_000) };
  it('lets a call run before its expiry, and refuses it at and after the expiry (EXPIRED)', () => {
    expect(callTimeRefusal(call, T0 + 299_999, 60_000)).toBeUndefined();
    expect(callTimeRefusal(call, T0 + 300_000, 60_000)).toMatchObject({ status: 'EXPIRED', result: { reason: 'EXPIRED', expiresAt: call.expiresAt } });
    expect(callTimeRefusal(call, T0 + 3 * 86_400_000, 60_000)?.status).toBe('EXPIRED');
  });

  it('refuses a call dated further ahead of the agent than the skew allows (its expiry would be stretched)', () => {
    const forged = { requestedAt: iso(T0 + 86_400_000), expiresAt: iso(T0 + 86_400_000 + 300_000) };
    expect(callTimeRefusal(forged, T0, 60_000)).toMatchObject({ status: 'REJECTED', result: { reason: 'REQUESTED_IN_FUTURE' } });
    expect(callTimeRefusal({ requestedAt: iso(T0 + 30_000), expiresAt: iso(T0 + 330_000) }, T0, 60_000)).toBeUndefined();
  });

  it("gives a call without an expiry (queued before calls had one) the chaincode's longest lifetime", () => {
    expect(callTimeRefusal({ requestedAt: iso(T0) } as never, T0 + 3_599_000, 60_000)).toBeUndefined();
    expect(callTimeRefusal({ requestedAt: iso(T0) } as never, T0 + 3_600_000, 60_000)?.status).toBe('EXPIRED');
    expect(callTimeRefusal({ requestedAt: 'soon' } as never, T0, 60_000)).toMatchObject({ status: 'REJECTED', result: { reason: 'CALL_TIME_INVALID' } });
  });
});

// The executor with a ledger stand-in and a device stand-in that records every touch: an
// expired call is acknowledged EXPIRED and never reaches the device, even while it is offline.
describe('the executor and expired calls', () => {
  let dir: string;
  const acks = new Map<number, { status: string; result: unknown }>();
  const touched: string[] = [];
  let clock = T0;
  let state: 'connected' | 'disconnected' = 'connected';

  const makeExecutor = async () => {
    const ledger = {
      getProgramCall: async (_t: string, callId: number) => ({
        twinId: 't',
        callId,
        programName: 'SetConveyorSpeed',
        programElementId: 'prog',
        parameters: { speed: 1 },
        status: acks.has(callId) ? acks.get(callId)!.status : 'PENDING',
        requestedAt: iso(T0),
        expiresAt: iso(T0 + 60_000),
      }),
      listPrograms: async () => [{ twinId: 't', elementId: 'prog', name: 'SetConveyorSpeed', parameters: [{ name: 'speed', dataType: 'xs:double', type: 'double', required: true, min: 0, max: 2 }] }],
      getElement: async () => ({ id: 'prog', parentId: 'conveyor-1' }),
      acknowledgeProgramCall: async (_t: string, callId: number, status: string, result: unknown) => {
        acks.set(callId, { status, result });
        return { transactionId: `ack-${callId}` };
      },
    } as unknown as TwinLedger;
    const adapter = {
      get state() {
        return state;
      },
      readState: async () => {
        touched.push('readState');
        return [];
      },
      callProgram: async () => {
        touched.push('callProgram');
        return { readBack: { speed: 1 } };
      },
    } as unknown as DeviceAdapter;
    return createProgramExecutor({ twinId: 't', ledger, adapter, journal: await openCallJournal(join(dir, 'calls.jsonl')), logger: silentLogger(), now: () => clock });
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'da-expiry-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('executes a call within its lifetime', async () => {
    clock = T0 + 1_000;
    const ex = await makeExecutor();
    await expect(ex.submit(1)).resolves.toMatchObject({ status: 'EXECUTED' });
    expect(touched).toEqual(['callProgram']);
  });

  it('acknowledges a call past its expiry as EXPIRED without touching the device, connected or not', async () => {
    touched.length = 0;
    clock = T0 + 60_000;
    const ex = await makeExecutor();
    await expect(ex.submit(2)).resolves.toMatchObject({ status: 'EXPIRED' });
    expect(acks.get(2)).toMatchObject({ status: 'EXPIRED', result: { reason: 'EXPIRED', expiresAt: iso(T0 + 60_000) } });
    state = 'disconnected';
    clock = T0 + 7 * 86_400_000; // the device comes back a week later
    await expect(ex.submit(3)).resolves.toMatchObject({ status: 'EXPIRED' });
    expect(touched).toEqual([]);
    expect(ex.counts).toMatchObject({ EXPIRED: 2 });
  });
});
