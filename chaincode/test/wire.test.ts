import { readFileSync } from 'fs';
import { join } from 'path';
import { JSONSerializer } from 'fabric-contract-api';
import { contracts, Events } from '../src';
import { FakeLedger } from './support/fake-ledger';
import { FIXTURE } from './support/world';

// The shim's dispatcher: what the chaincode server runs for every proposal.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ChaincodeFromContract = require('fabric-shim/lib/contract-spi/chaincodefromcontract');

const cert = (name: string) => readFileSync(join(__dirname, 'fixtures', 'certs', `${name}.pem`));
const admin = { mspid: 'Org1MSP', idBytes: cert('admin') };
const client = { mspid: 'Org1MSP', idBytes: cert('client') };
// A client certificate (OU=client) whose CN is `eve/x/OU=admin`: the shim escapes only the
// first '/' of a DN value, so its getID() carries an unescaped `/OU=admin` (issue #20).
const crafted = { mspid: 'Org1MSP', idBytes: cert('crafted-admin-cn') };

describe('through the shim dispatcher', () => {
  const cc = new ChaincodeFromContract([...contracts], { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } }, {}, 'twinledger', '0.1.0');

  it('routes spec/acl/diag by name, returns raw JSON, reads identities from real certificates', async () => {
    const ledger = new FakeLedger();
    const put = await ledger.invokeWire(cc, { creator: client, args: ['diag:put', 'k', 'v'] });
    expect(put.status).toBe(200);
    expect(JSON.parse(put.payload)).toMatchObject({ key: 'k' });
    expect(put.event?.name).toBe(Events.DiagPut);

    const created = await ledger.invokeWire(cc, { creator: client, args: ['spec:createTwin', 'bp', 'Bottling plant', FIXTURE, ''] });
    expect(created.status).toBe(200);
    expect(JSON.parse(created.payload)).toMatchObject({ twinId: 'bp', elements: 13 });
    // The default contract is spec: an unprefixed name reaches it too.
    const spec = await ledger.invokeWire(cc, { creator: client, args: ['getSpecification', 'bp'] });
    expect(JSON.parse(spec.payload).aml).toContain('<CAEXFile');

    const access = JSON.parse((await ledger.invokeWire(cc, { creator: client, args: ['acl:checkAccess', 'bp', 'grants:manage'] })).payload);
    expect(access).toMatchObject({ allowed: true, mspId: 'Org1MSP', roles: ['OWNER', 'READER'] });
    expect(access.identity).toBe(
      'x509::/C=US/ST=California/L=San Francisco/OU=client/CN=User1@org1.example.com::/C=US/ST=California/L=San Francisco/O=org1.example.com/CN=ca.org1.example.com',
    );

    const key = Buffer.alloc(32, 1).toString('base64');
    const peers = JSON.stringify(['12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA']);
    const denied = await ledger.invokeWire(cc, { creator: client, args: ['acl:registerParty', peers, key] });
    expect(denied.status).toBe(500);
    expect(denied.message).toMatch(/^ACCESS_DENIED: /);
    const ok = await ledger.invokeWire(cc, { creator: admin, args: ['acl:registerParty', peers, key] });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.payload)).toMatchObject({ mspId: 'Org1MSP', version: 1 });
  });

  it('takes admin from the certificate: a client certificate with CN eve/x/OU=admin is refused registerParty', async () => {
    const ledger = new FakeLedger();
    const key = Buffer.alloc(32, 1).toString('base64');
    const peers = JSON.stringify(['12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA']);
    const r = await ledger.invokeWire(cc, { creator: crafted, args: ['acl:registerParty', peers, key] });
    expect(r.status).toBe(500);
    expect(r.message).toMatch(/^ACCESS_DENIED: /);
    expect(ledger.state.size).toBe(0);
  });

  it('passes coded errors through as the response message', async () => {
    const ledger = new FakeLedger();
    const r = await ledger.invokeWire(cc, { creator: client, args: ['spec:createTwin', 'bp', 'x', '<!DOCTYPE a><a/>', ''] });
    expect(r.status).toBe(500);
    expect(r.message).toMatch(/^DOCTYPE_FORBIDDEN: /);
    expect(ledger.state.size).toBe(0);
    const arity = await ledger.invokeWire(cc, { creator: client, args: ['spec:createTwin', 'bp', 'x', FIXTURE] });
    expect(arity.status).toBe(500);
    expect(arity.message).toMatch(/Expected 4 parameters/);
  });
});
