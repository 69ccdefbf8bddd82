import type { TwinLedger } from '@twinledger/ledger';
import { readSpecificationTree } from '@twinledger/aml';

/**
 * The assembled specification of a twin at one revision (the txId of the last transaction
 * that changed it, as the chaincode records it), with its JSON tree serialized on first use.
 * The content is the same for every caller allowed to read it, so one entry serves all.
 */
export interface SpecEntry {
  readonly twinId: string;
  readonly revision: string;
  readonly schemaVersion: string;
  readonly aml: string;
  /** `{twinId, schemaVersion, revision, tree}` as JSON text, made on the first format=json read. */
  json(): string;
}

export interface SpecCacheStats {
  readonly entries: number;
  readonly bytes: number;
}

export type SpecLookup = 'hit' | 'miss' | 'stale' | 'uncacheable';

export interface SpecCache {
  /**
   * The twin's specification as `ledger` (signing as the caller) may read it. A cached entry
   * is served only after the chaincode answered getSpecificationRevision for this caller with
   * the same revision: the access decision is the chaincode's on every request, the cache
   * saves only the assembly, the 2 MB transfer and the parse.
   */
  read(ledger: TwinLedger, twinId: string): Promise<{ entry: SpecEntry; lookup: SpecLookup }>;
  /**
   * Brings a cached twin's entry to the ledger's current revision, reading as `ledger` (the
   * service's own identity) and building the JSON tree, so the first viewer after an edit
   * finds it ready (their own revision check still decides). Twins not in the cache are left
   * alone: only what someone viewed is kept warm. One refresh per twin at a time; events that
   * arrive meanwhile cause one more pass. Never throws: a failed refresh leaves the entry,
   * which every request re-validates anyway.
   */
  refresh(ledger: TwinLedger, twinId: string): Promise<void>;
  stats(): SpecCacheStats;
}

/**
 * Bounded by `maxChars` (UTF-16 code units of the AML plus its JSON once made; 0 disables
 * caching), least recently used first out, one revision per twin (a newer one replaces it).
 */
export function createSpecCache(opts: { readonly maxChars: number }): SpecCache {
  const entries = new Map<string, Entry>();
  let chars = 0;

  const evict = (): void => {
    for (const [twinId, e] of entries) {
      if (chars <= opts.maxChars) break;
      entries.delete(twinId);
      chars -= e.size;
    }
  };
  const remove = (twinId: string): void => {
    const e = entries.get(twinId);
    if (e) {
      entries.delete(twinId);
      chars -= e.size;
    }
  };

  class Entry implements SpecEntry {
    size: number;
    private text: string | undefined;
    constructor(
      readonly twinId: string,
      readonly revision: string,
      readonly schemaVersion: string,
      readonly aml: string,
    ) {
      this.size = aml.length;
    }
    json(): string {
      if (this.text === undefined) {
        this.text = JSON.stringify({ twinId: this.twinId, schemaVersion: this.schemaVersion, revision: this.revision, tree: readSpecificationTree(this.aml) });
        // Account for the JSON only while this entry is still the cached one.
        if (entries.get(this.twinId) === this) {
          this.size += this.text.length;
          chars += this.text.length;
          evict();
        }
      }
      return this.text;
    }
  }

  const store = (entry: Entry): void => {
    remove(entry.twinId);
    if (entry.revision === '' || opts.maxChars <= 0 || entry.size > opts.maxChars) return;
    entries.set(entry.twinId, entry);
    chars += entry.size;
    evict();
  };
  const refreshing = new Map<string, { again: boolean; done: Promise<void> }>();
  /** Per twin, the getSpecification under way (settles, never rejects: waiters re-check). */
  const loading = new Map<string, Promise<void>>();
  const load = (ledger: TwinLedger, twinId: string): Promise<Entry> => {
    const p = (async () => {
      const spec = await ledger.getSpecification(twinId);
      const entry = new Entry(twinId, spec.revision ?? '', spec.schemaVersion, spec.aml);
      store(entry);
      return entry;
    })();
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    loading.set(twinId, settled);
    void settled.then(() => {
      if (loading.get(twinId) === settled) loading.delete(twinId);
    });
    return p;
  };

  return {
    async read(ledger, twinId) {
      // A load under way (another reader's or a refresh) is reading the newest revision
      // already: wait for it rather than assemble the same specification twice; this caller's
      // own revision check follows either way.
      await loading.get(twinId);
      const cached = entries.get(twinId);
      let lookup: SpecLookup = 'miss';
      if (cached) {
        // Throws the chaincode's refusal (ACCESS_DENIED, NOT_FOUND) like getSpecification would.
        const { revision } = await ledger.getSpecificationRevision(twinId);
        const hit = async (): Promise<{ entry: SpecEntry; lookup: SpecLookup } | undefined> => {
          const e = entries.get(twinId);
          if (revision === '' || e?.revision !== revision) return undefined;
          // Refresh its place in the LRU order.
          entries.delete(twinId);
          entries.set(twinId, e);
          return { entry: e, lookup: 'hit' };
        };
        const found = (await hit()) ?? (loading.has(twinId) ? (await loading.get(twinId), await hit()) : undefined);
        if (found) return found;
        lookup = 'stale';
      }
      // Two racing loads around a write may finish in either order; the one finishing last is
      // kept. Should that be the older revision, the next read's revision check sees the
      // difference and replaces it: an entry is never served for a revision it was not read at.
      const entry = await load(ledger, twinId);
      return { entry, lookup: entries.get(twinId) === entry ? lookup : 'uncacheable' };
    },
    refresh(ledger, twinId) {
      const running = refreshing.get(twinId);
      if (running) {
        running.again = true;
        return running.done;
      }
      if (!entries.has(twinId)) return Promise.resolve();
      const state = { again: true, done: Promise.resolve() };
      state.done = (async () => {
        try {
          while (state.again && entries.has(twinId)) {
            state.again = false;
            await loading.get(twinId);
            const { revision } = await ledger.getSpecificationRevision(twinId);
            if (revision === '' || entries.get(twinId)?.revision === revision || loading.has(twinId)) continue;
            const entry = await load(ledger, twinId);
            if (entries.get(twinId) === entry) entry.json();
          }
        } catch {
          // Refused or unavailable: the entry stays as it is and is checked on every read.
        } finally {
          refreshing.delete(twinId);
        }
      })();
      refreshing.set(twinId, state);
      return state.done;
    },
    stats: () => ({ entries: entries.size, bytes: chars }),
  };
}
