import { BUNDLE_FORMAT, type AuditBlockBundle, type BundleChange, type BundleDocument, type BundleFeed } from './bundle.js';
import { FeedFailureCodes, verifyFeedEvidence, type AnchoredRoot, type FeedEvidenceResult } from './feed-evidence.js';
import { identityProblem, readChannelConfig, satisfies, signatureValid, type ChannelConfig } from './channel-config.js';
import {
  TX_VALID,
  blockHeaderHash,
  blockSignatures,
  compositeKey,
  computeDataHash,
  decodeBlock,
  decodeConfigBlock,
  decodeIdentity,
  decodeTransaction,
  sha256,
  validationCode,
  type DecodedBlock,
  type DecodedTransaction,
  type SerializedIdentity,
} from './fabric.js';

/** Every way a bundle fails; stable, so tools branch on them. */
export const FailureCodes = {
  /** The file is not a bundle of this format (a field missing or undecodable). */
  malformed: 'BUNDLE_MALFORMED',
  /** The config block does not decode to a channel configuration. */
  configInvalid: 'CONFIG_INVALID',
  /** A block's header data_hash is not SHA-256 of its envelopes. */
  dataHash: 'BLOCK_DATA_HASH_MISMATCH',
  /** Two consecutive blocks whose previous_hash does not name the earlier header. */
  chainBroken: 'BLOCK_CHAIN_BROKEN',
  /** A block without enough valid orderer signatures (by orderer-org certificates of the config). */
  blockSignature: 'BLOCK_SIGNATURE_INVALID',
  /** A listed change whose block is not in the bundle, or whose block lacks the transaction. */
  txNotInBlock: 'TX_NOT_IN_BLOCK',
  /** A listed change the block marks other than VALID. */
  txNotValid: 'TX_NOT_VALID',
  /** A transaction of the twin, in an included block, that the change list leaves out. */
  txUnlisted: 'TX_UNLISTED',
  /** The change list is not 1..n in ledger order, or does not start with the twin's creation. */
  changesIncomplete: 'CHANGES_INCOMPLETE',
  /** The creator's certificate does not chain to its MSP, or its envelope signature fails. */
  creatorInvalid: 'CREATOR_INVALID',
  /** An endorser not of the channel, or whose certificate does not chain to its MSP root. */
  endorserUnknown: 'ENDORSER_UNKNOWN',
  /** An endorsement signature that does not verify with the endorser's certificate. */
  endorsementSignature: 'ENDORSEMENT_SIGNATURE_INVALID',
  /** The valid endorsements do not satisfy the channel's endorsement policy. */
  endorsementPolicy: 'ENDORSEMENT_POLICY_UNSATISFIED',
  /** The stated specification keys and values differ from the replayed write sets. */
  specState: 'SPEC_STATE_MISMATCH',
  /** The stated specification revision is not the last change that wrote it. */
  specRevision: 'SPEC_REVISION_MISMATCH',
  /** The config block is not the one the auditor pinned (`expectedConfigBlockHash`). */
  configUnexpected: 'CONFIG_UNEXPECTED',
  /** Document bytes whose SHA-256 is not the stated hash. */
  documentBytes: 'DOCUMENT_HASH_MISMATCH',
  /** A document hash no verified transaction of the twin recorded. */
  documentNotOnChain: 'DOCUMENT_NOT_ON_CHAIN',
  /** Feed anchors, updates, segments and equivocation evidence (feed-evidence.ts). */
  ...FeedFailureCodes,
} as const;
export type FailureCode = (typeof FailureCodes)[keyof typeof FailureCodes];

export interface VerificationFailure {
  readonly code: FailureCode;
  readonly reason: string;
  readonly block?: number;
  readonly txId?: string;
  /** Feed failures: the feed and the update index. */
  readonly feedId?: string;
  readonly index?: number;
}

export interface VerificationCheck {
  readonly check: string;
  readonly ok: boolean;
  /** How many items the check covered (blocks, transactions, keys, documents). */
  readonly count: number;
}

