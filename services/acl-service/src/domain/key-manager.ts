import { documentReaders, type AccessRecord, type DocumentRecord, type DocumentVersion, type Grant, type Party, type TwinLedger } from '@twinledger/ledger';
import type { DhtClient, ObjectAcl } from '@twinledger/dht-client';
import type { Logger } from '@twinledger/observability';

export interface KeySyncResult {
  readonly twinId: string;
  /** DHT objects this organization uploaded (document versions of any owner) that were checked. */
  readonly checked: number;
  /** Objects whose ACL changed (keys wrapped for new readers). */
  readonly updated: number;
  /** Objects re-encrypted under a new key because a reader was removed. */
  readonly rekeyed: number;
  /** Access records written to the ledger (spec:recordAccessChange). */
  readonly recorded: number;
  readonly failures: ReadonlyArray<{ readonly ref: string; readonly code: string }>;
  /** Epoch ms of the earliest grant expiry still ahead (the next time the readers change by themselves). */
  readonly nextExpiry?: number;
}

export interface KeyManager {
  /**
   * Brings the DHT ACL of every document version of the twin that this organization uploaded
   * in line with the grants, and the ledger's access record in line with the DHT.
   */
  sync(twinId: string): Promise<KeySyncResult>;
  /** The twins the service identity can see: what a full reconcile walks. */
  twins(): Promise<string[]>;
}

export interface KeyManagerInit {
  /** The ledger as this organization's service identity (reads documents, writes access records). */
  readonly ledger: TwinLedger;
  readonly dht: DhtClient;
  /** Token for the dht-gateway (the service's own workload token). */
  readonly dhtToken?: () => Promise<string | undefined>;
  readonly logger: Logger;
  readonly now?: () => number;
}

const codeOf = (err: unknown): string => (err as { code?: string }).code ?? 'ERROR';
const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().every((p, i) => p === [...b].sort()[i]);

/**
 * DHT key management. In the DHT only an object's owner key (the uploader's gateway) may change
 * its ACL, so each organization's key manager handles exactly the objects its organization
 * uploaded: every version it added, of its own documents or of other organizations'. A new
 * reader gets the data key wrapped to its X25519 key (the gateway does it on ACL change); a
 * removed reader triggers a re-key, so it never gets the key of what is read from then on.
 * Every ACL the DHT holds is then recorded on the ledger (spec:recordAccessChange).
 */
export function createKeyManager(init: KeyManagerInit): KeyManager {
  const log = init.logger.child({ component: 'key-manager' });
  const now = init.now ?? Date.now;
  const l = init.ledger;
  return {
    async twins() {
      return (await l.listTwins()).map((t) => t.twinId);
    },
    async sync(twinId) {
      const [docs, grants, parties] = await Promise.all([l.listDocuments(twinId), l.listGrants(twinId), l.listParties()]);
      const token = await init.dhtToken?.();
      const opts = token !== undefined ? { token } : {};
      const at = now();
      let checked = 0;
      let updated = 0;
      let rekeyed = 0;
      let recorded = 0;
      const failures: Array<{ ref: string; code: string }> = [];
      for (const doc of docs) {
        // Only the versions this organization uploaded: their DHT owner key is our gateway's.
        // Every page carries all versions; the key history itself is not needed here.
        const versions = (await l.getDocumentHistoryPage(twinId, doc.hash, { limit: 1 })).versions.filter((v) => v.addedBy.mspId === l.mspId);
        for (const v of versions) {
          checked++;
          try {
            const r = await syncVersion(twinId, doc, v, grants, parties, at, opts);
            if (r.updated) updated++;
            if (r.rekeyed) rekeyed++;
            if (r.recorded) recorded++;
          } catch (err) {
            failures.push({ ref: v.dhtRef, code: codeOf(err) });
            log.warn({ err, twinId, hash: v.hash, ref: v.dhtRef }, 'document ACL sync failed');
          }
        }
      }
      const ahead = grants.map((g) => (g.expiresAt === undefined ? NaN : Date.parse(g.expiresAt))).filter((t) => t > at);
      return { twinId, checked, updated, rekeyed, recorded, failures, ...(ahead.length ? { nextExpiry: Math.min(...ahead) } : {}) };
    },
  };

  async function syncVersion(
    twinId: string,
    doc: DocumentRecord,
    v: DocumentVersion,
    grants: readonly Grant[],
    parties: readonly Party[],
    at: number,
    opts: { token?: string },
  ): Promise<{ updated: boolean; rekeyed: boolean; recorded: boolean }> {
    const desired = documentReaders(grants, doc.confidentiality, parties, l.mspId, new Date(at));
    let acl: Pick<ObjectAcl, 'version' | 'parties' | 'head'> = await init.dht.getAcl(v.dhtRef, opts);
    let updated = false;
    let rekeyed = false;
    if (!sameSet(acl.parties, desired)) {
      const res = await init.dht.updateAcl(v.dhtRef, desired, opts);
      log.info({ twinId, hash: v.hash, ref: v.dhtRef, from: acl.parties, to: desired, version: res.version, rekeyed: res.rekeyed }, 'document ACL brought in line with grants');
      updated = true;
      rekeyed = res.rekeyed;
      // Read back rather than assume: the record must match what the DHT now serves.
      acl = await init.dht.getAcl(v.dhtRef, opts);
    }
    // The ledger records every ACL the DHT holds (also after a crash between the two writes).
    const rec = await currentRecord(twinId, v.hash);
    if (rec !== undefined && rec !== null && rec.aclVersion >= acl.version) {
      if (rec.aclVersion === acl.version && !sameSet(rec.parties, acl.parties)) {
        log.error({ twinId, hash: v.hash, ledger: rec, dht: acl }, 'ledger access record and DHT ACL disagree at the same version');
      }
      return { updated, rekeyed, recorded: false };
    }
    try {
      await l.recordAccessChange(twinId, v.hash, { aclVersion: acl.version, parties: acl.parties, ...(acl.head ? { head: acl.head } : {}) });
    } catch (err) {
      // Unreadable record (rec undefined) already at this version: nothing to add.
      if (rec === undefined && codeOf(err) === 'INVALID_STATE') return { updated, rekeyed, recorded: false };
      throw err;
    }
    log.info({ twinId, hash: v.hash, aclVersion: acl.version, parties: acl.parties }, 'access change recorded on the ledger');
    return { updated, rekeyed, recorded: true };
  }

  /** undefined: the record is not readable (the uploader lost doc:read); then it is written and INVALID_STATE means already recorded. */
  async function currentRecord(twinId: string, hash: string): Promise<AccessRecord | null | undefined> {
    try {
      return (await l.getAccessRecord(twinId, hash)).record;
    } catch (err) {
      if (codeOf(err) === 'ACCESS_DENIED') return undefined;
      throw err;
    }
  }
}
