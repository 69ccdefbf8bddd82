import fabricProtos from '@hyperledger/fabric-protos';
import { BUNDLE_FORMAT, type AuditBlockBundle, type BundleChange, type BundleDocument, type BundleFeed } from './bundle.js';
import { AuditBundleTooLargeError, AuditChangesMissingError, BlockUnavailableError } from './errors.js';
import { METADATA_SIGNATURES, TX_VALID, compositeKey, decodeBlock, decodeTransaction, validationCode } from './fabric.js';

/**
 * Raw blocks from a peer of the channel (qscc). The exporter's only network collaborator, so the
 * package itself needs no Fabric client: services pass one built on theirs.
 */
export interface BlockReader {
  /** Serialized `common.Block` holding the transaction (qscc GetBlockByTxID). */
  blockByTxId(txId: string): Promise<Uint8Array>;
  /** Serialized `common.Block` (qscc GetBlockByNumber). */
  blockByNumber(n: number): Promise<Uint8Array>;
  /** The channel's height (qscc GetChainInfo). */
  height(): Promise<number>;
}

export interface AuditExportRequest {
  readonly twinId: string;
  /** The twin's changes in ledger order (the chaincode's history: seq 1 = createTwin), all of them up to the bound. */
  readonly changes: readonly { readonly seq: number; readonly txId: string }[];
  /** The seq the export stops at; undefined = every change given. */
  readonly asOfSeq?: number;
  /** Document bytes the exporter read, with their on-chain hashes. */
  readonly documents?: readonly BundleDocument[];
  /**
   * Include every block from the twin's creation to its last change (not only the blocks of its
   * changes), so the verifier can prove the change list complete through the last one. Costs
   * the channel's whole traffic of that period; bounded by `maxBlocks`.
   */
  readonly contiguous?: boolean;
  /**
   * Feeds of the twin with the anchor transactions to include (listed by the chaincode, as the
   * caller). Their blocks go to `anchorBlocks`; the updates and segments come from feed-ingest
   * (GET /feeds/:feedId/evidence) and are merged into `feeds[].updates` by whoever assembles
   * the final bundle. Counts against `maxBlocks`.
   */
  readonly feeds?: readonly { readonly feedId: string; readonly componentId: string; readonly anchorTxIds: readonly string[] }[];
}

export interface AuditBundleExporterInit {
  readonly blocks: BlockReader;
  readonly channel: string;
  readonly chaincode: string;
  /** The exporting organization (recorded for information). */
  readonly mspId: string;
  /** Most blocks one bundle holds (a contiguous export of a long history); default 2,000. */
  readonly maxBlocks?: number;
}

export interface AuditBundleExporter {
  export(req: AuditExportRequest): Promise<AuditBlockBundle>;
}

const DEFAULT_MAX_BLOCKS = 2_000;
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** The block number of the channel's latest config block, read from a block's orderer metadata. */
export function lastConfigIndex(block: Uint8Array): number {
  const d = decodeBlock(block);
  const raw = d.metadata[METADATA_SIGNATURES];
  if (!raw) throw new Error(`block ${d.number} has no signatures metadata`);
  const md = fabricProtos.common.Metadata.deserializeBinary(raw);
  return fabricProtos.common.OrdererBlockMetadata.deserializeBinary(md.getValue_asU8()).getLastConfig()?.getIndex() ?? 0;
}

