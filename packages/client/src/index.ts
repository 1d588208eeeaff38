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
 * client's public face; the session it holds is session.ts, and the other modules of src/client
 * are listed in docs/client.md.
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
import { readJson, throwFor } from './errors.ts';
import { ClientEvents } from './events.ts';
import {
  assertionFor,
  type PasskeySummary,
  registerPasskey,
  type SecondFactor,
  secondFactorBody,
} from './factors.ts';
import { type Credentials, prepare, type Registration, type User } from './http.ts';
import { type ClientOptions, resolveClientOptions, type Settings } from './options.ts';
import { Requests } from './requests.ts';
import { ClientSession } from './session.ts';
import type { AccessToken, TokenResponse } from './tokens.ts';

export type { StepUpChallenge } from './challenge.ts';
export { AuthError, type Factor, MfaRequiredError } from './errors.ts';
export {
  type ClientEventMap,
  SessionEndEvent,
  type SessionEndReason,
  type TokenChangeCause,
  TokenChangeEvent,
} from './events.ts';
export type { PasskeySummary, SecondFactor } from './factors.ts';
export type { Credentials, Registration, User } from './http.ts';
export type { ClientOptions, DeviceTokenStorage, RefreshTokenStorage } from './options.ts';
export type { AccessToken, TokenScheme } from './tokens.ts';
export {
  createCredential,
  fromBase64url,
  getAssertion,
  toBase64url,
} from './webauthn.ts';

export class LaissezClient extends ClientEvents {
  readonly #o: Settings;
  readonly #devices: DeviceTokens;
  /** The requests, with DPoP proofs and nonces when on, and the step-up hook. */
  readonly #requests: Requests;
  /** The tokens, their refresh and the other tabs (session.ts); it fires this client's events. */
  readonly #session: ClientSession;

  constructor(options: ClientOptions = {}) {
    super();
    this.#o = resolveClientOptions(options);
    this.#devices = new DeviceTokens(this.#o.deviceToken, this.#o.base);
    this.#requests = new Requests(this.#o);
    this.#session = new ClientSession(this.#o, this.#requests, this);
  }

  /** The current access token, or null. Kept in memory only. */
  get accessToken(): AccessToken | null {
    return this.#session.access;
  }

  /** Whether a session is held (an access token, or the means to get one). */
  get authenticated(): boolean {
    return this.#session.held;
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
    return this.#session.mode;
  }

  /**
   * `POST /auth/register`. Does not log in. Resolves the new user, or null from a server that
   * verifies emails (`--verify-email`): it answers 202 alike for new and taken addresses, and the
   * mailbox tells the rest.
   */
  async register(registration: Registration): Promise<User | null> {
    const response = await this.#requests.auth('auth/register', registration);
    const body = (await readJson(response)) as { user?: User };
    return response.status === 202 ? null : (body.user ?? null);
  }

  /**
   * `POST /auth/login`: holds the new session. Throws `AuthError` (e.g. `invalid_credentials`).
   * Without cookie mode, sends the device token an earlier log-in gave (docs/security.md, "Guessing
   * passwords") and keeps the new one the server answers with.
   */
  async login(credentials: Credentials): Promise<AccessToken> {
    // In cookie mode the server reads the device token from its HttpOnly cookie, and one in the
    // body would be read instead: sent only while the server may be without cookie mode.
    const device = this.#session.mode === 'cookie' ? undefined : this.#devices.get();
    const response = await this.#requests.auth(
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
      this.#o.refreshToken === 'auto'
        ? body.refresh_token
          ? 'memory'
          : 'cookie'
        : this.#session.mode;
    if (typeof body.device_token === 'string') this.#devices.set(body.device_token);
    else if (mode === 'cookie') this.#devices.delete();
    return this.#session.begin(body, 'login');
  }