export interface VerifyOptions {
  /**
   * Hex SHA-256 of the config block's header, as the auditor knows it from elsewhere (the
   * channel's genesis block, another organization's peer). Without it the configuration is
   * trusted as the bundle carries it: see docs/security-model.md.
   */
  readonly expectedConfigBlockHash?: string;
}

export interface BlockBundleVerification {
  readonly ok: boolean;
  readonly twinId: string | undefined;
  /** The trust anchor: the config block every certificate was checked against; compare its hash out of band. */
  readonly configBlock?: { readonly number: number; readonly headerHash: string };
  /**
   * The last block through which the change list is proven complete: the bundle holds every
   * block from the twin's creation to this one, hash-chained, and no valid transaction of the
   * twin in them is missing from the list. null when not even the creation block is there.
   * Changes after this block may exist; an auditor who needs the history up to a block asks
   * for a contiguous export (`?contiguous=true`) and compares.
   */
  readonly completeThrough?: number | null;
  readonly checks: readonly VerificationCheck[];
  readonly failures: readonly VerificationFailure[];
  /** Per feed of the bundle: its anchors, what they prove, and equivocations found (ADR-18). */
  readonly feeds?: readonly BundleFeedVerification[];
}

/** A feed's result, with the anchors whose transactions and blocks verified: what `verifyReadingsProof` trusts. */
export interface BundleFeedVerification extends FeedEvidenceResult {
  readonly verifiedAnchors: readonly VerifiedAnchor[];
}

