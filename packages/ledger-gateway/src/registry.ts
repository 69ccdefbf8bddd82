import {
  createFabricClient,
  loadIdentity,
  type Deadlines,
  type FabricClient,
  type IdentityFiles,
  type PeerConnectionPool,
  type PeerEndpoint,
  type PeerHealth,
} from '@twinledger/fabric-client';
import { asChaincodeRejection } from '@twinledger/ledger';
import { ForeignOrganizationError } from '@twinledger/service-kit';
import { IdentityNotMappedError } from './errors.js';
import { findIdentityFiles } from './identity-dir.js';

/** The caller as authentication established it (service-kit's Principal fits). */
export interface CallerIdentity {
  readonly subject: string;
  readonly mspId: string;
  readonly fabricIdentity: string | undefined;
}

export interface IdentityRegistryInit {
  /** The organization this deployment signs for; tokens of other organizations are refused. */
  readonly mspId: string;
  /** Where identities live (see findIdentityFiles); or `identities` for explicit files. */
  readonly identitiesDir?: string;
  /** Explicit identity files by name; checked before `identitiesDir`. */
  readonly identities?: Readonly<Record<string, IdentityFiles>>;
  readonly pool: PeerConnectionPool;
  readonly peer: PeerEndpoint;
  readonly channel: string;
  readonly chaincode: string;
  readonly deadlines?: Partial<Deadlines>;
  /** The peer's health, shared by every identity's client: calls fail fast while it is down. */
  readonly health?: PeerHealth;
  /** Builds the client of one identity (for `chaincode`); tests pass a fake of the FabricClient interface. */
  readonly clientFactory?: (files: IdentityFiles, chaincode: string) => Promise<FabricClient>;
  /** Observes every gateway call (latency metrics): function, kind, seconds, outcome code. */
  readonly onCall?: (fn: string, kind: 'evaluate' | 'submit', seconds: number, outcome: string) => void;
}

/** Times every evaluate/submit of a client; the outcome is 'ok' or the error's code. */
export function observeClient(client: FabricClient, onCall: NonNullable<IdentityRegistryInit['onCall']>): FabricClient {
  const timed = async <T>(fn: string, kind: 'evaluate' | 'submit', call: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      const out = await call();
      onCall(fn, kind, (performance.now() - t0) / 1000, 'ok');
      return out;
    } catch (err) {
      // A chaincode refusal is labelled by its code (ACCESS_DENIED, ...), not as an endorsement failure.
      onCall(fn, kind, (performance.now() - t0) / 1000, (asChaincodeRejection(err) as { code?: unknown }).code?.toString() ?? 'error');
      throw err;
    }
  };
  return {
    get mspId() {
      return client.mspId;
    },
    evaluate: (fn, args) => timed(fn, 'evaluate', () => client.evaluate(fn, args)),
    submit: (fn, args, options) => timed(fn, 'submit', () => client.submit(fn, args, options)),
    chaincodeEvents: (options) => client.chaincodeEvents(options),
    close: () => client.close(),
  };
}

/**
 * Maps an authenticated caller to the Fabric identity the service signs as, so the chaincode
 * authorizes the real caller. One gateway client per identity (created on first use and kept),
 * all sharing the pool's single gRPC connection per peer.
 */
export interface IdentityRegistry {
  /** The client that signs as the caller's identity; 403 IDENTITY_NOT_MAPPED / FOREIGN_ORGANIZATION. */
  clientFor(caller: CallerIdentity): Promise<FabricClient>;
  /**
   * The client of a named identity of this organization (the service's own work: event relay);
   * `chaincode` for a system chaincode (qscc: blocks for proofs and bundles) instead of the project's.
   */
  clientByName(name: string, options?: { readonly chaincode?: string }): Promise<FabricClient>;
  readonly mspId: string;
  close(): void;
}

/** The files of identity `name`: the explicit ones first, then those under the identities directory. */
export async function resolveIdentityFiles(init: Pick<IdentityRegistryInit, 'identities' | 'identitiesDir' | 'mspId'>, name: string): Promise<IdentityFiles | undefined> {
  return init.identities?.[name] ?? (init.identitiesDir ? await findIdentityFiles(init.identitiesDir, name, init.mspId) : undefined);
}

export function createIdentityRegistry(init: IdentityRegistryInit): IdentityRegistry {
  const clients = new Map<string, Promise<FabricClient>>();
  const factory =
    init.clientFactory ??
    (async (files: IdentityFiles, chaincode: string) =>
      createFabricClient({
        pool: init.pool,
        peer: init.peer,
        identity: await loadIdentity(files),
        channel: init.channel,
        chaincode,
        deadlines: init.deadlines,
        ...(init.health ? { health: init.health } : {}),
      }));

  const resolve = (name: string) => resolveIdentityFiles(init, name);

  const byName = async (name: string, options: { readonly chaincode?: string } = {}): Promise<FabricClient> => {
    const chaincode = options.chaincode ?? init.chaincode;
    const key = `${chaincode}\u0000${name}`;
    let client = clients.get(key);
    if (!client) {
      client = (async () => {
        const files = await resolve(name);
        if (!files) throw new IdentityNotMappedError(`no Fabric identity '${name}' is configured for ${init.mspId}`, { details: { identity: name } });
        const made = await factory(files, chaincode);
        return init.onCall ? observeClient(made, init.onCall) : made;
      })();
      clients.set(key, client);
      // A failed lookup is not cached: the secret may be mounted later.
      client.catch(() => clients.delete(key));
    }
    return client;
  };

  return {
    mspId: init.mspId,
    async clientFor(caller) {
      if (caller.mspId !== init.mspId) {
        throw new ForeignOrganizationError(`token of ${caller.mspId} presented to a service of ${init.mspId}`, { details: { tokenOrg: caller.mspId, serviceOrg: init.mspId } });
      }
      if (caller.fabricIdentity === undefined) {
        throw new IdentityNotMappedError('the token carries no fabric_identity claim');
      }
      return byName(caller.fabricIdentity);
    },
    clientByName: (name, options) => byName(name, options),
    close() {
      for (const c of clients.values()) void c.then((x) => x.close(), () => undefined);
      clients.clear();
    },
  };
}
