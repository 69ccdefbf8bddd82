#!/usr/bin/env node
// Provisioning helper: makes (or keeps) an OPC UA application instance certificate in a PKI
// folder and prints where it is, as one JSON line. Launchers run it before either side of the
// link starts, so each side's certificate can be placed in the other's trust list first.
//   node packages/opcua/dist/opcua-cert.js <pkiDir> <applicationUri> <commonName> [dns,...]
import { ensureApplicationCertificate, readCertificateDer, thumbprintOf } from './pki.js';

const [pkiDir, applicationUri, commonName, dns] = process.argv.slice(2);
if (!pkiDir || !applicationUri || !/^urn:[^\s]+$/.test(applicationUri) || !commonName) {
  process.stderr.write('usage: opcua-cert.js <pkiDir> <applicationUri urn:...> <commonName> [dns,...]\n');
  process.exit(2);
}
const cert = await ensureApplicationCertificate({ pkiDir, applicationUri, commonName, ...(dns ? { dns: dns.split(',') } : {}) });
const thumbprint = thumbprintOf(await readCertificateDer(cert.certificateFile));
process.stdout.write(`${JSON.stringify({ ...cert, thumbprint })}\n`);
