import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CommitOutcomeUnknownError, MvccConflictError, PeerUnavailableError } from '@twinledger/fabric-client';
import { ChaincodeAccessDeniedError, ChaincodeAlreadyExistsError, ChaincodeNotFoundError, ChaincodeOutOfBoundsError, ChaincodeRequestIdConflictError, ChaincodeSafetyApprovalRequiredError, ChaincodeSelfApprovalError, ChaincodeStaleProposalError, ChaincodeTooLargeError } from '@twinledger/ledger';
import { createTwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type DevIssuer, type ServiceApp } from '@twinledger/service-kit';
import { buildApp } from '../src/app.js';
import { createEventHub, type EventHub } from '../src/domain/event-hub.js';
import { createLedgerJournal } from '../src/domain/ledger-journal.js';
import { FakeDht, FakeFabricClient, fakeIdentityRegistry } from './support/fakes.js';

const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');
const TWIN = 'plant-1';
const HASH = 'a'.repeat(64);

describe('spec-service routes', () => {
  let app: ServiceApp;
  let issuer: DevIssuer;
  let fabric: FakeFabricClient;
  let dht: FakeDht;
  let hub: EventHub;
  let token: string;

  beforeAll(async () => {
    issuer = await createDevIssuer('https://idp.org1.local');
    hub = createEventHub(10);
    const registry = fakeIdentityRegistry(() => fabric);
    const journal = createLedgerJournal();
    journal.record({ txId: 't1', blockNumber: 5, eventName: 'TwinCreated', twinId: TWIN, deviceName: 'Plant' });
    journal.record({ txId: 't2', blockNumber: 6, eventName: 'TwinCreated', twinId: 'hidden', deviceName: 'Hidden' });
    app = await buildApp({
      logger: process.env['DEBUG_TEST'] ? (await import('@twinledger/observability')).createLogger({ name: 't', level: 'error' }) : silentLogger(),
      auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }),
      ledgerFor: async (p) => createTwinLedger(await registry.clientFor(p)),
      // Routes read deps.dht per request; the proxy lets each test use a fresh fake.
      dht: new Proxy({}, { get: (_t, k) => { const v = (dht as unknown as Record<string | symbol, unknown>)[k]; return typeof v === 'function' ? v.bind(dht) : v; } }) as never,
      hub,
      journal,
      limits: { amlBytes: 64 * 1024, documentBytes: 1024 },
      mvccAttempts: 3,
    });
    await app.ready();
    token = await issuer.issue({ sub: 'alice', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' });
  });
  afterAll(async () => app.close());

  beforeEach(() => {
    fabric = new FakeFabricClient();
    dht = new FakeDht();
  });

  const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown, t: string | null = token, headers: Record<string, string> = {}) =>
    app.inject({ method, url, ...(payload !== undefined ? { payload: payload as string } : {}), headers: { ...(t ? { authorization: `Bearer ${t}` } : {}), ...headers } });

  describe('authentication and identity mapping', () => {
    it('answers 401 without, with a forged or an expired token', async () => {
      expect((await call('GET', `/twins/${TWIN}`, undefined, null)).statusCode).toBe(401);
      const forged = await (await createDevIssuer('https://idp.org1.local')).issue({ sub: 'm', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' });
      expect((await call('GET', `/twins/${TWIN}`, undefined, forged)).json()).toMatchObject({ code: 'UNAUTHENTICATED' });
      const expired = await issuer.issue({ sub: 'alice', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger', expiresIn: '-5m' });
      expect((await call('GET', `/twins/${TWIN}`, undefined, expired)).statusCode).toBe(401);
      expect(fabric.calls).toHaveLength(0);
    });

    it('answers 403 IDENTITY_NOT_MAPPED / FOREIGN_ORGANIZATION before any ledger call', async () => {
      const unmapped = await issuer.issue({ sub: 'bob', org: 'Org1MSP', fabricIdentity: 'Admin', audience: 'twinledger' });
      const r1 = await call('GET', `/twins/${TWIN}`, undefined, unmapped);
      expect(r1.statusCode).toBe(403);
      expect(r1.json()).toMatchObject({ code: 'IDENTITY_NOT_MAPPED' });
      const foreign = await issuer.issue({ sub: 'eve', org: 'Org2MSP', fabricIdentity: 'User1', audience: 'twinledger' });
      expect((await call('GET', `/twins/${TWIN}`, undefined, foreign)).json()).toMatchObject({ code: 'FOREIGN_ORGANIZATION' });
      expect(fabric.calls).toHaveLength(0);
    });
  });

  describe('twins and AML', () => {
    it('creates a twin with grants, passing the AML and grants to the chaincode', async () => {
      fabric.on('spec:createTwin', ([id]) => ({ twinId: id, elements: 20 }));
      const res = await call('POST', '/twins', { deviceId: TWIN, deviceName: 'Plant', aml: AML, grants: { Org2MSP: 'AUDITOR' } });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ blockNumber: 11, result: { twinId: TWIN, elements: 20 } });
      expect(res.json().transactionId).toMatch(/^[0-9a-f]{64}$/);
      expect(fabric.calls[0]).toMatchObject({ fn: 'spec:createTwin', kind: 'submit', args: [TWIN, 'Plant', AML, '{"Org2MSP":"AUDITOR"}'] });
    });

    it.each([
      ['malformed XML', '<CAEXFile><InstanceHierarchy></CAEXFile>', 'AML_INVALID'],
      ['a DOCTYPE', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><CAEXFile/>', 'DOCTYPE_FORBIDDEN'],
      ['a non-CAEX root', '<Other/>', 'AML_INVALID'],
    ])('refuses %s with 400 before any transaction', async (_n, aml, code) => {
      const res = await call('POST', '/twins', { deviceId: TWIN, deviceName: 'Plant', aml });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code });
      expect(fabric.calls).toHaveLength(0);
    });

    it('validates bodies and params (400) and the AML size limit (413)', async () => {
      for (const body of [{ deviceId: 'bad id!', deviceName: 'x', aml: AML }, { deviceId: TWIN, aml: AML }, { deviceId: TWIN, deviceName: 'x', aml: AML, extra: 1 }, { deviceId: TWIN, deviceName: 'x', aml: AML, grants: { Org2MSP: 'KING' } }]) {
        const res = await call('POST', '/twins', body);
        expect(res.statusCode).toBe(400);
        expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
      }
      const big = await call('POST', '/twins', { deviceId: TWIN, deviceName: 'x', aml: `<CAEXFile>${' '.repeat(200 * 1024)}</CAEXFile>` });
      expect(big.statusCode).toBe(413);
      expect((await call('GET', '/twins/bad%20id')).statusCode).toBe(400);
      expect(fabric.calls).toHaveLength(0);
    });

    it('maps chaincode refusals: ACCESS_DENIED 403, NOT_FOUND 404, ALREADY_EXISTS 409', async () => {
      fabric.on('spec:getTwin', () => {
        throw new ChaincodeNotFoundError('NOT_FOUND: twin nope');
      });
      fabric.on('spec:removeAML', () => {
        throw new ChaincodeAccessDeniedError('ACCESS_DENIED: spec:write');
      });
      fabric.on('spec:createTwin', () => {
        throw new ChaincodeAlreadyExistsError('ALREADY_EXISTS: twin');
      });
      expect((await call('GET', '/twins/nope')).json()).toMatchObject({ code: 'NOT_FOUND' });
      const denied = await call('DELETE', `/twins/${TWIN}/elements/sensor-1`);
      expect(denied.statusCode).toBe(403);
      expect(denied.json()).toMatchObject({ code: 'ACCESS_DENIED', message: 'ACCESS_DENIED: spec:write' });
      expect((await call('POST', '/twins', { deviceId: TWIN, deviceName: 'x', aml: AML })).statusCode).toBe(409);
    });

    it('retries an MVCC conflict and answers 409 MVCC_CONFLICT when it keeps losing', async () => {
      let n = 0;
      fabric.on('spec:insertAML', () => {
        n++;
        if (n < 3) throw new MvccConflictError('lost');
        return { inserted: ['x'] };
      });
      const frag = '<InternalElement Name="S" ID="x"/>';
      const ok = await call('POST', `/twins/${TWIN}/elements`, { aml: frag, parentId: 'filler' });
      expect(ok.statusCode).toBe(201);
      expect(n).toBe(3);
      fabric.on('spec:insertAML', () => {
        throw new MvccConflictError('lost');
      });
      const res = await call('POST', `/twins/${TWIN}/elements`, { aml: frag, parentId: 'filler' });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ code: 'MVCC_CONFLICT', details: { attempts: 3 } });
    });

    it('refuses fragments that are not InternalElements/InstanceHierarchies', async () => {
      const res = await call('POST', `/twins/${TWIN}/elements`, { aml: '<Attribute Name="a"/>' });
      expect(res.json()).toMatchObject({ code: 'AML_INVALID' });
      expect((await call('POST', `/twins/${TWIN}/elements`, { aml: '<InternalElement' })).json()).toMatchObject({ code: 'AML_INVALID' });
      expect(fabric.calls).toHaveLength(0);
    });

    it('serves the spec as AML and as a JSON tree', async () => {
      fabric.on('spec:getSpecification', () => ({ twinId: TWIN, schemaVersion: '3.0', aml: AML }));
      const xml = await call('GET', `/twins/${TWIN}/spec`);
      expect(xml.headers['content-type']).toMatch(/application\/xml/);
      expect(xml.body).toBe(AML);
      const tree = (await call('GET', `/twins/${TWIN}/spec?format=json`)).json();
      expect(tree.tree.tag).toBe('CAEXFile');
      const ids: string[] = [];
      const walk = (n: { attributes: Record<string, string>; children: unknown[] }): void => {
        if (n.attributes['ID']) ids.push(n.attributes['ID']);
        n.children.forEach((c) => walk(c as never));
      };
      walk(tree.tree);
      expect(ids).toContain('prog-set-conveyor-speed');
    });

    it('serves a cached specification only after the chaincode confirmed the caller and the revision', async () => {
      const twin = 'cached-1';
      const other = AML.replace('Conveyor', 'Conveyor B');
      let current = { revision: 'tx-1', aml: AML };
      fabric.on('spec:getSpecification', () => ({ twinId: twin, schemaVersion: '3.0', ...current }));
      fabric.on('spec:getSpecificationRevision', () => ({ twinId: twin, schemaVersion: '3.0', revision: current.revision }));
      const fetched = () => fabric.calls.filter((c) => c.fn === 'spec:getSpecification').length;

      const first = await call('GET', `/twins/${twin}/spec?format=json`);
      expect(first.statusCode).toBe(200);
      expect(first.headers['x-spec-revision']).toBe('tx-1');
      expect(first.json()).toMatchObject({ twinId: twin, revision: 'tx-1', tree: { tag: 'CAEXFile' } });
      expect(fetched()).toBe(1);

      // Hit: one revision read as the caller, no second assembly.
      const again = await call('GET', `/twins/${twin}/spec?format=json`);
      expect(again.body).toBe(first.body);
      expect(fabric.calls.map((c) => c.fn)).toEqual(['spec:getSpecification', 'spec:getSpecificationRevision']);
      expect((await call('GET', `/twins/${twin}/spec`)).body).toBe(AML);
      expect(fetched()).toBe(1);

      // The chaincode refuses this caller now: the cached body is not served.
      fabric.on('spec:getSpecificationRevision', () => {
        throw new ChaincodeAccessDeniedError('ACCESS_DENIED: no spec:read');
      });
      const refused = await call('GET', `/twins/${twin}/spec?format=json`);
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toMatchObject({ code: 'ACCESS_DENIED' });
      expect(refused.body).not.toContain('CAEXFile');

      // A write moved the revision: the new content is read and served.
      current = { revision: 'tx-2', aml: other };
      fabric.on('spec:getSpecificationRevision', () => ({ twinId: twin, schemaVersion: '3.0', revision: current.revision }));
      const changed = await call('GET', `/twins/${twin}/spec?format=json`);
      expect(changed.headers['x-spec-revision']).toBe('tx-2');
      expect(changed.body).toContain('Conveyor B');
      expect(fetched()).toBe(2);
      expect((await call('GET', `/twins/${twin}/spec`)).body).toBe(other);
      expect(fetched()).toBe(2);
      expect((await call('GET', '/metrics', undefined, null)).body).toMatch(/spec_service_spec_cache_lookups_total\{result="hit"\} [1-9]/);
    });

    it('never caches a specification without a recorded revision', async () => {
      const twin = 'legacy-1';
      fabric.on('spec:getSpecification', () => ({ twinId: twin, schemaVersion: '3.0', revision: '', aml: AML }));
      expect((await call('GET', `/twins/${twin}/spec?format=json`)).statusCode).toBe(200);
      expect((await call('GET', `/twins/${twin}/spec?format=json`)).statusCode).toBe(200);
      expect(fabric.calls.map((c) => c.fn)).toEqual(['spec:getSpecification', 'spec:getSpecification']);
      const metrics = (await call('GET', '/metrics', undefined, null)).body;
      expect(metrics).toMatch(/spec_service_spec_cache_lookups_total\{result="uncacheable"\} [1-9]/);
    });

    it('lists twins from the relay journal, only those the caller may read', async () => {
      fabric.on('acl:checkAccess', ([id]) => ({ allowed: id === TWIN }));
      const res = await call('GET', '/twins');
      expect(res.json()).toEqual({ total: 2, twins: [{ twinId: TWIN, deviceName: 'Plant', createdInBlock: 5, txId: 't1' }] });
    });
  });

  describe('read fences', () => {
    it('refuses malformed fences with 400 VALIDATION_FAILED before any ledger call', async () => {
      for (const q of ['minBlock=-1', 'minBlock=abc', 'minBlock=1.5', 'atLeastTx=xyz', `atLeastTx=${'A'.repeat(64)}`, 'atLeastTx=', 'fence=1']) {
        for (const path of [`/twins/${TWIN}`, `/twins/${TWIN}/spec`, `/twins/${TWIN}/elements/e1`, `/twins/${TWIN}/feeds`]) {
          const r = await call('GET', `${path}?${q}`);
          expect({ path, q, status: r.statusCode, code: r.json().code }).toEqual({ path, q, status: 400, code: 'VALIDATION_FAILED' });
        }
      }
      expect(fabric.calls).toHaveLength(0);
    });
  });

  describe('program calls, sources, audit', () => {
    it('passes program parameters as JSON and validates them', async () => {
      fabric.on('spec:callProgram', ([, name, params]) => ({ callId: 1, programName: name, parameters: JSON.parse(params!), status: 'PENDING' }));
      const ok = await call('POST', `/twins/${TWIN}/program-calls`, { program: 'SetConveyorSpeed', parameters: { speed: 1.2 } });
      expect(ok.json().result).toMatchObject({ callId: 1, parameters: { speed: 1.2 } });
      fabric.on('spec:callProgram', () => {
        throw new ChaincodeOutOfBoundsError('OUT_OF_BOUNDS: speed 3 > 2.5');
      });
      expect((await call('POST', `/twins/${TWIN}/program-calls`, { program: 'SetConveyorSpeed', parameters: { speed: 3 } })).json()).toMatchObject({ code: 'OUT_OF_BOUNDS' });
      expect((await call('POST', `/twins/${TWIN}/program-calls`, { program: 'x', parameters: { speed: [1] } })).statusCode).toBe(400);
      expect((await call('GET', `/twins/${TWIN}/program-calls/zero`)).statusCode).toBe(400);
    });

    it('passes the request ID and lifetime, picks a request ID when none is given, and tells a retry (200, replayed) from a new call (201)', async () => {
      fabric.on('spec:callProgram', ([, name, , requestId]) => ({ callId: 4, programName: name, requestId, status: 'PENDING', txId: '1'.padStart(64, '0') }));
      const first = await call('POST', `/twins/${TWIN}/program-calls`, { program: 'SetConveyorSpeed', parameters: { speed: 1 }, requestId: 'client-req-1', ttlSeconds: 30 });
      expect(first.statusCode).toBe(201);
      expect(first.json()).toMatchObject({ replayed: false, result: { callId: 4, requestId: 'client-req-1' } });
      // The fake's next transaction has another ID: the answer is the earlier call, a replay.
      const retry = await call('POST', `/twins/${TWIN}/program-calls`, { program: 'SetConveyorSpeed', parameters: { speed: 1 }, requestId: 'client-req-1', ttlSeconds: 30 });
      expect(retry.statusCode).toBe(200);
      expect(retry.json()).toMatchObject({ replayed: true, result: { callId: 4 } });
      await call('POST', `/twins/${TWIN}/program-calls`, { program: 'SetConveyorSpeed', parameters: { speed: 1 } });
      expect(fabric.calls.map((c) => c.args.slice(3))).toEqual([['client-req-1', '30'], ['client-req-1', '30'], [expect.stringMatching(/^[0-9a-f-]{36}$/), '']]);
      for (const bad of [{ requestId: 'a b' }, { requestId: '' }, { requestId: 'x'.repeat(129) }, { ttlSeconds: 0 }, { ttlSeconds: 3601 }, { ttlSeconds: 1.5 }]) {
        const res = await call('POST', `/twins/${TWIN}/program-calls`, { program: 'SetConveyorSpeed', parameters: { speed: 1 }, ...bad });
        expect(res.statusCode).toBe(400);
        expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
      }
      expect(fabric.calls).toHaveLength(3);
    });

    it('answers 503 with Retry-After and the error body when the organization\'s peer is down (PEER_UNAVAILABLE)', async () => {
      // What the real FabricClient throws at once while its peer health says down.
      fabric.on('spec:getTwin', () => {
        throw new PeerUnavailableError('the organization\'s peer 127.0.0.1:1 does not answer; retry later', { retryAfterSeconds: 2 });
      });
      const res = await call('GET', `/twins/${TWIN}`);
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('2');
      expect(Object.keys(res.json()).sort()).toEqual(['code', 'message', 'requestId']);
      expect(res.json()).toMatchObject({ code: 'PEER_UNAVAILABLE' });
    });

    it('answers a commit-status timeout with 504 OUTCOME_UNKNOWN and where to look the call up, not 503 GATEWAY_UNAVAILABLE', async () => {
      // What the real FabricClient throws when the gateway's commit-status call runs past its
      // deadline (mapGatewayError; packages/fabric-client/test/error-mapping.test.ts).
      const timeout = new CommitOutcomeUnknownError(`commit status unknown for ${'cd'.repeat(32)}: deadline exceeded`, { transactionId: 'cd'.repeat(32) });
      fabric.on('spec:callProgram', () => {
        throw timeout;
      });
      const res = await call('POST', `/twins/${TWIN}/program-calls`, { program: 'SetConveyorSpeed', parameters: { speed: 1 }, requestId: 'req-unknown' });
      expect(res.statusCode).toBe(504);
      expect(res.json()).toMatchObject({
        code: 'OUTCOME_UNKNOWN',
        details: { callRequestId: 'req-unknown', transactionId: 'cd'.repeat(32), lookup: `/twins/${TWIN}/program-calls/by-request/req-unknown` },
      });
      expect(fabric.calls).toHaveLength(1); // not retried blindly
      // Other writes say the same: the outcome is unknown.
      fabric.on('spec:addExternalSource', () => {
        throw timeout;
      });
      expect((await call('POST', `/twins/${TWIN}/sources`, { uri: 'https://example.org/x' })).json()).toMatchObject({ code: 'OUTCOME_UNKNOWN' });
    });

    it('looks a call up by request ID, answers 409 REQUEST_ID_CONFLICT and 404 as the chaincode says', async () => {
      fabric.on('spec:getProgramCallByRequest', ([, id]) => {
        if (id === 'req-1') return { callId: 4, requestId: id, status: 'EXPIRED' };
        throw new ChaincodeNotFoundError(`NOT_FOUND: Org1MSP queued no call with request ${id}`);
      });
      expect((await call('GET', `/twins/${TWIN}/program-calls/by-request/req-1`)).json()).toEqual({ callId: 4, requestId: 'req-1', status: 'EXPIRED' });
      expect((await call('GET', `/twins/${TWIN}/program-calls/by-request/req-2`)).statusCode).toBe(404);
      expect((await call('GET', `/twins/${TWIN}/program-calls/by-request/a%20b`)).statusCode).toBe(400);
      expect(fabric.calls).toHaveLength(2);
      fabric.on('spec:callProgram', () => {
        throw new ChaincodeRequestIdConflictError('REQUEST_ID_CONFLICT: request req-1 of Org1MSP was call 4, with other arguments');
      });
      const conflict = await call('POST', `/twins/${TWIN}/program-calls`, { program: 'SetConveyorSpeed', parameters: { speed: 2 }, requestId: 'req-1' });
      expect(conflict.statusCode).toBe(409);
      expect(conflict.json()).toMatchObject({ code: 'REQUEST_ID_CONFLICT' });
    });

    it('refuses a non-URI external source and a bad as-of bound', async () => {
      expect((await call('POST', `/twins/${TWIN}/sources`, { uri: 'not a uri' })).statusCode).toBe(400);
      expect((await call('GET', `/twins/${TWIN}/as-of?at=yesterday`)).json()).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect((await call('GET', `/twins/${TWIN}/as-of?at=seq:0`)).json()).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(fabric.calls).toHaveLength(0);
    });

    it('passes an as-of sequence number to the chaincode and answers its bound', async () => {
      const asOf = { seq: 2, lastSeq: 2, lastTxId: 'b'.repeat(64), lastTimestamp: '2026-01-01T00:00:00.000Z' };
      fabric.on('spec:getTwinAsOf', () => ({ twinId: TWIN, asOf, specification: '<CAEXFile/>' }));
      const res = await call('GET', `/twins/${TWIN}/as-of?at=seq:2`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ asOf });
      expect(fabric.calls[0]).toMatchObject({ fn: 'spec:getTwinAsOf', kind: 'evaluate', args: [TWIN, 'seq:2'] });
    });

    it('adds block numbers to the history from the relay journal', async () => {
      fabric.on('spec:history', () => ({
        twinId: TWIN,
        changes: [
          { seq: 1, txId: 't1', timestamp: '2026-01-01T00:00:00.000Z', operation: 'createTwin', mspId: 'Org1MSP' },
          { seq: 2, txId: 'zz', timestamp: '2025-12-31T23:59:40.000Z', operation: 'insertAML' },
        ],
      }));
      const res = (await call('GET', `/twins/${TWIN}/history`)).json();
      expect(res.changes.map((c: { blockNumber: number | null }) => c.blockNumber)).toEqual([5, null]);
      // Ledger order passes through as the chaincode answered it, whatever the timestamps say.
      expect(res.changes.map((c: { seq: number; operation: string }) => [c.seq, c.operation])).toEqual([[1, 'createTwin'], [2, 'insertAML']]);
    });

    it('audit bundle: bad input is 400 before the ledger; a replica without a block reader answers 503 AUDIT_BUNDLES_UNAVAILABLE', async () => {
      const bad = await call('GET', `/twins/${TWIN}/audit-bundle?documents=${HASH},nothex`);
      expect(bad.statusCode).toBe(400);
      expect((await call('GET', `/twins/${TWIN}/audit-bundle?asOfSeq=0`)).statusCode).toBe(400);
      expect((await call('GET', `/twins/${TWIN}/audit-bundle?at=seq:0`)).statusCode).toBe(400);
      expect(fabric.calls).toEqual([]);
      const res = await call('GET', `/twins/${TWIN}/audit-bundle`);
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'AUDIT_BUNDLES_UNAVAILABLE' });
    });

    it('pages the history: ?limit=&bookmark= go to the chaincode, its next bookmark comes back', async () => {
      fabric.on('spec:history', () => ({ twinId: TWIN, changes: [{ seq: 11, txId: 't11', timestamp: '2026-01-01T00:00:00.000Z', operation: 'insertAML' }], bookmark: '12' }));
      const res = await call('GET', `/twins/${TWIN}/history?elementId=filler-1&limit=1&bookmark=11`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ changes: [{ seq: 11 }], bookmark: '12' });
      expect(fabric.calls[0]).toMatchObject({ fn: 'spec:history', kind: 'evaluate', args: [TWIN, 'filler-1', '1', '11'] });
    });

    it('answers a change log beyond the chaincode limit as 413 TOO_LARGE, never as a shorter history', async () => {
      fabric.on('spec:history', () => {
        throw new ChaincodeTooLargeError('TOO_LARGE: twin plant-1 has more than 10000 changes');
      });
      const res = await call('GET', `/twins/${TWIN}/history`);
      expect(res.statusCode).toBe(413);
      expect(res.json()).toMatchObject({ code: 'TOO_LARGE' });
    });

    it('pages lists: {items, bookmark} with the bookmark passed through, bad page arguments refused before the ledger', async () => {
      const feeds = [{ componentId: 'a' }, { componentId: 'b' }, { componentId: 'c' }];
      fabric.on('spec:listSensorFeeds', () => feeds);
      const first = (await call('GET', `/twins/${TWIN}/feeds?limit=2`)).json();
      expect(first).toEqual({ items: feeds.slice(0, 2), bookmark: '2' });
      const second = (await call('GET', `/twins/${TWIN}/feeds?limit=2&bookmark=${first.bookmark}`)).json();
      expect(second).toEqual({ items: feeds.slice(2), bookmark: '' });
      expect(fabric.calls.map((c) => c.args)).toEqual([
        [TWIN, '2', ''],
        [TWIN, '2', '2'],
      ]);
      for (const q of ['limit=0', 'limit=1001', 'limit=ten', 'bookmark=a%20b', `bookmark=${'a'.repeat(12_289)}`]) {
        const bad = await call('GET', `/twins/${TWIN}/documents?${q}`);
        expect(bad.statusCode).toBe(400);
        expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
      }
      expect(fabric.calls).toHaveLength(2);
    });
  });

  describe('safety changes', () => {
    const proposal = (over: Record<string, unknown> = {}) => ({
      twinId: TWIN,
      proposalId: 1,
      operation: 'replaceAML',
      change: { ID: 'prog-set-conveyor-speed', amlFragment: '<InternalElement Name="P" ID="prog-set-conveyor-speed"/>' },
      reason: 'motor upgrade',
      baseRevision: 'r1',
      impact: { removed: [{ id: 'prog-set-conveyor-speed', kind: 'program', name: 'SetConveyorSpeed' }], inserted: [], programsRemoved: [], programsInserted: [] },
      status: 'PENDING',
      proposedBy: { mspId: 'Org1MSP', id: 'x509::u' },
      proposedAt: '2026-01-01T00:00:00.000Z',
      txId: 't',
      ...over,
    });

    it('passes each operation to proposeSafetyChange as the chaincode expects it, and validates the body', async () => {
      fabric.on('spec:proposeSafetyChange', () => proposal());
      const frag = '<InternalElement Name="P" ID="prog-set-conveyor-speed"/>';
      const ok = await call('POST', `/twins/${TWIN}/safety-proposals`, { operation: 'replaceAML', elementId: 'prog-set-conveyor-speed', aml: frag, reason: 'motor upgrade' });
      expect(ok.statusCode).toBe(201);
      expect(ok.json().result).toMatchObject({ proposalId: 1, status: 'PENDING', impact: { removed: [{ kind: 'program' }] } });
      await call('POST', `/twins/${TWIN}/safety-proposals`, { operation: 'insertAML', aml: frag, parentId: 'conveyor-1' });
      await call('POST', `/twins/${TWIN}/safety-proposals`, { operation: 'removeAML', elementId: 'prog-set-conveyor-speed' });
      expect(fabric.calls.map((c) => c.args)).toEqual([
        [TWIN, 'replaceAML', JSON.stringify({ ID: 'prog-set-conveyor-speed', amlFragment: frag }), 'motor upgrade'],
        [TWIN, 'insertAML', JSON.stringify({ amlFragment: frag, parentID: 'conveyor-1' }), ''],
        [TWIN, 'removeAML', JSON.stringify({ ID: 'prog-set-conveyor-speed' }), ''],
      ]);
      for (const bad of [
        { operation: 'moveAML', elementId: 'x' },
        { operation: 'removeAML' },
        { operation: 'replaceAML', elementId: 'x' },
        { operation: 'removeAML', elementId: 'x', extra: 1 },
        { operation: 'insertAML', aml: '<Attribute Name="x"/>' },
      ]) {
        expect((await call('POST', `/twins/${TWIN}/safety-proposals`, bad)).statusCode).toBe(400);
      }
      expect(fabric.calls).toHaveLength(3);
    });

    it('maps the four-eyes refusals: SAFETY_APPROVAL_REQUIRED and SELF_APPROVAL 403, STALE_PROPOSAL 409', async () => {
      fabric.on('spec:removeAML', () => {
        throw new ChaincodeSafetyApprovalRequiredError('SAFETY_APPROVAL_REQUIRED: the change touches safety content');
      });
      const direct = await call('DELETE', `/twins/${TWIN}/elements/prog-set-conveyor-speed`);
      expect(direct.statusCode).toBe(403);
      expect(direct.json()).toMatchObject({ code: 'SAFETY_APPROVAL_REQUIRED' });
      fabric.on('spec:approveSafetyChange', () => {
        throw new ChaincodeSelfApprovalError('SELF_APPROVAL: proposed by Org1MSP');
      });
      const self = await call('POST', `/twins/${TWIN}/safety-proposals/1/approve`);
      expect(self.statusCode).toBe(403);
      expect(self.json()).toMatchObject({ code: 'SELF_APPROVAL' });
      fabric.on('spec:approveSafetyChange', () => {
        throw new ChaincodeStaleProposalError('STALE_PROPOSAL: the specification changed');
      });
      const stale = await call('POST', `/twins/${TWIN}/safety-proposals/1/approve`);
      expect(stale.statusCode).toBe(409);
      expect(stale.json()).toMatchObject({ code: 'STALE_PROPOSAL' });
      fabric.on('spec:approveSafetyChange', () => ({ ...proposal({ status: 'APPLIED' }), removed: ['prog-set-conveyor-speed'], inserted: [], feedsRemoved: [] }));
      expect((await call('POST', `/twins/${TWIN}/safety-proposals/1/approve`)).json().result).toMatchObject({ status: 'APPLIED', removed: ['prog-set-conveyor-speed'] });
    });

    it('lists, reads and rejects proposals', async () => {
      fabric.on('spec:listSafetyProposals', () => [proposal()]);
      fabric.on('spec:getSafetyProposal', () => proposal());
      fabric.on('spec:rejectSafetyChange', () => proposal({ status: 'REJECTED' }));
      expect((await call('GET', `/twins/${TWIN}/safety-proposals?status=PENDING&limit=5`)).json()).toMatchObject({ items: [{ proposalId: 1 }], bookmark: '' });
      expect((await call('GET', `/twins/${TWIN}/safety-proposals`)).statusCode).toBe(200);
      expect((await call('GET', `/twins/${TWIN}/safety-proposals/1`)).json()).toMatchObject({ proposalId: 1 });
      expect((await call('POST', `/twins/${TWIN}/safety-proposals/1/reject`, { reason: 'no' })).json().result).toMatchObject({ status: 'REJECTED' });
      expect(fabric.calls.map((c) => [c.fn, ...c.args])).toEqual([
        ['spec:listSafetyProposals', TWIN, 'PENDING', '5', ''],
        ['spec:listSafetyProposals', TWIN, '', '', ''],
        ['spec:getSafetyProposal', TWIN, '1'],
        ['spec:rejectSafetyChange', TWIN, '1', 'no'],
      ]);
      expect((await call('GET', `/twins/${TWIN}/safety-proposals?status=DONE`)).statusCode).toBe(400);
      expect((await call('GET', `/twins/${TWIN}/safety-proposals/0`)).statusCode).toBe(400);
      expect((await call('POST', `/twins/${TWIN}/safety-proposals/1/reject`, { why: 'x' })).statusCode).toBe(400);
    });
  });

  describe('documents', () => {
    const grants = () => [{ mspId: 'Org1MSP', role: 'OWNER' }, { mspId: 'Org2MSP', role: 'AUDITOR' }, { mspId: 'Org3MSP', role: 'AUDITOR', expiresAt: '2001-01-01T00:00:00Z' }, { mspId: '*', role: 'READER' }];
    const allow = (ok: boolean) => fabric.on('acl:checkAccess', ([, p]) => ({ allowed: ok, permission: p }));
    const upload = (body: string | Buffer, q = 'title=Report&confidentiality=confidential&componentId=sensor-1') =>
      call('POST', `/twins/${TWIN}/documents?${q}`, body, token, { 'content-type': 'application/octet-stream' });

    it('streams to the DHT with the readers as ACL, then records the plaintext hash and reference', async () => {
      allow(true);
      fabric.on('acl:listGrants', grants).on('acl:listParties', () => [{ mspId: 'Org1MSP' }, { mspId: 'Org2MSP' }, { mspId: 'Org3MSP' }]);
      fabric.on('spec:addDocument', ([, doc]) => ({ ...JSON.parse(doc!), versionCount: 1 }));
      const res = await upload('maintenance report v1');
      expect(res.statusCode).toBe(201);
      const body = res.json();
      const stored = dht.objects.get(body.stored.ref)!;
      expect(stored.bytes.toString()).toBe('maintenance report v1');
      expect(stored.acl).toEqual(['Org1MSP', 'Org2MSP']); // Org3's grant expired; READER has no confidential
      expect(body.result).toMatchObject({ hash: stored.sha256, dhtRef: body.stored.ref, title: 'Report', confidentiality: 'confidential', componentId: 'sensor-1' });
      expect(fabric.calls.find((c) => c.fn === 'acl:checkAccess')!.args).toEqual([TWIN, 'doc:write:confidential']);
    });

    it('refuses (403) before storing anything when the caller may not write the level', async () => {
      allow(false);
      const res = await upload('secret stuff');
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'ACCESS_DENIED' });
      expect(dht.objects.size).toBe(0);
      expect(fabric.calls.some((c) => c.kind === 'submit')).toBe(false);
    });

    it('reports the DHT object as orphaned (ACL narrowed) when the ledger write fails', async () => {
      allow(true);
      fabric.on('acl:listGrants', grants).on('acl:listParties', () => []);
      fabric.on('spec:addDocument', () => {
        throw new ChaincodeAlreadyExistsError('ALREADY_EXISTS: document');
      });
      const res = await upload('dup');
      expect(res.statusCode).toBe(409);
      const [ref] = [...dht.objects.keys()];
      expect(dht.aclUpdates).toEqual([{ ref, parties: ['Org1MSP'] }]);
      const metrics = await app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(/spec_service_orphaned_dht_objects_total 1/);
    });

    it('enforces the document size limit (413) and the content type (415)', async () => {
      allow(true);
      fabric.on('acl:listGrants', grants).on('acl:listParties', () => []);
      const res = await upload(Buffer.alloc(4096, 1));
      expect(res.statusCode).toBe(413);
      expect(fabric.calls.some((c) => c.fn === 'spec:addDocument')).toBe(false);
      const json = await call('POST', `/twins/${TWIN}/documents?title=a&confidentiality=public`, { a: 1 });
      expect(json.statusCode).toBe(415);
      expect((await upload('x', 'title=a&confidentiality=topsecret')).statusCode).toBe(400);
    });

    it('serves a download only when the bytes match the on-chain hash', async () => {
      const stored = await dht.putObject(Buffer.from('the report'));
      const history = { twinId: TWIN, hash: stored.sha256, removed: false, document: { hash: stored.sha256, dhtRef: stored.ref, confidentiality: 'internal' }, versions: [], ledgerHistory: [] };
      fabric.on('spec:getDocumentHistory', () => history);
      const ok = await call('GET', `/twins/${TWIN}/documents/${stored.sha256}/content`);
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toBe('the report');
      expect(ok.headers['x-document-sha256']).toBe(stored.sha256);
      dht.tamper(stored.ref);
      const bad = await call('GET', `/twins/${TWIN}/documents/${stored.sha256}/content`);
      expect(bad.statusCode).toBe(502);
      expect(bad.json()).toMatchObject({ code: 'DOCUMENT_INTEGRITY' });
      expect(bad.body).not.toContain('the report');
      expect((await call('GET', `/twins/${TWIN}/documents/${HASH}/content?version=7`)).json()).toMatchObject({ code: 'NOT_FOUND' });
    });

    it('reads the object\'s current manifest when the recorded one holds no key for the caller (a reader granted after the upload)', async () => {
      const original = await dht.putObject(Buffer.from('granted later'));
      // The key sync's grant wrote a new manifest with the reader's key; the ledger keeps the original ref.
      const head = await dht.putObject(Buffer.from('granted later'));
      dht.noKey.add(original.ref);
      dht.heads.set(original.ref, head.ref);
      fabric.on('spec:getDocumentHistory', () => ({ twinId: TWIN, hash: original.sha256, removed: false, document: { hash: original.sha256, dhtRef: original.ref, confidentiality: 'internal' }, versions: [], ledgerHistory: [] }));
      const ok = await call('GET', `/twins/${TWIN}/documents/${original.sha256}/content`);
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toBe('granted later');
      // Without a newer manifest the refusal stands.
      dht.heads.delete(original.ref);
      expect((await call('GET', `/twins/${TWIN}/documents/${original.sha256}/content`)).json()).toMatchObject({ code: 'DHT_NO_KEY_FOR_PARTY' });
    });
  });

  it('relays hub events to SSE clients, filtered by twin, resuming after Last-Event-ID', async () => {
    fabric.on('acl:checkAccess', ([twinId, permission]) => ({ twinId, permission, allowed: true, roles: ['READER'], permissions: [permission] }));
    if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    hub.publish({ id: '7:aa', eventName: 'AmlInserted', transactionId: 'aa', blockNumber: 7, twinId: TWIN, payload: {} });
    const received: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: `/events?twinId=${TWIN}`, headers: { authorization: `Bearer ${token}`, 'last-event-id': '6:zz-unknown' } }, (res) => {
        expect(res.headers['content-type']).toMatch(/text\/event-stream/);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          for (const m of chunk.matchAll(/^id: (.+)$/gm)) received.push(m[1]!);
          if (received.length === 2) {
            req.destroy();
            resolve();
          }
        });
        setTimeout(() => {
          hub.publish({ id: '8:bb', eventName: 'AmlInserted', transactionId: 'bb', blockNumber: 8, twinId: 'other', payload: {} });
          hub.publish({ id: '9:cc', eventName: 'AmlRemoved', transactionId: 'cc', blockNumber: 9, twinId: TWIN, payload: {} });
        }, 50);
      });
      req.on('error', reject);
      req.end();
    });
    expect(received).toEqual(['7:aa', '9:cc']);
  });

  /** Opens /events, collects the ids received until `until` holds or the stream ends, then closes. */
  async function sse(path: string, act: () => void, until: (ids: string[]) => boolean, t = token): Promise<{ ids: string[]; status: number; body: string }> {
    if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const ids: string[] = [];
    let body = '';
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${t}` } }, (res) => {
        res.setEncoding('utf8');
        const timer = setTimeout(() => {
          req.destroy();
          reject(new Error(`SSE: not reached, got ${JSON.stringify(ids)}`));
        }, 5000);
        const finish = (): void => {
          clearTimeout(timer);
          req.destroy();
          resolve({ ids, status: res.statusCode ?? 0, body });
        };
        res.on('end', finish);
        res.on('data', (chunk: string) => {
          body += chunk;
          for (const m of chunk.matchAll(/^id: (.+)$/gm)) ids.push(m[1]!);
          if (until(ids)) finish();
        });
        if (res.statusCode !== 200) return;
        setTimeout(act, 30);
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('sends a twin\'s events only while the chaincode grants the caller spec:read, re-deciding on the twin\'s grant events', async () => {
    const readable = new Set([TWIN]);
    fabric.on('acl:checkAccess', ([twinId, permission]) => ({ twinId, permission, allowed: readable.has(twinId!), roles: [], permissions: [] }));
    const ev = (id: string, eventName: string, twinId?: string) => ({ id, eventName, transactionId: id, blockNumber: 20, ...(twinId ? { twinId } : {}), payload: {} });
    const { ids } = await sse(
      '/events',
      () => {
        hub.publish(ev('20:a', 'AmlInserted', TWIN));
        hub.publish(ev('20:b', 'AmlInserted', 'secret-twin'));
        hub.publish(ev('20:c', 'PartyRegistered'));
        hub.publish(ev('20:d', 'AmlRemoved', 'secret-twin'));
        hub.publish(ev('20:e', 'AmlRemoved', TWIN));
        // Decisions are made when an event is judged, so the ledger changes once those are out.
        setTimeout(() => {
          // The grant flips the chaincode's answer; its own event drops the cached refusal.
          readable.add('secret-twin');
          readable.delete(TWIN);
          hub.publish(ev('20:f', 'GrantAdded', 'secret-twin'));
          hub.publish(ev('20:g', 'AmlInserted', 'secret-twin'));
          hub.publish(ev('20:h', 'GrantRevoked', TWIN));
          hub.publish(ev('20:i', 'AmlInserted', TWIN));
          hub.publish(ev('20:j', 'DiagPut'));
        }, 200);
      },
      (got) => got.includes('20:j'),
    );
    expect(ids).toEqual(['20:a', '20:c', '20:e', '20:f', '20:g', '20:j']);
    // Cached per twin: one decision for TWIN and one for secret-twin, then one each after a grant event.
    expect(fabric.calls.filter((c) => c.fn === 'acl:checkAccess').map((c) => c.args[0])).toEqual([TWIN, 'secret-twin', 'secret-twin', TWIN]);
  });

  it('refuses ?twinId of a twin the caller cannot read (403) and unknown twins alike', async () => {
    fabric.on('acl:checkAccess', ([twinId, permission]) => {
      if (twinId === 'ghost') throw new ChaincodeNotFoundError('no twin ghost');
      return { twinId, permission, allowed: false, roles: [], permissions: [] };
    });
    const res = await app.inject({ method: 'GET', url: `/events?twinId=${TWIN}`, headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'ACCESS_DENIED', details: { twinId: TWIN } });
    const ghost = await app.inject({ method: 'GET', url: '/events?twinId=ghost', headers: { authorization: `Bearer ${token}` } });
    expect(ghost.statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/events?twinId=bad%20id', headers: { authorization: `Bearer ${token}` } })).json()).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('closes the stream (fail closed, nothing sent) when a read decision cannot be made', async () => {
    fabric.on('acl:checkAccess', () => {
      throw new Error('peer unreachable');
    });
    const { ids, status } = await sse('/events', () => hub.publish({ id: '21:a', eventName: 'AmlInserted', transactionId: 'a', blockNumber: 21, twinId: TWIN, payload: {} }), () => false);
    expect(status).toBe(200);
    expect(ids).toEqual([]);
  });
});
