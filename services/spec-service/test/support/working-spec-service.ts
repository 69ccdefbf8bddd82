import { readFileSync } from 'node:fs';
import { NotFoundError } from '@twinledger/errors';
import { createTwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import type { ServiceApp, TokenVerifier } from '@twinledger/service-kit';
import { buildApp } from '../../src/app.js';
import { createEventHub } from '../../src/domain/event-hub.js';
import { createLedgerJournal } from '../../src/domain/ledger-journal.js';
import { createReadModel } from '../../src/domain/read-model.js';
import { FakeDht, FakeFabricClient, fakeIdentityRegistry } from './fakes.js';
import { workingChaincode, type WorkingChaincode } from './working-chaincode.js';

export const FIXTURE_AML = readFileSync(new URL('../../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');
const DOCUMENT = Buffer.from('operating manual, revision 3');
const DOCUMENT_REF = 'd'.repeat(64);

/**
 * The spec-service app over a chaincode that answers like a working ledger holding twin plant-1
 * (the fixture) with one document, whose object the fake DHT holds: for adversarial walks of it
 * and of the services in front of it (the console). The peer is at block 100 and knows no
 * transaction: fences below are reached at once, fences above answer their documented 504 after
 * a short wait. The audit-bundle exporter has no blocks (404).
 */
export async function workingSpecService(auth: TokenVerifier): Promise<{ app: ServiceApp; chaincode: WorkingChaincode }> {
  const chaincode = workingChaincode({ twinId: 'plant-1', aml: FIXTURE_AML, document: { bytes: DOCUMENT, dhtRef: DOCUMENT_REF } });
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
    auditBundles: {
      export: async () => {
        throw new NotFoundError('the fake ledger has no blocks');
      },
    },
    limits: { amlBytes: 256 * 1024, documentBytes: 1024 },
    mvccAttempts: 3,
  });
  await app.ready();
  return { app, chaincode };
}
