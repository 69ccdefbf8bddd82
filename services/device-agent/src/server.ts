import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bool, int, list, loadEnv, oneOf, optionalStr, str } from '@twinledger/config';
import { createFabricClient, createPeerConnectionPool, loadIdentity } from '@twinledger/fabric-client';
import { createTwinLedger } from '@twinledger/ledger';
import { createConsumer, createIdempotentProducer, createKafka, ensureTopics, TOPICS } from '@twinledger/kafka';
import { createLogger, createMetricsRegistry } from '@twinledger/observability';
import { authEnv, authFromEnv, createJwtVerifier, runService } from '@twinledger/service-kit';
import { buildApp } from './app.js';
import { derivedFeedRegistrar, feedIngestRegistrar } from './domain/feed-registrar.js';
import { createAgentMetrics } from './domain/metrics.js';
import { createEnvelopeGuard, loadEnvelope } from './domain/envelope.js';
import { createOpcUaAdapter, SECURE_POLICIES, type OpcUaClientSecurity } from './domain/opcua-adapter.js';
import { claimDataDir } from './domain/data-dir.js';
import { ensureApplicationCertificate, readUserCredentials } from '@twinledger/opcua';
import { startBottlingPlantSimulator, type BottlingPlantSimulator, type SimulatorSecurity } from '@twinledger/plant-sim';
import { createDeviceAgent } from './runtime.js';

const env = loadEnv({
  HOST: str({ default: '127.0.0.1' }),
  PORT: int({ default: 8085, min: 0, max: 65535 }),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace'], { default: 'info' }),
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
  FABRIC_PEER_ENDPOINT: str(),
  FABRIC_PEER_TLS_ROOT_CERT: str(),
  FABRIC_PEER_HOST_ALIAS: optionalStr(),
  FABRIC_CERT: str(),
  FABRIC_KEY: str(),
  FABRIC_CHANNEL: str({ default: 'twins' }),
  FABRIC_CHAINCODE: str({ default: 'twinledger' }),
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
});

const logger = createLogger({ name: 'device-agent', level: env.LOG_LEVEL });
if (env.LEDGER_EVENTS_SOURCE !== 'gateway' && env.KAFKA_BROKERS.length === 0) throw new Error('LEDGER_EVENTS_SOURCE=kafka|both needs KAFKA_BROKERS');
if (env.FEED_INGEST_URL !== undefined && env.FEED_INGEST_TOKEN === undefined && env.FEED_INGEST_TOKEN_FILE === undefined) throw new Error('FEED_INGEST_URL needs FEED_INGEST_TOKEN or FEED_INGEST_TOKEN_FILE');
const tokenFile = env.FEED_INGEST_TOKEN_FILE;
// A mounted token file is re-read per registration: whoever mounts it rotates it.
const feedIngestToken = tokenFile !== undefined ? async () => (await readFile(tokenFile, 'utf8')).trim() : env.FEED_INGEST_TOKEN;

// The device link: SignAndEncrypt unless the operator explicitly asked for none (lab only).
const secure = env.OPCUA_SECURITY_POLICY !== 'None';
if (!secure && !env.OPCUA_ALLOW_INSECURE) throw new Error('OPCUA_SECURITY_POLICY=None sends device data and program calls in clear and unauthenticated: it needs OPCUA_ALLOW_INSECURE=true');
if (secure && env.OPCUA_ALLOW_INSECURE) logger.warn('OPCUA_ALLOW_INSECURE=true has no effect: the link is secured with ' + env.OPCUA_SECURITY_POLICY);
if ((env.OPCUA_CERT_FILE === undefined) !== (env.OPCUA_KEY_FILE === undefined)) throw new Error('OPCUA_CERT_FILE and OPCUA_KEY_FILE go together');
if (secure && !env.SIMULATOR && env.OPCUA_TRUSTED_SERVER_CERTS.length === 0) throw new Error('OPCUA_TRUSTED_SERVER_CERTS must name the device certificate(s) the agent trusts');
if (secure && !env.SIMULATOR && env.OPCUA_USER_FILE === undefined) throw new Error('OPCUA_USER_FILE must name the JSON file with the agent\'s OPC UA user {username, password}');
const pkiDir = env.OPCUA_PKI_DIR ?? join(env.DATA_DIR, 'opcua-pki');
const applicationUri = env.OPCUA_APPLICATION_URI ?? `urn:twinledger:device-agent:${env.MSP_ID}:${env.TWIN_ID}`;
// One agent per data directory; a killed predecessor's certificate store lock must not keep
// this one off the device for minutes.
await claimDataDir(env.DATA_DIR, [pkiDir, join(env.DATA_DIR, 'simulator-pki')], logger);
// Every problem of the envelope file is reported at boot; the agent does not start without one.
const envelope = createEnvelopeGuard(await loadEnvelope(env.SAFETY_ENVELOPE_FILE));

