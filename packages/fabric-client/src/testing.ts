import type { ChaincodeEvent, Checkpointer } from '@hyperledger/fabric-gateway';
import type { FabricClient } from './client.js';

/**
 * Test utilities (`@twinledger/fabric-client/testing`): a stand-in for a peer's chaincode event
 * stream, for unit tests of event followers. Not for production: it has no ledger behind it.
 */

export interface FakeEventPeerOptions {
  /** The first stream breaks (as a dropped gRPC stream does) before delivering the event at this index. */
  readonly dropFirstStreamAt?: number;
}

/** A client whose event stream serves `events` after the checkpoint's transaction, then stays open until closed. */
export function fakeEventPeer(events: readonly ChaincodeEvent[], options: FakeEventPeerOptions = {}): FabricClient & { readonly opened: number } {
  let opened = 0;
  const client = {
    get opened() {
      return opened;
    },
    mspId: 'Org1MSP',
    async evaluate(): Promise<never> {
      throw new Error('fakeEventPeer serves events only');
    },
    async submit(): Promise<never> {
      throw new Error('fakeEventPeer serves events only');
    },
    close() {},
    async chaincodeEvents(o: { checkpoint?: Checkpointer } = {}) {
      const first = opened++ === 0;
      const after = o.checkpoint?.getTransactionId();
      const from = after === undefined ? 0 : events.findIndex((e) => e.transactionId === after) + 1;
      let closed = false;
      let release: () => void = () => undefined;
      return {
        close() {
          closed = true;
          release();
        },
        async *[Symbol.asyncIterator]() {
          for (const [i, e] of events.slice(from).entries()) {
            if (closed) return;
            if (first && options.dropFirstStreamAt !== undefined && from + i >= options.dropFirstStreamAt) throw new Error('14 UNAVAILABLE: connection dropped');
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
  return client as unknown as FabricClient & { readonly opened: number };
}

/**
 * Polls `cond` every 10 ms, at most `tries` times, until it holds; answers whether it did. For
 * tests of event followers, which handle events asynchronously (bounded by tries, not time).
 */
export async function until(cond: () => boolean, tries = 300): Promise<boolean> {
  for (let i = 0; i < tries && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  return cond();
}
