import { EngineInstallError } from './errors.js';
import { defaultCacheDir } from './install/cache.js';
import { installFabric } from './install/fabric.js';
import type { DevNetwork, NetworkInit } from './network.js';
import type { OrgTopology } from './fabric/topology.js';

export type FabricAvailability = { readonly ok: true } | { readonly ok: false; readonly reason: string };

let fabric: Promise<FabricAvailability> | undefined;

/** Engine options for tests, from the same variables the CLI reads. */
export function testNetworkInit(): Pick<NetworkInit, 'cacheDir' | 'fabricHome'> {
  return {
    cacheDir: process.env['TWINLEDGER_CACHE'] || defaultCacheDir(),
    fabricHome: process.env['TWINLEDGER_FABRIC_HOME'] || undefined,
  };
}

/**
 * Whether Fabric can be installed here. Where the Go module proxy refuses Fabric, suites that
 * need a ledger are reported as skipped with the proxy's exact answer, never run against a
 * stand-in: there is no fake ledger in this project.
 */
export function fabricAvailability(): Promise<FabricAvailability> {
  fabric ??= installFabric({ cacheDir: testNetworkInit().cacheDir!, fabricHome: testNetworkInit().fabricHome }).then(
    () => ({ ok: true as const }),
    (err: unknown) => {
      if (!(err instanceof EngineInstallError)) throw err;
      process.stderr.write(`\nBLOCKED: Fabric suites skipped: ${err.message.split('\n').slice(0, 4).join(' ')}\n`);
      return { ok: false as const, reason: err.message };
    },
  );
  return fabric;
}

/**
 * The environment a REST gateway to the ledger (spec-service, acl-service; the ledger party
 * registry of the DHT services) needs to reach `org`'s peer on this network: the variables of
 * ledger-gateway's `ledgerGatewayEnv`, minus the identities directory, which the caller lays out.
 */
export function ledgerEnvOf(net: Pick<DevNetwork, 'channel' | 'chaincode'>, org: Pick<OrgTopology, 'mspId' | 'peer'>): Record<string, string> {
  return {
    MSP_ID: org.mspId,
    PEER_ENDPOINT: org.peer.endpoint,
    PEER_TLS_ROOT_CERT: org.peer.tlsRootCertPath,
    ...(org.peer.hostAlias ? { PEER_HOST_ALIAS: org.peer.hostAlias } : {}),
    CHANNEL: net.channel,
    CHAINCODE: net.chaincode,
  };
}
