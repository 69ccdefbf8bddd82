import { documentReaders } from '@twinledger/auth-identity';
import type { DhtClient } from '@twinledger/dht-client';
import type { TwinLedger } from '@twinledger/ledger';
import type { Logger } from '@twinledger/observability';

export interface KeySyncResult {
  readonly twinId: string;
  /** DHT objects of documents this organization owns that were checked. */
  readonly checked: number;
  /** Objects whose ACL changed (keys wrapped for new readers). */
  readonly updated: number;
  /** Objects re-encrypted under a new key because a reader was removed. */
  readonly rekeyed: number;
  readonly failures: ReadonlyArray<{ readonly ref: string; readonly code: string }>;
}

export interface KeyManager {
  /** Brings the DHT ACL of every document of the twin that this org owns in line with the grants. */
  sync(twinId: string): Promise<KeySyncResult>;
}

export interface KeyManagerInit {
  /** The ledger as this organization's service identity (must be able to read the documents). */
  readonly ledger: TwinLedger;
  readonly dht: DhtClient;
  /** Token for the dht-gateway (the service's own workload token). */
  readonly dhtToken?: () => Promise<string | undefined>;
  readonly logger: Logger;
}

/**
 * DHT key management. Only an object's owner may change its ACL, so each organization keeps
 * the documents it uploaded in line: a new reader gets the data key wrapped to its X25519 key
 * (the gateway does it on ACL change); a removed reader triggers a re-key, so later versions
 * are under a key it never received.
 */
export function createKeyManager(init: KeyManagerInit): KeyManager {
  const log = init.logger.child({ component: 'key-manager' });
  return {
    async sync(twinId) {
      const l = init.ledger;
      const [docs, grants, parties] = await Promise.all([l.listDocuments(twinId), l.listGrants(twinId), l.listParties()]);
      const token = await init.dhtToken?.();
      const opts = token !== undefined ? { token } : {};
      let checked = 0;
      let updated = 0;
      let rekeyed = 0;
      const failures: Array<{ ref: string; code: string }> = [];
      for (const doc of docs.filter((d) => d.owner.mspId === l.mspId)) {
        const desired = documentReaders(grants, doc.confidentiality, parties, l.mspId);
        const history = await l.getDocumentHistory(twinId, doc.hash);
        const refs = [doc.dhtRef, ...history.versions.map((v) => v.dhtRef)].filter((r, i, a) => a.indexOf(r) === i);
        for (const ref of refs) {
          checked++;
          try {
            const acl = await init.dht.getAcl(ref, opts);
            const current = [...acl.parties].sort();
            if (current.length === desired.length && current.every((p, i) => p === desired[i])) continue;
            const res = await init.dht.updateAcl(ref, desired, opts);
            updated++;
            if (res.rekeyed) rekeyed++;
            log.info({ twinId, ref, from: current, to: desired, rekeyed: res.rekeyed }, 'document ACL brought in line with grants');
          } catch (err) {
            const code = (err as { code?: string }).code ?? 'ERROR';
            failures.push({ ref, code });
            log.warn({ err, twinId, ref }, 'document ACL sync failed');
          }
        }
      }
      return { twinId, checked, updated, rekeyed, failures };
    },
  };
}
