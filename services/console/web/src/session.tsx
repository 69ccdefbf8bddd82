import { createContext, useContext } from 'react';

export interface Session {
  readonly token: string;
  readonly subject: string;
  readonly mspId: string;
  readonly fabricIdentity: string | null;
  readonly roles: readonly string[];
}

export interface ConsoleConfig {
  readonly orgName: string;
  readonly mspId: string | null;
  readonly devSignIn: { enabled: boolean; users: { name: string; fabricIdentity: string; roles: string[] }[] };
  readonly upstreams: Record<string, boolean>;
}

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in view');
  return s;
}

// Per tab, gone when the tab closes: a bearer token is as good as a password while it lives.
const KEY = 'twinledger.console.token';
export const tokenStore = {
  load: (): string | undefined => sessionStorage.getItem(KEY) ?? undefined,
  save: (t: string): void => sessionStorage.setItem(KEY, t),
  clear: (): void => sessionStorage.removeItem(KEY),
};
