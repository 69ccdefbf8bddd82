import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChaincodeEvent, Checkpointer } from '@hyperledger/fabric-gateway';
import { silentLogger } from '@twinledger/observability';
import type { FabricClient } from '../src/client.js';
import { createLedgerEventSource } from '../src/event-source.js';

const ev = (block: number, tx: string): ChaincodeEvent => ({ blockNumber: BigInt(block), transactionId: tx, eventName: 'GrantRevoked', chaincodeName: 'twinledger', payload: new Uint8Array() });

/** A peer's event stream: every event after the checkpoint, then stays open until closed. */
function fakeClient(events: ChaincodeEvent[]): FabricClient & { opened: number } {
  const c = {
    opened: 0,
    mspId: 'Org1MSP',
    async evaluate(): Promise<never> {
      throw new Error('unused');
    },
    async submit(): Promise<never> {
      throw new Error('unused');
    },
    close() {},
    async chaincodeEvents(options: { checkpoint?: Checkpointer } = {}) {
      c.opened++;
      const cp = options.checkpoint;
      const after = cp?.getTransactionId();
      const from = after === undefined ? 0 : events.findIndex((e) => e.transactionId === after) + 1;
      let closed = false;
      let release: () => void = () => undefined;
      return {
        close() {
          closed = true;
          release();
        },
        async *[Symbol.asyncIterator]() {
          for (const e of events.slice(from)) {
            if (closed) return;
            yield e;
          }
          // Closed while the consumer still handled the last event: end now, or stop() would
          // wait for a release that already happened (a real stream's close ends it likewise).
          if (closed) return;
          await new Promise<void>((r) => (release = r));
        },
      };
    },
  };
  return c as unknown as FabricClient & { opened: number };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

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
      await until(() => first.lastBlock === 8n);
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
      await until(() => again.length > 0);
      expect(again).toEqual(['e']);
      expect(second.connected).toBe(true);
      await second.stop();
      expect(second.connected).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
