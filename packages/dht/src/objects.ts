import { createHash } from 'node:crypto';
import type { Logger } from '@twinledger/observability';
import { aeadFor, type CipherName } from './aead.js';
import { normalizeParties, parseAclRecord, signAclRecord, type AclRecord } from './acl-record.js';
import { fixedSizeChunks, type ObjectSource } from './chunker.js';
import { fromB64, random, sha256, toB64, toHex, type Hex } from './codec.js';
import { quorumLatch } from './latch.js';
import { AclDeniedError, IntegrityError, ItemNotFoundError, NoKeyForPartyError, NotOwnerError, QuorumNotReachedError, UnknownPartyError } from './errors.js';
import type { EncryptionKeyPair } from './key-wrap.js';
import { unwrapKey, wrapKey } from './key-wrap.js';
import { parseLocator, signLocator, type Locator } from './locator.js';
import { bodyLength, type OutgoingBody } from './framing.js';
import { chunkAad, decodeManifest, encodeManifest, keyContext, type ChunkEntry, type Manifest } from './manifest.js';
import type { DhtMetrics } from './metrics.js';
import type { PartyRegistry } from './party-registry.js';
import type { ReplicaClient, RequestOptions } from './replica-client.js';
import type { SigningKey } from './signing.js';

/**
 * Encrypted, replicated objects: put (chunk, encrypt, store on r replicas, manifest,
 * locator), get (locate, fetch and verify every hash, unwrap, decrypt, verify the plaintext
 * hash), and ACL changes (signed, versioned, 2k+1 acknowledgements; a revoke re-keys).
 */
export interface PutObjectOptions {
  /** MSP ids allowed to read; defaults to this node's party. */
  readonly acl?: readonly string[];
  /** The owner's Ed25519 seed (32 bytes) that signs the ACL; defaults to the node's owner key. */
  readonly owner?: Uint8Array;
}

export interface PutObjectResult {
  /** The object reference: SHA-256 of the manifest, hex. */
  readonly ref: Hex;
  readonly objectId: Hex;
  readonly aclVersion: number;
  /** Plaintext bytes. */
  readonly size: number;
  /** Peers that acknowledged the content. */
  readonly replicas: readonly string[];
}

export interface AclView {
  readonly objectId: Hex;
  readonly owner: Hex;
  readonly version: number;
  readonly parties: readonly string[];
  /** The latest version's reference, for documents. */
  readonly head?: Hex;
}

export interface UpdateAclResult {
  /** The reference of the new version (read it to get the current content). */
  readonly ref: Hex;
  readonly version: number;
  /** True when a party was removed and the content was re-encrypted under a new key. */
  readonly rekeyed: boolean;
  /** Replicas that acknowledged the new ACL version (at least 2k+1). */
  readonly acks: number;
}

export interface ObjectServiceInit {
  readonly selfMspId: string;
  readonly replicationFactor: number;
  readonly faultTolerance: number;
  readonly chunkSize: number;
  readonly cipher: CipherName;
  readonly maxObjectBytes: number;
}

export interface ObjectServiceComponents {
  readonly client: ReplicaClient;
  readonly registry: PartyRegistry;
  readonly encryptionKey: EncryptionKeyPair;
  readonly ownerKey: SigningKey;
  readonly logger: Logger;
  readonly metrics?: DhtMetrics;
}

