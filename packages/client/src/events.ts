// The events a LaissezClient fires: `sessionend` and `tokenchange`; and its typed listeners.

import type { AuthError } from './errors.ts';
import type { AccessToken } from './tokens.ts';

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

export type Listener<E> = ((event: E) => void) | { handleEvent(event: E): void };
export type ListenerOptions =
  | boolean
  | { capture?: boolean; once?: boolean; passive?: boolean; signal?: AbortSignal };

/** An EventTarget whose listeners are typed by ClientEventMap (a null listener is ignored). */
export class ClientEvents extends EventTarget {
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
}
