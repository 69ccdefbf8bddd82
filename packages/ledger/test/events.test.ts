import { describe, expect, it } from '@jest/globals';
import { LedgerEventInvalidError, LedgerEvents, isLedgerEventName, parseLedgerEvent, twinIdOf, type RawChaincodeEvent } from '../src/index.js';

const raw = (eventName: string, payload: unknown): RawChaincodeEvent => ({
  eventName,
  payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
  transactionId: 'tx1',
  blockNumber: 5n,
});

describe('parseLedgerEvent', () => {
  it('parses a twin event and narrows its payload by name', () => {
    const ev = parseLedgerEvent(raw('ProgramCalled', { twinId: 't', txId: 'tx1', callId: 3, programName: 'P', programElementId: 'p', parameters: { speed: 1 }, requestId: 'r-1', expiresAt: '2026-01-01T00:05:00.000Z' }));
    expect(ev).toEqual({
      name: 'ProgramCalled',
      payload: { twinId: 't', txId: 'tx1', callId: 3, programName: 'P', programElementId: 'p', parameters: { speed: 1 }, requestId: 'r-1', expiresAt: '2026-01-01T00:05:00.000Z' },
      transactionId: 'tx1',
      blockNumber: 5n,
    });
    if (ev.name !== LedgerEvents.ProgramCalled) throw new Error('narrowing');
    expect(ev.payload.callId + 1).toBe(4);
    expect(twinIdOf(ev)).toBe('t');
  });

  it('accepts channel-wide events without a twinId', () => {
    const p = parseLedgerEvent(raw('PartyRegistered', { mspId: 'Org1MSP', version: 2, txId: 'tx1' }));
    expect(twinIdOf(p)).toBeUndefined();
    expect(parseLedgerEvent(raw('DiagPut', { key: 'k' })).payload).toEqual({ key: 'k' });
  });

  it.each([
    ['unknown name', raw('TwinExploded', { twinId: 't', txId: 'x' })],
    ['not JSON', raw('DocumentRemoved', '{nope')],
    ['not an object', raw('DocumentRemoved', '[1]')],
    ['missing twinId', raw('DocumentRemoved', { hash: 'h', txId: 'x' })],
    ['wrong field type', raw('AmlInserted', { twinId: 't', txId: 'x', parentId: 'p', afterId: '', ids: 'e1' })],
    ['missing field', raw('TwinCreated', { twinId: 't', txId: 'x', deviceId: 't', deviceName: 'n' })],
  ])('refuses an event with %s', (_what, ev) => {
    expect(() => parseLedgerEvent(ev)).toThrow(LedgerEventInvalidError);
    try {
      parseLedgerEvent(ev);
    } catch (e) {
      expect(e).toMatchObject({ code: 'LEDGER_EVENT_INVALID', details: expect.objectContaining({ transactionId: 'tx1' }) });
    }
  });

  it('knows exactly the event names of the constants', () => {
    for (const n of Object.values(LedgerEvents)) expect(isLedgerEventName(n)).toBe(true);
    expect(isLedgerEventName('toString')).toBe(false);
  });
});
