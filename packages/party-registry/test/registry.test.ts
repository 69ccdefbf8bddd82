import { describe, expect, it } from '@jest/globals';
import type { Party } from '@twinledger/ledger';
import { createStaticPartyRegistry, DHT_ERROR_CODES } from '@twinledger/dht';
import { createLedgerPartyRegistry, parsePartyRegistry } from '../src/index.js';

const PEER_A = '12D3KooWGRUVh8N8pp9V7TBrkT7WDYGD3vBG5nqC6eHwzKqQ1zrh';
const PEER_B = '12D3KooWJmVCeFNaJ6nTw6sBp1ksMXMnEn5Y5gG9qJkHXH7rV8Gd';
const key = (b: number) => Buffer.alloc(32, b).toString('base64');
const party = (mspId: string, peerIds: string[], k = key(1)): Party => ({ mspId, peerIds, x25519PublicKey: k }) as unknown as Party;

describe('ledger-backed party registry', () => {
  it('loads parties, follows changes and removals, and notifies subscribers once per change', async () => {
    let parties: Party[] = [party('Org1MSP', [PEER_A]), party('Org2MSP', [PEER_B], key(2))];
    const reg = createLedgerPartyRegistry({ refreshIntervalMs: 0 }, { source: { listParties: async () => parties } });
    let changes = 0;
    reg.subscribe(() => changes++);
    await reg.start();
    expect(reg.partyOf(PEER_A)?.mspId).toBe('Org1MSP');
    expect(Buffer.from(reg.get('Org2MSP')!.encryptionPublicKey)).toEqual(Buffer.alloc(32, 2));
    const afterLoad = changes;

    await reg.refresh();
    expect(changes).toBe(afterLoad); // nothing changed, nobody notified

    parties = [party('Org1MSP', [PEER_A, PEER_B])];
    await reg.refresh();
    expect(reg.partyOf(PEER_B)?.mspId).toBe('Org1MSP');
    expect(reg.get('Org2MSP')).toBeUndefined();
    expect(reg.list().map((p) => p.mspId)).toEqual(['Org1MSP']);
    reg.stop();
  });

  it('admits a peer ID listed by two organizations as nobody, and moves a peer between organizations in one step', async () => {
    let parties: Party[] = [party('Org1MSP', [PEER_A]), party('Org2MSP', [PEER_B, PEER_A], key(2))];
    const reg = createLedgerPartyRegistry({ refreshIntervalMs: 0 }, { source: { listParties: async () => parties } });
    await reg.start();
    expect(reg.partyOf(PEER_A)).toBeUndefined();
    expect(reg.partyOf(PEER_B)?.mspId).toBe('Org2MSP');
    // Org1 drops A and Org2 takes it, seen in the same refresh.
    parties = [party('Org1MSP', []), party('Org2MSP', [PEER_B, PEER_A], key(2))];
    await reg.refresh();
    expect(reg.partyOf(PEER_A)?.mspId).toBe('Org2MSP');
    reg.stop();
  });

  it('never trusts a malformed entry', async () => {
    const reg = createLedgerPartyRegistry(
      { refreshIntervalMs: 0 },
      { source: { listParties: async () => [party('BadKeyMSP', [PEER_A], 'c2hvcnQ='), party('BadPeerMSP', ['not a peer id']), party('OkMSP', [PEER_B])] } },
    );
    await reg.start();
    expect(reg.list().map((p) => p.mspId)).toEqual(['OkMSP']);
    expect(reg.partyOf(PEER_A)).toBeUndefined();
  });

  it('refreshes on a PartyRegistered event only', async () => {
    let calls = 0;
    const reg = createLedgerPartyRegistry({ refreshIntervalMs: 0 }, { source: { listParties: async () => (calls++, []) } });
    await reg.start();
    reg.onLedgerEvent('GrantAdded');
    reg.onLedgerEvent('PartyRegistered');
    await reg.refresh();
    expect(calls).toBe(3);
  });
});

describe('party registry source from the environment', () => {
  it('takes exactly one source and refuses an ambiguous or incomplete one', async () => {
    const { loadEnv } = await import('@twinledger/config');
    const { partyRegistryEnv, partySourceFromEnv, parsePartyRegistry } = await import('../src/index.js');
    const env = (vars: Record<string, string>) => loadEnv(partyRegistryEnv, vars);
    expect(partySourceFromEnv(env({ PARTY_REGISTRY_FILE: '/r.json' }), 'Org1MSP')).toEqual({ file: '/r.json' });
    expect(partySourceFromEnv(env({ PEER_ENDPOINT: 'p:7051', PEER_TLS_ROOT_CERT: 'ca', FABRIC_CERT_FILE: 'c', FABRIC_KEY_FILE: 'k' }), 'Org1MSP')).toMatchObject({
      ledger: { mspId: 'Org1MSP', peerEndpoint: 'p:7051', channel: 'twins', chaincode: 'twinledger', refreshIntervalMs: 60_000 },
    });
    expect(() => partySourceFromEnv(env({}), 'Org1MSP')).toThrow(/exactly one/);
    expect(() => partySourceFromEnv(env({ PARTY_REGISTRY_FILE: '/r.json', PEER_ENDPOINT: 'p:7051' }), 'Org1MSP')).toThrow(/exactly one/);
    expect(() => partySourceFromEnv(env({ PEER_ENDPOINT: 'p:7051' }), 'Org1MSP')).toThrow(/needs PEER_TLS_ROOT_CERT/);
    // Both file shapes parse to the same parties; a bad key is refused with its path.
    const entry = { mspId: 'Org1MSP', peerIds: [PEER_A], encryptionPublicKey: '11'.repeat(32) };
    expect(parsePartyRegistry([entry])).toEqual(parsePartyRegistry({ parties: [entry] }));
    expect(() => parsePartyRegistry([{ ...entry, encryptionPublicKey: 'zz' }])).toThrow(/malformed/);
  });
});

describe('a peer ID is one organization\'s', () => {
  it('the static registry refuses a party claiming another party\'s peer, changing nothing', () => {
    const reg = createStaticPartyRegistry([{ mspId: 'Org1MSP', peerIds: [PEER_A], encryptionPublicKey: new Uint8Array(32) }]);
    expect(() => reg.upsert({ mspId: 'Org2MSP', peerIds: [PEER_B, PEER_A], encryptionPublicKey: new Uint8Array(32) })).toThrow(
      expect.objectContaining({ code: DHT_ERROR_CODES.peerIdConflict, httpStatus: 409 }),
    );
    expect(reg.partyOf(PEER_A)?.mspId).toBe('Org1MSP');
    expect(reg.get('Org2MSP')).toBeUndefined();
    expect(() => createStaticPartyRegistry([
      { mspId: 'Org1MSP', peerIds: [PEER_A], encryptionPublicKey: new Uint8Array(32) },
      { mspId: 'Org2MSP', peerIds: [PEER_A], encryptionPublicKey: new Uint8Array(32) },
    ])).toThrow(expect.objectContaining({ code: DHT_ERROR_CODES.peerIdConflict }));
  });

  it('a registry file listing a peer for two organizations is refused', () => {
    const hex = '11'.repeat(32);
    expect(() => parsePartyRegistry({ parties: [{ mspId: 'Org1MSP', peerIds: [PEER_A], encryptionPublicKey: hex }, { mspId: 'Org2MSP', peerIds: [PEER_A], encryptionPublicKey: hex }] })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
  });
});
