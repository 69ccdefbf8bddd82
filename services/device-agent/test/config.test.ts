import { describe, expect, it } from '@jest/globals';
import { loadEnv } from '@twinledger/config';
import { deviceAgentConfig, deviceAgentEnv } from '../src/config.js';

// The smallest environment a secured agent with its own device starts with.
const base = {
  MSP_ID: 'Org2MSP',
  TWIN_ID: 'plant-1',
  DATA_DIR: '/var/lib/agent',
  DEVICE_ENDPOINT: 'opc.tcp://plant:4840',
  PEER_ENDPOINT: 'peer0:7051',
  PEER_TLS_ROOT_CERT: '/tls/ca.pem',
  FABRIC_CERT_FILE: '/id/cert.pem',
  FABRIC_KEY_FILE: '/id/key.pem',
  SAFETY_ENVELOPE_FILE: '/etc/envelope.json',
  OPCUA_TRUSTED_SERVER_CERTS: '/pki/plant.pem',
  OPCUA_USER_FILE: '/pki/user.json',
  AUTH_ISSUER: 'https://issuer',
  AUTH_JWKS_FILE: '/jwks.json',
};
const check = (env: Record<string, string | undefined>) => () => deviceAgentConfig(loadEnv(deviceAgentEnv, env));

describe('device-agent configuration', () => {
  it('takes a complete secured configuration, with HOST/PORT/LOG_LEVEL from service-kit', () => {
    const env = deviceAgentConfig(loadEnv(deviceAgentEnv, base));
    expect(env).toMatchObject({ HOST: '127.0.0.1', PORT: 8085, LOG_LEVEL: 'info', OPCUA_SECURITY_POLICY: 'Basic256Sha256' });
  });

  it('refuses half a configuration at boot with CONFIG_INVALID naming the variable', () => {
    const refused = (env: Record<string, string | undefined>, problem: string) => expect(check(env)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', details: { problems: expect.arrayContaining([problem]) } }));
    refused({ ...base, OPCUA_SECURITY_POLICY: 'None' }, 'OPCUA_ALLOW_INSECURE');
    refused({ ...base, OPCUA_TRUSTED_SERVER_CERTS: undefined }, 'OPCUA_TRUSTED_SERVER_CERTS');
    refused({ ...base, OPCUA_USER_FILE: undefined }, 'OPCUA_USER_FILE');
    refused({ ...base, OPCUA_CERT_FILE: '/pki/own.pem' }, 'OPCUA_KEY_FILE');
    refused({ ...base, DEVICE_ENDPOINT: undefined }, 'DEVICE_ENDPOINT');
    refused({ ...base, LEDGER_EVENTS_SOURCE: 'kafka' }, 'KAFKA_BROKERS');
    refused({ ...base, FEED_INGEST_URL: 'http://feeds' }, 'FEED_INGEST_TOKEN_FILE');
  });

  it('lets the built-in simulator stand in for the device and its trust material', () => {
    expect(check({ ...base, DEVICE_ENDPOINT: undefined, OPCUA_TRUSTED_SERVER_CERTS: undefined, OPCUA_USER_FILE: undefined, SIMULATOR: 'true' })).not.toThrow();
  });
});
