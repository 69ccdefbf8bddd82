import { useState, type FormEvent } from 'react';
import { send } from '../client';
import { ErrorNotice } from '../components/ErrorNotice';
import type { ConsoleConfig } from '../session';

/** Sign-in with a bearer token from the organization's issuer, or (local network only) as a dev user. */
export function SignIn({ config, onToken }: { config: ConsoleConfig | undefined; onToken: (token: string) => Promise<void> }) {
  const [token, setTokenText] = useState('');
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
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    void attempt(async () => token.trim());
  };

  return (
    <section aria-labelledby="signin-title" className="signin">
      <h1 id="signin-title">Sign in{config ? ` to ${config.orgName}` : ''}</h1>
      <form onSubmit={submit}>
        <label htmlFor="token">Access token (JWT issued by your organization)</label>
        <textarea id="token" name="token" rows={4} value={token} onChange={(e) => setTokenText(e.target.value)} required autoComplete="off" spellCheck={false} />
        <button type="submit" disabled={busy || token.trim().length === 0}>
          Sign in with token
        </button>
      </form>
      {config?.devSignIn.enabled ? (
        <div className="dev-signin">
          <h2>Local network users</h2>
          <p className="muted">This console mints development tokens (DEV_SIGNIN_KEY_FILE is set). Never enable this in production.</p>
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
