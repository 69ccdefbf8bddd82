import { describe, expect, it } from '@jest/globals';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeOrLookUp, type HttpAnswer } from '../src/http.js';
import { fabricIdentityId, orgPorts, PARTIES, plantPorts } from '../src/layout.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('fabricIdentityId', () => {
  it("equals fabric-shim's getID() for the certificate (as the chaincode's wire test records it)", () => {
    expect(fabricIdentityId(join(here, '../../../chaincode/test/fixtures/certs/client.pem'))).toBe(
      'x509::/C=US/ST=California/L=San Francisco/OU=client/CN=User1@org1.example.com::/C=US/ST=California/L=San Francisco/O=org1.example.com/CN=ca.org1.example.com',
    );
  });
});

describe('ports', () => {
  it('gives every org and the plant distinct ports inside the free slots of devnet\'s block (base+40 .. base+89)', () => {
    const base = 27000;
    const all = [...PARTIES.flatMap((_, i) => Object.values(orgPorts(base, i))), ...Object.values(plantPorts(base))];
    expect(new Set(all).size).toBe(all.length);
    expect(Math.min(...all)).toBe(base + 40);
    expect(Math.max(...all)).toBeLessThan(base + 80); // Kafka and the chaincode server sit at base+80..
  });
});


describe('writeOrLookUp (504 OUTCOME_UNKNOWN as docs/api.md tells a client)', () => {
  const answer = (status: number, json?: unknown): HttpAnswer => ({ status, headers: new Headers(), bytes: Buffer.alloc(0), json });
  const unknown = (tx?: string) => answer(504, { code: 'OUTCOME_UNKNOWN', details: tx === undefined ? {} : { transactionId: tx } });

  it('looks a 504 up and does not send again once the lookup finds it committed', async () => {
    let sent = 0;
    const looked: string[] = [];
    const out = await writeOrLookUp('w', async () => (sent++, unknown('tx1')), async (tx) => (looked.push(tx), answer(looked.length < 3 ? 404 : 200, { ok: true })), { intervalMs: 1 });
    expect(sent).toBe(1);
    expect(looked).toEqual(['tx1', 'tx1', 'tx1']);
    expect(out).toEqual({ lookedUp: 'tx1', read: answer(200, { ok: true }) });
  });

  it('sends again only when the lookup never finds it, and at most twice', async () => {
    let sent = 0;
    const out = await writeOrLookUp('w', async () => (sent++, unknown(`tx${sent}`)), async () => answer(404), { lookUpMs: 5, intervalMs: 1 });
    expect(sent).toBe(3);
    expect(out).toEqual({ res: unknown('tx3') });
  });

  it('answers any other status as it came, without a lookup', async () => {
    let looked = 0;
    for (const res of [answer(201, {}), answer(504, { code: 'FENCE_NOT_REACHED' }), answer(403, { code: 'ACCESS_DENIED' })]) {
      expect(await writeOrLookUp('w', async () => res, async () => (looked++, answer(200)))).toEqual({ res });
    }
    expect(looked).toBe(0);
  });

  it('sends again after a 504 without a transaction ID (nothing to look up)', async () => {
    let sent = 0;
    const out = await writeOrLookUp('w', async () => (sent++ === 0 ? unknown() : answer(201, { done: true })), async () => answer(200), { intervalMs: 1 });
    expect(out).toEqual({ res: answer(201, { done: true }) });
    expect(sent).toBe(2);
  });
});
