/**
 * `laissez/client`: the browser side of the laissez auth server, with no dependencies.
 *
 * - `login`, `register`, `logout`, `logoutAll`, `me`, and `fetch`, which attaches the access token,
 *   refreshes it once when it has expired or a request comes back 401, and retries once.
 * - One refresh in flight: concurrent failures share one `POST /auth/refresh`; across the tabs of
 *   an origin (cookie mode) a Web Lock serialises refreshes and a BroadcastChannel hands the new
 *   token to the other tabs, so they do not refresh again.
 * - The access token lives in memory only. The refresh token lives in the server's HttpOnly cookie
 *   (cookie mode), out of reach of scripts; without cookie mode, in a private field of this object
 *   for the life of the page. Never in localStorage or sessionStorage.
 * - A `sessionend` event when the session ends: log-out (here or in another tab), log-out
 *   everywhere, or a refused refresh (revoked, expired, reused).
 *
 * Written against the web platform (fetch, EventTarget, BroadcastChannel, navigator.locks), so it
 * also runs in Node 24, Deno and Bun, where the tests run it against a real server.
 *
 * @example
 * import { createClient } from 'laissez/client';
 * const auth = createClient();              // the auth server is this page's origin
 * await auth.restore();                     // cookie mode: resume the session after a reload
 * await auth.login({ username: 'odin', password });
 * const res = await auth.fetch('/api/notes'); // Bearer attached, refreshed when needed
 * auth.addEventListener('sessionend', (e) => showLogin(e.reason));
 */

// The one import: a file with no imports of its own (no node:), served to the page beside this one.
import { checkOptions, optionNames } from '../jwt/lib/options.ts';

/** A user as the server shows it. */
export interface User {
  id: string;
  username: string;
  email: string;
  roles: string[];
  created_at: string;
}

/** Log in with a username or an email, and the password. */
export type Credentials =
  | { username: string; email?: undefined; password: string }
  | { email: string; username?: undefined; password: string };

export interface Registration {
  username: string;
  email: string;
  password: string;
}

/** The access token and when this client considers it expired (ms since the epoch, local clock). */
export interface AccessToken {
  readonly token: string;
  readonly expiresAt: number;
  /** Seconds the server gave it (`expires_in`). */
  readonly lifetime: number;
}

/**
 * Where the refresh token is kept. `cookie`: the server's HttpOnly cookie (run the server with
 * `--cookies on`); sessions survive reloads and are shared by tabs. `memory`: the token response's
 * `refresh_token`, held privately by this object; a reload ends the session. `auto` (default):
 * `cookie` unless the log-in response carries a `refresh_token`.
 */
export type RefreshTokenStorage = 'auto' | 'cookie' | 'memory';

export interface ClientOptions {
  /** The auth server's origin (and path prefix, if mounted under one). Default: the page's origin. */
  baseUrl?: string | URL;
  /** Default `auto`. */
  refreshToken?: RefreshTokenStorage;
  /**
   * Origins that `fetch` sends the access token to. Default: the auth server's origin only; list
   * your API's origin here if it is elsewhere. Any other URL is fetched without the token.
   */
  tokenOrigins?: string[];
  /** Refresh shortly before the access token expires, while a session is active. Default true. */
  autoRefresh?: boolean;
  /** Cookie mode: coordinate refreshes and log-outs with other tabs. Default true. */
  crossTab?: boolean;
  /** Name of the cross-tab lock and channel. Default `laissez:<auth server origin>`. */
  channelName?: string;
  /** The fetch implementation. Default `globalThis.fetch`. */
  fetch?: (request: Request) => Promise<Response>;
  /** The clock in ms (tests). Default `Date.now`. */
  now?: () => number;
}

const OPTION_NAMES = optionNames<ClientOptions>({
  baseUrl: true,
  refreshToken: true,
  tokenOrigins: true,
  autoRefresh: true,
  crossTab: true,
  channelName: true,
  fetch: true,
  now: true,
});

