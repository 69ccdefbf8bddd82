import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Entry {
  readonly payload: AdapterPayload;
  readonly expiresAtMs: number | undefined;
}

/**
 * oidc-provider's storage (sessions, interactions, codes, grants, refresh tokens) in this
 * process's memory, expired entries dropped when read. The local consortium's providers live as
 * long as the launcher, so nothing needs to survive a restart; a real IdP keeps this in a
 * database. (oidc-provider's own dev adapter does the same, with a warning meant for production.)
 */
export function memoryAdapterFactory(): (name: string) => Adapter {
  const stores = new Map<string, Map<string, Entry>>();
  /** Ids by grant, across every model, for revokeByGrantId. */
  const byGrant = new Map<string, Set<{ store: Map<string, Entry>; id: string }>>();
  const uids = new Map<string, string>();
  const userCodes = new Map<string, string>();
  let writes = 0;
  /** Entries nobody reads again (expired codes, ended sessions) go every 1,000 writes. */
  const sweep = (): void => {
    const now = Date.now();
    for (const s of stores.values()) for (const [id, e] of s) if (e.expiresAtMs !== undefined && e.expiresAtMs <= now) s.delete(id);
    for (const [grantId, refs] of byGrant) {
      for (const ref of refs) if (!ref.store.has(ref.id)) refs.delete(ref);
      if (refs.size === 0) byGrant.delete(grantId);
    }
  };

  return (name) => {
    let store = stores.get(name);
    if (!store) stores.set(name, (store = new Map()));
    const s = store;
    const live = (id: string): AdapterPayload | undefined => {
      const e = s.get(id);
      if (!e) return undefined;
      if (e.expiresAtMs !== undefined && e.expiresAtMs <= Date.now()) {
        s.delete(id);
        return undefined;
      }
      return e.payload;
    };
    return {
      async upsert(id, payload, expiresIn) {
        if (++writes % 1000 === 0) sweep();
        s.set(id, { payload, expiresAtMs: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
        if (payload.grantId) {
          let set = byGrant.get(payload.grantId);
          if (!set) byGrant.set(payload.grantId, (set = new Set()));
          set.add({ store: s, id });
        }
        if (payload.uid) uids.set(`${name}:${payload.uid}`, id);
        if (payload.userCode) userCodes.set(`${name}:${payload.userCode}`, id);
      },
      async find(id) {
        return live(id);
      },
      async findByUid(uid) {
        const id = uids.get(`${name}:${uid}`);
        return id === undefined ? undefined : live(id);
      },
      async findByUserCode(userCode) {
        const id = userCodes.get(`${name}:${userCode}`);
        return id === undefined ? undefined : live(id);
      },
      async consume(id) {
        const e = s.get(id);
        if (e) s.set(id, { ...e, payload: { ...e.payload, consumed: Math.floor(Date.now() / 1000) } });
      },
      async destroy(id) {
        s.delete(id);
      },
      async revokeByGrantId(grantId) {
        for (const ref of byGrant.get(grantId) ?? []) ref.store.delete(ref.id);
        byGrant.delete(grantId);
      },
    };
  };
}
