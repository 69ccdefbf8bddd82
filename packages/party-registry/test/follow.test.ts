import { describe, expect, it } from '@jest/globals';
import type { ChaincodeEvent } from '@hyperledger/fabric-gateway';
import { fakeEventPeer } from '@twinledger/fabric-client/testing';
import { LedgerEvents } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { createLedgerPartyRegistry, followPartyRegistrations } from '../src/index.js';

const ev = (block: number, tx: string, eventName: string = LedgerEvents.PartyRegistered): ChaincodeEvent => ({ blockNumber: BigInt(block), transactionId: tx, eventName, chaincodeName: 'twinledger', payload: new Uint8Array() });

/**
 * A peer whose event stream drops once: the first stream delivers the events up to `dropAfter`
 * and then fails (a restarted peer); later streams deliver every event after the checkpoint.
 */
const flakyPeer = (events: ChaincodeEvent[], dropAfter: number) => fakeEventPeer(events, { dropFirstStreamAt: dropAfter });

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

describe('the ledger party registry follows registrations', () => {
  it('refreshes on every PartyRegistered event, including those committed while its stream was down', async () => {
    // b is committed while the first stream is down; c is not a registration.
    const events = [ev(5, 'a'), ev(6, 'b'), ev(7, 'c', LedgerEvents.DiagPut), ev(8, 'd')];
    const peer = flakyPeer(events, 1);
    let refreshes = 0;
    const registry = createLedgerPartyRegistry({ refreshIntervalMs: 0 }, { source: { listParties: async () => (refreshes++, []) } });
    const source = await followPartyRegistrations(peer, registry, silentLogger(), 5);
    try {
      await until(() => refreshes === 3);
      expect(peer.opened).toBe(2);
    } finally {
      await source.stop();
    }
  });

  it('a refresh that fails is retried from the same event, not skipped', async () => {
    const peer = flakyPeer([ev(5, 'a')], Number.MAX_SAFE_INTEGER);
    let calls = 0;
    let ok = 0;
    const registry = createLedgerPartyRegistry(
      { refreshIntervalMs: 0 },
      {
        source: {
          listParties: async () => {
            if (calls++ === 0) throw new Error('peer busy');
            ok++;
            return [];
          },
        },
      },
    );
    const source = await followPartyRegistrations(peer, registry, silentLogger(), 5);
    try {
      await until(() => ok === 1);
      expect(calls).toBe(2);
    } finally {
      await source.stop();
    }
  });
});
