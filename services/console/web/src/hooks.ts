import { useCallback, useEffect, useState } from 'react';
import { call } from './client';
import { useSession } from './session';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  reload(): void;
}

/** Loads once per dependency change; the error is kept for display, never dropped. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctrl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    load(ctrl.signal).then(
      (data) => !ctrl.signal.aborted && setState({ data, error: undefined, loading: false }),
      (error: unknown) => !ctrl.signal.aborted && setState({ data: undefined, error, loading: false }),
    );
    return () => ctrl.abort();
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export type Permission =
  | 'spec:read' | 'spec:write' | 'feed:read' | 'feed:register' | 'program:call' | 'program:ack' | 'grants:manage' | 'safety:write'
  | 'doc:read:public' | 'doc:read:internal' | 'doc:read:confidential' | 'doc:read:secret'
  | 'doc:write:public' | 'doc:write:internal' | 'doc:write:confidential' | 'doc:write:secret';

/** What the ledger says about the signed-in user's organization and a permission on a twin. */
export function usePermission(twinId: string, permission: Permission): { allowed: boolean; reason: string } | undefined {
  const session = useSession();
  const { data } = useLoad(
    (signal) => call('acl', 'post', '/authorize', { body: { twinId, permission, mspId: session.mspId }, signal }).then((r) => ({ allowed: r.allowed, reason: r.reason })),
    [twinId, permission, session.mspId],
  );
  return data;
}
