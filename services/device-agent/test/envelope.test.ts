import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEnvelopeGuard, loadEnvelope, parseEnvelope, type StateReader } from '../src/domain/envelope.js';

const SHIPPED = join(dirname(fileURLToPath(import.meta.url)), '../config/bottling-plant.envelope.json');

describe('operator safety envelope', () => {
  it('loads the bottling plant envelope shipped for the Owner', async () => {
    const env = await loadEnvelope(SHIPPED);
    expect(env.programs['SetConveyorSpeed']).toEqual({ parameters: { speed: { min: 0, max: 2.5 } }, requiredState: [{ variable: 'Flooding', equals: false }], maxCallsPerMinute: 30 });
    expect(Object.keys(env.programs).sort()).toEqual(['SetConveyorSpeed', 'SetValve']);
  });

  it('lists every problem of an invalid file at once, with its path', () => {
    const bad = {
      version: 2,
      extra: true,
      programs: {
        SetConveyorSpeed: { parameters: { speed: { min: 3, max: 1 }, torque: {} }, requiredState: [{ variable: 'Flooding' }], maxCallsPerMinute: 0 },
        'bad name!': { maxCallsPerMinute: 5 },
      },
    };
    let err: unknown;
    try {
      parseEnvelope(bad, 'test.json');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ name: 'EnvelopeInvalidError', code: 'ENVELOPE_INVALID' });
    expect((err as { details: { problems: string[] } }).details.problems).toEqual([
      '$.extra: unknown key',
      '$.version: must be 1',
      '$.programs.SetConveyorSpeed.parameters.speed: min 3 is above max 1',
      '$.programs.SetConveyorSpeed.parameters.torque: sets no limit (give min/max or allowed)',
      '$.programs.SetConveyorSpeed.requiredState[0]: states no condition (give equals or min/max)',
      '$.programs.SetConveyorSpeed.maxCallsPerMinute: must be an integer 1..10000',
      '$.programs.bad name!: is not a program name',
    ]);
  });

  it('refuses a missing file and a file that is not JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'da-env-'));
    try {
      await expect(loadEnvelope(join(dir, 'nope.json'))).rejects.toMatchObject({ code: 'ENVELOPE_INVALID' });
      await writeFile(join(dir, 'x.json'), '{ not json');
      await expect(loadEnvelope(join(dir, 'x.json'))).rejects.toMatchObject({ code: 'ENVELOPE_INVALID' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('checks parameters, device state and the per-minute budget', async () => {
    let t = 1_000_000;
    const guard = createEnvelopeGuard(parseEnvelope(JSON.parse('{"version":1,"programs":{"SetConveyorSpeed":{"parameters":{"speed":{"min":0,"max":2.5}},"requiredState":[{"variable":"Flooding","equals":false},{"component":"valve-outlet-1","variable":"Open","equals":true}],"maxCallsPerMinute":2}}}')), () => t);
    expect(guard.checkParameters('SetConveyorSpeed', { speed: 2.5 })).toEqual({ ok: true });
    expect(guard.checkParameters('SetConveyorSpeed', { speed: 2.6 })).toMatchObject({ ok: false, code: 'OUTSIDE_ENVELOPE', parameter: 'speed' });
    expect(guard.checkParameters('SetConveyorSpeed', { speed: -0.1 })).toMatchObject({ ok: false, code: 'OUTSIDE_ENVELOPE' });
    expect(guard.checkParameters('SetConveyorSpeed', { speed: 1, boost: true })).toMatchObject({ ok: false, code: 'OUTSIDE_ENVELOPE', parameter: 'boost' });
    expect(guard.checkParameters('SetValve', { open: true })).toMatchObject({ ok: false, code: 'PROGRAM_NOT_IN_ENVELOPE' });

    const state = (flooding: boolean | undefined, open: boolean): StateReader => async (conds) => {
      expect(conds).toEqual([{ variable: 'Flooding', equals: false }, { component: 'valve-outlet-1', variable: 'Open', equals: true }]);
      return [flooding, open];
    };
    await expect(guard.checkState('SetConveyorSpeed', state(false, true))).resolves.toEqual({ ok: true });
    await expect(guard.checkState('SetConveyorSpeed', state(true, true))).resolves.toMatchObject({ ok: false, code: 'DEVICE_STATE_NOT_PERMITTED', observed: true });
    await expect(guard.checkState('SetConveyorSpeed', state(false, false))).resolves.toMatchObject({ ok: false, code: 'DEVICE_STATE_NOT_PERMITTED', state: { component: 'valve-outlet-1' } });
    // Unreadable state fails closed.
    await expect(guard.checkState('SetConveyorSpeed', state(undefined, true))).resolves.toMatchObject({ ok: false, code: 'DEVICE_STATE_NOT_PERMITTED', observed: null });

    expect(guard.takeRate('SetConveyorSpeed')).toEqual({ ok: true });
    t += 10_000;
    expect(guard.takeRate('SetConveyorSpeed')).toEqual({ ok: true });
    t += 10_000;
    expect(guard.takeRate('SetConveyorSpeed')).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
    // The window slides: 60 s after the first call one call is free again.
    t += 40_001;
    expect(guard.takeRate('SetConveyorSpeed')).toEqual({ ok: true });
    expect(guard.takeRate('SetConveyorSpeed')).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
  });
});
