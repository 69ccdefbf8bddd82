import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createChainInfoProbe, createPeerConnectionPool, createPeerHealth, fabricClientFromEnv, loadIdentity, peerEndpointFromEnv } from '@twinledger/fabric-client';
import { createTwinLedger } from '@twinledger/ledger';
import { createConsumer, createIdempotentProducer, createKafka, ensureTopics } from '@twinledger/kafka';
import { createMetricsRegistry, type Logger } from '@twinledger/observability';
import { authFromEnv, createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { buildApp } from './app.js';
import { derivedFeedRegistrar, feedIngestRegistrar } from './domain/feed-registrar.js';
import { createAgentMetrics } from './domain/metrics.js';
import { createEnvelopeGuard, loadEnvelope } from './domain/envelope.js';
import { createOpcUaAdapter, type OpcUaClientSecurity } from './domain/opcua-adapter.js';
import { claimDataDir } from './domain/data-dir.js';
import { ensureApplicationCertificate, readUserCredentials, type SecurePolicy } from '@twinledger/opcua';
import { startBottlingPlantSimulator, type BottlingPlantSimulator, type SimulatorSecurity } from '@twinledger/plant-sim';
import { createDeviceAgent } from './runtime.js';

import type { DeviceAgentEnv } from './config.js';

export interface DeviceAgentService {
  readonly app: ServiceApp;
  /** Stops the agent and releases the device link, Kafka and the peer connection. */
  close(): Promise<void>;
}

/** Wires the agent from its checked configuration (config.ts): device link, ledger, Kafka, REST app; started. */
export async function startDeviceAgentService(env: DeviceAgentEnv, logger: Logger): Promise<DeviceAgentService> {
  const tokenFile = env.FEED_INGEST_TOKEN_FILE;
  // A mounted token file is re-read per registration: whoever mounts it rotates it.
  const feedIngestToken = tokenFile !== undefined ? async () => (await readFile(tokenFile, 'utf8')).trim() : env.FEED_INGEST_TOKEN;

  const secure = env.OPCUA_SECURITY_POLICY !== 'None';
  if (secure && env.OPCUA_ALLOW_INSECURE) logger.warn('OPCUA_ALLOW_INSECURE=true has no effect: the link is secured with ' + env.OPCUA_SECURITY_POLICY);
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
    const policy = env.OPCUA_SECURITY_POLICY as SecurePolicy;
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
  // deviceAgentConfig refused a start without either.
  if (endpoint === undefined) throw new Error('no device endpoint');

  const registry = createMetricsRegistry({ prefix: 'twinledger_device_agent_' });
  const metrics = createAgentMetrics(registry);
  const pool = createPeerConnectionPool();
  const identity = await loadIdentity({ mspId: env.MSP_ID, certPath: env.FABRIC_CERT_FILE, keyPath: env.FABRIC_KEY_FILE });
  // The peer's health as the REST services track it (qscc GetChainInfo as the agent's identity):
  // /readyz reports a peer that has never answered, and ledger calls fail fast while it is down.
  const probe = createChainInfoProbe({ pool, peer: peerEndpointFromEnv(env), channel: env.CHANNEL, identity });
  const health = createPeerHealth({ peer: env.PEER_ENDPOINT, probe: () => probe.probe(), logger, metrics: registry });
  health.start();
  const fabric = fabricClientFromEnv(env, { pool, identity, health });

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
    peer: health,
  });
  await agent.start();
  return {
    app,
    async close() {
      await agent.stop();
      await producer?.disconnect();
      await health.stop();
      probe.close();
      fabric.close();
      pool.close();
      await sim?.stop();
    },
  };
}
