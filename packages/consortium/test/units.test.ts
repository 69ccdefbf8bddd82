import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyAuditBundle, writeAuditBundle, type AuditBundle } from '../src/audit.js';
import { fabricIdentityId, orgPorts, PARTIES, plantPorts } from '../src/layout.js';

const here = dirname(fileURLToPath(import.meta.url));
const sha = (x: string | Buffer): string => createHash('sha256').update(x).digest('hex');

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

describe('verifyAuditBundle', () => {
  const content = Buffer.from('maintenance report');
  const aml = '<?xml version="1.0"?>\n<CAEXFile/>\n';
  const bundle = (): AuditBundle => ({
    twinId: 't1',
    exportedAt: '2026-11-24T00:00:00Z',
    documentExport: {
      document: { hash: sha(content), dhtRef: 'ref', txId: 'tx-doc' },
      transactions: [{ txId: 'tx-doc', blockNumber: 14 }],
    },
    specificationExport: {
      twin: { txId: 'tx-create' },
      specification: { sha256: sha(aml), bytes: Buffer.byteLength(aml), aml },
      transactions: [
        { txId: 'tx-create', blockNumber: 11 },
        { txId: 'tx-insert', blockNumber: 13 },
      ],
    },
    documentContentBase64: content.toString('base64'),
  });
  const verify = (b: AuditBundle) => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-'));
    try {
      writeAuditBundle(join(dir, 'b.json'), b);
      return verifyAuditBundle(join(dir, 'b.json'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const failed = (b: AuditBundle): string[] => verify(b).checks.filter((c) => !c.ok).map((c) => c.check);

  it('accepts a consistent bundle', () => {
    expect(verify(bundle())).toMatchObject({ ok: true });
  });

  it('detects altered document bytes', () => {
    expect(failed({ ...bundle(), documentContentBase64: Buffer.from('maintenance rep0rt').toString('base64') })).toEqual(['document bytes hash to the on-chain document hash']);
  });

  it('detects an altered specification', () => {
    const b = bundle();
    const spec = b.specificationExport['specification'] as { aml: string };
    spec.aml = spec.aml.replace('CAEXFile', 'CAEXFilf');
    expect(failed(b)).toEqual(['specification AML hashes to the stated spec hash']);
  });

  it('detects a transaction without its block and a missing recording transaction', () => {
    const b = bundle();
    b.documentExport['transactions'] = [{ txId: 'tx-other', blockNumber: null }];
    expect(failed(b)).toEqual(['document recorded by a listed transaction', 'every document transaction has its block']);
  });
});
