import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { IdentityFiles } from '@twinledger/devnet';
import { createDhtNode, generateEncryptionKeyPair, generateSwarmKey, peerIdOfDataDir, type DhtNode } from '@twinledger/dht';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork, type OrgHandle } from '@twinledger/devnet';
import { createFabricClient, createPeerConnectionPool, loadIdentity, type PeerConnectionPool } from '@twinledger/fabric-client';
import { createTwinLedger, type TwinLedger } from '@twinledger/ledger';
import { createLedgerPartyRegistry, type LedgerPartyRegistry } from '../src/index.js';

const fabric = await fabricAvailability();

(fabric.ok ? describe : describe.skip)('DHT membership from the ledger party registry', () => {
  let net: DevNetwork;
  let pool: PeerConnectionPool;
  const dirs: string[] = [];
  const nodes: DhtNode[] = [];
  const registries: LedgerPartyRegistry[] = [];
  const swarmKey = generateSwarmKey();

  const ledgerAs = async (org: OrgHandle, who: 'admin' | 'user'): Promise<TwinLedger> =>
    createTwinLedger(
      createFabricClient({ pool, peer: org.peer, identity: await loadIdentity(who === 'admin' ? org.admin : org.users[0]!), channel: net.channel, chaincode: net.chaincode }),
    );

  /** A DHT node's data dir, identity and encryption key, prepared before it first starts. */
  const prepare = async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twinledger-reg-'));
    dirs.push(dir);
    return { dir, peerId: await peerIdOfDataDir(dir), keys: generateEncryptionKeyPair() };
  };

  /** Starts it with a gater that trusts only what the ledger says, read through `org`'s own peer. */
  const start = async (org: OrgHandle, prepared: Awaited<ReturnType<typeof prepare>>) => {
    const registry = createLedgerPartyRegistry({ refreshIntervalMs: 0 }, { source: await ledgerAs(org, 'user') });
    registries.push(registry);
    await registry.start();
    const node = createDhtNode(
      { dataDir: prepared.dir, mspId: org.mspId, encryptionKey: prepared.keys.privateKey, swarmKey, replicationFactor: 2, faultTolerance: 0, repairIntervalMs: 0 },
      { registry },
    );
    nodes.push(node);
    await node.start();
    return { node, registry };
  };

  beforeAll(async () => {
    net = await startNetwork({ orgs: ['org1', 'org2'], kafka: false, ...testNetworkInit() });
    pool = createPeerConnectionPool();
  });

  afterAll(async () => {
    for (const r of registries) r.stop();
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    pool?.close();
    await net?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('admits exactly the peers an organization admin registered on chain', async () => {
    const [org1, org2] = net.orgs as [OrgHandle, OrgHandle];
    const pa = await prepare();
    const pb = await prepare();
    // An Org2 node (with Org2's encryption key) whose peer id Org2's admin never registered.
    const pc = { ...(await prepare()), keys: pb.keys };
    const b64 = (k: Uint8Array) => Buffer.from(k).toString('base64');

    // A plain user may not register its organization's DHT identity.
    await expect((await ledgerAs(org1, 'user')).registerParty([pa.peerId], b64(pa.keys.publicKey))).rejects.toMatchObject({ code: 'ACCESS_DENIED' });

    await (await ledgerAs(org1, 'admin')).registerParty([pa.peerId], b64(pa.keys.publicKey));
    await (await ledgerAs(org2, 'admin')).registerParty([pb.peerId], b64(pb.keys.publicKey));

    const a = await start(org1, pa);
    const b = await start(org2, pb);
    expect(a.registry.partyOf(pb.peerId)?.mspId).toBe('Org2MSP');
    expect(Buffer.from(b.registry.get('Org1MSP')!.encryptionPublicKey)).toEqual(Buffer.from(pa.keys.publicKey));

    await a.node.dial(b.node.multiaddrs()[0]!);
    expect(a.node.status().peers.map((p) => p.peerId)).toContain(pb.peerId);

    // Data flows between the registered parties, encrypted to the keys on the ledger.
    const put = await a.node.putObject(new TextEncoder().encode('maintenance report'), { acl: ['Org1MSP', 'Org2MSP'] });
    expect(new TextDecoder().decode(await b.node.getObject(put.ref))).toBe('maintenance report');

    // The unregistered node has the swarm key and a registered organization, yet is refused.
    // Whether c's dial call itself rejects is a race: a closes the connection right after the
    // noise handshake reveals c's peer id, which c may see after its dial resolved. What must hold
    // is that a and b never keep c as a peer and that c gets nothing from them.
    const c = await start(org2, pc);
    await c.node.dial(a.node.multiaddrs()[0]!).catch(() => undefined);
    await c.node.dial(b.node.multiaddrs()[0]!).catch(() => undefined);
    expect(a.node.status().peers.map((p) => p.peerId)).not.toContain(pc.peerId);
    expect(b.node.status().peers.map((p) => p.peerId)).not.toContain(pc.peerId);
    await expect(c.node.getObject(put.ref)).rejects.toThrow();
    const deadline = Date.now() + 10_000;
    while (c.node.status().peers.length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(c.node.status().peers).toEqual([]);
  });
  it('keeps a peer ID to the organization that registered it: another organization claiming it is refused', async () => {
    const [org1, org2] = net.orgs as [OrgHandle, OrgHandle];
    const mine = await prepare();
    const b64 = (k: Uint8Array) => Buffer.from(k).toString('base64');
    await (await ledgerAs(org1, 'admin')).registerParty([mine.peerId], b64(mine.keys.publicKey));
    // Org2's admin claims Org1's peer (besides one of its own): refused, nothing written.
    const theirs = await prepare();
    await expect((await ledgerAs(org2, 'admin')).registerParty([theirs.peerId, mine.peerId], b64(theirs.keys.publicKey))).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    const registry = createLedgerPartyRegistry({ refreshIntervalMs: 0 }, { source: await ledgerAs(org2, 'user') });
    registries.push(registry);
    await registry.start();
    expect(registry.partyOf(mine.peerId)?.mspId).toBe('Org1MSP');
    expect(registry.partyOf(theirs.peerId)).toBeUndefined();
  });

  it("takes admin from the certificate: a client certificate issued by the org's CA with CN eve/x/OU=admin is refused", async () => {
    const [org1] = net.orgs as [OrgHandle, OrgHandle];
    const eve = issueClientCertificate(org1, 'eve\\/x\\/OU=admin');
    const ledger = createTwinLedger(createFabricClient({ pool, peer: org1.peer, identity: await loadIdentity(eve), channel: net.channel, chaincode: net.chaincode }));
    const before = await ledger.getParty('Org1MSP').catch(() => undefined);
    const attacker = await prepare();
    await expect(ledger.registerParty([attacker.peerId], Buffer.from(attacker.keys.publicKey).toString('base64'))).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    expect(await ledger.getParty('Org1MSP').catch(() => undefined)).toEqual(before);
  });

  /**
   * A client certificate (OU=client) for `cn`, issued by the organization's own CA (cryptogen's
   * CA key in the network's crypto folder) as a member's CA would issue it on request: valid for
   * the MSP, so the chaincode is what must refuse it.
   */
  function issueClientCertificate(org: OrgHandle, cn: string): IdentityFiles {
    const caDir = join(resolve(org.peer.mspDir, '..', '..', '..'), 'ca');
    const caCert = join(caDir, readdirSync(caDir).find((f) => f.endsWith('-cert.pem'))!);
    const caKey = join(caDir, 'priv_sk');
    const dir = mkdtempSync(join(tmpdir(), 'twinledger-crafted-'));
    dirs.push(dir);
    const keyPath = join(dir, 'key.pem');
    const csr = join(dir, 'req.csr');
    const certPath = join(dir, 'cert.pem');
    const ext = join(dir, 'ext.cnf');
    writeFileSync(ext, 'keyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\nauthorityKeyIdentifier=keyid\n');
    const run = (args: string[]) => {
      const r = spawnSync('openssl', args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
    };
    run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'ec.pem')]);
    run(['pkcs8', '-topk8', '-nocrypt', '-in', join(dir, 'ec.pem'), '-out', keyPath]);
    run(['req', '-new', '-key', keyPath, '-utf8', '-subj', `/C=US/ST=California/L=San Francisco/OU=client/CN=${cn}`, '-out', csr]);
    run(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '1', '-sha256', '-extfile', ext, '-out', certPath]);
    return { mspId: org.mspId, mspDir: dir, certPath, keyPath };
  }
});
