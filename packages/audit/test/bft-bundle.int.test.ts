import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork } from '@twinledger/devnet';
import { createFabricClient, createPeerConnectionPool, loadIdentity, type FabricClient, type PeerConnectionPool } from '@twinledger/fabric-client';
import { createTwinLedger } from '@twinledger/ledger';
import { FailureCodes, createAuditBundleExporter, createQsccBlockReader, verifyBlockBundle } from '../src/index.js';

const fabric = await fabricAvailability();
const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');

// The four-party consortium orders with SmartBFT (ADR-11): its blocks are signed by consenter
// ID (identifier header), checked against the consenter mapping of the config block, and need
// the BFT quorum of signatures. The route test runs on Raft; this one runs the exporter and the
// verifier on a real BFT channel.
(fabric.ok ? describe : describe.skip)('audit bundle on a SmartBFT channel of four organizations', () => {
  let net: DevNetwork;
  let pool: PeerConnectionPool;
  let client: FabricClient;
  let qscc: FabricClient;

  beforeAll(async () => {
    net = await startNetwork({ orgs: ['org1', 'org2', 'org3', 'org4'], consensus: 'bft', kafka: false, ...testNetworkInit() });
    pool = createPeerConnectionPool();
    const org = net.orgs[0]!;
    const identity = await loadIdentity(org.users[0]!);
    client = createFabricClient({ pool, peer: org.peer, identity, channel: net.channel, chaincode: net.chaincode });
    qscc = createFabricClient({ pool, peer: org.peer, identity, channel: net.channel, chaincode: 'qscc' });
  });

  afterAll(async () => {
    client?.close();
    qscc?.close();
    pool?.close();
    await net?.stop();
  });

  it('exports and verifies with the consenters quorum; a block with one signature left fails', async () => {
    const ledger = createTwinLedger(client);
    const twin = `audit-bft-${Date.now().toString(36)}`;
    await ledger.createTwin(twin, 'Plant', AML);
    await ledger.addExternalSource(twin, 'https://example.org/manual');
    const exporter = createAuditBundleExporter({ blocks: createQsccBlockReader((fn, args) => qscc.evaluate(fn, args), net.channel), channel: net.channel, chaincode: net.chaincode, mspId: net.orgs[0]!.mspId });
    const history = await ledger.history(twin);
    const bundle = await exporter.export({ twinId: twin, changes: history.changes.map((c) => ({ seq: c.seq, txId: c.txId })) });
    const result = verifyBlockBundle(bundle);
    expect(result.failures).toEqual([]);
    expect(result.ok).toBe(true);

    // Keep only the first orderer signature of the first block: below the quorum.
    const fabricProtos = (await import('@hyperledger/fabric-protos')).default;
    const block = fabricProtos.common.Block.deserializeBinary(Buffer.from(bundle.blocks[0]!, 'base64'));
    const list = block.getMetadata()!.getMetadataList_asU8().slice();
    const md = fabricProtos.common.Metadata.deserializeBinary(list[0]!);
    expect(md.getSignaturesList().length).toBeGreaterThan(1);
    md.setSignaturesList(md.getSignaturesList().slice(0, 1));
    list[0] = md.serializeBinary();
    block.getMetadata()!.setMetadataList(list);
    const cut = { ...bundle, blocks: [Buffer.from(block.serializeBinary()).toString('base64'), ...bundle.blocks.slice(1)] };
    expect(verifyBlockBundle(cut).failures.map((f) => f.code)).toEqual([FailureCodes.blockSignature]);
  });
});
