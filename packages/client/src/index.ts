/**
 * `laissez/client`: the browser side of the laissez auth server, with no dependencies.
 *
 * - `login`, `register`, `logout`, `logoutAll`, `me`, and `fetch`, which attaches the access token,
 *   refreshes it once when it has expired or a request comes back 401, and retries once.
 * - One refresh in flight: concurrent failures share one `POST /auth/refresh`; across the tabs of
 *   an origin (cookie mode) a Web Lock serialises refreshes and a BroadcastChannel hands the new
 *   token to the other tabs, so they do not refresh again (tabs.ts).
 * - The access token lives in memory only; the refresh token in the server's HttpOnly cookie
 *   (cookie mode), else in a private field for the life of the page: never in storage. Only the
 *   device token of the log-in lock-out, a key to this browser's budget of failed log-ins and no
 *   credential, is kept in localStorage (device.ts; docs/client.md, "The device token").
 * - A `sessionend` event when the session ends: log-out (here or in another tab), log-out
 *   everywhere, or a refused refresh (revoked, expired, reused).
 *
 * Written against the web platform, so it also runs in Node 24, Deno and Bun. This file is the
 * client and its session; the other modules of src/client are listed in docs/client.md.
 *
 * @example
 * import { createClient } from 'laissez/client';
 * const auth = createClient();              // the auth server is this page's origin
 * await auth.restore();                     // cookie mode: resume the session after a reload
 * await auth.login({ username: 'odin', password });
 * const res = await auth.fetch('/api/notes'); // Bearer attached, refreshed when needed
 * auth.addEventListener('sessionend', (e) => showLogin(e.reason));
 */

import { asksForNonce, stepUpOf } from './challenge.ts';
import { DeviceTokens } from './device.ts';
import { type AuthError, errorOf, readJson, throwFor } from './errors.ts';
import {
  ClientEvents,
  SessionEndEvent,
  type SessionEndReason,
  type TokenChangeCause,
  TokenChangeEvent,
} from './events.ts';
import { type Credentials, type Prepared, prepare, type Registration, type User } from './http.ts';
import { type ClientOptions, resolveClientOptions, type Settings } from './options.ts';
import { Requests } from './requests.ts';
import { nextTask, openChannel, type TabMessage, withLock } from './tabs.ts';
import {
  type AccessToken,
  accessTokenOf,
  freshToken,
  refreshDelay,
  sessionIdOf,
  type TokenResponse,
} from './tokens.ts';
import { createCredential, getAssertion } from './webauthn.ts';

export type { StepUpChallenge } from './challenge.ts';
export { AuthError, type Factor, MfaRequiredError } from './errors.ts';
export {
  type ClientEventMap,
  SessionEndEvent,
  type SessionEndReason,
  type TokenChangeCause,
  TokenChangeEvent,
} from './events.ts';
export type { Credentials, Registration, User } from './http.ts';
export type { ClientOptions, DeviceTokenStorage, RefreshTokenStorage } from './options.ts';
export type { AccessToken, TokenScheme } from './tokens.ts';
export {
  createCredential,
  fromBase64url,
  getAssertion,
  toBase64url,
} from './webauthn.ts';

/** The log-in's second step (`verifySecondFactor`): the `mfaToken` and one proof. */
export type SecondFactor =
  | { mfaToken: string; code: string }
  | { mfaToken: string; recoveryCode: string }
  | { mfaToken: string; passkey: true; signal?: AbortSignal };

/** A passkey as `GET /auth/passkeys` lists it. */
export interface PasskeySummary {
  id: string;
  name: string;
  transports: string[];
  backed_up: boolean;
  created_at: string;
  last_used_at: string | null;
}

export class LaissezClient extends ClientEvents {
  readonly #o: Settings;
  readonly #devices: DeviceTokens;
  /** The requests, with DPoP proofs and nonces when on, and the step-up hook. */
  readonly #requests: Requests;

  #access: AccessToken | null = null;
  /** Memory mode only. */
  #refreshToken: string | null = null;
  /** Where the refresh token turned out to be (auto), or was said to be. */
  #mode: 'cookie' | 'memory' | null;
  /** A session is held: the client may refresh. */
  #session = false;
  /** Bumped whenever the session changes hands (log-in, end): late refresh results are dropped. */
  #epoch = 0;
  #refreshing: Promise<AccessToken | null> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #channel: InstanceType<typeof BroadcastChannel> | null = null;
  /** The `sid` claims (refresh token families) of sessions that ended: never adopted again. */
  readonly #endedSessions = new Set<string>();
  #closed = false;

