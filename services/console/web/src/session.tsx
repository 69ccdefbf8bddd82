import { createContext, useContext } from 'react';

export interface Session {
  /** The bearer token of a dev sign-in; null for an identity-provider session (the token stays server-side). */
  readonly token: string | null;
  readonly subject: string;
  readonly mspId: string;
  readonly fabricIdentity: string | null;
  readonly roles: readonly string[];
  /** The cookie session's CSRF token (null with a bearer token). */
  readonly csrfToken: string | null;
  readonly accessTokenExpiresAt: string | null;
}

export interface ConsoleConfig {
  readonly orgName: string;
  readonly mspId: string | null;
  readonly oidc: { enabled: boolean };
  readonly devSignIn: { enabled: boolean; users: { name: string; fabricIdentity: string; roles: string[] }[] };
  readonly upstreams: Record<string, boolean>;
}

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in view');
  return s;
}

// Dev sign-in only (test harnesses): per tab, gone when the tab closes; a bearer token is as
// good as a password while it lives. Identity-provider sign-in keeps no token in the browser.
const KEY = 'twinledger.console.token';
export const tokenStore = {
  load: (): string | undefined => sessionStorage.getItem(KEY) ?? undefined,
  save: (t: string): void => sessionStorage.setItem(KEY, t),
  clear: (): void => sessionStorage.removeItem(KEY),
};
