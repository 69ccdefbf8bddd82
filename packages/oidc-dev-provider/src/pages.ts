// The provider's few HTML pages: no script, no external resource, every value escaped.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

const STYLE = 'body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}label{display:block;margin-top:1rem}input{width:100%;padding:.4rem;font-size:1rem;box-sizing:border-box}button{margin-top:1.2rem;padding:.5rem 1rem;font-size:1rem}.error{color:#a00000}';

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

export function loginPage(uid: string, mspId: string, error: string | undefined): string {
  return page(
    `Sign in · ${mspId}`,
    `<h1>Sign in to ${esc(mspId)}</h1>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}" autocomplete="on">
<label for="username">Username</label><input id="username" name="username" required autofocus autocomplete="username" maxlength="64">
<label for="password">Password</label><input id="password" name="password" type="password" required autocomplete="current-password" maxlength="256">
<button type="submit">Sign in</button>
</form>`,
  );
}

/** `form` is oidc-provider's own hidden form (id op.logoutForm, with its xsrf value). */
export function logoutPage(form: string): string {
  return page('Sign out', `<h1>Sign out?</h1><p>You will be signed out of this organization's identity provider.</p>${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button> <button type="submit" form="op.logoutForm">No, stay signed in</button>`);
}

export function loggedOutPage(): string {
  return page('Signed out', '<h1>Signed out</h1><p>You are signed out of the identity provider.</p>');
}

export function errorPage(error: string, description: string): string {
  return page('Sign-in error', `<h1>Sign-in error</h1><p role="alert">${esc(error)}${description ? `: ${esc(description)}` : ''}</p>`);
}
