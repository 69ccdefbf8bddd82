import type { PartyRegistry } from '@twinledger/dht';
import { int, optionalStr, str, type EnvOf } from '@twinledger/config';
import { ValidationError } from '@twinledger/errors';
import type { Logger } from '@twinledger/observability';
import { loadPartyRegistryFile } from './file.js';
import { openLedgerPartyRegistry, type LedgerPartyRegistryConfig } from './open.js';

/** Where a DHT node learns the consortium's parties: the ledger, or a static file. */
export type PartySourceConfig = { readonly file: string } | { readonly ledger: LedgerPartyRegistryConfig };

/** The environment of every service that runs a DHT node: exactly one of the two sources. */
export const partyRegistryEnv = {
  PARTY_REGISTRY_FILE: optionalStr(),
  PEER_ENDPOINT: optionalStr(),
  PEER_TLS_ROOT_CERT: optionalStr(),
  PEER_HOST_ALIAS: optionalStr(),
  CHANNEL: str({ default: 'twins' }),
  CHAINCODE: str({ default: 'twinledger' }),
  FABRIC_CERT_FILE: optionalStr(),
  FABRIC_KEY_FILE: optionalStr(),
  PARTY_REFRESH_MS: int({ default: 60_000, min: 0 }),
};

/** Picks the source from the environment, refusing an ambiguous or incomplete one. */
export function partySourceFromEnv(env: EnvOf<typeof partyRegistryEnv>, mspId: string): PartySourceConfig {
  if ((env.PARTY_REGISTRY_FILE === undefined) === (env.PEER_ENDPOINT === undefined)) {
    throw new ValidationError('set exactly one of PARTY_REGISTRY_FILE (static registry) and PEER_ENDPOINT (registry on the ledger)');
  }
  if (env.PARTY_REGISTRY_FILE !== undefined) return { file: env.PARTY_REGISTRY_FILE };
  if (!env.PEER_TLS_ROOT_CERT || !env.FABRIC_CERT_FILE || !env.FABRIC_KEY_FILE) {
    throw new ValidationError('the ledger registry needs PEER_TLS_ROOT_CERT, FABRIC_CERT_FILE and FABRIC_KEY_FILE');
  }
  return {
    ledger: {
      mspId,
      peerEndpoint: env.PEER_ENDPOINT as string,
      peerTlsRootCert: env.PEER_TLS_ROOT_CERT,
      peerHostAlias: env.PEER_HOST_ALIAS,
      channel: env.CHANNEL,
      chaincode: env.CHAINCODE,
      certFile: env.FABRIC_CERT_FILE,
      keyFile: env.FABRIC_KEY_FILE,
      refreshIntervalMs: env.PARTY_REFRESH_MS,
    },
  };
}

/** Opens the registry a DHT node's connection gater consults; `close` releases the ledger link. */
export async function openPartyRegistry(source: PartySourceConfig, logger: Logger): Promise<{ registry: PartyRegistry; close: () => void }> {
  if ('file' in source) return { registry: await loadPartyRegistryFile(source.file), close: () => undefined };
  return openLedgerPartyRegistry(source.ledger, logger);
}
