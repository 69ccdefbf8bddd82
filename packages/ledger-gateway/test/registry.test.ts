import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FabricClient, type IdentityFiles, type PeerConnectionPool } from '@twinledger/fabric-client';
import { createIdentityRegistry, findIdentityFiles, listIdentityNames } from '../src/index.js';

describe('identity registry', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-gateway-'));
    mkdirSync(join(dir, 'User1'));
    writeFileSync(join(dir, 'User1', 'cert.pem'), 'c1');
    writeFileSync(join(dir, 'User1', 'key.pem'), 'k1');
    mkdirSync(join(dir, 'User2', 'msp', 'signcerts'), { recursive: true });
    mkdirSync(join(dir, 'User2', 'msp', 'keystore'), { recursive: true });
    writeFileSync(join(dir, 'User2', 'msp', 'signcerts', 'User2@org1-cert.pem'), 'c2');
    writeFileSync(join(dir, 'User2', 'msp', 'keystore', 'priv_sk'), 'k2');
    mkdirSync(join(dir, 'Empty'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds flat and MSP-folder layouts and nothing else', async () => {
    expect(await findIdentityFiles(dir, 'User1', 'Org1MSP')).toEqual({ mspId: 'Org1MSP', certPath: join(dir, 'User1', 'cert.pem'), keyPath: join(dir, 'User1', 'key.pem') });
    expect(await findIdentityFiles(dir, 'User2', 'Org1MSP')).toMatchObject({ certPath: join(dir, 'User2', 'msp', 'signcerts', 'User2@org1-cert.pem') });
    expect(await findIdentityFiles(dir, 'Empty', 'Org1MSP')).toBeUndefined();
    expect(await findIdentityFiles(dir, '../User1', 'Org1MSP')).toBeUndefined();
    expect(await listIdentityNames(dir, 'Org1MSP')).toEqual(['User1', 'User2']);
  });

  /** A registry over the test's identities directory whose clients are fakes; `seen` is told each client made. */
  const registryOver = (seen: (files: IdentityFiles, chaincode: string) => void) =>
    createIdentityRegistry({
      mspId: 'Org1MSP',
      identitiesDir: dir,
      pool: {} as PeerConnectionPool,
      peer: { endpoint: '127.0.0.1:1', tlsRootCertPath: '/nonexistent' },
      channel: 'twins',
      chaincode: 'twinledger',
      clientFactory: async (files, chaincode) => {
        seen(files, chaincode);
        return { mspId: files.mspId, close: () => undefined } as unknown as FabricClient;
      },
    });

  it('maps callers to one client per identity and refuses unmapped or foreign callers', async () => {
    const made: IdentityFiles[] = [];
    const registry = registryOver((files) => made.push(files));
    const a = await registry.clientFor({ subject: 'alice', mspId: 'Org1MSP', fabricIdentity: 'User1' });
    const b = await registry.clientFor({ subject: 'bob', mspId: 'Org1MSP', fabricIdentity: 'User1' });
    expect(a).toBe(b);
    expect(made).toHaveLength(1);
    await expect(registry.clientFor({ subject: 'x', mspId: 'Org1MSP', fabricIdentity: 'Nobody' })).rejects.toMatchObject({ code: 'IDENTITY_NOT_MAPPED', httpStatus: 403 });
    await expect(registry.clientFor({ subject: 'x', mspId: 'Org1MSP', fabricIdentity: undefined })).rejects.toMatchObject({ code: 'IDENTITY_NOT_MAPPED' });
    await expect(registry.clientFor({ subject: 'x', mspId: 'Org2MSP', fabricIdentity: 'User1' })).rejects.toMatchObject({
      name: 'ForeignOrganizationError',
      code: 'FOREIGN_ORGANIZATION',
      httpStatus: 403,
      details: { reason: 'foreign_org', tokenOrg: 'Org2MSP', serviceOrg: 'Org1MSP' },
    });
    registry.close();
  });

  it('gives a named identity one client per chaincode: the project\'s by default, a system chaincode (qscc) on request', async () => {
    const made: string[] = [];
    const registry = registryOver((files, chaincode) => made.push(`${files.certPath.includes('User1') ? 'User1' : '?'}:${chaincode}`));
    const cc = await registry.clientByName('User1');
    const qscc = await registry.clientByName('User1', { chaincode: 'qscc' });
    expect(qscc).not.toBe(cc);
    expect(await registry.clientByName('User1', { chaincode: 'qscc' })).toBe(qscc);
    expect(await registry.clientFor({ subject: 'alice', mspId: 'Org1MSP', fabricIdentity: 'User1' })).toBe(cc);
    expect(made).toEqual(['User1:twinledger', 'User1:qscc']);
    await expect(registry.clientByName('Nobody', { chaincode: 'qscc' })).rejects.toMatchObject({ code: 'IDENTITY_NOT_MAPPED' });
    registry.close();
  });
});