  constructor(options: ClientOptions = {}) {
    super();
    this.#o = resolveClientOptions(options);
    this.#devices = new DeviceTokens(this.#o.deviceToken, this.#o.base);
    this.#requests = new Requests(this.#o);
    this.#mode = this.#o.refreshToken === 'auto' ? null : this.#o.refreshToken;
    if (this.#o.crossTab && this.#mode !== 'memory') this.#openChannel();
  }

  /** The current access token, or null. Kept in memory only. */
  get accessToken(): AccessToken | null {
    return this.#access;
  }

  /** Whether a session is held (an access token, or the means to get one). */
  get authenticated(): boolean {
    return this.#session;
  }

  /**
   * With `dpop`: the RFC 7638 thumbprint of this client's key (the `jkt` that bound tokens carry
   * in `cnf`) and where the key is kept; null without DPoP. Loads or makes the key on first use.
   */
  async dpopKey(): Promise<{ jkt: string; storage: 'indexeddb' | 'memory' } | null> {
    const key = await this.#requests.dpop?.key();
    return key === undefined ? null : { jkt: key.jkt, storage: key.storage };
  }

  /** Where the refresh token is kept, once known. */
  get storage(): 'cookie' | 'memory' | null {
    return this.#mode;
  }

  /**
   * `POST /auth/register`. Does not log in. Resolves the new user, or null from a server that
   * verifies emails (`--verify-email`): it answers 202 alike for new and taken addresses, and the
   * mailbox tells the rest.
   */
  async register(registration: Registration): Promise<User | null> {
    const response = await this.#auth('auth/register', registration);
    const body = (await readJson(response)) as { user?: User };
    return response.status === 202 ? null : (body.user ?? null);
  }

  /**
   * `POST /auth/login`: holds the new session. Throws `AuthError` (e.g. `invalid_credentials`).
   * Without cookie mode, sends the device token an earlier log-in gave (docs/server.md, "Guessing
   * passwords") and keeps the new one the server answers with.
   */
  async login(credentials: Credentials): Promise<AccessToken> {
    // In cookie mode the server reads the device token from its HttpOnly cookie, and one in the
    // body would be read instead: sent only while the server may be without cookie mode.
    const device = this.#mode === 'cookie' ? undefined : this.#devices.get();
    const response = await this.#auth(
      'auth/login',
      device === undefined ? credentials : { ...credentials, device_token: device },
      true,
      true,
    );
    return this.#loggedIn(response);
  }

