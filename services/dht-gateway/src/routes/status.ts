import { errorResponses, Type, type ServiceApp } from '@twinledger/service-kit';
import type { GatewayNode } from '../app.js';

const Count = Type.Integer({ minimum: 0 });

/** Node status: identity, connected peers, what this node stores, replication health. */
export async function statusRoutes(app: ServiceApp, opts: { readonly node: GatewayNode }): Promise<void> {
  const { node } = opts;
  app.get(
    '/status',
    {
      schema: {
        tags: ['status'],
        summary: 'This DHT node: peers, stored items and bytes, replication health',
        response: {
          200: Type.Object({
            peerId: Type.String(),
            mspId: Type.String(),
            multiaddrs: Type.Array(Type.String()),
            peers: Type.Array(Type.Object({ peerId: Type.String(), mspId: Type.Optional(Type.String()) })),
            storeBytes: Count,
            items: Type.Object({ chunks: Count, manifests: Count, acls: Count, locators: Count, feedUpdates: Count, feedHeads: Count }),
            replicaHealth: Type.Object({
              replicationFactor: Count,
              faultTolerance: Count,
              connectedParties: Count,
              lastRepair: Type.Optional(Type.Object({ checked: Count, missing: Count, pushed: Count, failed: Count, durationMs: Type.Number() })),
            }),
          }),
          ...errorResponses,
        },
      },
    },
    async () => {
      const s = node.status();
      const { bytes, ...items } = s.store;
      const parties = new Set(s.peers.map((p) => p.mspId).filter((m): m is string => m !== undefined));
      return {
        peerId: s.peerId,
        mspId: s.mspId,
        multiaddrs: [...s.multiaddrs],
        peers: s.peers.map((p) => (p.mspId === undefined ? { peerId: p.peerId } : { peerId: p.peerId, mspId: p.mspId })),
        storeBytes: bytes,
        items,
        replicaHealth: {
          replicationFactor: s.replicationFactor,
          faultTolerance: s.faultTolerance,
          // Distinct other organizations reachable now: fewer than r-1 means new items cannot get r distinct-org replicas.
          connectedParties: parties.size,
          ...(s.lastRepair ? { lastRepair: { ...s.lastRepair } } : {}),
        },
      };
    },
  );
}
