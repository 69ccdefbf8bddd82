import { useState } from 'react';
import { send } from '../client';
import { ErrorNotice } from '../components/ErrorNotice';
import type { ConsoleConfig } from '../session';

/**
 * Sign-in through the organization's identity provider (OpenID Connect, handled by the console
 * server at /auth/login). Dev sign-in buttons appear only on consoles that mint tokens (test
 * harnesses, DEV_SIGNIN_KEY_FILE).
 */
export function SignIn({ config, onToken }: { config: ConsoleConfig | undefined; onToken: (token: string) => Promise<void> }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const attempt = async (get: () => Promise<string>): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await onToken(await get());
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  // Set by the console's /auth/callback when the provider's answer was refused (its reason code).
  const refused = new URLSearchParams(window.location.search).get('signin_error');

  return (
    <section aria-labelledby="signin-title" className="signin">
      <h1 id="signin-title">Sign in{config ? ` to ${config.orgName}` : ''}</h1>
      {refused ? (
        <p role="alert" data-code={refused}>
          The last sign-in did not complete ({refused}). Please sign in again.
        </p>
      ) : null}
      {config?.oidc.enabled ? (
        <p>
          <a className="button" href="/auth/login">
            Sign in with your organization account
          </a>
        </p>
      ) : config && !config.devSignIn.enabled ? (
        <p role="alert">This console has no identity provider configured (OIDC_ISSUER); ask its operator.</p>
      ) : null}
      {config?.devSignIn.enabled ? (
        <div className="dev-signin">
          <h2>Test users</h2>
          <p className="muted">This console mints development tokens (DEV_SIGNIN_KEY_FILE is set, for test harnesses). Never enable this in production.</p>
          <ul>
            {config.devSignIn.users.map((u) => (
              <li key={u.name}>
                <button
                  type="button"
                  disabled={busy}
                  onClick={() =>
                    void attempt(async () => {
                      const res = await send('console', 'post', '/dev-token', { body: { user: u.name } });
                      return ((await res.json()) as { token: string }).token;
                    })
                  }
                >
                  Sign in as {u.name}
                </button>{' '}
                <span className="muted">
                  {u.fabricIdentity}
                  {u.roles.length ? ` · ${u.roles.join(', ')}` : ''}
                </span>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <ErrorNotice error={error} action="sign in" />
    </section>
  );
}