  /**
   * `POST /auth/mfa/verify`: the log-in's second step, after `login` (or `signInWithLink`) threw
   * `MfaRequiredError`: its `mfaToken` with a TOTP `code`, a `recoveryCode`, or `passkey: true`
   * (asks `/auth/mfa/passkey/options` and the browser's WebAuthn for an assertion). Holds the new
   * session, as `login` does. Throws `AuthError`: a wrong code keeps the `mfaToken` good for
   * another try; `invalid_grant` means it is spent or expired (log in again).
   */
  async verifySecondFactor(step: SecondFactor): Promise<AccessToken> {
    const body = await secondFactorBody(step, this.#requests);
    const response = await this.#requests.auth('auth/mfa/verify', body, false, true);
    return this.#loggedIn(response);
  }

  /**
   * Passwordless log-in with a passkey (a discoverable credential): `POST
   * /auth/passkeys/login/options`, the browser's WebAuthn, `POST /auth/passkeys/login`. Holds the
   * new session, as `login` does. Throws `AuthError` when the server refuses the assertion, and
   * the browser's DOMException (`NotAllowedError`) when the user cancels.
   */
  async loginWithPasskey(options: { signal?: AbortSignal } = {}): Promise<AccessToken> {
    const credential = await assertionFor(
      this.#requests,
      'auth/passkeys/login/options',
      {},
      options.signal,
    );
    const response = await this.#requests.auth('auth/passkeys/login', { credential }, false, true);
    return this.#loggedIn(response);
  }

  /**
   * Registers a passkey for the signed-in user: `POST /auth/passkeys/register/options`, the
   * browser's WebAuthn (`navigator.credentials.create`), `POST /auth/passkeys/register`. Resolves
   * the passkey as the server lists it. Throws `AuthError` (e.g. a passkey already registered).
   */
  addPasskey(options: { name?: string; signal?: AbortSignal } = {}): Promise<PasskeySummary> {
    return registerPasskey((url, init) => this.fetch(url, init), this.#o.base, options);
  }

  /**
   * `POST /auth/sign-in-link/confirm` with the token of a sign-in link (servers started with
   * `--sign-in-links`; the link's page reads it from the URL's fragment): holds the new session,
   * as `login` does. Throws `AuthError` for a spent, expired or unknown link.
   */
  async signInWithLink(token: string): Promise<AccessToken> {
    const response = await this.#requests.auth('auth/sign-in-link/confirm', { token }, true, true);
    return this.#session.begin((await readJson(response)) as TokenResponse, 'login');
  }

  /**
   * Cookie mode: resume the session the refresh cookie holds (after a reload, in a new tab).
   * Resolves true when a session is held, false when there is none (and fires no `sessionend`).
   * Rejects with an `AuthError` when the server cannot answer now (429, 5xx).
   */
  restore(): Promise<boolean> {
    return this.#session.restore();
  }

  /**
   * Exchanges the refresh token for a new pair now. Concurrent calls share one request. Resolves
   * the new access token, or null when the session has ended (a `sessionend` event says why).
   */
  async refresh(): Promise<string | null> {
    return (await this.#session.refreshShared())?.token ?? null;
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
    const session = this.#session;
    const access = await session.usableToken();
    const first = await this.#requests.send(prepared, access);
    if (first.status !== 401 || !session.held) return first;
    const challenge = stepUpOf(first);
    if (challenge !== undefined) {
      // RFC 9470 §3: the token is good, the log-in behind it not strong or recent enough; a
      // refresh would not change that (it keeps amr and auth_time), a new authentication does.
      if (access === null || !(await this.#requests.stepUp(challenge))) return first;
      await first.body?.cancel();
      return this.#requests.send(prepared, await session.usableToken());
    }
    // Still asking for a nonce after the retry with one: the token is not the trouble.
    if (this.#requests.dpop !== null && (await asksForNonce(first))) return first;
    const fresh = await session.refreshAfter(access);
    if (fresh === null) return first;
    await first.body?.cancel();
    return this.#requests.send(prepared, fresh);
  }

  /** `GET /auth/me` through `fetch`. Throws `AuthError` when refused. */
  async me(): Promise<User> {
    const response = await this.fetch(new URL('auth/me', this.#o.base));
    const body = (await readJson(response)) as { user: User };
    return body.user;
  }

  /** `POST /auth/logout`: revokes this session (idempotent), then fires `sessionend`. */
  async logout(): Promise<void> {
    const refreshToken = this.#session.refreshToken;
    // In cookie mode the server is asked even without a session here: it clears the cookies.
    const revoke = this.#session.held || this.#session.mode !== 'memory';
    this.#session.end('logout');
    if (!revoke) return;
    const response = await this.#requests.auth(
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
    if (this.#session.mode === 'cookie') {
      // The Bearer request above carried no cookies, so clear them with a cookie request.
      const cleared = await this.#requests.auth('auth/logout', undefined, false);
      await cleared.body?.cancel();
    }
    this.#session.end('logout-all');
    return body.revoked;
  }

  /** Stops timers and leaves the cross-tab channel. The client still works, on its own. */
  close(): void {
    this.#session.close();
  }
}

/** A client for the auth server at `options.baseUrl` (default: the page's origin). */
export function createClient(options?: ClientOptions): LaissezClient {
  return new LaissezClient(options);
}
