import { describe, expect, it } from '@jest/globals';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

