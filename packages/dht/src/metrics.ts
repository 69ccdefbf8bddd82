import { Counter, Gauge, type Registry } from '@twinledger/observability';

/** The node's Prometheus metrics (all `twinledger_dht_`), registered on the caller's registry. */
export interface DhtMetrics {
  readonly requests: Counter<'op' | 'result'>;
  readonly aclDenials: Counter;
  readonly integrityFailures: Counter<'kind'>;
  readonly replicaFallbacks: Counter<'kind'>;
  readonly repairPushes: Counter<'kind'>;
  readonly repairRuns: Counter;
  readonly underReplicated: Gauge;
  readonly lastRepairItems: Gauge;
  readonly storeItems: Gauge<'kind'>;
  readonly storeBytes: Gauge;
  readonly peers: Gauge;
  readonly gcRemovedChunks: Counter;
  readonly gcRemovedBytes: Counter;
  readonly gcRuns: Counter;
}

export function createDhtMetrics(registry: Registry): DhtMetrics {
  const registers = [registry];
  return {
    requests: new Counter({ name: 'twinledger_dht_store_requests_total', help: 'Store-protocol requests served, by op and result code', labelNames: ['op', 'result'], registers }),
    aclDenials: new Counter({ name: 'twinledger_dht_acl_denials_total', help: 'Reads refused because the requesting party is not in the ACL', registers }),
    integrityFailures: new Counter({ name: 'twinledger_dht_integrity_failures_total', help: 'Items from a replica that failed hash or AEAD verification', labelNames: ['kind'], registers }),
    replicaFallbacks: new Counter({ name: 'twinledger_dht_replica_fallbacks_total', help: 'Reads served by a replica other than the first tried', labelNames: ['kind'], registers }),
    repairPushes: new Counter({ name: 'twinledger_dht_repair_pushes_total', help: 'Items copied to a replica that lacked them', labelNames: ['kind'], registers }),
    repairRuns: new Counter({ name: 'twinledger_dht_repair_runs_total', help: 'Completed repair passes', registers }),
    underReplicated: new Gauge({ name: 'twinledger_dht_under_replicated_items', help: 'Items found with fewer than r copies in the last repair pass (before repair)', registers }),
    lastRepairItems: new Gauge({ name: 'twinledger_dht_repair_checked_items', help: 'Items checked in the last repair pass', registers }),
    storeItems: new Gauge({ name: 'twinledger_dht_store_items', help: 'Items held locally, by kind', labelNames: ['kind'], registers }),
    storeBytes: new Gauge({ name: 'twinledger_dht_store_bytes', help: 'Bytes of chunks and manifests held locally', registers }),
    peers: new Gauge({ name: 'twinledger_dht_connected_peers', help: 'Connected consortium peers', registers }),
    gcRemovedChunks: new Counter({ name: 'twinledger_dht_gc_removed_chunks_total', help: 'Orphan chunks (listed by no held manifest, older than the grace period) removed', registers }),
    gcRemovedBytes: new Counter({ name: 'twinledger_dht_gc_removed_bytes_total', help: 'Bytes of orphan chunks removed', registers }),
    gcRuns: new Counter({ name: 'twinledger_dht_gc_runs_total', help: 'Completed garbage-collection passes', registers }),
  };
}