export interface ObjectService {
  putObject(data: ObjectSource, options?: PutObjectOptions, signer?: SigningKey): Promise<PutObjectResult>;
  /** Stores new content under an existing object's ACL (feed segments). */
  /** `atQuorum`: return once dataQuorum replicas hold each piece; the other copies are still sent (feed appends). */
  putUnder(acl: AclRecord, signer: SigningKey, data: ObjectSource, options?: { readonly atQuorum?: boolean }): Promise<PutObjectResult>;
  /** `knownObjectId`: the object the ref must belong to, when a signed record names it (no locator lookup). */
  getObject(ref: Hex, knownObjectId?: Hex): Promise<Uint8Array>;
  getObjectStream(ref: Hex): AsyncGenerator<Uint8Array>;
  /** The manifest (refusals and unknown refs throw here) and the verified plaintext stream, with one manifest fetch. */
  openObject(ref: Hex): Promise<{ manifest: Manifest; stream: AsyncGenerator<Uint8Array> }>;
  getManifest(ref: Hex): Promise<Manifest>;
  locate(ref: Hex): Promise<Locator>;
  /** The highest verified ACL version among the object's replicas. */
  getAclRecord(objectId: Hex): Promise<AclRecord>;
  getAcl(ref: Hex): Promise<AclView>;
  updateAcl(ref: Hex, parties: readonly string[], signer?: SigningKey): Promise<UpdateAclResult>;
  /** Writes an ACL record to the object's replicas and requires 2k+1 acknowledgements. */
  writeAcl(acl: AclRecord): Promise<readonly string[]>;
}

/**
 * Bytes in flight per object (writes and read-ahead): 8 chunks of the default 1 MiB. Bounded in
 * bytes so a gateway's memory scales with concurrent uploads, not with chunk size. It was 2 MiB
 * (2 chunks of 1 MiB): a put then waited for the slowest of r replicas every second chunk and a
 * read kept 2 requests open, too few to keep the replicas' disks and links busy (issue #25).
 */
const WINDOW_BYTES = 8 * 1024 * 1024;

