import { readFileSync } from 'node:fs';
import { createAuditBundleExporter, lastConfigIndex, type AuditBlockBundle, type BlockReader } from '@twinledger/audit';
import { createTwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import type { ServiceApp, TokenVerifier } from '@twinledger/service-kit';
import { buildApp } from '../../src/app.js';
import { createEventHub } from '../../src/domain/event-hub.js';
import { createLedgerJournal } from '../../src/domain/ledger-journal.js';
import { createReadModel } from '../../src/domain/read-model.js';
import { FakeDht, FakeFabricClient, fakeIdentityRegistry } from './fakes.js';
import { workingChaincode, type WorkingChaincode, type WorkingChaincodeOptions } from './working-chaincode.js';

export const FIXTURE_AML = readFileSync(new URL('../../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');

/**
 * The blocks of packages/audit's fixture bundle (a real Fabric network's), served as a peer
 * would: the twin's changes are its transactions, so the real exporter builds bundles of them.
 */
function fixtureBlocks(): { readonly blocks: BlockReader; readonly changes: ReadonlyArray<{ seq: number; txId: string }> } {
  const bundle = JSON.parse(readFileSync(new URL('../../../../packages/audit/test/fixtures/bundle.json', import.meta.url), 'utf8')) as AuditBlockBundle;
  const bytes = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));
  // The bundle's blocks are those of its changes, in block order.
  const numbers = [...new Set(bundle.changes.map((c) => c.blockNumber))].sort((a, b) => a - b);
  const byNumber = new Map(numbers.map((n, i) => [n, bytes(bundle.blocks[i]!)]));
  const tip = numbers.at(-1)!;
  byNumber.set(lastConfigIndex(byNumber.get(tip)!), bytes(bundle.configBlock));
  const block = (n: number | undefined): Uint8Array => {
    const b = n === undefined ? undefined : byNumber.get(n);
    if (!b) throw new Error(`NOT_FOUND: block ${n}`);
    return b;
  };
  return {
    changes: bundle.changes.map(({ seq, txId }) => ({ seq, txId })),
    blocks: {
      blockByTxId: async (txId) => block(bundle.changes.find((c) => c.txId === txId)?.blockNumber),
      blockByNumber: async (n) => block(n),
      height: async () => tip + 1,
    },
  };
}
const DOCUMENT = Buffer.from('operating manual, revision 3');
const DOCUMENT_REF = 'd'.repeat(64);

/**
 * The spec-service app over a chaincode that answers like a working ledger holding twin plant-1
 * (the fixture) with one document, whose object the fake DHT holds: for adversarial walks of it
 * and of the services in front of it (the console). The peer is at block 100 and knows no
 * transaction: fences below are reached at once, fences above answer their documented 504 after
 * a short wait. The twin's changes are the transactions of real blocks (packages/audit's fixture),
 * which the real audit-bundle exporter reads.
 */
export async function workingSpecService(auth: TokenVerifier, options: Pick<WorkingChaincodeOptions, 'feedId'> = {}): Promise<{ app: ServiceApp; chaincode: WorkingChaincode }> {
  const { blocks, changes } = fixtureBlocks();
  const chaincode = workingChaincode({ twinId: 'plant-1', aml: FIXTURE_AML, document: { bytes: DOCUMENT, dhtRef: DOCUMENT_REF }, changes, ...options });
  const fabric = new FakeFabricClient('Org1MSP', chaincode.answer);
  const dht = new FakeDht();
  dht.objects.set(DOCUMENT_REF, { bytes: DOCUMENT, acl: ['Org1MSP'], sha256: chaincode.documentHash });
  const registry = fakeIdentityRegistry(() => fabric);
  const journal = createLedgerJournal();
  const app = await buildApp({
    logger: silentLogger(),
    auth,
    ledgerFor: async (p) => createTwinLedger(await registry.clientFor(p)),
    dht: dht.asClient(),
    hub: createEventHub(10),
    journal,
    reads: createReadModel({ maxChars: 0, maxAgeMs: 0, fenceWaitMs: 50, following: () => false, blockOf: journal.blockOf, chain: { height: async () => 100n, hasTransaction: async () => false } }),
    auditBundles: createAuditBundleExporter({ blocks, channel: 'twins', chaincode: 'twinledger', mspId: 'Org1MSP' }),
    limits: { amlBytes: 256 * 1024, documentBytes: 1024 },
    mvccAttempts: 3,
  });
  await app.ready();
  return { app, chaincode };
}
