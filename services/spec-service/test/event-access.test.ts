import { describe, expect, it } from '@jest/globals';
import type { TwinLedger } from '@twinledger/ledger';
import { createEventReadFilter } from '../src/domain/event-access.js';
import type { RelayedEvent } from '../src/domain/event-hub.js';

const event = (eventName: string, twinId = 'plant-1'): RelayedEvent => ({ id: '1:t', eventName, transactionId: 't', blockNumber: 1, twinId, payload: {} });

describe('event read filter and chunked creation', () => {
  it('sends the steps of a creation to no subscriber, without asking the ledger, and TwinCreated as usual', async () => {
    let asked = 0;
    const ledger = { checkAccess: async () => (asked++, { allowed: true }) } as unknown as TwinLedger;
    const filter = createEventReadFilter({ ledger });
    for (const name of ['TwinCreationBegun', 'TwinChunkAppended', 'TwinChunkAppended', 'TwinCreationAborted']) {
      expect(await filter.mayRead(event(name))).toBe(false);
    }
    expect(asked).toBe(0);
    expect(await filter.mayRead(event('TwinCreated'))).toBe(true);
    expect(asked).toBe(1);
  });
});