let security: OpcUaClientSecurity = { mode: 'None' };
let simSecurity: SimulatorSecurity = { mode: 'None' };
if (secure) {
  const policy = env.OPCUA_SECURITY_POLICY as (typeof SECURE_POLICIES)[number];
  const certificate =
    env.OPCUA_CERT_FILE !== undefined && env.OPCUA_KEY_FILE !== undefined
      ? { certificateFile: env.OPCUA_CERT_FILE, privateKeyFile: env.OPCUA_KEY_FILE, applicationUri }
      : await ensureApplicationCertificate({ pkiDir, applicationUri, commonName: `device-agent ${env.TWIN_ID}` });
  // In-process simulator: both sides are ours, so each trusts exactly the other's certificate
  // and the user is made up for this process unless a user file is given.
  const user = env.OPCUA_USER_FILE !== undefined ? await readUserCredentials(env.OPCUA_USER_FILE) : { username: 'device-agent', password: randomBytes(24).toString('base64url') };
  let trusted = env.OPCUA_TRUSTED_SERVER_CERTS;
  if (env.SIMULATOR) {
    const simCert = await ensureApplicationCertificate({ pkiDir: join(env.DATA_DIR, 'simulator-pki'), applicationUri: 'urn:twinledger:bottling-plant-simulator', commonName: 'bottling plant simulator', dns: ['localhost', '127.0.0.1'] });
    simSecurity = { mode: 'SignAndEncrypt', policy, certificate: simCert, trustedClientCertificates: [certificate.certificateFile], users: [user] };
    trusted = [simCert.certificateFile];
  }
  security = { mode: 'SignAndEncrypt', policy, certificate, trustedServerCertificates: trusted, user };
}

let sim: BottlingPlantSimulator | undefined;
let endpoint = env.DEVICE_ENDPOINT;
if (env.SIMULATOR) {
  sim = await startBottlingPlantSimulator({ port: env.SIMULATOR_PORT, pkiDir: join(env.DATA_DIR, 'simulator-pki'), deviceName: env.DEVICE_NAME, security: simSecurity });
  endpoint = sim.endpointUrl;
  logger.info({ endpoint, securityMode: simSecurity.mode }, 'bottling plant simulator serving OPC UA');
}
if (endpoint === undefined) throw new Error('set DEVICE_ENDPOINT (opc.tcp://...) or SIMULATOR=true');

const registry = createMetricsRegistry({ prefix: 'twinledger_device_agent_' });
const metrics = createAgentMetrics(registry);
const pool = createPeerConnectionPool();
const fabric = createFabricClient({
  pool,
  peer: { endpoint: env.FABRIC_PEER_ENDPOINT, tlsRootCertPath: env.FABRIC_PEER_TLS_ROOT_CERT, ...(env.FABRIC_PEER_HOST_ALIAS ? { hostAlias: env.FABRIC_PEER_HOST_ALIAS } : {}) },
  identity: await loadIdentity({ mspId: env.MSP_ID, certPath: env.FABRIC_CERT, keyPath: env.FABRIC_KEY }),
  channel: env.FABRIC_CHANNEL,
  chaincode: env.FABRIC_CHAINCODE,
});

const kafka = env.KAFKA_BROKERS.length > 0 ? createKafka({ brokers: env.KAFKA_BROKERS, clientId: `device-agent-${env.TWIN_ID}`, logger }) : undefined;
const producer = kafka ? createIdempotentProducer(kafka) : undefined;
if (kafka && producer) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [{ topic: env.READINGS_TOPIC }]);
  } finally {
    await admin.disconnect();
  }
  await producer.connect();
}
const consumer = kafka && env.LEDGER_EVENTS_SOURCE !== 'gateway' ? createConsumer(kafka, { groupId: env.KAFKA_GROUP_ID ?? `device-agent-${env.TWIN_ID}` }) : undefined;

const agent = await createDeviceAgent({
  twinId: env.TWIN_ID,
  mspId: env.MSP_ID,
  ledger: createTwinLedger(fabric),
  fabric,
  adapter: createOpcUaAdapter({ endpointUrl: endpoint, deviceName: env.DEVICE_NAME, pkiDir, security, logger, samplingIntervalMs: env.DEVICE_SAMPLING_MS, reconnectMaxMs: env.DEVICE_RECONNECT_MAX_MS }),
  envelope,
  clockSkewMs: env.CALL_CLOCK_SKEW_MS,
  feeds: env.FEED_INGEST_URL !== undefined && feedIngestToken !== undefined ? feedIngestRegistrar({ baseUrl: env.FEED_INGEST_URL, token: feedIngestToken, acl: env.FEED_ACL }) : derivedFeedRegistrar(),
  dataDir: env.DATA_DIR,
  logger,
  metrics,
  syncIntervalMs: env.SYNC_INTERVAL_MS,
  ...(producer ? { readings: { producer, topic: env.READINGS_TOPIC, maxReadingsPerSecond: env.MAX_READINGS_PER_SECOND, maxBuffered: env.MAX_BUFFERED_READINGS } } : {}),
  ...(consumer ? { ledgerEventsConsumer: { consumer, topic: env.LEDGER_EVENTS_TOPIC } } : {}),
  gatewayEvents: env.LEDGER_EVENTS_SOURCE !== 'kafka',
});

const app = await buildApp({
  logger,
  metrics: registry,
  auth: createJwtVerifier(authFromEnv(env, { expectedOrg: env.MSP_ID })),
  agent,
});
await agent.start();

await runService({
  app,
  host: env.HOST,
  port: env.PORT,
  onClose: async () => {
    await agent.stop();
    await producer?.disconnect();
    fabric.close();
    pool.close();
    await sim?.stop();
  },
});
