import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointFile, type ChaincodeEvent } from '@twinledger/fabric-client';
import { fakeEventPeer, until } from '@twinledger/fabric-client/testing';
import type { Producer } from '@twinledger/kafka';
import { createMetricsRegistry, silentLogger } from '@twinledger/observability';
import { createEventHub, type RelayedEvent } from '../src/domain/event-hub.js';
import { createEventRelay } from '../src/domain/event-relay.js';
import { createLedgerJournal } from '../src/domain/ledger-journal.js';

const ev = (block: number, tx: string, twinId: string): ChaincodeEvent => ({
  blockNumber: BigInt(block),
  transactionId: tx,
  eventName: 'GrantAdded',
  chaincodeName: 'twinledger',
  payload: new TextEncoder().encode(JSON.stringify({ twinId, txId: tx, grant: { mspId: 'Org2MSP', role: 'READER' } })),
});

/** A producer of kafkajs's interface that keeps what it was sent, failing the sends it is told to. */
function fakeProducer(failing: Set<string>) {
  const sent: string[] = [];
  const producer = {
    async send(r: { messages: { headers?: Record<string, string> }[] }) {
      const tx = r.messages[0]!.headers!['tx-id']!;
      if (failing.delete(tx)) throw new Error('broker not available');
      sent.push(tx);
      return [];
    },
  } as unknown as Producer;
  return { producer, sent };
}

describe('event relay (on the ledger event source)', () => {
  it('relays in commit order, tells SSE subscribers each event once, after Kafka and the checkpoint, and resumes a restart after the checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'event-relay-'));
    try {
      const events = [ev(3, 'a', 't1'), ev(4, 'b', 't2'), ev(4, 'c', 't1')];
      const client = fakeEventPeer(events);
      // b's first send fails, as when the broker drops: the stream reopens from the checkpoint.
      const { producer, sent } = fakeProducer(new Set(['b']));
      const hub = createEventHub();
      const published: RelayedEvent[] = [];
      hub.subscribe((e) => void published.push(e));
      const metrics = createMetricsRegistry({ prefix: 'test_' });
      const file = join(dir, 'cp.json');
      const relay = createEventRelay({ client, checkpointer: await checkpointFile(file), producer, hub, journal: createLedgerJournal(), logger: silentLogger(), metrics, retryMs: 5 });
      await relay.start();
      expect(await until(() => published.length === 3)).toBe(true);
      expect(sent).toEqual(['a', 'b', 'c']);
      expect(published.map((e) => [e.transactionId, e.twinId, e.blockNumber])).toEqual([['a', 't1', 3], ['b', 't2', 4], ['c', 't1', 4]]);
      expect(relay.lastBlock).toBe(4n);
      expect(relay.connections).toBe(2);
      expect((await metrics.getSingleMetric('spec_service_event_relay_failures_total')!.get()).values[0]!.value).toBe(1);
      await relay.stop();
      expect(relay.connected).toBe(false);

      // A restart reads the checkpoint before it starts (the read model starts at that block) and sends nothing again.
      events.push(ev(5, 'd', 't2'));
      const again = createEventRelay({ client, checkpointer: await checkpointFile(file), producer, hub, journal: createLedgerJournal(), logger: silentLogger(), metrics: createMetricsRegistry({ prefix: 'test_' }) });
      expect(again.lastBlock).toBe(4n);
      await again.start();
      expect(await until(() => published.length === 4)).toBe(true);
      expect(sent).toEqual(['a', 'b', 'c', 'd']);
      await again.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
