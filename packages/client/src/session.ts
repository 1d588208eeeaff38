// The session a LaissezClient holds: the access token (in memory only), the refresh token in memory
// mode, one refresh in flight, the automatic refresh ahead of expiry, and in cookie mode the other
// tabs of the origin (tabs.ts). The client (index.ts) turns its public calls into these steps and
// passes itself as `events`, so the events it fires are the client's.

import { type AuthError, errorOf } from './errors.ts';
import {
  SessionEndEvent,
  type SessionEndReason,
  type TokenChangeCause,
  TokenChangeEvent,
} from './events.ts';
import type { Settings } from './options.ts';
import type { Requests } from './requests.ts';
import { nextTask, openChannel, type TabMessage, withLock } from './tabs.ts';
import {
  type AccessToken,
  accessTokenOf,
  freshToken,
  refreshDelay,
  sessionIdOf,
  type TokenResponse,
} from './tokens.ts';

export class ClientSession {
  readonly #o: Settings;
  readonly #requests: Requests;
  readonly #events: EventTarget;

  #access: AccessToken | null = null;
  /** Memory mode only. */
  #refreshToken: string | null = null;
  /** Where the refresh token turned out to be (auto), or was said to be. */
  #mode: 'cookie' | 'memory' | null;
  /** A session is held: the client may refresh. */
  #held = false;
  /** Bumped whenever the session changes hands (log-in, end): late refresh results are dropped. */
  #epoch = 0;
  #refreshing: Promise<AccessToken | null> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #channel: InstanceType<typeof BroadcastChannel> | null = null;
  /** The `sid` claims (refresh token families) of sessions that ended: never adopted again. */
  readonly #endedSessions = new Set<string>();
  #closed = false;

  constructor(settings: Settings, requests: Requests, events: EventTarget) {
    this.#o = settings;
    this.#requests = requests;
    this.#events = events;
    this.#mode = settings.refreshToken === 'auto' ? null : settings.refreshToken;
    if (settings.crossTab && this.#mode !== 'memory') this.#openChannel();
  }

  /** The current access token, or null. */
  get access(): AccessToken | null {
    return this.#access;
  }

  /** Whether a session is held (an access token, or the means to get one). */
  get held(): boolean {
    return this.#held;
  }

  /** Where the refresh token is kept, once known. */
  get mode(): 'cookie' | 'memory' | null {
    return this.#mode;
  }

  /** The refresh token in memory mode, else null. */
  get refreshToken(): string | null {
    return this.#refreshToken;
  }

  /** A new session from a token response (log-in, sign-in link). */
  begin(body: TokenResponse, cause: TokenChangeCause): AccessToken {
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

  /** Cookie mode: the session the refresh cookie holds; see LaissezClient.restore. */
  async restore(): Promise<boolean> {
    if (this.#held) return true;
    if (this.#mode === 'memory') return false;
    const epoch = this.#epoch;
    const token = await this.#exclusive(async () => {
      if (this.#held && this.#access) return this.#access; // another tab shared one
      const response = await this.#requests.auth('auth/refresh', undefined, false, true);
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

  /** A refresh now; concurrent calls share one request. Null when the session has ended. */
  refreshShared(): Promise<AccessToken | null> {
    if (!this.#held) return Promise.resolve(null);
    if (this.#refreshing) return this.#refreshing;
    const promise = this.#refresh().finally(() => {
      if (this.#refreshing === promise) this.#refreshing = null;
    });
    this.#refreshing = promise;
    return promise;
  }

  /** A token to send: the current one, or a refreshed one when it has (nearly) expired. */
  async usableToken(): Promise<AccessToken | null> {
    if (freshToken(this.#access, this.#o.now()) !== undefined) return this.#access;
    if (!this.#held) return null;
    return this.refreshAfter(this.#access);
  }

  /** After `failed` was refused or expired: a newer token if one came meanwhile, else refresh. */
  refreshAfter(failed: AccessToken | null): Promise<AccessToken | null> {
    const fresh = freshToken(this.#access, this.#o.now());
    return fresh !== undefined && fresh !== failed?.token
      ? Promise.resolve(this.#access)
      : this.refreshShared();
  }

  /** Drops the session; fires `tokenchange` and `sessionend` if one was held. */
  end(
    reason: SessionEndReason,
    error?: AuthError,
    fromOtherTab = false,
    sid = sessionIdOf(this.#access?.token),
  ): void {
    const held = this.#held;
    if (sid !== undefined) this.#endedSessions.add(sid);
    this.#epoch++;
    this.#held = false;
    this.#access = null;
    this.#refreshToken = null;
    this.#refreshing = null;
    this.#cancelTimer();
    if (!held) return;
    this.#events.dispatchEvent(new TokenChangeEvent(null, 'end'));
    this.#events.dispatchEvent(new SessionEndEvent(reason, fromOtherTab, error));
    if (!fromOtherTab && this.#mode === 'cookie') this.#post({ type: 'end', reason, sid });
  }

  /** Stops the timer and leaves the cross-tab channel. */
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
    this.#held = true;
    this.#access = access;
    this.#schedule();
    this.#events.dispatchEvent(new TokenChangeEvent(access, cause));
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

  async #refresh(): Promise<AccessToken | null> {
    const epoch = this.#epoch;
    const stale = this.#access?.token ?? null;
    return this.#exclusive(async () => {
      if (epoch !== this.#epoch || !this.#held) return null;
      // While this tab waited for the lock, another may have refreshed and shared its token.
      // Its message may trail the lock by a task: give it that task before spending the cookie.
      if (this.#mode === 'cookie' && this.#o.crossTab) await nextTask();
      const fresh = freshToken(this.#access, this.#o.now());
      if (fresh !== undefined && fresh !== stale) return this.#access;
      const refreshToken = this.#refreshToken;
      const body =
        this.#mode === 'memory' && refreshToken ? { refresh_token: refreshToken } : undefined;
      const response = await this.#requests.auth('auth/refresh', body, false, true);
      if (epoch !== this.#epoch) {
        await response.body?.cancel();
        return null;
      }
      if (response.ok) {
        return this.#accept((await response.json()) as TokenResponse, 'refresh');
      }
      const error = await errorOf(response);
      if (response.status >= 400 && response.status < 500 && response.status !== 429) {
        this.end('refresh-failed', error);
        return null;
      }
      throw error; // 429, 5xx: the session may still be good; try again later
    });
  }

  // ---- automatic refresh ----

  #schedule(): void {
    this.#cancelTimer();
    const access = this.#access;
    if (!this.#o.autoRefresh || this.#closed || !access) return;
    const timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.refreshShared().catch(() => {
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
      if (!this.#held) this.#epoch++;
      this.#mode = 'cookie';
      this.#held = true;
      this.#access = {
        token: message.token,
        expiresAt: message.expiresAt,
        lifetime: message.lifetime,
        scheme: message.scheme === 'DPoP' ? 'DPoP' : 'Bearer',
      };
      this.#schedule();
      this.#events.dispatchEvent(new TokenChangeEvent(this.#access, 'other-tab'));
    } else if (message.type === 'end') {
      this.end(message.reason, undefined, true, message.sid ?? undefined);
    }
  }
}