/** An anchor of a VALID, signed and endorsed transaction in a block that verified (data hash, orderer signatures). */
export interface VerifiedAnchor {
  readonly feedId: string;
  readonly txId: string;
  readonly blockNumber: number;
  readonly fromIndex: number;
  readonly toIndex: number;
  /** hex */
  readonly root: string;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

/** BFT quorum as Fabric's SmartBFT computes it: ceil((n + f + 1) / 2), f = floor((n - 1) / 3). */
const bftQuorum = (n: number): number => Math.ceil((n + Math.floor((n - 1) / 3) + 1) / 2);

function isSpecKey(key: string, twinId: string): boolean {
  return key === compositeKey('tl.twin', [twinId]) || key.startsWith(compositeKey('tl.el', [twinId])) || key.startsWith(`tl.ch\u0000${twinId}\u0000`);
}

/**
 * Verifies an audit bundle offline: only the bytes in it and the channel configuration it
 * carries are trusted, never the exporter. Every check runs (a failure does not stop the
 * others) so the auditor sees all that is wrong at once.
 */
export function verifyBlockBundle(bundle: unknown, options: VerifyOptions = {}): BlockBundleVerification {
  try {
    return verifyUnguarded(bundle, options);
  } catch (err) {
    // Bytes that decode but hold nonsense (a corrupted protobuf field) must still give an
    // answer, never a crash: the auditor gets a failure, not a stack trace.
    return {
      ok: false,
      twinId: undefined,
      checks: [{ check: 'bundle decodes', ok: false, count: 0 }],
      failures: [{ code: FailureCodes.malformed, reason: `the bundle could not be decoded: ${(err as Error).message}` }],
    };
  }
}

const isChange = (c: unknown): boolean => {
  const x = c as Partial<BundleChange> | null;
  return !!x && Number.isInteger(x.seq) && typeof x.txId === 'string' && Number.isInteger(x.blockNumber);
};
const isDocument = (d: unknown): boolean => {
  const x = d as Partial<BundleDocument> | null;
  return !!x && typeof x.hash === 'string' && typeof x.contentBase64 === 'string';
};
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFeed = (f: unknown): boolean => {
  const x = f as Partial<BundleFeed> | null;
  return (
    isObject(x) &&
    typeof x.feedId === 'string' &&
    typeof x.componentId === 'string' &&
    Array.isArray(x.anchors) &&
    x.anchors.every((a) => isObject(a) && typeof a.txId === 'string' && Number.isInteger(a.blockNumber)) &&
    Array.isArray(x.updates) &&
    x.updates.every(
      (u) =>
        isObject(u) &&
        isObject(u.update) &&
        Array.isArray(u.proof) &&
        u.proof.every((p) => typeof p === 'string') &&
        (u.manifest === undefined || isObject(u.manifest)) &&
        (u.segmentBase64 === undefined || typeof u.segmentBase64 === 'string'),
    ) &&
    Array.isArray(x.conflicts) &&
    x.conflicts.every((c) => isObject(c) && Number.isInteger(c.index) && Array.isArray(c.updates) && c.updates.every(isObject))
  );
};
/** The anchor key the chaincode writes (KeyTypes.feedAnchor): [twinId, feedId, fromIndex padded to 16]. */
const anchorKey = (twinId: string, feedId: string, fromIndex: number): string => compositeKey('tl.anchor', [twinId, feedId, String(fromIndex).padStart(16, '0')]);

function verifyUnguarded(bundle: unknown, options: VerifyOptions): BlockBundleVerification {
  const failures: VerificationFailure[] = [];
  const checks: VerificationCheck[] = [];
  const fail = (f: VerificationFailure): void => void failures.push(f);
  const check = (name: string, count: number, codes: readonly FailureCode[], before: number): void => {
    checks.push({ check: name, count, ok: !failures.slice(before).some((f) => codes.includes(f.code)) });
  };

  const p = bundle as Partial<AuditBlockBundle> | null;
  if (
    !p ||
    typeof p !== 'object' ||
    p.format !== BUNDLE_FORMAT ||
    typeof p.twinId !== 'string' ||
    typeof p.chaincode !== 'string' ||
    typeof p.configBlock !== 'string' ||
    !Array.isArray(p.blocks) ||
    !p.blocks.every((x) => typeof x === 'string') ||
    !Array.isArray(p.changes) ||
    !p.changes.every(isChange) ||
    !p.specification ||
    typeof p.specification.state !== 'object' ||
    p.specification.state === null ||
    typeof p.specification.revisionTxId !== 'string' ||
    !Object.values(p.specification.state).every((v) => typeof v === 'string') ||
    !Array.isArray(p.documents) ||
    !p.documents.every(isDocument) ||
    (p.feeds !== undefined && (!Array.isArray(p.feeds) || !p.feeds.every(isFeed))) ||
    (p.anchorBlocks !== undefined && (!Array.isArray(p.anchorBlocks) || !p.anchorBlocks.every((x) => typeof x === 'string')))
  ) {
    fail({ code: FailureCodes.malformed, reason: `not a ${BUNDLE_FORMAT} bundle (a required field is missing or of the wrong type)` });
    return { ok: false, twinId: undefined, checks: [{ check: 'bundle format', ok: false, count: 0 }], failures };
  }
  const b = p as AuditBlockBundle;
  const twinId = b.twinId;

  // ---- the channel configuration: the only trust anchor ----
  let config: ChannelConfig;
  try {
    config = readChannelConfig(decodeConfigBlock(b64(b.configBlock)));
  } catch (err) {
    fail({ code: FailureCodes.configInvalid, reason: `config block: ${(err as Error).message}` });
    return { ok: false, twinId, checks: [{ check: 'channel configuration', ok: false, count: 0 }], failures };
  }
  const configBlock = decodeBlock(b64(b.configBlock));
  const anchor = { number: configBlock.number, headerHash: hex(blockHeaderHash(configBlock)) };
  if (options.expectedConfigBlockHash !== undefined) {
    const ok = options.expectedConfigBlockHash.toLowerCase() === anchor.headerHash;
    if (!ok) fail({ code: FailureCodes.configUnexpected, block: anchor.number, reason: `config block ${anchor.number} has header hash ${anchor.headerHash}, the auditor expects ${options.expectedConfigBlockHash}` });
    checks.push({ check: 'config block is the pinned one', ok, count: 1 });
  }

  // ---- blocks: data hash, chain, orderer signatures ----
  let start = failures.length;
  const blocks = new Map<number, DecodedBlock>();
  for (const [i, raw] of b.blocks.entries()) {
    try {
      const blk = decodeBlock(b64(raw));
      blocks.set(blk.number, blk);
    } catch (err) {
      fail({ code: FailureCodes.malformed, reason: `blocks[${i}] does not decode: ${(err as Error).message}` });
    }
  }
  // Blocks of feed anchors: checked like the others, but not part of the twin's change list
  // (an anchor is no change of the twin), so TX_UNLISTED and completeness look at `blocks` only.
  const anchorBlocks = new Map<number, DecodedBlock>();
  for (const [i, raw] of (b.anchorBlocks ?? []).entries()) {
    try {
      const blk = decodeBlock(b64(raw));
      if (!blocks.has(blk.number)) anchorBlocks.set(blk.number, blk);
    } catch (err) {
      fail({ code: FailureCodes.malformed, reason: `anchorBlocks[${i}] does not decode: ${(err as Error).message}` });
    }
  }
  const blockAt = (n: number): DecodedBlock | undefined => blocks.get(n) ?? anchorBlocks.get(n);
  const all = [...blocks.values(), ...anchorBlocks.values(), configBlock];
  for (const blk of all) {
    if (!computeDataHash(blk.data).equals(Buffer.from(blk.dataHash))) {
      fail({ code: FailureCodes.dataHash, block: blk.number, reason: `block ${blk.number}: data_hash ${hex(blk.dataHash)} is not SHA-256 of its ${blk.data.length} envelopes` });
    }
  }
  check('block data hashes', all.length, [FailureCodes.dataHash], start);

  start = failures.length;
  let links = 0;
  for (const blk of [...blocks.values(), ...anchorBlocks.values()]) {
    const prev = blockAt(blk.number - 1) ?? (configBlock.number === blk.number - 1 ? configBlock : undefined);
    if (!prev) continue;
    links++;
    if (!blockHeaderHash(prev).equals(Buffer.from(blk.previousHash))) {
      fail({ code: FailureCodes.chainBroken, block: blk.number, reason: `block ${blk.number}: previous_hash does not match the header of block ${prev.number}` });
    }
  }
  check('hash chain of consecutive blocks', links, [FailureCodes.chainBroken], start);

  start = failures.length;
  const bft = config.consensus.toUpperCase() === 'BFT';
  for (const blk of all) {
    // The genesis block is written by configtxgen, not by an orderer: it carries no signature.
    // It is the channel's root of trust, checked by its hash (expectedConfigBlockHash), not here.
    if (blk.number === 0) continue;
    const signers = new Set<string>();
    for (const s of blockSignatures(blk)) {
      let signer: SerializedIdentity | undefined = s.creator;
      if (s.consenterId !== undefined) {
        const c = config.consenters.get(s.consenterId);
        if (!c) continue;
        signer = consenterIdentity(c.mspId, c.identity);
      }
      if (!signer || !config.ordererOrgs.includes(signer.mspId)) continue;
      if (identityProblem(config, signer) !== undefined) continue;
      if (!signatureValid(signer, s.signedBytes, s.signature)) continue;
      signers.add(hex(sha256(signer.idBytes)));
    }
    const needed = bft ? bftQuorum(config.consenters.size) : 1;
    if (signers.size < needed) {
      fail({
        code: FailureCodes.blockSignature,
        block: blk.number,
        reason: `block ${blk.number}: ${signers.size} valid orderer signature(s), ${needed} needed (${config.consensus})`,
      });
    }
  }
  check('orderer signatures of every block', all.length, [FailureCodes.blockSignature], start);

  // ---- the twin's transactions: inclusion, validity, creator, endorsements ----
  start = failures.length;
  const txs: { change: AuditBlockBundle['changes'][number]; tx: DecodedTransaction }[] = [];
  const decodedByBlock = new Map<number, DecodedTransaction[]>();
  const txsOf = (blk: DecodedBlock): DecodedTransaction[] => {
    let d = decodedByBlock.get(blk.number);
    if (!d) {
      d = blk.data.map((e, i) => {
        try {
          return decodeTransaction(e, i);
        } catch {
          return undefined;
        }
      }).filter((t): t is DecodedTransaction => t !== undefined);
      decodedByBlock.set(blk.number, d);
    }
    return d;
  };
  for (const change of b.changes) {
    const blk = blocks.get(change.blockNumber);
    const tx = blk ? txsOf(blk).find((t) => t.txId === change.txId) : undefined;
    if (!blk || !tx) {
      fail({ code: FailureCodes.txNotInBlock, block: change.blockNumber, txId: change.txId, reason: `change ${change.seq}: transaction ${change.txId} is not in block ${change.blockNumber} of the bundle` });
      continue;
    }
    const code = validationCode(blk, tx.index);
    if (code !== TX_VALID) {
      fail({ code: FailureCodes.txNotValid, block: blk.number, txId: tx.txId, reason: `transaction ${tx.txId} has validation code ${String(code)} in block ${blk.number}, not VALID` });
      continue;
    }
    txs.push({ change, tx });
  }
  check('every change is a VALID transaction of its block', b.changes.length, [FailureCodes.txNotInBlock, FailureCodes.txNotValid], start);

  start = failures.length;
  const orderKey = compositeKey('tl.order', [twinId]);
  const writesTwin = (t: DecodedTransaction): boolean => t.actions.some((a) => (a.writes.get(b.chaincode) ?? []).some((w) => w.key === orderKey));
  const listed = new Set(b.changes.map((c) => c.txId));
  for (const blk of blocks.values()) {
    for (const t of txsOf(blk)) {
      if (validationCode(blk, t.index) === TX_VALID && writesTwin(t) && !listed.has(t.txId)) {
        fail({ code: FailureCodes.txUnlisted, block: blk.number, txId: t.txId, reason: `transaction ${t.txId} in block ${blk.number} changed the twin but is not in the change list` });
      }
    }
  }
  const order = (c: AuditBlockBundle['changes'][number]): [number, number] => [c.blockNumber, txs.find((x) => x.change === c)?.tx.index ?? -1];
  b.changes.forEach((c, i) => {
    if (c.seq !== i + 1) fail({ code: FailureCodes.changesIncomplete, txId: c.txId, reason: `change at position ${i + 1} has seq ${c.seq}: the list is not 1..n` });
    const p = b.changes[i - 1];
    if (p) {
      const [pb, pi] = order(p);
      const [cb, ci] = order(c);
      if (cb < pb || (cb === pb && ci <= pi)) fail({ code: FailureCodes.changesIncomplete, txId: c.txId, reason: `change ${c.seq} is not after change ${p.seq} in ledger order` });
    }
    if (!txs.some((x) => x.change === c)) return;
    if (!writesTwin(txs.find((x) => x.change === c)!.tx)) {
      fail({ code: FailureCodes.changesIncomplete, txId: c.txId, reason: `transaction ${c.txId} did not change twin ${twinId}` });
    }
  });
  const first = txs.find((x) => x.change.seq === 1);
  if (b.changes.length === 0 || (first && !first.tx.actions.some((a) => (a.writes.get(b.chaincode) ?? []).some((w) => w.key === compositeKey('tl.twin', [twinId]) && !w.isDelete)))) {
    fail({ code: FailureCodes.changesIncomplete, reason: `change 1 is not the creation of twin ${twinId}` });
  }
  check('the change list is the twin\'s ledger order from its creation', b.changes.length, [FailureCodes.txUnlisted, FailureCodes.changesIncomplete], start);

  // Completeness: a hash-chained run of blocks from the creation block leaves no room for a
  // change left out (TX_UNLISTED above covers every transaction of every included block).
  let completeThrough: number | null = null;
  const creation = b.changes.find((c) => c.seq === 1);
  const broken = new Set(failures.filter((f) => f.code === FailureCodes.chainBroken || f.code === FailureCodes.dataHash || f.code === FailureCodes.blockSignature).map((f) => f.block));
  if (creation && blocks.has(creation.blockNumber) && !broken.has(creation.blockNumber) && failures.every((f) => f.code !== FailureCodes.txUnlisted && f.code !== FailureCodes.changesIncomplete)) {
    completeThrough = creation.blockNumber;
    while (blocks.has(completeThrough + 1) && !broken.has(completeThrough + 1)) completeThrough++;
  }

  /** Creator certificate and signature of one transaction (CREATOR_INVALID). */
  const checkCreator = (tx: DecodedTransaction, block: number): void => {
    if (!tx.creator) {
      fail({ code: FailureCodes.creatorInvalid, block, txId: tx.txId, reason: `transaction ${tx.txId} names no creator` });
      return;
    }
    const problem = identityProblem(config, tx.creator);
    if (problem) fail({ code: FailureCodes.creatorInvalid, block, txId: tx.txId, reason: `creator of ${tx.txId}: ${problem}` });
    else if (!signatureValid(tx.creator, tx.payload, tx.signature)) {
      fail({ code: FailureCodes.creatorInvalid, block, txId: tx.txId, reason: `the creator's signature over transaction ${tx.txId} does not verify` });
    }
  };
  /** Endorser certificates, endorsement signatures and the endorsement policy of one transaction. */
  const checkEndorsements = (tx: DecodedTransaction, block: number): void => {
    const at = { block, txId: tx.txId };
    for (const action of tx.actions) {
      const valid: SerializedIdentity[] = [];
      for (const e of action.endorsements) {
        const problem = identityProblem(config, e.endorser);
        if (problem) {
          fail({ code: FailureCodes.endorserUnknown, ...at, reason: `endorser of ${tx.txId}: ${problem}` });
          continue;
        }
        if (!signatureValid(e.endorser, Buffer.concat([action.proposalResponsePayload, e.endorser.raw]), e.signature)) {
          fail({ code: FailureCodes.endorsementSignature, ...at, reason: `the endorsement of ${e.endorser.mspId} on ${tx.txId} does not verify` });
          continue;
        }
        valid.push(e.endorser);
      }
      const policy = config.endorsement;
      if (!policy) {
        fail({ code: FailureCodes.endorsementPolicy, ...at, reason: 'the configuration has no /Channel/Application/Endorsement implicit-meta policy' });
        continue;
      }
      const orgs = config.applicationOrgs;
      const satisfied = orgs.filter((o) => {
        const p = config.orgEndorsement.get(o);
        return p ? satisfies(config, p, valid) : false;
      });
      const needed = policy.rule === 'ANY' ? 1 : policy.rule === 'ALL' ? orgs.length : Math.floor(orgs.length / 2) + 1;
      if (satisfied.length < needed) {
        fail({
          code: FailureCodes.endorsementPolicy,
          ...at,
          reason: `${policy.rule} ${policy.subPolicy} of ${orgs.length} organizations needs ${needed}; valid endorsements satisfy ${satisfied.length} (${satisfied.join(', ') || 'none'})`,
        });
      }
    }
  };

  start = failures.length;
  for (const { tx, change } of txs) checkCreator(tx, change.blockNumber);
  check('creator certificates chain to their MSP roots and sign their transactions', txs.length, [FailureCodes.creatorInvalid], start);

  start = failures.length;
  for (const { tx, change } of txs) checkEndorsements(tx, change.blockNumber);
  check('endorsements verify and satisfy the endorsement policy', txs.length, [FailureCodes.endorserUnknown, FailureCodes.endorsementSignature, FailureCodes.endorsementPolicy], start);

  // ---- replay: the verified write sets give the stated specification ----
  start = failures.length;
  const state = new Map<string, string>();
  const revisionKey = compositeKey('tl.specrev', [twinId]);
  let revision: string | undefined;
  const recordedHashes = new Set<string>();
  const docKeyPrefixes = [compositeKey('tl.dochash', [twinId])];
  const sorted = [...txs].sort((x, y) => x.change.seq - y.change.seq);
  for (const { tx } of sorted) {
    for (const a of tx.actions) {
      for (const w of a.writes.get(b.chaincode) ?? []) {
        if (isSpecKey(w.key, twinId)) {
          if (w.isDelete) state.delete(w.key);
          else state.set(w.key, Buffer.from(w.value).toString('utf8'));
        } else if (w.key === revisionKey && !w.isDelete) {
          try {
            revision = (JSON.parse(Buffer.from(w.value).toString('utf8')) as { txId?: string }).txId;
          } catch {
            revision = undefined;
          }
        } else if (!w.isDelete && docKeyPrefixes.some((p) => w.key.startsWith(p))) {
          // [twinId, hash] -> { originalHash }: the hash is the key's last attribute.
          const attrs = w.key.split('\u0000');
          const h = attrs[attrs.length - 2];
          if (h) recordedHashes.add(h);
        }
      }
    }
  }
  const stated = b.specification.state;
  for (const [k, v] of state) {
    if (stated[k] !== v) fail({ code: FailureCodes.specState, reason: `key ${JSON.stringify(k)}: stated ${stated[k] === undefined ? 'nothing' : 'a different value'}, the write sets give ${v.length} chars` });
  }
  for (const k of Object.keys(stated)) {
    if (!state.has(k)) fail({ code: FailureCodes.specState, reason: `key ${JSON.stringify(k)} is stated but no verified write leaves it` });
  }
  if (revision !== b.specification.revisionTxId) {
    fail({ code: FailureCodes.specRevision, txId: b.specification.revisionTxId, reason: `stated revision ${b.specification.revisionTxId}, the write sets give ${String(revision)}` });
  }
  check('the write sets replay to the stated specification', state.size, [FailureCodes.specState, FailureCodes.specRevision], start);

  // ---- documents ----
  start = failures.length;
  for (const d of b.documents) {
    const got = hex(sha256(b64(d.contentBase64)));
    if (got !== d.hash) fail({ code: FailureCodes.documentBytes, reason: `document ${d.hash}: the bytes hash to ${got}` });
    if (!recordedHashes.has(d.hash)) fail({ code: FailureCodes.documentNotOnChain, reason: `document ${d.hash}: no verified transaction of the twin recorded this hash` });
  }
  check('document bytes hash to hashes recorded on chain', b.documents.length, [FailureCodes.documentBytes, FailureCodes.documentNotOnChain], start);

  const feeds = b.feeds === undefined ? undefined : verifyFeeds(b.feeds);
  return { ok: failures.length === 0, twinId, configBlock: anchor, completeThrough, checks, failures, ...(feeds ? { feeds } : {}) };

  /**
   * Each listed anchor must be a VALID, properly signed and endorsed transaction that wrote the
   * anchor of this twin's feed: only then does its root count. The feed's updates, segments
   * and conflicts are checked against those roots (feed-evidence.ts).
   */
  function verifyFeeds(list: readonly BundleFeed[]): BundleFeedVerification[] {
    let from = failures.length;
    const anchorTxs: { tx: DecodedTransaction; block: number; feed: BundleFeed }[] = [];
    for (const feed of list) {
      for (const ref of feed.anchors) {
        const blk = blockAt(ref.blockNumber);
        const tx = blk ? txsOf(blk).find((t) => t.txId === ref.txId) : undefined;
        if (!blk || !tx) {
          fail({ code: FailureCodes.txNotInBlock, block: ref.blockNumber, txId: ref.txId, reason: `anchor ${ref.txId} of feed ${feed.feedId} is not in block ${ref.blockNumber} of the bundle` });
          continue;
        }
        if (validationCode(blk, tx.index) !== TX_VALID) {
          fail({ code: FailureCodes.txNotValid, block: blk.number, txId: tx.txId, reason: `anchor ${tx.txId} has validation code ${String(validationCode(blk, tx.index))} in block ${blk.number}, not VALID` });
          continue;
        }
        anchorTxs.push({ tx, block: blk.number, feed });
      }
    }
    check('every feed anchor is a VALID transaction of its block', anchorTxs.length, [FailureCodes.txNotInBlock, FailureCodes.txNotValid], from);

    from = failures.length;
    const trusted: AnchoredRoot[] = [];
    const blockOf = new Map<string, number>();
    for (const { tx, block, feed } of anchorTxs) {
      const before = failures.length;
      checkCreator(tx, block);
      checkEndorsements(tx, block);
      if (failures.length > before) continue;
      const found = readAnchor(tx, feed.feedId);
      if (typeof found === 'string') fail({ code: FailureCodes.anchorInvalid, block, txId: tx.txId, feedId: feed.feedId, reason: `anchor ${tx.txId}: ${found}` });
      else {
        trusted.push(found);
        blockOf.set(found.txId, block);
      }
    }
    check('feed anchors are signed, endorsed and write an anchor of the twin\'s feed', anchorTxs.length, [FailureCodes.creatorInvalid, FailureCodes.endorserUnknown, FailureCodes.endorsementSignature, FailureCodes.endorsementPolicy, FailureCodes.anchorInvalid], from);

    from = failures.length;
    const results = list.map((feed) => verifyFeedEvidence(feed, trusted));
    for (const r of results) failures.push(...r.failures);
    const proofCodes = [FailureCodes.anchorMissing, FailureCodes.updateInvalid, FailureCodes.proofInvalid, FailureCodes.segmentMismatch, FailureCodes.evidenceInvalid];
    check('feed updates are proven by anchored roots, segments by their signed manifests', list.reduce((n, f) => n + f.updates.length, 0), proofCodes, from);
    check('no feed update is equivocated', list.reduce((n, f) => n + f.updates.length + f.conflicts.length, 0), [FailureCodes.equivocation], from);
    // An anchor counts for readings proofs only where its block verified too: a root in a block
    // without the orderers' signatures (or with altered envelopes) is no root on the chain.
    const badBlocks = new Set(failures.filter((f) => f.code === FailureCodes.dataHash || f.code === FailureCodes.blockSignature).map((f) => f.block));
    return results.map((r) => ({
      ...r,
      verifiedAnchors: trusted
        .filter((a) => a.feedId === r.feedId && !badBlocks.has(blockOf.get(a.txId)))
        .sort((x, y) => x.fromIndex - y.fromIndex)
        .map((a) => ({ feedId: a.feedId, txId: a.txId, blockNumber: blockOf.get(a.txId)!, fromIndex: a.fromIndex, toIndex: a.toIndex, root: a.root })),
    }));
  }

  /** The anchor a transaction wrote for this twin's feed, or why there is none. */
  function readAnchor(tx: DecodedTransaction, feedId: string): AnchoredRoot | string {
    const prefix = compositeKey('tl.anchor', [twinId, feedId]);
    for (const a of tx.actions) {
      for (const w of a.writes.get(b.chaincode) ?? []) {
        if (w.isDelete || !w.key.startsWith(prefix)) continue;
        let v: Partial<AnchoredRoot> & { twinId?: unknown };
        try {
          v = JSON.parse(Buffer.from(w.value).toString('utf8')) as typeof v;
        } catch {
          return 'the anchor value is not JSON';
        }
        const ok =
          v.twinId === twinId &&
          v.feedId === feedId &&
          typeof v.componentId === 'string' &&
          Number.isSafeInteger(v.fromIndex) &&
          Number.isSafeInteger(v.toIndex) &&
          v.toIndex! >= v.fromIndex! &&
          typeof v.root === 'string' &&
          /^[0-9a-f]{64}$/.test(v.root) &&
          v.txId === tx.txId &&
          w.key === anchorKey(twinId, feedId, v.fromIndex!);
        if (!ok) return 'the anchor it writes is malformed or does not match its key';
        return { txId: tx.txId, feedId, componentId: v.componentId!, fromIndex: v.fromIndex!, toIndex: v.toIndex!, root: v.root! };
      }
    }
    return `it writes no anchor of feed ${feedId} of twin ${twinId}`;
  }
}

/** A consenter's identity: a serialized identity, or (as some configs carry it) the PEM itself. */
function consenterIdentity(mspId: string, identity: Uint8Array): SerializedIdentity {
  const asText = Buffer.from(identity).toString('utf8');
  if (asText.startsWith('-----BEGIN')) return { mspId, idBytes: identity, raw: identity };
  try {
    const id = decodeIdentity(identity);
    if (id.idBytes.length > 0) return id;
  } catch {
    // fall through: not a serialized identity
  }
  return { mspId, idBytes: identity, raw: identity };
}
