import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnv, type EnvOf } from '@twinledger/config';
import { spawnTestNetwork, type TestNetwork } from '@twinledger/dht/testing';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, type DevIssuer, type ServiceApp } from '@twinledger/service-kit';
import { buildApp } from '../../src/app.js';
import { gatewayAuthEnv, gatewayVerifier } from '../../src/auth.js';

/** The three organizations of the test network; the gateway under test is the first one's. */
export const ORGS = ['OrgAMSP', 'OrgBMSP', 'OrgCMSP'] as const;
/** The users' audience a deployment sets for every service of the org (AUTH_AUDIENCE). */
export const USER_AUDIENCE = 'twinledger';

export type GatewayAuthEnv = EnvOf<typeof gatewayAuthEnv> & { readonly MSP_ID: string };

export interface GatewayUnderTest {
  /** Real DHT nodes of the three organizations, connected (TCP on 127.0.0.1). */
  readonly net: TestNetwork;
  /** The org's token issuer (real ES256 keys; its JWKS is in the file the env names). */
  readonly issuer: DevIssuer;
  /** The gateway of OrgAMSP over node 0, with the verifier server.ts would build. */
  readonly app: ServiceApp;
  /** The auth env server.ts loads from a deployment's variables, with `overrides` applied. */
  env(overrides?: Readonly<Record<string, string>>): GatewayAuthEnv;
  close(): Promise<void>;
}

/**
 * A gateway app as a deployment runs it, for app.inject tests: the verifier comes from the
 * same env a deployment passes every service of the org (AUTH_AUDIENCE is the users' audience,
 * which the gateway must not take), not from a hand-built verifier.
 */
export async function startGatewayUnderTest(init: { readonly chunkSize: number; readonly maxObjectBytes: number }): Promise<GatewayUnderTest> {
  const net = await spawnTestNetwork({ orgs: ORGS, nodeInit: { chunkSize: init.chunkSize } });
  const dir = await mkdtemp(join(tmpdir(), 'dht-gw-app-'));
  try {
    await net.connectAll();
    const issuer = await createDevIssuer('https://idp.orga.test');
    const jwksFile = join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify(issuer.jwks));
    const env = (overrides: Readonly<Record<string, string>> = {}): GatewayAuthEnv => ({
      ...loadEnv(gatewayAuthEnv, { AUTH_ISSUER: issuer.issuer, AUTH_JWKS_FILE: jwksFile, AUTH_AUDIENCE: USER_AUDIENCE, ...overrides }),
      MSP_ID: ORGS[0],
    });
    const app = await buildApp({ node: net.nodes[0]!, logger: silentLogger(), auth: gatewayVerifier(env()), maxObjectBytes: init.maxObjectBytes });
    await app.ready();
    return {
      net,
      issuer,
      app,
      env,
      async close() {
        await app.close();
        await net.teardown();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await net.teardown();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