/** An error answer from the auth server: `code` is its `error`, `description` its explanation. */
export class AuthError extends Error {
  readonly status: number;
  readonly code: string;
  readonly description: string;
  constructor(status: number, code: string, description: string) {
    super(`${code}: ${description}`);
    this.name = 'AuthError';
    this.status = status;
    this.code = code;
    this.description = description;
  }
}

export type SessionEndReason = 'logout' | 'logout-all' | 'refresh-failed';

/** Fired as `sessionend` when a session this client held is over. */
export class SessionEndEvent extends Event {
  readonly reason: SessionEndReason;
  /** The session ended in another tab (cookie mode). */
  readonly fromOtherTab: boolean;
  /** For `refresh-failed`: the server's refusal. */
  readonly error: AuthError | undefined;
  constructor(reason: SessionEndReason, fromOtherTab: boolean, error?: AuthError) {
    super('sessionend');
    this.reason = reason;
    this.fromOtherTab = fromOtherTab;
    this.error = error;
  }
}

export type TokenChangeCause = 'login' | 'refresh' | 'restore' | 'other-tab' | 'end';

/** Fired as `tokenchange` whenever the access token changes (or is dropped: `token` null). */
export class TokenChangeEvent extends Event {
  readonly token: AccessToken | null;
  readonly cause: TokenChangeCause;
  constructor(token: AccessToken | null, cause: TokenChangeCause) {
    super('tokenchange');
    this.token = token;
    this.cause = cause;
  }
}

export interface ClientEventMap {
  sessionend: SessionEndEvent;
  tokenchange: TokenChangeEvent;
}

type Listener<E> = ((event: E) => void) | { handleEvent(event: E): void };
type ListenerOptions =
  | boolean
  | { capture?: boolean; once?: boolean; passive?: boolean; signal?: AbortSignal };

interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
  refresh_expires_in?: number;
}

/** What tabs tell each other (cookie mode). Never the refresh token, which no script can read. */
type TabMessage =
  | { type: 'token'; token: string; expiresAt: number; lifetime: number }
  | { type: 'end'; reason: SessionEndReason; sid: string | undefined };

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** A request the client may send again after a refresh. */
interface Prepared {
  request: Request;
  /** `credentials` the caller chose, which wins over the client's default. */
  credentials: RequestCredentials | undefined;
}

type RequestCredentials = 'omit' | 'same-origin' | 'include';

/** Before a request, an access token with less than this left is refreshed first. */
const EXPIRY_SKEW_MS = 1000;

export class LaissezClient extends EventTarget {
  readonly #base: URL;
  readonly #tokenOrigins: Set<string>;
  readonly #storage: RefreshTokenStorage;
  readonly #autoRefresh: boolean;
  readonly #crossTab: boolean;
  readonly #name: string;
  readonly #fetch: (request: Request) => Promise<Response>;
  readonly #now: () => number;

  #access: AccessToken | null = null;
  /** Memory mode only. */
  #refreshToken: string | null = null;
  /** Where the refresh token turned out to be (auto), or was said to be. */
  #mode: 'cookie' | 'memory' | null;
  /** A session is held: the client may refresh. */
  #session = false;
  /** Bumped whenever the session changes hands (log-in, end): late refresh results are dropped. */
  #epoch = 0;
  #refreshing: Promise<string | null> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #channel: InstanceType<typeof BroadcastChannel> | null = null;
  /** The `sid` claims (refresh token families) of sessions that ended: never adopted again. */
  readonly #endedSessions = new Set<string>();
  #closed = false;

