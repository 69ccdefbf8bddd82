import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { onSignedOut, send, setCsrfToken, setToken, signOutOfSession } from './client';
import { ErrorNotice } from './components/ErrorNotice';
import { Notifications } from './components/Notifications';
import { CreateTwin } from './pages/CreateTwin';
import { SignIn } from './pages/SignIn';
import { TwinList } from './pages/TwinList';
import { TwinView } from './pages/TwinView';
import { SessionContext, tokenStore, type ConsoleConfig, type Session } from './session';
import './styles.css';

function useHashRoute(): string {
  const [hash, setHash] = useState(() => window.location.hash.slice(1) || '/');
  useEffect(() => {
    const on = (): void => setHash(window.location.hash.slice(1) || '/');
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

/** Who the bearer token (dev sign-in) or, without one, the console's session cookie belongs to. */
async function verify(token: string | null): Promise<Session> {
  setToken(token ?? undefined);
  // The console's own route (/api/console/session), outside the services' typed paths.
  const principal = (await (await send('console', 'get', '/session')).json()) as Omit<Session, 'token'>;
  setCsrfToken(principal.csrfToken ?? undefined);
  return { token, ...principal };
}

function App() {
  const route = useHashRoute();
  const [config, setConfig] = useState<ConsoleConfig>();
  const [configError, setConfigError] = useState<unknown>();
  const [session, setSession] = useState<Session>();
  const [restoring, setRestoring] = useState(true);

  useEffect(() => {
    send('console', 'get', '/config').then((r) => r.json().then(setConfig), setConfigError);
    onSignedOut(() => {
      tokenStore.clear();
      setToken(undefined);
      setCsrfToken(undefined);
      setSession(undefined);
    });
    // A dev token of this tab, else the identity-provider session cookie (if any).
    const saved = tokenStore.load();
    verify(saved ?? null)
      .then(setSession, () => {
        tokenStore.clear();
        setToken(undefined);
      })
      .finally(() => setRestoring(false));
  }, []);

  useEffect(() => {
    document.title = `${route.startsWith('/twins/') ? 'Twin' : !session ? 'Sign in' : route === '/new' ? 'Create a twin' : 'Twins'} · TwinLedger console${config ? ` · ${config.orgName}` : ''}`;
  }, [route, session, config]);

  const signIn = async (token: string): Promise<void> => {
    const s = await verify(token);
    tokenStore.save(token);
    setSession(s);
  };
  const [signOutError, setSignOutError] = useState<unknown>();
  const signOut = (): void => {
    if (session?.token === null) {
      // Signed in through the identity provider: the console drops the session, then the
      // provider signs the user out and sends the browser back here.
      signOutOfSession().then((to) => window.location.assign(to), setSignOutError);
      return;
    }
    tokenStore.clear();
    setToken(undefined);
    setSession(undefined);
    window.location.hash = '/';
  };

  if (restoring) return <p role="status">Loading…</p>;
  return (
    <>
      <header className="top">
        <a href="#/" className="brand">
          TwinLedger console
        </a>
        <span className="org">{config?.orgName ?? ''}</span>
        {session ? (
          <>
            <Notifications />
            <span className="who">
              {session.subject} · {session.mspId}
              {session.fabricIdentity ? ` · ${session.fabricIdentity}` : ''}
            </span>
            <button type="button" onClick={signOut}>
              Sign out
            </button>
          </>
        ) : null}
      </header>
      <main id="main">
        <ErrorNotice error={configError} action="load the console configuration" />
        <ErrorNotice error={signOutError} action="sign out" />
        {!session ? (
          <SignIn config={config} onToken={signIn} />
        ) : (
          <SessionContext.Provider value={session}>
            {route.startsWith('/twins/') ? <TwinView key={route.split('/')[2]} twinId={decodeURIComponent(route.split('/')[2] ?? '')} tab={route.split('/')[3]} /> : route === '/new' ? <CreateTwin /> : <TwinList />}
          </SessionContext.Provider>
        )}
      </main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
