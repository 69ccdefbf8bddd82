import { createFabricClient, createPeerConnectionPool, loadIdentity, type FabricClient } from '@twinledger/fabric-client';
import type { DevNetwork } from './network.js';

/** Resolves with the first event of `transactionId` on the client's chaincode event stream. */
export async function watchForEvent(client: FabricClient): Promise<{ until: (txId: string, timeoutMs?: number) => Promise<string>; close: () => void }> {
  const events = await client.chaincodeEvents();
  const seen = new Map<string, string>();
  const waiters = new Map<string, (name: string) => void>();
  // Consume from the start: a fabric-gateway stream closed while nobody iterates emits an
  // unhandled error, and events committed before we look must not be missed.
  const pump = (async () => {
    try {
      for await (const ev of events) {
        seen.set(ev.transactionId, ev.eventName);
        waiters.get(ev.transactionId)?.(ev.eventName);
      }
    } catch {
      // closed
    }
  })();
  return {
    until(txId, timeoutMs = 30_000) {
      const hit = seen.get(txId);
      if (hit !== undefined) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no chaincode event for ${txId} within ${timeoutMs} ms`)), timeoutMs);
        waiters.set(txId, (name) => {
          clearTimeout(timer);
          resolve(name);
        });
      });
    },
    close() {
      events.close();
      void pump;
    },
  };
}

/**
 * One transaction through every organization's Gateway: org 1 writes, every org reads it back
 * through its own peer, and org 1 sees the chaincode event. Proves the network is really up.
 */
export async function runSmoke(net: DevNetwork, log: (line: string) => void): Promise<void> {
  if (net.orgs.length === 0) return;
  const pool = createPeerConnectionPool();
  const clients: FabricClient[] = [];
  try {
    for (const o of net.orgs) {
      clients.push(createFabricClient({ pool, peer: o.peer, identity: await loadIdentity(o.users[0]!), channel: net.channel, chaincode: net.chaincode }));
    }
    const first = clients[0]!;
    const watcher = await watchForEvent(first);
    try {
      const key = `smoke-${Date.now()}`;
      const t0 = Date.now();
      const { transactionId, blockNumber } = await first.submit('diag:put', [key, 'hello twins']);
      log(`smoke: ${first.mspId} committed ${transactionId.slice(0, 12)}... in block ${blockNumber} (${Date.now() - t0} ms)`);
      for (const c of clients) {
        const value = Buffer.from(await c.evaluate('diag:get', [key])).toString();
        if (!value.includes('hello twins')) throw new Error(`smoke: ${c.mspId} read '${value}' instead of the value written`);
      }
      log(`smoke: all ${clients.length} peers return the value`);
      const name = await watcher.until(transactionId);
      log(`smoke: chaincode event ${name} received for ${transactionId.slice(0, 12)}...`);
    } finally {
      watcher.close();
    }
  } finally {
    for (const c of clients) c.close();
    pool.close();
  }
}
