import { createHash } from 'node:crypto';
import fabricProtos from '@hyperledger/fabric-protos';

const { common, peer, ledger } = fabricProtos;

// Block metadata indexes (common.BlockMetadataIndex): SIGNATURES = 0, TRANSACTIONS_FILTER = 2.
export const METADATA_SIGNATURES = 0;
export const METADATA_TRANSACTIONS_FILTER = 2;
/** peer.TxValidationCode.VALID */
export const TX_VALID = 0;
/** common.HeaderType.ENDORSER_TRANSACTION */
export const HEADER_ENDORSER_TRANSACTION = 3;
/** common.HeaderType.CONFIG */
export const HEADER_CONFIG = 1;

export const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

export interface SerializedIdentity {
  readonly mspId: string;
  /** PEM certificate bytes. */
  readonly idBytes: Uint8Array;
  /** The serialized msp.SerializedIdentity, as signed over. */
  readonly raw: Uint8Array;
}

export function decodeIdentity(raw: Uint8Array): SerializedIdentity {
  const id = fabricProtos.msp.SerializedIdentity.deserializeBinary(raw);
  return { mspId: id.getMspid(), idBytes: id.getIdBytes_asU8(), raw };
}

export interface KvWrite {
  readonly key: string;
  readonly isDelete: boolean;
  readonly value: Uint8Array;
}

export interface Endorsement {
  readonly endorser: SerializedIdentity;
  readonly signature: Uint8Array;
}

export interface DecodedTransaction {
  /** Position in the block. */
  readonly index: number;
  readonly txId: string;
  readonly type: number;
  readonly channel: string;
  readonly creator: SerializedIdentity | undefined;
  /** The envelope's payload bytes and the creator's signature over them. */
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
  /** Per action: what the endorsers signed and their signatures. */
  readonly actions: readonly {
    readonly proposalResponsePayload: Uint8Array;
    readonly endorsements: readonly Endorsement[];
    readonly chaincode: string;
    /** Writes per namespace. */
    readonly writes: ReadonlyMap<string, readonly KvWrite[]>;
  }[];
}

export interface DecodedBlock {
  readonly number: number;
  readonly previousHash: Uint8Array;
  readonly dataHash: Uint8Array;
  readonly data: readonly Uint8Array[];
  readonly metadata: readonly Uint8Array[];
}

export function decodeBlock(bytes: Uint8Array): DecodedBlock {
  const block = common.Block.deserializeBinary(bytes);
  const header = block.getHeader();
  if (!header) throw new Error('block has no header');
  return {
    number: header.getNumber(),
    previousHash: header.getPreviousHash_asU8(),
    dataHash: header.getDataHash_asU8(),
    data: block.getData()?.getDataList_asU8() ?? [],
    metadata: block.getMetadata()?.getMetadataList_asU8() ?? [],
  };
}

/** Fabric's data hash: SHA-256 over the concatenated envelopes (protoutil.ComputeBlockDataHash). */
export function computeDataHash(data: readonly Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const d of data) h.update(d);
  return h.digest();
}

// ---- ASN.1 DER for the block header (protoutil.BlockHeaderBytes) ----
function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, body: Uint8Array): Buffer => Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);

