import { bool, ConfigError, int, list, oneOf, optionalStr, str, type EnvOf } from '@twinledger/config';
import { peerEnv } from '@twinledger/fabric-client';
import { TOPICS } from '@twinledger/kafka';
// The subpath without node-opcua: reading the env loads no OPC UA stack.
import { SECURE_POLICIES } from '@twinledger/opcua/security';
import { authEnv, serviceEnv } from '@twinledger/service-kit';

/**
 * device-agent's environment, defined once: server.ts loads it, the consortium launcher and the
 * Helm chart's env-contract test (test/chart.int.test.ts) read the names from here.
 */
export const deviceAgentEnv = {
  ...serviceEnv({ port: 8085 }),
  MSP_ID: str(),
  TWIN_ID: str({ pattern: /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/ }),
  DATA_DIR: str(),
  DEVICE_ENDPOINT: optionalStr(),
  DEVICE_NAME: str({ default: 'BottlingPlant' }),
  DEVICE_SAMPLING_MS: int({ default: 100, min: 10, max: 60_000 }),
  DEVICE_RECONNECT_MAX_MS: int({ default: 5_000, min: 100 }),
  SIMULATOR: bool({ default: false }),
  SIMULATOR_PORT: int({ default: 0, min: 0, max: 65535 }),
  SYNC_INTERVAL_MS: int({ default: 10_000, min: 100 }),
  // The same names as every other process on the ledger (PEER_*, CHANNEL, CHAINCODE); the agent
  // signs as its own identity, given as files like the DHT nodes' (FABRIC_CERT_FILE/KEY_FILE).
  ...peerEnv,
  FABRIC_CERT_FILE: str(),
  FABRIC_KEY_FILE: str(),
  KAFKA_BROKERS: list({ default: [] }),
  READINGS_TOPIC: str({ default: TOPICS.readings }),
  MAX_READINGS_PER_SECOND: int({ default: 1_000, min: 1 }),
  MAX_BUFFERED_READINGS: int({ default: 100_000, min: 100 }),
  LEDGER_EVENTS_SOURCE: oneOf(['gateway', 'kafka', 'both'], { default: 'gateway' }),
  LEDGER_EVENTS_TOPIC: str({ default: TOPICS.ledgerEvents }),
  KAFKA_GROUP_ID: optionalStr(),
  FEED_INGEST_URL: optionalStr(),
  FEED_INGEST_TOKEN: optionalStr(),
  FEED_INGEST_TOKEN_FILE: optionalStr(),
  FEED_ACL: list({ default: [] }),
  OPCUA_SECURITY_POLICY: oneOf([...SECURE_POLICIES, 'None'], { default: 'Basic256Sha256' }),
  OPCUA_ALLOW_INSECURE: bool({ default: false }),
  OPCUA_PKI_DIR: optionalStr(),
  OPCUA_APPLICATION_URI: optionalStr(),
  OPCUA_CERT_FILE: optionalStr(),
  OPCUA_KEY_FILE: optionalStr(),
  OPCUA_TRUSTED_SERVER_CERTS: list({ default: [] }),
  OPCUA_USER_FILE: optionalStr(),
  SAFETY_ENVELOPE_FILE: str(),
  // A program call dated further ahead of this agent's clock is refused (its expiry would stretch).
  CALL_CLOCK_SKEW_MS: int({ default: 60_000, min: 0, max: 600_000 }),
  ...authEnv,
};
export type DeviceAgentEnv = EnvOf<typeof deviceAgentEnv>;

const invalid = (message: string, ...problems: string[]): ConfigError => new ConfigError(message, { details: { problems } });

/**
 * The rules between variables that their parsers alone cannot check, at boot (CONFIG_INVALID):
 * the agent never starts half-configured. The environment is then the configuration.
 */
export function deviceAgentConfig(env: DeviceAgentEnv): DeviceAgentEnv {
  if (env.LEDGER_EVENTS_SOURCE !== 'gateway' && env.KAFKA_BROKERS.length === 0) throw invalid('LEDGER_EVENTS_SOURCE=kafka|both needs KAFKA_BROKERS', 'KAFKA_BROKERS');
  if (env.FEED_INGEST_URL !== undefined && env.FEED_INGEST_TOKEN === undefined && env.FEED_INGEST_TOKEN_FILE === undefined) {
    throw invalid('FEED_INGEST_URL needs FEED_INGEST_TOKEN or FEED_INGEST_TOKEN_FILE', 'FEED_INGEST_TOKEN_FILE');
  }
  // The device link: SignAndEncrypt unless the operator explicitly asked for none (lab only).
  const secure = env.OPCUA_SECURITY_POLICY !== 'None';
  if (!secure && !env.OPCUA_ALLOW_INSECURE) {
    throw invalid('OPCUA_SECURITY_POLICY=None sends device data and program calls in clear and unauthenticated: it needs OPCUA_ALLOW_INSECURE=true', 'OPCUA_ALLOW_INSECURE');
  }
  if ((env.OPCUA_CERT_FILE === undefined) !== (env.OPCUA_KEY_FILE === undefined)) throw invalid('OPCUA_CERT_FILE and OPCUA_KEY_FILE go together', 'OPCUA_CERT_FILE', 'OPCUA_KEY_FILE');
  if (secure && !env.SIMULATOR && env.OPCUA_TRUSTED_SERVER_CERTS.length === 0) {
    throw invalid('OPCUA_TRUSTED_SERVER_CERTS must name the device certificate(s) the agent trusts', 'OPCUA_TRUSTED_SERVER_CERTS');
  }
  if (secure && !env.SIMULATOR && env.OPCUA_USER_FILE === undefined) {
    throw invalid("OPCUA_USER_FILE must name the JSON file with the agent's OPC UA user {username, password}", 'OPCUA_USER_FILE');
  }
  if (!env.SIMULATOR && env.DEVICE_ENDPOINT === undefined) throw invalid('set DEVICE_ENDPOINT (opc.tcp://...) or SIMULATOR=true', 'DEVICE_ENDPOINT');
  return env;
}