export function createAuditBundleExporter(init: AuditBundleExporterInit): AuditBundleExporter {
  const fetch = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw new BlockUnavailableError(`the peer did not return ${what}`, { cause: err, details: { what } });
    }
  };
  return {
    async export(req) {
      const bound = req.asOfSeq;
      const changes = req.changes.filter((c) => bound === undefined || c.seq <= bound);
      if (changes.length === 0 || changes[0]?.seq !== 1) {
        throw new AuditChangesMissingError(`the change list of ${req.twinId} does not start with its creation`, { details: { twinId: req.twinId } });
      }
      const blocks = new Map<number, Uint8Array>();
      const placed: BundleChange[] = [];
      for (const c of changes) {
        const raw = await fetch(`the block of ${c.txId}`, () => init.blocks.blockByTxId(c.txId));
        const number = decodeBlock(raw).number;
        blocks.set(number, raw);
        placed.push({ seq: c.seq, txId: c.txId, blockNumber: number });
      }
      if (req.contiguous && placed.length > 0) {
        const first = placed[0]!.blockNumber;
        const last = Math.max(...placed.map((c) => c.blockNumber));
        const max = init.maxBlocks ?? DEFAULT_MAX_BLOCKS;
        if (last - first + 1 > max) {
          throw new AuditBundleTooLargeError(`a contiguous export of ${req.twinId} needs ${last - first + 1} blocks, more than ${max}`, { details: { twinId: req.twinId, blocks: last - first + 1, limit: max } });
        }
        for (let n = first; n <= last; n++) {
          if (!blocks.has(n)) blocks.set(n, await fetch(`block ${n}`, () => init.blocks.blockByNumber(n)));
        }
      }
      let feeds: BundleFeed[] | undefined;
      const anchorBlocks = new Map<number, Uint8Array>();
      if (req.feeds !== undefined) {
        const max = init.maxBlocks ?? DEFAULT_MAX_BLOCKS;
        const total = req.feeds.reduce((n, f) => n + f.anchorTxIds.length, 0);
        if (total + blocks.size > max) {
          throw new AuditBundleTooLargeError(`the feeds of ${req.twinId} have ${total} anchors in the range, more than ${max - blocks.size} blocks`, { details: { twinId: req.twinId, anchors: total, limit: max } });
        }
        feeds = [];
        for (const f of req.feeds) {
          const anchors: { txId: string; blockNumber: number }[] = [];
          for (const txId of f.anchorTxIds) {
            const raw = await fetch(`the block of anchor ${txId}`, () => init.blocks.blockByTxId(txId));
            const number = decodeBlock(raw).number;
            if (!blocks.has(number)) anchorBlocks.set(number, raw);
            anchors.push({ txId, blockNumber: number });
          }
          feeds.push({ feedId: f.feedId, componentId: f.componentId, anchors, updates: [], conflicts: [] });
        }
      }
      const height = await fetch('the chain height', () => init.blocks.height());
      const tip = await fetch(`block ${height - 1}`, () => init.blocks.blockByNumber(height - 1));
      const configBlock = await fetch('the config block', () => init.blocks.blockByNumber(lastConfigIndex(tip)));

      // The stated specification: what the exporter's own replay of the write sets gives. The
      // verifier replays again and compares; this is a convenience for the reader, not a proof.
      const state: Record<string, string> = {};
      let revisionTxId = '';
      const twin = req.twinId;
      const isSpec = (k: string): boolean =>
        k === compositeKey('tl.twin', [twin]) || k.startsWith(compositeKey('tl.el', [twin])) || k.startsWith(`tl.ch\u0000${twin}\u0000`);
      for (const c of placed) {
        const blk = decodeBlock(blocks.get(c.blockNumber)!);
        const idx = blk.data.findIndex((e, i) => decodeTransaction(e, i).txId === c.txId);
        if (idx < 0 || validationCode(blk, idx) !== TX_VALID) continue;
        const tx = decodeTransaction(blk.data[idx]!, idx);
        for (const a of tx.actions) {
          for (const w of a.writes.get(init.chaincode) ?? []) {
            if (isSpec(w.key)) {
              if (w.isDelete) delete state[w.key];
              else state[w.key] = Buffer.from(w.value).toString('utf8');
            } else if (w.key === compositeKey('tl.specrev', [twin]) && !w.isDelete) {
              revisionTxId = (JSON.parse(Buffer.from(w.value).toString('utf8')) as { txId: string }).txId;
            }
          }
        }
      }
      return {
        format: BUNDLE_FORMAT,
        twinId: req.twinId,
        channel: init.channel,
        chaincode: init.chaincode,
        exportedAt: new Date().toISOString(),
        exportedBy: init.mspId,
        asOfSeq: bound ?? null,
        configBlock: b64(configBlock),
        blocks: [...blocks.entries()].sort(([a], [b]) => a - b).map(([, raw]) => b64(raw)),
        changes: placed,
        specification: { revisionTxId, state },
        documents: req.documents ?? [],
        ...(feeds !== undefined ? { feeds, anchorBlocks: [...anchorBlocks.entries()].sort(([a], [b]) => a - b).map(([, raw]) => b64(raw)) } : {}),
      };
    },
  };
}