function derUnsignedInteger(n: number): Buffer {
  const bytes: number[] = [];
  let v = BigInt(n);
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  // A set high bit would read as negative: Go's big.Int encoding prepends a zero byte.
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

/** SEQUENCE { INTEGER number, OCTET STRING previous_hash, OCTET STRING data_hash }. */
export function blockHeaderBytes(b: Pick<DecodedBlock, 'number' | 'previousHash' | 'dataHash'>): Buffer {
  return tlv(0x30, Buffer.concat([derUnsignedInteger(b.number), tlv(0x04, b.previousHash), tlv(0x04, b.dataHash)]));
}

/** The hash the next block names as its previous_hash. */
export const blockHeaderHash = (b: Pick<DecodedBlock, 'number' | 'previousHash' | 'dataHash'>): Buffer => sha256(blockHeaderBytes(b));

export interface BlockSignature {
  /** The signer as named by a signature header (Raft) ... */
  readonly creator: SerializedIdentity | undefined;
  /** ... or by its consenter ID (SmartBFT identifier header). */
  readonly consenterId: number | undefined;
  readonly signedBytes: Buffer;
  readonly signature: Uint8Array;
}

/** The orderer signatures of a block and the exact bytes each signed. */
export function blockSignatures(b: DecodedBlock): BlockSignature[] {
  const raw = b.metadata[METADATA_SIGNATURES];
  if (!raw || raw.length === 0) return [];
  const md = common.Metadata.deserializeBinary(raw);
  const headerBytes = blockHeaderBytes(b);
  return md.getSignaturesList().map((s) => {
    const sigHeader = s.getSignatureHeader_asU8();
    const idHeader = s.getIdentifierHeader_asU8();
    const useId = sigHeader.length === 0 && idHeader.length > 0;
    return {
      creator: useId ? undefined : decodeIdentity(common.SignatureHeader.deserializeBinary(sigHeader).getCreator_asU8()),
      consenterId: useId ? common.IdentifierHeader.deserializeBinary(idHeader).getIdentifier() : undefined,
      signedBytes: Buffer.concat([md.getValue_asU8(), useId ? idHeader : sigHeader, headerBytes]),
      signature: s.getSignature_asU8(),
    };
  });
}

export function validationCode(b: DecodedBlock, index: number): number | undefined {
  return b.metadata[METADATA_TRANSACTIONS_FILTER]?.[index];
}

function decodeWrites(results: Uint8Array): Map<string, KvWrite[]> {
  const out = new Map<string, KvWrite[]>();
  if (results.length === 0) return out;
  const rw = ledger.rwset.TxReadWriteSet.deserializeBinary(results);
  for (const ns of rw.getNsRwsetList()) {
    const kv = ledger.rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8());
    out.set(
      ns.getNamespace(),
      kv.getWritesList().map((w) => ({ key: w.getKey(), isDelete: w.getIsDelete(), value: w.getValue_asU8() })),
    );
  }
  return out;
}

export function decodeTransaction(envelopeBytes: Uint8Array, index: number): DecodedTransaction {
  const env = common.Envelope.deserializeBinary(envelopeBytes);
  const payloadBytes = env.getPayload_asU8();
  const payload = common.Payload.deserializeBinary(payloadBytes);
  const ch = common.ChannelHeader.deserializeBinary(payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array());
  const sh = common.SignatureHeader.deserializeBinary(payload.getHeader()?.getSignatureHeader_asU8() ?? new Uint8Array());
  const creatorRaw = sh.getCreator_asU8();
  const actions: DecodedTransaction['actions'][number][] = [];
  if (ch.getType() === HEADER_ENDORSER_TRANSACTION) {
    const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
    for (const a of tx.getActionsList()) {
      const cap = peer.ChaincodeActionPayload.deserializeBinary(a.getPayload_asU8());
      const endorsed = cap.getAction();
      const prp = endorsed?.getProposalResponsePayload_asU8() ?? new Uint8Array();
      const action = peer.ChaincodeAction.deserializeBinary(peer.ProposalResponsePayload.deserializeBinary(prp).getExtension_asU8());
      actions.push({
        proposalResponsePayload: prp,
        endorsements: (endorsed?.getEndorsementsList() ?? []).map((e) => ({ endorser: decodeIdentity(e.getEndorser_asU8()), signature: e.getSignature_asU8() })),
        chaincode: action.getChaincodeId()?.getName() ?? '',
        writes: decodeWrites(action.getResults_asU8()),
      });
    }
  }
  return {
    index,
    txId: ch.getTxId(),
    type: ch.getType(),
    channel: ch.getChannelId(),
    creator: creatorRaw.length > 0 ? decodeIdentity(creatorRaw) : undefined,
    payload: payloadBytes,
    signature: env.getSignature_asU8(),
    actions,
  };
}

/** The channel's config (common.Config) carried by a config block. */
export function decodeConfigBlock(bytes: Uint8Array): InstanceType<typeof common.Config> {
  const b = decodeBlock(bytes);
  const first = b.data[0];
  if (!first) throw new Error('config block has no envelope');
  const env = common.Envelope.deserializeBinary(first);
  const payload = common.Payload.deserializeBinary(env.getPayload_asU8());
  const ch = common.ChannelHeader.deserializeBinary(payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array());
  if (ch.getType() !== HEADER_CONFIG) throw new Error(`block ${b.number} is not a config block (header type ${ch.getType()})`);
  const config = common.ConfigEnvelope.deserializeBinary(payload.getData_asU8()).getConfig();
  if (!config) throw new Error('config envelope has no config');
  return config;
}

/** The composite key Fabric's shim builds (U+0000 type U+0000 attr U+0000 ...). */
export function compositeKey(type: string, attrs: readonly string[]): string {
  return `\u0000${type}\u0000${attrs.map((a) => a + '\u0000').join('')}`;
}
