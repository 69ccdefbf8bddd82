import { describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChaincodeEvent, Checkpointer } from '@hyperledger/fabric-gateway';
import { silentLogger } from '@twinledger/observability';
import { createLedgerEventSource } from '../src/event-source.js';
import { fakeEventPeer, until } from '../src/testing.js';

const ev = (block: number, tx: string): ChaincodeEvent => ({ blockNumber: BigInt(block), transactionId: tx, eventName: 'GrantRevoked', chaincodeName: 'twinledger', payload: new Uint8Array() });

const fakeClient = (events: ChaincodeEvent[]) => fakeEventPeer(events);

describe('ledger event source', () => {
  it('resumes after the last handled event across restarts (checkpoint file) and redelivers an event whose handler failed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'event-source-'));
    try {
      const events = [ev(5, 'a'), ev(6, 'b'), ev(6, 'c'), ev(8, 'd')];
      const client = fakeClient(events);
      const seen: string[] = [];
      let failOnce = true;
      const file = join(dir, 'cp.json');
      const first = createLedgerEventSource({
        client,
        checkpointFile: file,
        retryMs: 5,
        logger: silentLogger(),
        onEvent: async (e) => {
          if (e.transactionId === 'c' && failOnce) {
            failOnce = false;
            throw new Error('sync failed');
          }
          seen.push(e.transactionId);
        },
      });
      await first.start();
      // The checkpoint moves after the handler: wait for it, not just for the handler.
      expect(await until(() => first.lastBlock === 8n)).toBe(true);
      // c failed once and was delivered again from the checkpoint (after b), never skipped.
      expect(seen).toEqual(['a', 'b', 'c', 'd']);
      expect(client.opened).toBe(2);
      expect(first.lastBlock).toBe(8n);
      await first.stop();

      // A restart with the same file sees nothing again, then the new event only.
      events.push(ev(9, 'e'));
      const again: string[] = [];
      const second = createLedgerEventSource({ client, checkpointFile: file, logger: silentLogger(), onEvent: async (e) => void again.push(e.transactionId) });
      expect(second.lastBlock).toBeUndefined(); // not loaded before start
      await second.start();
      expect(await until(() => again.length > 0)).toBe(true);
      expect(again).toEqual(['e']);
      expect(second.connected).toBe(true);
      await second.stop();
      expect(second.connected).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('backs off between failed attempts up to maxRetryMs, and starts over once a stream opens', async () => {
    jest.useFakeTimers();
    try {
      const opened: number[] = [];
      let failures = 5;
      const client = fakeClient([ev(5, 'a')]);
      const open = client.chaincodeEvents.bind(client);
      (client as { chaincodeEvents: unknown }).chaincodeEvents = async (o: { checkpoint?: Checkpointer }) => {
        opened.push(Date.now());
        if (failures-- > 0) throw new Error('peer unreachable');
        return open(o);
      };
      const seen: string[] = [];
      const source = createLedgerEventSource({ client, retryMs: 100, maxRetryMs: 400, logger: silentLogger(), onEvent: async (e) => void seen.push(e.transactionId) });
      const t0 = Date.now();
      await source.start();
      await jest.advanceTimersByTimeAsync(2_000);
      // Pauses 100, 200, 400, 400, 400: the sixth attempt opens the stream.
      expect(opened.map((t) => t - t0)).toEqual([0, 100, 300, 700, 1100, 1500]);
      expect(seen).toEqual(['a']);
      expect(source.connected).toBe(true);
      await source.stop();
    } finally {
      jest.useRealTimers();
    }
  });
});