  /** The session a log-in's answer gives (password, second step, passkey). */
  async #loggedIn(response: Response): Promise<AccessToken> {
    const body = (await readJson(response)) as TokenResponse;
    // Each successful log-in gives a fresh token; a server in cookie mode gives none in the body
    // (its cookie holds it), and one kept from before would only shadow the cookie.
    const mode =
      this.#o.refreshToken === 'auto' ? (body.refresh_token ? 'memory' : 'cookie') : this.#mode;
    if (typeof body.device_token === 'string') this.#devices.set(body.device_token);
    else if (mode === 'cookie') this.#devices.delete();
    return this.#begin(body, 'login');
  }

  /**
   * `POST /auth/mfa/verify`: the log-in's second step, after `login` (or `signInWithLink`) threw
   * `MfaRequiredError`: its `mfaToken` with a TOTP `code`, a `recoveryCode`, or `passkey: true`
   * (asks `/auth/mfa/passkey/options` and the browser's WebAuthn for an assertion). Holds the new
   * session, as `login` does. Throws `AuthError`: a wrong code keeps the `mfaToken` good for
   * another try; `invalid_grant` means it is spent or expired (log in again).
   */
  async verifySecondFactor(step: SecondFactor): Promise<AccessToken> {
    const mfaToken = step.mfaToken;
    let proof: Record<string, unknown>;
    if ('passkey' in step && step.passkey === true) {
      const options = await this.#auth('auth/mfa/passkey/options', { mfa_token: mfaToken });
      const json = (await options.json()) as Record<string, unknown>;
      proof = { credential: await getAssertion(json, step.signal) };
    } else if ('recoveryCode' in step && typeof step.recoveryCode === 'string') {
      proof = { recovery_code: step.recoveryCode.trim() };
    } else if ('code' in step && typeof step.code === 'string') {
      proof = { code: step.code.replace(/\s+/g, '') };
    } else {
      throw new TypeError('verifySecondFactor needs a code, a recoveryCode or passkey: true');
    }
    const response = await this.#auth(
      'auth/mfa/verify',
      { mfa_token: mfaToken, ...proof },
      false,
      true,
    );
    return this.#loggedIn(response);
  }

  /**
   * Passwordless log-in with a passkey (a discoverable credential): `POST
   * /auth/passkeys/login/options`, the browser's WebAuthn, `POST /auth/passkeys/login`. Holds the
   * new session, as `login` does. Throws `AuthError` when the server refuses the assertion, and
   * the browser's DOMException (`NotAllowedError`) when the user cancels.
   */
  async loginWithPasskey(options: { signal?: AbortSignal } = {}): Promise<AccessToken> {
    const asked = await this.#auth('auth/passkeys/login/options', {});
    const json = (await asked.json()) as Record<string, unknown>;
    const credential = await getAssertion(json, options.signal);
    const response = await this.#auth('auth/passkeys/login', { credential }, false, true);
    return this.#loggedIn(response);
  }

  /**
   * Registers a passkey for the signed-in user: `POST /auth/passkeys/register/options`, the
   * browser's WebAuthn (`navigator.credentials.create`), `POST /auth/passkeys/register`. Resolves
   * the passkey as the server lists it. Throws `AuthError` (e.g. a passkey already registered).
   */
  async addPasskey(options: { name?: string; signal?: AbortSignal } = {}): Promise<PasskeySummary> {
    const asked = await this.fetch(new URL('auth/passkeys/register/options', this.#o.base), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const json = (await readJson(asked)) as Record<string, unknown>;
    const credential = await createCredential(json, options.signal);
    const name = options.name?.trim();
    const response = await this.fetch(new URL('auth/passkeys/register', this.#o.base), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(name ? { credential, name } : { credential }),
    });
    return ((await readJson(response)) as { passkey: PasskeySummary }).passkey;
  }

  /**
   * `POST /auth/sign-in-link/confirm` with the token of a sign-in link (servers started with
   * `--sign-in-links`; the link's page reads it from the URL's fragment): holds the new session,
   * as `login` does. Throws `AuthError` for a spent, expired or unknown link.
   */
  async signInWithLink(token: string): Promise<AccessToken> {
    const response = await this.#auth('auth/sign-in-link/confirm', { token }, true, true);
    return this.#begin((await readJson(response)) as TokenResponse, 'login');
  }

  /** A new session from a token response (log-in, sign-in link). */
  #begin(body: TokenResponse, cause: TokenChangeCause): AccessToken {
    this.#epoch++;
    this.#refreshing = null;
    if (this.#o.refreshToken === 'auto') this.#mode = body.refresh_token ? 'memory' : 'cookie';
    if (this.#mode === 'memory') {
      this.#closeChannel();
      if (!body.refresh_token) {
        throw new TypeError(
          'refreshToken is "memory" but the server sent no refresh_token (is it in cookie mode?)',
        );
      }
    } else if (this.#o.crossTab) {
      this.#openChannel();
    }
    return this.#accept(body, cause);
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
      if (this.#session && this.#access) return this.#access; // another tab shared one
      const response = await this.#auth('auth/refresh', undefined, false, true);
      if (response.status === 429 || response.status >= 500) throw await errorOf(response);
      if (!response.ok) {
        await response.body?.cancel();
        return null; // no cookie, or a spent one: there is no session to resume
      }
      const body = (await response.json()) as TokenResponse;
      if (epoch !== this.#epoch) return null;
      this.#mode = 'cookie';
      return this.#accept(body, 'restore');
    });
    return token !== null;
  }

  /**
   * Exchanges the refresh token for a new pair now. Concurrent calls share one request. Resolves
   * the new access token, or null when the session has ended (a `sessionend` event says why).
   */
  async refresh(): Promise<string | null> {
    return (await this.#refreshShared())?.token ?? null;
  }

  #refreshShared(): Promise<AccessToken | null> {
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
   * server refuses a token in both the header and the cookie). With `dpop`, each carries a proof
   * and is sent once more when the server asks for a new nonce. A step-up challenge (RFC 9470)
   * goes to `onStepUp`, and the request is sent once more after it.
   */
  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const prepared = prepare(input, init, this.#o.base);
    if (!this.#o.tokenOrigins.has(new URL(prepared.request.url).origin)) {
      return this.#o.fetch(prepared.request);
    }
    const access = await this.#usableToken();
    const first = await this.#send(prepared, access);
    if (first.status !== 401 || !this.#session) return first;
    const challenge = stepUpOf(first);
    if (challenge !== undefined) {
      // RFC 9470 §3: the token is good, the log-in behind it not strong or recent enough; a
      // refresh would not change that (it keeps amr and auth_time), a new authentication does.
      if (access === null || !(await this.#requests.stepUp(challenge))) return first;
      await first.body?.cancel();
      return this.#send(prepared, await this.#usableToken());
    }
    // Still asking for a nonce after the retry with one: the token is not the trouble.
    if (this.#requests.dpop !== null && (await asksForNonce(first))) return first;
    const fresh = await this.#refreshAfter(access);
    if (fresh === null) return first;
    await first.body?.cancel();
    return this.#send(prepared, fresh);
  }

  /** `GET /auth/me` through `fetch`. Throws `AuthError` when refused. */
  async me(): Promise<User> {
    const response = await this.fetch(new URL('auth/me', this.#o.base));
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
    const response = await this.fetch(new URL('auth/logout-all', this.#o.base), { method: 'POST' });
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
    const access = accessTokenOf(body, this.#o.now());
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
        scheme: access.scheme,
      });
    }
    return access;
  }

  /** A token to send: the current one, or a refreshed one when it has (nearly) expired. */
  async #usableToken(): Promise<AccessToken | null> {
    if (freshToken(this.#access, this.#o.now()) !== undefined) return this.#access;
    if (!this.#session) return null;
    return this.#refreshAfter(this.#access);
  }

  /** After `failed` was refused or expired: a newer token if one came meanwhile, else refresh. */
  #refreshAfter(failed: AccessToken | null): Promise<AccessToken | null> {
    const fresh = freshToken(this.#access, this.#o.now());
    return fresh !== undefined && fresh !== failed?.token
      ? Promise.resolve(this.#access)
      : this.#refreshShared();
  }

  async #refresh(): Promise<AccessToken | null> {
    const epoch = this.#epoch;
    const stale = this.#access?.token ?? null;
    return this.#exclusive(async () => {
      if (epoch !== this.#epoch || !this.#session) return null;
      // While this tab waited for the lock, another may have refreshed and shared its token.
      // Its message may trail the lock by a task: give it that task before spending the cookie.
      if (this.#mode === 'cookie' && this.#o.crossTab) await nextTask();
      const fresh = freshToken(this.#access, this.#o.now());
      if (fresh !== undefined && fresh !== stale) return this.#access;
      const refreshToken = this.#refreshToken;
      const body =
        this.#mode === 'memory' && refreshToken ? { refresh_token: refreshToken } : undefined;
      const response = await this.#auth('auth/refresh', body, false, true);
      if (epoch !== this.#epoch) {
        await response.body?.cancel();
        return null;
      }
      if (response.ok) {
        return this.#accept((await response.json()) as TokenResponse, 'refresh');
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
    if (!this.#o.autoRefresh || this.#closed || !access) return;
    const timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.refresh().catch(() => {
          // A transient failure (network, 5xx): the next request retries.
        });
      },
      refreshDelay(access, this.#o.now()),
    );
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
    if (this.#mode === 'memory' || !this.#o.crossTab) return task();
    return withLock(`${this.#o.channelName}:refresh`, task);
  }

  #openChannel(): void {
    if (this.#channel || this.#closed) return;
    this.#channel = openChannel(this.#o.channelName, (message) => this.#receive(message));
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
        scheme: message.scheme === 'DPoP' ? 'DPoP' : 'Bearer',
      };
      this.#schedule();
      this.dispatchEvent(new TokenChangeEvent(this.#access, 'other-tab'));
    } else if (message.type === 'end') {
      this.#end(message.reason, undefined, true, message.sid ?? undefined);
    }
  }

  // ---- HTTP ----

  #send(prepared: Prepared, access: AccessToken | null): Promise<Response> {
    return this.#requests.send(prepared, access);
  }

  /** A POST to the auth server (with a DPoP proof when `prove`); see Requests.auth. */
  #auth(path: string, body: object | undefined, check = true, prove = false): Promise<Response> {
    return this.#requests.auth(path, body, check, prove);
  }
}

/** A client for the auth server at `options.baseUrl` (default: the page's origin). */
export function createClient(options?: ClientOptions): LaissezClient {
  return new LaissezClient(options);
}