export function createObjectService(init: Readonly<ObjectServiceInit>, components: ObjectServiceComponents): ObjectService {
  const { client, registry, encryptionKey, ownerKey, logger, metrics } = components;
  const r = init.replicationFactor;
  const k = init.faultTolerance;
  const dataQuorum = Math.min(r, k + 1);
  const aclQuorum = 2 * k + 1;
  /** Replies an ACL read waits for: every set of this many meets every 2k+1 writers in k+1 (see getAclRecord). */
  const aclReadQuorum = Math.max(1, r - k);
  const WINDOW = Math.max(1, Math.floor(WINDOW_BYTES / init.chunkSize));

  function wrapFor(objectId: Hex, parties: readonly string[], dataKey: Uint8Array): Record<string, string> {
    const keys: Record<string, string> = {};
    for (const mspId of parties) {
      const party = registry.get(mspId);
      if (party === undefined) throw new UnknownPartyError('ACL names a party the registry does not know', { details: { mspId } });
      keys[mspId] = toB64(wrapKey(dataKey, party.encryptionPublicKey, keyContext(objectId, mspId)));
    }
    return keys;
  }

  async function writeAcl(acl: AclRecord): Promise<readonly string[]> {
    const out = await client.write(acl.objectId, r, aclQuorum, async (peerId) => {
      await client.request(peerId, { op: 'put-acl', acl });
    });
    if (acl.version > 1) await refreshAcl(acl, out.acked);
    return out.acked;
  }

  /**
   * A new ACL version also goes to every other live node as a refresh: nodes holding metadata of
   * the object (locators, feed heads and updates, placed by other keys) keep a copy of its ACL to
   * enforce it, and must stop answering a removed party now, not at the next write that brings the
   * new version. A node holding no copy ignores it. Best effort: a node down now gets the new
   * version with the next record of the object written or repaired to it.
   */
  async function refreshAcl(acl: AclRecord, done: readonly string[]): Promise<void> {
    const others = (await client.candidates(acl.objectId)).map((c) => c.peerId).filter((p) => !done.includes(p));
    await Promise.all(
      others.map((peerId) =>
        client.request(peerId, { op: 'put-acl', acl, refresh: true }).catch((err: unknown) => logger.debug({ err, peerId }, 'ACL refresh not delivered')),
      ),
    );
  }

  /** Sends to every target; resolves once all answered, or (atQuorum) once dataQuorum acknowledged. */
  async function sendToAll(targets: string[], header: Record<string, unknown>, body: OutgoingBody, atQuorum = false, options: RequestOptions = {}): Promise<void> {
    const failed = new Set<string>();
    const latch = quorumLatch(dataQuorum);
    const all = Promise.all(
      targets.map(async (peerId) => {
        try {
          await client.request(peerId, header, body, options);
          latch.success();
        } catch (err) {
          logger.warn({ err, peerId, op: header['op'] }, 'replica write failed');
          failed.add(peerId);
        }
      }),
    ).then(() => {
      // A replica that failed once is dropped for the rest of the object; repair tops it up.
      for (let i = targets.length - 1; i >= 0; i--) if (failed.has(targets[i] as string)) targets.splice(i, 1);
      if (targets.length < dataQuorum) throw new QuorumNotReachedError('too few replicas hold the content', { details: { acked: targets.length, required: dataQuorum } });
    });
    if (!atQuorum) return all;
    all.catch(() => undefined); // a shortfall after the quorum is the repair loop's job
    return Promise.race([latch.reached, all]);
  }

  /**
   * Encrypts and stores content under `acl` on `targets`; returns the manifest and its ref.
   * `alongsideManifest` runs while the manifest is being stored (the locator: one round trip
   * less per put). A locator stored for a manifest that then fails to reach its quorum points
   * nowhere and reveals nothing; the put fails, so nobody ever holds that ref.
   */
  async function writeContent(
    acl: AclRecord,
    aclVersion: number,
    parties: readonly string[],
    targets: string[],
    data: ObjectSource,
    alongsideManifest: (ref: Hex) => Promise<void> = async () => undefined,
    atQuorum = false,
  ) {
    const aead = aeadFor(init.cipher);
    const dataKey = random(aead.keyLength);
    const hasher = createHash('sha256');
    const chunks: ChunkEntry[] = [];
    let size = 0;
    const keys = wrapFor(acl.objectId, parties, dataKey);
    // Up to WINDOW chunks travel at once, so sealing the next chunk overlaps the replicas'
    // round trips instead of waiting for them (memory stays bounded at WINDOW sealed chunks).
    const inflight: Promise<void>[] = [];
    try {
      for await (const plain of fixedSizeChunks(data, init.chunkSize, init.maxObjectBytes)) {
        hasher.update(plain);
        size += plain.byteLength;
        // Pieces (nonce, ciphertext, tag), hashed, sent and stored in order, never joined.
        const sealed = aead.sealPieces(dataKey, plain, chunkAad(chunks.length));
        const hash = toHex(sha256(...sealed));
        const sent = sendToAll(targets, { op: 'put-chunk', objectId: acl.objectId, hash, acl }, sealed, atQuorum, { bodyHash: hash });
        sent.catch(() => undefined); // awaited below; this only marks it handled while it waits its turn
        inflight.push(sent);
        chunks.push({ hash, size: bodyLength(sealed) });
        if (inflight.length >= WINDOW) await inflight.shift();
      }
    } catch (err) {
      // The source failed (over the size limit, the client went away) or a chunk missed its
      // quorum: fail only once the chunk writes already sent have settled, so the caller's
      // answer is final and no chunk of this put lands after it. What did land is an orphan
      // (no manifest lists it) that garbage collection removes after its grace period.
      await Promise.allSettled(inflight);
      throw err;
    }
    const manifest: Manifest = {
      v: 1,
      objectId: acl.objectId,
      aclVersion,
      cipher: init.cipher,
      chunkSize: init.chunkSize,
      size,
      plaintextHash: hasher.digest('hex'),
      chunks,
      acl: [...parties],
      keys,
    };
    const { bytes, ref } = encodeManifest(manifest);
    // The manifest (and the locator) travel with the last window of chunks instead of a round trip
    // after it: a feed segment is one chunk, so this is one of an append's five sequential round
    // trips. Nothing reaches a reader early: the put answers, and its caller learns the ref, only
    // once every chunk reached its quorum; a manifest whose chunks missed theirs is an orphan like
    // a failed put's locator (no ref is ever handed out) and collects nothing (GC keeps what held
    // manifests list). allSettled for the reason above; a chunk's failure is reported first.
    const stored = await Promise.allSettled([
      ...inflight,
      sendToAll(targets, { op: 'put-manifest', objectId: acl.objectId, hash: ref, acl }, bytes, atQuorum),
      alongsideManifest(ref),
    ]);
    for (const s of stored) if (s.status === 'rejected') throw s.reason;
    return { manifest, ref, size };
  }

  /** `acl`: the object's ACL record, stored with the locator so its nodes can enforce it. */
  async function writeLocator(signer: SigningKey, ref: Hex, acl: AclRecord, atQuorum = false): Promise<void> {
    const locator = signLocator(signer, ref, acl.nonce);
    await client.write(
      ref,
      r,
      dataQuorum,
      async (peerId) => {
        await client.request(peerId, { op: 'put-locator', locator, acl });
      },
      undefined,
      { atQuorum },
    );
  }

  async function contentTargets(objectId: Hex): Promise<string[]> {
    return (await client.candidates(objectId)).slice(0, r).map((c) => c.peerId);
  }

  async function putUnder(acl: AclRecord, signer: SigningKey, data: ObjectSource, options: { atQuorum?: boolean } = {}): Promise<PutObjectResult> {
    const targets = await contentTargets(acl.objectId);
    const atQuorum = options.atQuorum === true;
    const { ref, size } = await writeContent(acl, acl.version, acl.parties, targets, data, (ref) => writeLocator(signer, ref, acl, atQuorum), atQuorum);
    return { ref, objectId: acl.objectId, aclVersion: acl.version, size, replicas: targets };
  }

  async function putObject(data: ObjectSource, options: PutObjectOptions = {}, signer: SigningKey = ownerKey): Promise<PutObjectResult> {
    const parties = normalizeParties(options.acl ?? [init.selfMspId]);
    for (const p of parties) if (registry.get(p) === undefined) throw new UnknownPartyError('ACL names a party the registry does not know', { details: { mspId: p } });
    const acl = signAclRecord(signer, { nonce: toHex(random(16)), version: 1, parties });
    const targets = [...(await writeAcl(acl))];
    const { ref, size } = await writeContent(acl, 1, parties, targets, data, (ref) => writeLocator(signer, ref, acl));
    logger.debug({ ref, objectId: acl.objectId, size, replicas: targets.length }, 'object stored');
    return { ref, objectId: acl.objectId, aclVersion: 1, size, replicas: targets };
  }

  async function locate(ref: Hex): Promise<Locator> {
    const order = (await client.candidates(ref)).map((c) => c.peerId);
    return client.read(order, async (peerId) => {
      const res = await client.request(peerId, { op: 'get-locator', ref });
      const loc = parseLocator(res.header['locator']);
      if (loc.ref !== ref) throw new IntegrityError('locator is for another reference', { details: { ref } });
      return loc;
    });
  }

  /**
   * The manifest `ref` names. `knownObjectId` skips the locator lookup when the caller already
   * knows the object from a signed record (a feed's head names the object its writer stores
   * segments under): one round trip less. A manifest filed under another object counts as not
   * found there, and `getObject` then asks the locator.
   */
  async function fetchManifest(ref: Hex, knownObjectId?: Hex): Promise<{ manifest: Manifest; order: string[] }> {
    const loc = knownObjectId !== undefined ? { objectId: knownObjectId } : await locate(ref);
    const order = (await client.candidates(loc.objectId)).map((c) => c.peerId);
    const manifest = await client.read(
      order,
      async (peerId) => {
        const res = await client.request(peerId, { op: 'get-blob', kind: 'manifest', hash: ref });
        const m = decodeManifest(res.body, ref);
        if (m.objectId !== loc.objectId) {
          // Guessed object (see above): the manifest is authentic but filed elsewhere; the caller asks the locator.
          if (knownObjectId !== undefined) throw new ItemNotFoundError('manifest is not under the expected object', { details: { ref } });
          throw new IntegrityError('manifest is for another object', { details: { ref } });
        }
        return m;
      },
      (err) => onFallback('manifest', err),
    );
    return { manifest, order };
  }

  function onFallback(kind: string, err: { code: string }): void {
    if (err.code === 'DHT_INTEGRITY_FAILED') metrics?.integrityFailures.inc({ kind });
    metrics?.replicaFallbacks.inc({ kind });
  }

  function dataKeyOf(manifest: Manifest): Uint8Array {
    const wrapped = manifest.keys[init.selfMspId];
    if (wrapped === undefined) throw new NoKeyForPartyError('no data key is wrapped for this party', { details: { mspId: init.selfMspId } });
    return unwrapKey(fromB64(wrapped), encryptionKey, keyContext(manifest.objectId, init.selfMspId));
  }

  async function* decryptChunks(manifest: Manifest, order: string[]): AsyncGenerator<Uint8Array> {
    const aead = aeadFor(manifest.cipher);
    const key = dataKeyOf(manifest);
    const hasher = createHash('sha256');
    let preferred = order;
    const fetchChunk = (i: number, entry: ChunkEntry): Promise<Uint8Array> =>
      client.read(
        preferred,
        async (peerId) => {
          const res = await client.request(peerId, { op: 'get-blob', kind: 'chunk', hash: entry.hash });
          // Once per chunk: the data channel already hashed what it received (bodyHash).
          if ((res.bodyHash ?? toHex(sha256(res.body))) !== entry.hash) throw new IntegrityError('chunk does not match its hash', { details: { hash: entry.hash, peerId } });
          const pt = aead.open(key, res.body, chunkAad(i));
          // Keep asking the replica that just answered first: it likely holds the rest.
          if (preferred[0] !== peerId) preferred = [peerId, ...preferred.filter((p) => p !== peerId)];
          return pt;
        },
        (err) => onFallback('chunk', err),
      );
    // Prefetch up to WINDOW chunks ahead; they are yielded (and hashed) strictly in order.
    const ahead: Promise<Uint8Array>[] = [];
    let next = 0;
    const fill = (): void => {
      while (ahead.length < WINDOW && next < manifest.chunks.length) {
        const p = fetchChunk(next, manifest.chunks[next] as ChunkEntry);
        p.catch(() => undefined); // awaited in order below
        ahead.push(p);
        next++;
      }
    };
    fill();
    while (ahead.length > 0) {
      const plain = await (ahead.shift() as Promise<Uint8Array>);
      fill();
      hasher.update(plain);
      yield plain;
    }
    if (hasher.digest('hex') !== manifest.plaintextHash) throw new IntegrityError('plaintext does not match the manifest hash');
  }

  async function* getObjectStream(ref: Hex): AsyncGenerator<Uint8Array> {
    const { manifest, order } = await fetchManifest(ref);
    yield* decryptChunks(manifest, order);
  }

  async function openObject(ref: Hex): Promise<{ manifest: Manifest; stream: AsyncGenerator<Uint8Array> }> {
    const { manifest, order } = await fetchManifest(ref);
    // Unwrapping the key now makes a party without one fail before any byte is promised.
    dataKeyOf(manifest);
    return { manifest, stream: decryptChunks(manifest, order) };
  }

  async function getObject(ref: Hex, knownObjectId?: Hex): Promise<Uint8Array> {
    let found: { manifest: Manifest; order: string[] } | undefined;
    if (knownObjectId !== undefined) {
      try {
        found = await fetchManifest(ref, knownObjectId);
      } catch (err) {
        // Stored under another object (a writer that did not use the feed object): find it the long way.
        if (!(err instanceof ItemNotFoundError)) throw err;
      }
    }
    const { manifest, order } = found ?? (await fetchManifest(ref));
    const out = new Uint8Array(manifest.size);
    let o = 0;
    for await (const part of decryptChunks(manifest, order)) {
      out.set(part, o);
      o += part.byteLength;
    }
    return out;
  }

  /**
   * The highest ACL version among the replicas. It answers once `aclReadQuorum` (r - k) replicas
   * have: an ACL version counts only once 2k+1 of the r replicas hold it, so any r - k of them
   * include k + 1 that hold every counted version, at least one of them honest, and a replica
   * cannot invent a newer version (the owner signs each). Waiting for the slowest replica on
   * every read (each feed append reads the ACL first) bought nothing but its tail latency.
   */
  async function getAclRecord(objectId: Hex): Promise<AclRecord> {
    const order = (await client.candidates(objectId)).slice(0, Math.max(r, aclQuorum)).map((c) => c.peerId);
    let best: AclRecord | undefined;
    let denied: AclDeniedError | undefined;
    const latch = quorumLatch(aclReadQuorum);
    const all = Promise.all(
      order.map(async (peerId) => {
        try {
          const res = await client.request(peerId, { op: 'get-acl', objectId });
          const rec = parseAclRecord(res.header['acl']);
          if (rec.objectId !== objectId) return;
          if (best === undefined || rec.version > best.version) best = rec;
          latch.success();
        } catch (err) {
          // no vote; a refusal is reported if nobody answers (this party is outside the ACL)
          if (err instanceof AclDeniedError) denied = err;
        }
      }),
    );
    await Promise.race([latch.reached, all]);
    const found = best as AclRecord | undefined;
    if (found === undefined && denied !== undefined) throw denied;
    if (found === undefined) throw new ItemNotFoundError('no replica holds the ACL', { details: { objectId } });
    return found;
  }

  async function getAcl(ref: Hex): Promise<AclView> {
    const loc = await locate(ref);
    const rec = await getAclRecord(loc.objectId);
    return { objectId: rec.objectId, owner: rec.owner, version: rec.version, parties: rec.parties, ...(rec.head ? { head: rec.head } : {}) };
  }

  async function updateAcl(ref: Hex, parties: readonly string[], signer: SigningKey = ownerKey): Promise<UpdateAclResult> {
    const next = normalizeParties(parties);
    for (const p of next) if (registry.get(p) === undefined) throw new UnknownPartyError('ACL names a party the registry does not know', { details: { mspId: p } });
    const loc = await locate(ref);
    const cur = await getAclRecord(loc.objectId);
    if (cur.owner !== signer.publicKey) throw new NotOwnerError('only the object owner may change its ACL', { details: { objectId: cur.objectId } });
    const headRef = cur.head ?? ref;
    const version = cur.version + 1;
    const removed = cur.parties.filter((p) => !next.includes(p));
    const targets = await contentTargets(cur.objectId);
    let newRef: Hex;
    if (removed.length > 0) {
      // Revocation: new key, new ciphertext; the removed parties get no wrapped copy of it.
      const { manifest, order } = await fetchManifest(headRef);
      newRef = (await writeContent(cur, version, next, targets, decryptChunks(manifest, order))).ref;
    } else {
      // Grant only: same chunks and key, wrapped for the new parties too.
      const { manifest } = await fetchManifest(headRef);
      const m: Manifest = { ...manifest, aclVersion: version, acl: next, keys: wrapFor(cur.objectId, next, dataKeyOf(manifest)) };
      const { bytes, ref: r2 } = encodeManifest(m);
      await sendToAll(targets, { op: 'put-manifest', objectId: cur.objectId, hash: r2, acl: cur }, bytes);
      newRef = r2;
    }
    const acl = signAclRecord(signer, { nonce: cur.nonce, version, parties: next, head: newRef });
    const acked = await writeAcl(acl);
    await writeLocator(signer, newRef, acl);
    logger.info({ objectId: cur.objectId, version, rekeyed: removed.length > 0, acks: acked.length }, 'ACL updated');
    return { ref: newRef, version, rekeyed: removed.length > 0, acks: acked.length };
  }

  return { putObject, putUnder, getObject, getObjectStream, openObject, getManifest: async (ref) => (await fetchManifest(ref)).manifest, locate, getAclRecord, getAcl, updateAcl, writeAcl };
}
