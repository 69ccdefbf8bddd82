import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startNetwork, testNetworkInit, type DevNetwork } from '@twinledger/devnet';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, type DevIssuer } from '@twinledger/service-kit';
import { startSpecService, type SpecService } from '../../src/main.js';
import { startDhtGateways, stopDhtGateways, type GatewayProcess } from './dht-gateways.js';

/**
 * The real two-organization network with each organization's spec-service in this process
 * (relay off) and a real dht-gateway process per organization, each org with its own token
 * issuer and its User1 as the identities folder: what the route-level integration tests share.
 */
export interface SpecStack {
  readonly net: DevNetwork;
  readonly root: string;
  readonly issuers: readonly DevIssuer[];
  readonly services: readonly SpecService[];
  readonly gateways: readonly GatewayProcess[];
  /** A token of org `i`'s User1. */
  token(i: number): Promise<string>;
  /** A request to org `i`'s spec-service as its User1. */
  inject(i: number, method: 'GET' | 'POST', url: string, payload?: Buffer | object, contentType?: string): ReturnType<SpecService['app']['inject']>;
  stop(): Promise<void>;
}

export async function startSpecStack(name: string): Promise<SpecStack> {
  const net = await startNetwork({ orgs: ['org1', 'org2'], kafka: false, ...testNetworkInit() });
  const root = mkdtempSync(join(tmpdir(), `spec-${name}-int-`));
  const issuers: DevIssuer[] = [];
  const services: SpecService[] = [];
  let gateways: GatewayProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const s of services) {
      await s.app.close();
      await s.close();
    }
    await stopDhtGateways(gateways);
    await net.stop();
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (const [i, org] of net.orgs.entries()) issuers[i] = await createDevIssuer(`https://idp.${org.name}.local`);
    gateways = await startDhtGateways(root, net.orgs.map((o, i) => ({ mspId: o.mspId, issuer: issuers[i]! })));
    for (const [i, org] of net.orgs.entries()) {
      const dir = join(root, org.name);
      mkdirSync(dir, { recursive: true });
      symlinkSync(dirname(org.users[0]!.mspDir), join(dir, 'User1'));
      const s = await startSpecService(
        {
          mspId: org.mspId,
          identitiesDir: dir,
          peer: org.peer,
          channel: net.channel,
          chaincode: net.chaincode,
          auth: { issuer: issuers[i]!.issuer, audience: 'twinledger', jwks: issuers[i]!.jwks, expectedOrg: org.mspId },
          dht: gateways[i]!.url,
          dhtTokenFile: gateways[i]!.tokenFile,
          kafkaBrokers: [],
          relay: false,
          relayIdentity: 'User1',
          dataDir: join(root, `state-${org.name}`),
        },
        silentLogger(),
      );
      await s.app.ready();
      services.push(s);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const token = (i: number) => issuers[i]!.issue({ sub: `u${i}`, org: net.orgs[i]!.mspId, fabricIdentity: 'User1', audience: 'twinledger' });
  return {
    net,
    root,
    issuers,
    services,
    gateways,
    token,
    inject: async (i, method, url, payload, contentType) =>
      services[i]!.app.inject({
        method,
        url,
        ...(payload !== undefined ? { payload: payload as Buffer } : {}),
        headers: { authorization: `Bearer ${await token(i)}`, ...(contentType ? { 'content-type': contentType } : {}) },
      }),
    stop,
  };
}