  constructor(options: ClientOptions = {}) {
    super();
    if (options === null || typeof options !== 'object') {
      throw new TypeError('createClient: options must be an object');
    }
    // A misspelt option (`tokenOrigin`) would be ignored: here, the token sent to fewer origins
    // than meant, or a refresh-token mode other than the one asked for.
    checkOptions('createClient', options, OPTION_NAMES);
    const page = pageLocation();
    const base = options.baseUrl ?? page?.origin;
    if (base === undefined) throw new TypeError('baseUrl is required outside a browser page');
    this.#base = new URL(String(base));
    if (!this.#base.pathname.endsWith('/')) this.#base.pathname += '/';
    this.#tokenOrigins = new Set(
      (options.tokenOrigins ?? [this.#base.origin]).map((o) => new URL(o).origin),
    );
    this.#storage = options.refreshToken ?? 'auto';
    this.#mode = this.#storage === 'auto' ? null : this.#storage;
    this.#autoRefresh = options.autoRefresh ?? true;
    this.#crossTab = options.crossTab ?? true;
    this.#name = options.channelName ?? `laissez:${this.#base.origin}`;
    const fetchImpl = options.fetch ?? ((request: Request) => globalThis.fetch(request));
    this.#fetch = fetchImpl;
    this.#now = options.now ?? Date.now;
    if (this.#crossTab && this.#mode !== 'memory') this.#openChannel();
  }

  /** The current access token, or null. Kept in memory only. */
  get accessToken(): AccessToken | null {
    return this.#access;
  }

  /** Whether a session is held (an access token, or the means to get one). */
  get authenticated(): boolean {
    return this.#session;
  }

  /** Where the refresh token is kept, once known. */
  get storage(): 'cookie' | 'memory' | null {
    return this.#mode;
  }

  override addEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: Listener<ClientEventMap[K]> | null,
    options?: ListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: Listener<Event> | null,
    options?: ListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: Listener<Event> | null,
    options?: ListenerOptions,
  ): void {
    if (listener) super.addEventListener(type, listener, options);
  }

  override removeEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: Listener<ClientEventMap[K]> | null,
    options?: ListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: Listener<Event> | null,
    options?: ListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: Listener<Event> | null,
    options?: ListenerOptions,
  ): void {
    if (listener) super.removeEventListener(type, listener, options);
  }

  /** `POST /auth/register`. Does not log in. */
  async register(registration: Registration): Promise<User> {
    const response = await this.#auth('auth/register', registration);
    const body = (await readJson(response)) as { user: User };
    return body.user;
  }

  /** `POST /auth/login`: holds the new session. Throws `AuthError` (e.g. `invalid_credentials`). */
  async login(credentials: Credentials): Promise<AccessToken> {
    const response = await this.#auth('auth/login', credentials);
    const body = (await readJson(response)) as TokenResponse;
    this.#epoch++;
    this.#refreshing = null;
    if (this.#storage === 'auto') this.#mode = body.refresh_token ? 'memory' : 'cookie';
    if (this.#mode === 'memory') {
      this.#closeChannel();
      if (!body.refresh_token) {
        throw new TypeError(
          'refreshToken is "memory" but the server sent no refresh_token (is it in cookie mode?)',
        );
      }
    } else if (this.#crossTab) {
      this.#openChannel();
    }
    return this.#accept(body, 'login');
  }

  /**
   * Cookie mode: resume the session the refresh cookie holds (after a reload, in a new tab).
   * Resolves true when a session is held, false when there is none (and fires no `sessionend`).
   * Rejects with an `AuthError` when the server cannot answer now (429, 5xx).
   */
  async restore(): Promise<boolean> {
    if (this.#session) return true;
    if (this.#mode === 'memory') return false;
    const epoch = this.#epoch;
    const token = await this.#exclusive(async () => {
      if (this.#session && this.#access) return this.#access.token; // another tab shared one
      const response = await this.#auth('auth/refresh', undefined, false);
      if (response.status === 429 || response.status >= 500) throw await errorOf(response);
      if (!response.ok) {
        await response.body?.cancel();
        return null; // no cookie, or a spent one: there is no session to resume
      }
      const body = (await response.json()) as TokenResponse;
      if (epoch !== this.#epoch) return null;
      this.#mode = 'cookie';
      return this.#accept(body, 'restore').token;
    });
    return token !== null;
  }

  /**
   * Exchanges the refresh token for a new pair now. Concurrent calls share one request. Resolves
   * the new access token, or null when the session has ended (a `sessionend` event says why).
   */
  refresh(): Promise<string | null> {
    if (!this.#session) return Promise.resolve(null);
    if (this.#refreshing) return this.#refreshing;
    const promise = this.#refresh().finally(() => {
      if (this.#refreshing === promise) this.#refreshing = null;
    });
    this.#refreshing = promise;
    return promise;
  }

  /**
   * `fetch` with the access token: refreshes first when it has expired, and when the answer is
   * 401 refreshes once and sends the request once more. The token goes only to `tokenOrigins`;
   * requests that carry it omit cookies unless `init.credentials` says otherwise (a laissez
   * server refuses a token in both the header and the cookie).
   */
  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const prepared: Prepared = {
      request: new Request(this.#resolve(input), init),
      credentials: init?.credentials as RequestCredentials | undefined,
    };
    if (!this.#tokenOrigins.has(new URL(prepared.request.url).origin)) {
      return this.#fetch(prepared.request);
    }
    const token = await this.#usableToken();
    const first = await this.#send(prepared, token, true);
    if (first.status !== 401 || !this.#session) return first;
    const fresh = await this.#refreshAfter(token);
    if (fresh === null) return first;
    await first.body?.cancel();
    return this.#send(prepared, fresh, false);
  }

  /** `GET /auth/me` through `fetch`. Throws `AuthError` when refused. */
  async me(): Promise<User> {
    const response = await this.fetch(new URL('auth/me', this.#base));
    const body = (await readJson(response)) as { user: User };
    return body.user;
  }

  /** `POST /auth/logout`: revokes this session (idempotent), then fires `sessionend`. */
  async logout(): Promise<void> {
    const refreshToken = this.#refreshToken;
    // In cookie mode the server is asked even without a session here: it clears the cookies.
    const revoke = this.#session || this.#mode !== 'memory';
    this.#end('logout');
    if (!revoke) return;
    const response = await this.#auth(
      'auth/logout',
      refreshToken ? { refresh_token: refreshToken } : undefined,
      false,
    );
    await response.body?.cancel();
    if (!response.ok && response.status !== 401) await throwFor(response);
  }

  /** `POST /auth/logout-all`: revokes every session of the user. Resolves how many. */
  async logoutAll(): Promise<number> {
    const response = await this.fetch(new URL('auth/logout-all', this.#base), { method: 'POST' });
    const body = (await readJson(response)) as { revoked: number };
    if (this.#mode === 'cookie') {
      // The Bearer request above carried no cookies, so clear them with a cookie request.
      const cleared = await this.#auth('auth/logout', undefined, false);
      await cleared.body?.cancel();
    }
    this.#end('logout-all');
    return body.revoked;
  }

  /** Stops timers and leaves the cross-tab channel. The client still works, on its own. */
  close(): void {
    this.#closed = true;
    this.#cancelTimer();
    this.#closeChannel();
  }

  // ---- tokens ----

  #accept(body: TokenResponse, cause: TokenChangeCause): AccessToken {
    if (typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
      throw new TypeError('the server answered without an access token');
    }
    const access: AccessToken = {
      token: body.access_token,
      expiresAt: this.#now() + body.expires_in * 1000,
      lifetime: body.expires_in,
    };
    if (this.#mode === 'memory') {
      if (typeof body.refresh_token === 'string') this.#refreshToken = body.refresh_token;
    }
    this.#session = true;
    this.#access = access;
    this.#schedule();
    this.dispatchEvent(new TokenChangeEvent(access, cause));
    if (this.#mode === 'cookie') {
      this.#post({
        type: 'token',
        token: access.token,
        expiresAt: access.expiresAt,
        lifetime: access.lifetime,
      });
    }
    return access;
  }

  /** A token to send: the current one, or a refreshed one when it has (nearly) expired. */
  async #usableToken(): Promise<string | null> {
    const access = this.#access;
    if (access && this.#now() < access.expiresAt - EXPIRY_SKEW_MS) return access.token;
    if (!this.#session) return null;
    return this.#refreshAfter(access?.token ?? null);
  }

  /** After `failed` was refused or expired: a newer token if one came meanwhile, else refresh. */
  #refreshAfter(failed: string | null): Promise<string | null> {
    const access = this.#access;
    if (access && access.token !== failed && this.#now() < access.expiresAt - EXPIRY_SKEW_MS) {
      return Promise.resolve(access.token);
    }
    return this.refresh();
  }

  async #refresh(): Promise<string | null> {
    const epoch = this.#epoch;
    const stale = this.#access?.token ?? null;
    return this.#exclusive(async () => {
      if (epoch !== this.#epoch || !this.#session) return null;
      // While this tab waited for the lock, another may have refreshed and shared its token.
      // Its message may trail the lock by a task: give it that task before spending the cookie.
      if (this.#mode === 'cookie' && this.#crossTab) await nextTask();
      const current = this.#access;
      if (current && current.token !== stale && this.#now() < current.expiresAt - EXPIRY_SKEW_MS)
        return current.token;
      const refreshToken = this.#refreshToken;
      const body =
        this.#mode === 'memory' && refreshToken ? { refresh_token: refreshToken } : undefined;
      const response = await this.#auth('auth/refresh', body, false);
      if (epoch !== this.#epoch) {
        await response.body?.cancel();
        return null;
      }
      if (response.ok) {
        return this.#accept((await response.json()) as TokenResponse, 'refresh').token;
      }
      const error = await errorOf(response);
      if (response.status >= 400 && response.status < 500 && response.status !== 429) {
        this.#end('refresh-failed', error);
        return null;
      }
      throw error; // 429, 5xx: the session may still be good; try again later
    });
  }

  #end(
    reason: SessionEndReason,
    error?: AuthError,
    fromOtherTab = false,
    sid = sessionIdOf(this.#access?.token),
  ): void {
    const held = this.#session;
    if (sid !== undefined) this.#endedSessions.add(sid);
    this.#epoch++;
    this.#session = false;
    this.#access = null;
    this.#refreshToken = null;
    this.#refreshing = null;
    this.#cancelTimer();
    if (!held) return;
    this.dispatchEvent(new TokenChangeEvent(null, 'end'));
    this.dispatchEvent(new SessionEndEvent(reason, fromOtherTab, error));
    if (!fromOtherTab && this.#mode === 'cookie') this.#post({ type: 'end', reason, sid });
  }

  // ---- automatic refresh ----

  #schedule(): void {
    this.#cancelTimer();
    const access = this.#access;
    if (!this.#autoRefresh || this.#closed || !access) return;
    // A fifth of the lifetime before expiry, between 2 s and 60 s, and at most half of it (so a
    // very short token is not refreshed again and again at once).
    const margin = Math.min(60_000, Math.max(2000, access.lifetime * 200), access.lifetime * 500);
    const delay = Math.max(0, access.expiresAt - margin - this.#now());
    const timer = setTimeout(() => {
      this.#timer = undefined;
      this.refresh().catch(() => {
        // A transient failure (network, 5xx): the next request retries.
      });
    }, delay);
    // In Node, do not keep the process alive for it.
    (timer as { unref?: () => void }).unref?.();
    this.#timer = timer;
  }

  #cancelTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  // ---- other tabs ----

  /** Runs `task` holding the cross-tab refresh lock (cookie mode), or directly. */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const locks = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks;
    if (this.#mode === 'memory' || !this.#crossTab || !locks) return task();
    return locks.request(`${this.#name}:refresh`, task);
  }

  #openChannel(): void {
    if (this.#channel || this.#closed || typeof BroadcastChannel !== 'function') return;
    const channel = new BroadcastChannel(this.#name);
    channel.onmessage = (event: MessageEvent) => this.#receive(event.data as TabMessage);
    (channel as { unref?: () => void }).unref?.();
    this.#channel = channel;
  }

  #closeChannel(): void {
    this.#channel?.close();
    this.#channel = null;
  }

  #post(message: TabMessage): void {
    this.#channel?.postMessage(message);
  }

  #receive(message: TabMessage): void {
    if (this.#mode === 'memory' || !message || typeof message !== 'object') return;
    if (message.type === 'token' && typeof message.token === 'string') {
      if (this.#access?.token === message.token) return;
      // A token of a session that ended here: another tab refreshed it just before the end. The
      // server has revoked its family; adopting it would only bring back a dying session.
      const sid = sessionIdOf(message.token);
      if (sid !== undefined && this.#endedSessions.has(sid)) return;
      if (!this.#session) this.#epoch++;
      this.#mode = 'cookie';
      this.#session = true;
      this.#access = {
        token: message.token,
        expiresAt: message.expiresAt,
        lifetime: message.lifetime,
      };
      this.#schedule();
      this.dispatchEvent(new TokenChangeEvent(this.#access, 'other-tab'));
    } else if (message.type === 'end') {
      this.#end(message.reason, undefined, true, message.sid ?? undefined);
    }
  }

  // ---- HTTP ----

  #resolve(input: string | URL | Request): string | Request {
    if (input instanceof Request) return input;
    return new URL(String(input), pageLocation()?.href ?? this.#base).href;
  }

  /** Sends a prepared request with `token`; keeps the original for a retry when asked. */
  #send(prepared: Prepared, token: string | null, keep: boolean): Promise<Response> {
    const source = keep ? prepared.request.clone() : prepared.request;
    if (token === null) return this.#fetch(source);
    const headers = new Headers(source.headers);
    headers.set('authorization', `Bearer ${token}`);
    return this.#fetch(
      new Request(source, { headers, credentials: prepared.credentials ?? 'omit' }),
    );
  }

  /** A POST to the auth server, with its cookies; throws `AuthError` unless `ok` or `raw`. */
  async #auth(path: string, body: object | undefined, check = true): Promise<Response> {
    const init: RequestInit = { method: 'POST', credentials: 'include' };
    if (body !== undefined) {
      init.headers = { 'content-type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    const response = await this.#fetch(new Request(new URL(path, this.#base), init));
    if (check && !response.ok) await throwFor(response);
    return response;
  }
}

/** A client for the auth server at `options.baseUrl` (default: the page's origin). */
export function createClient(options?: ClientOptions): LaissezClient {
  return new LaissezClient(options);
}

function pageLocation(): { origin: string; href: string } | undefined {
  return (globalThis as { location?: { origin: string; href: string } }).location;
}

/** The `sid` claim of a laissez access token (its refresh token family), if it has one. */
function sessionIdOf(token: string | undefined): string | undefined {
  try {
    const payload = JSON.parse(
      atob(token?.split('.')[1]?.replace(/-/g, '+').replace(/_/g, '/') ?? ''),
    );
    return typeof payload?.sid === 'string' ? payload.sid : undefined;
  } catch {
    return undefined;
  }
}

function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function readJson(response: Response): Promise<unknown> {
  if (!response.ok) await throwFor(response);
  return response.json();
}

async function throwFor(response: Response): Promise<never> {
  throw await errorOf(response);
}

async function errorOf(response: Response): Promise<AuthError> {
  let code = 'http_error';
  let description = `the server answered ${response.status}`;
  try {
    const body = (await response.json()) as { error?: unknown; error_description?: unknown };
    if (typeof body.error === 'string') code = body.error;
    if (typeof body.error_description === 'string') description = body.error_description;
  } catch {
    // Not JSON: keep the status.
  }
  return new AuthError(response.status, code, description);
}
