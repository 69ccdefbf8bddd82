import { readFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { createAccessDecisions, createIdentityRegistry } from '@twinledger/auth-identity';
import { createTwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier } from '@twinledger/service-kit';
import { buildApp } from '../services/spec-service/dist/app.js';
import { createEventHub } from '../services/spec-service/dist/domain/event-hub.js';
import { createLedgerJournal } from '../services/spec-service/dist/domain/ledger-journal.js';
import { createReadModel } from '../services/spec-service/dist/domain/read-model.js';
const AML = readFileSync('chaincode/fixtures/bottling-plant.aml', 'utf8');
const answers = {
  'acl:checkAccess': ([t, p]) => ({ twinId: t, permission: p, allowed: true, roles: [], permissions: [] }),
  'spec:getSpecification': () => ({ twinId: 'p', schemaVersion: '3.0', aml: AML, revision: 'r1' }),
};
const fake = { mspId: 'Org1MSP', async evaluate(fn, args) { return Buffer.from(JSON.stringify(answers[fn](args))); }, close() {} };
const registry = createIdentityRegistry({ mspId: 'Org1MSP', identities: { User1: { mspId: 'Org1MSP', certPath: 'c', keyPath: 'k' } }, pool: {}, peer: { endpoint: 'x:1', tlsRootCertPath: 'x' }, channel: 'c', chaincode: 'c', clientFactory: async () => fake });
const issuer = await createDevIssuer('https://idp');
const journal = createLedgerJournal();
const ledgerFor = async (p) => createTwinLedger(await registry.clientFor(p));
const app = await buildApp({
  logger: silentLogger(), auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }),
  ledgerFor, dht: {}, hub: createEventHub(10), journal,
  reads: createReadModel({ maxChars: 1e8, maxAgeMs: 30000, fenceWaitMs: 100, following: () => true, blockOf: journal.blockOf, startBlock: 1 }),
  decisions: createAccessDecisions({ check: async (c, t, p) => (await (await ledgerFor(c)).checkAccess(t, p)).allowed, grantExpiries: async () => [], ttlMs: 30000 }),
});
await app.listen({ host: '127.0.0.1', port: 0 });
const port = app.server.address().port;
const token = await issuer.issue({ sub: 'a', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' });
async function hammer(path, headers, conns, ms) {
  const agent = new Agent({ keepAlive: true, maxSockets: conns });
  let n = 0, bad = 0; const end = performance.now() + ms; const t0 = performance.now();
  await Promise.all(Array.from({ length: conns }, async () => { while (performance.now() < end) { const s = await new Promise((ok, f) => { const r = get({ host: '127.0.0.1', port, path, headers, agent }, (res) => { res.on('data', () => {}); res.on('end', () => ok(res.statusCode)); }); r.on('error', f); }); n++; if (s !== 200) bad++; } }));
  agent.destroy();
  return { rps: Math.round(n / ((performance.now() - t0) / 1000)), bad };
}
for (const p of ['/healthz', '/twins/p/spec', '/healthz', '/twins/p/spec']) console.log(p, await hammer(p, p === '/healthz' ? {} : { authorization: `Bearer ${token}` }, 32, 3000));
await app.close();
