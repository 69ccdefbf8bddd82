// A scripted browser for the sign-in flow without Chromium: a cookie jar per origin, redirects
// followed by hand, everything over real HTTP except, when given, one origin answered in-process
// (the console's app.inject). Tests use it to replay, swap and tamper with what a browser carries.
import { parseSetCookie } from 'cookie';

/** An in-process server for one origin (e.g. Fastify's inject), answering like fetch would. */
export type InjectFn = (req: { method: string; url: string; headers: Record<string, string>; payload?: string }) => Promise<{ statusCode: number; headers: Record<string, string | string[] | number | undefined>; body: string }>;

export interface Hop {
  readonly status: number;
  readonly location: string | undefined;
  readonly body: string;
  readonly url: string;
}

export class ScriptedBrowser {
  /** Cookies by origin, then by name. */
  readonly jars = new Map<string, Map<string, string>>();

  constructor(
    /** The origin the console is registered under at the provider (its redirect URL's origin). */
    readonly consoleOrigin: string,
    /** Answers the console's origin in-process; without it the console is reached over HTTP. */
    private readonly inject?: InjectFn,
  ) {}

  private jar(origin: string): Map<string, string> {
    let j = this.jars.get(origin);
    if (!j) this.jars.set(origin, (j = new Map()));
    return j;
  }

  cookieHeader(origin: string): string {
    return [...this.jar(origin)].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  setCookie(origin: string, name: string, value: string): void {
    this.jar(origin).set(name, value);
  }

  cookie(origin: string, name: string): string | undefined {
    return this.jar(origin).get(name);
  }

  private store(origin: string, setCookies: readonly string[]): void {
    for (const line of setCookies) {
      const c = parseSetCookie(line);
      if (!c.value || c.maxAge === 0 || (c.expires && c.expires.getTime() < Date.now())) this.jar(origin).delete(c.name);
      else this.jar(origin).set(c.name, c.value);
    }
  }

  /** One request, no redirect followed. */
  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Hop> {
    const u = new URL(url);
    const method = init.method ?? (init.form ? 'POST' : 'GET');
    const body = init.form ? new URLSearchParams(init.form).toString() : undefined;
    const headers: Record<string, string> = { ...(init.headers ?? {}), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) };
    const cookie = this.cookieHeader(u.origin);
    if (cookie) headers['cookie'] = cookie;
    if (this.inject && u.origin === this.consoleOrigin) {
      const res = await this.inject({ method, url: `${u.pathname}${u.search}`, headers, ...(body ? { payload: body } : {}) });
      const sc = res.headers['set-cookie'];
      this.store(u.origin, sc === undefined ? [] : Array.isArray(sc) ? sc : [String(sc)]);
      const loc = res.headers['location'];
      return { status: res.statusCode, location: typeof loc === 'string' ? new URL(loc, u).toString() : undefined, body: res.body, url };
    }
    const res = await fetch(u, { method, headers, redirect: 'manual', ...(body ? { body } : {}) });
    this.store(u.origin, res.headers.getSetCookie());
    const loc = res.headers.get('location');
    return { status: res.status, location: loc ? new URL(loc, u).toString() : undefined, body: await res.text(), url };
  }

  /**
   * Follows redirects from `url` until an answer that is not a redirect, or until `stopAt`
   * says to stop at a hop (e.g. before the callback reaches the console).
   */
  async follow(url: string, init: Parameters<ScriptedBrowser['request']>[1] = {}, stopAt?: (location: string) => boolean): Promise<Hop> {
    let hop = await this.request(url, init);
    for (let i = 0; i < 20 && hop.status >= 300 && hop.status < 400 && hop.location; i++) {
      if (stopAt?.(hop.location)) return hop;
      hop = await this.request(hop.location);
    }
    return hop;
  }

  /** From /auth/login to the provider's login form; the form's action URL. */
  async openLoginForm(): Promise<string> {
    const form = await this.follow(`${this.consoleOrigin}/auth/login`);
    const action = /action="([^"]+)"/.exec(form.body)?.[1];
    if (form.status !== 200 || !action) throw new Error(`no login form: ${form.status} ${form.body.slice(0, 200)}`);
    return new URL(action.replace(/&amp;/g, '&'), form.url).toString();
  }

  /** Submits the login form and follows the provider's redirects up to (not into) the console's callback. */
  async submitLogin(action: string, username: string, password: string): Promise<Hop> {
    return this.follow(action, { form: { username, password } }, (loc) => loc.startsWith(`${this.consoleOrigin}/auth/callback`));
  }

  /**
   * The whole sign-in; returns the console's final answer (302 to / when it worked). A browser
   * still signed in at the provider goes straight back (single sign-on), without the form.
   */
  async signIn(username: string, password: string): Promise<Hop> {
    const toCallback = (loc: string): boolean => loc.startsWith(`${this.consoleOrigin}/auth/callback`);
    let hop = await this.follow(`${this.consoleOrigin}/auth/login`, {}, toCallback);
    if (!hop.location || !toCallback(hop.location)) {
      const action = /action="([^"]+)"/.exec(hop.body)?.[1];
      if (hop.status !== 200 || !action) throw new Error(`no login form: ${hop.status} ${hop.body.slice(0, 200)}`);
      hop = await this.submitLogin(new URL(action.replace(/&amp;/g, '&'), hop.url).toString(), username, password);
    }
    if (!hop.location || !toCallback(hop.location)) throw new Error(`no callback: ${hop.status} ${hop.body.slice(0, 300)}`);
    return this.request(hop.location);
  }
}
