import { createStaticPartyRegistry, sharedPeerIds, type Party, type PartyRegistry } from '@twinledger/dht';
import { LedgerEvents, type Party as LedgerParty } from '@twinledger/ledger';
import { silentLogger, type Logger } from '@twinledger/observability';

/** Where the registry reads the parties: the `acl:listParties` query of the ledger. */
export interface PartySource {
  listParties(): Promise<readonly LedgerParty[]>;
}

export interface LedgerPartyRegistryInit {
  /** Re-read the ledger this often, as a safety net for missed events. Default 30 s; 0 = never. */
  readonly refreshIntervalMs?: number;
}

export interface LedgerPartyRegistry extends PartyRegistry {
  /** Loads the parties once; call before the DHT node dials anyone. */
  start(): Promise<void>;
  stop(): void;
  /** Re-reads the ledger now (e.g. after a PartyRegistered chaincode event). */
  refresh(): Promise<void>;
  /**
   * Feed chaincode event names here; a party registration refreshes the registry, and the
   * promise settles with that refresh (so an event follower can retry the event on failure).
   */
  onLedgerEvent(eventName: string): Promise<void>;
}

/**
 * The DHT's party registry backed by the ledger (paper 4.2: the ledger is the root of
 * identity for the DHT too). Each organization's admin registers its DHT peer ids and X25519
 * key on chain; the connection gater then admits exactly those peers. Entries that do not
 * parse are left out and logged, never trusted.
 */
export function createLedgerPartyRegistry(
  init: LedgerPartyRegistryInit,
  components: { readonly source: PartySource; readonly logger?: Logger },
): LedgerPartyRegistry {
  const log = (components.logger ?? silentLogger()).child({ component: 'party-registry' });
  const registry = createStaticPartyRegistry();
  let timer: NodeJS.Timeout | undefined;
  let inflight: Promise<void> | undefined;

  const toParty = (p: LedgerParty): Party | undefined => {
    const key = Buffer.from(p.x25519PublicKey ?? '', 'base64');
    if (key.length !== 32 || !Array.isArray(p.peerIds) || p.peerIds.some((id) => typeof id !== 'string' || !/^[1-9A-HJ-NP-Za-km-z]{40,60}$/.test(id))) {
      log.warn({ mspId: p.mspId }, 'ignoring malformed party registry entry');
      return undefined;
    }
    return { mspId: p.mspId, peerIds: [...p.peerIds], encryptionPublicKey: new Uint8Array(key) };
  };
  const same = (a: Party, b: Party): boolean =>
    a.peerIds.join(',') === b.peerIds.join(',') && Buffer.from(a.encryptionPublicKey).equals(Buffer.from(b.encryptionPublicKey));

  const load = async (): Promise<void> => {
    const listed = (await components.source.listParties()).map(toParty).filter((p): p is Party => p !== undefined);
    // The chaincode refuses a peer ID that another organization registered; should the ledger
    // still list one twice (entries written before that check), the contested peer is admitted
    // as nobody rather than as whichever entry came last.
    const shared = sharedPeerIds(listed);
    if (shared.size > 0) log.warn({ peerIds: [...shared] }, 'peer IDs registered by more than one organization are left out');
    const parties = listed.map((p) => (p.peerIds.some((id) => shared.has(id)) ? { ...p, peerIds: p.peerIds.filter((id) => !shared.has(id)) } : p));
    // Applied in one step: a peer ID moving from one organization to another within a refresh
    // must never be held by both, even for a moment.
    const changed = parties.filter((p) => {
      const old = registry.get(p.mspId);
      return !old || !same(old, p);
    });
    const gone = registry.list().filter((p) => !parties.some((n) => n.mspId === p.mspId));
    if (changed.length === 0 && gone.length === 0) return;
    registry.replaceAll(parties);
    for (const p of changed) log.info({ mspId: p.mspId, peers: p.peerIds.length }, 'party registered');
    for (const p of gone) log.info({ mspId: p.mspId }, 'party removed');
  };
  // One read at a time; a refresh asked for during a read waits for it and reads again.
  const refresh = async (): Promise<void> => {
    while (inflight) await inflight.catch(() => undefined);
    inflight = load().finally(() => (inflight = undefined));
    return inflight;
  };

  return {
    partyOf: (peerId) => registry.partyOf(peerId),
    get: (mspId) => registry.get(mspId),
    list: () => registry.list(),
    subscribe: (listener) => registry.subscribe(listener),
    async start() {
      await refresh();
      const every = init.refreshIntervalMs ?? 30_000;
      if (every > 0) {
        timer = setInterval(() => void refresh().catch((err: unknown) => log.warn({ err }, 'party registry refresh failed')), every);
        timer.unref();
      }
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    refresh,
    async onLedgerEvent(eventName) {
      if (eventName === LedgerEvents.PartyRegistered) await refresh();
    },
  };
}
