import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The four lifecycle parties of the scenario, in devnet's org order (slot 0..3). */
export const PARTIES = ['manufacturer', 'owner', 'maintainer', 'auditor'] as const;
export type Party = (typeof PARTIES)[number];

/** The five services every organization runs, in start order. */
export const SERVICES = ['acl-service', 'dht-gateway', 'feed-ingest', 'spec-service', 'device-agent'] as const;
export type ServiceName = (typeof SERVICES)[number];

/**
 * Ports of the consortium's own processes. devnet claims a block of 100 ports from its base and
 * uses 10 per org slot (8 slots) plus Kafka and the chaincode server after them; with four orgs
 * slots 4..7 stay empty (slot 7 only names the outsider's crypto, nothing listens there), so
 * the services take ports from slot 4 on: inside the block this process already owns, never
 * racing another network for ports.
 */
export const SERVICE_PORT_OFFSET = 40;
const PORTS_PER_ORG = 9;
/** `idp`: the organization's OpenID provider (sign-in for its console, issuer of its tokens). */
const OFFSETS = { spec: 0, acl: 1, dht: 2, dhtP2p: 3, feed: 4, feedP2p: 5, agent: 6, console: 7, idp: 8 } as const;

export type OrgPorts = { readonly [K in keyof typeof OFFSETS]: number };

export function orgPorts(basePort: number, slot: number): OrgPorts {
  const first = basePort + SERVICE_PORT_OFFSET + slot * PORTS_PER_ORG;
  return Object.fromEntries(Object.entries(OFFSETS).map(([k, o]) => [k, first + o])) as unknown as OrgPorts;
}

/** The plant's OPC UA endpoint and its control endpoint, after the four orgs' ports. */
export function plantPorts(basePort: number): { readonly opcua: number; readonly control: number } {
  const first = basePort + SERVICE_PORT_OFFSET + PARTIES.length * PORTS_PER_ORG;
  return { opcua: first, control: first + 1 };
}

export function repoRoot(): string {
  // src/ under jest and dist/ when compiled sit at the same depth.
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

export function serviceEntry(service: ServiceName | 'console'): string {
  return resolve(repoRoot(), 'services', service, 'dist', 'server.js');
}

export function plantEntry(): string {
  return resolve(repoRoot(), 'packages', 'consortium', 'dist', 'plant.js');
}

export const FIXTURE_AML = (): string => resolve(repoRoot(), 'chaincode', 'fixtures', 'bottling-plant.aml');

/**
 * The identity ID the chaincode sees for a certificate (fabric-shim's ClientIdentity.getID():
 * `x509::/C=../ST=../CN=..::<issuer, same form>`, attributes in certificate order, `/` in values
 * escaped). Grants to one identity (the device agent's DEVICE_AGENT) name it this way.
 */
export function fabricIdentityId(certPath: string): string {
  const cert = new X509Certificate(readFileSync(certPath));
  const dn = (s: string): string =>
    s
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => {
        const i = l.indexOf('=');
        return `/${l.slice(0, i)}=${l.slice(i + 1).replace('/', '\\/')}`;
      })
      .join('');
  return `x509::${dn(cert.subject)}::${dn(cert.issuer)}`;
}
