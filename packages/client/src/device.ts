// The device token of a server without cookie mode (docs/security.md, "Guessing passwords"; OWASP's
// "Slow Down Online Guessing Attacks with Device Cookies"): each successful log-in answers with a
// `device_token`, and a later log-in that sends it back spends this browser's own failure budget,
// so strangers who lock the account for unknown clients do not lock out its owner. In cookie mode
// the server keeps it in its HttpOnly `laissez_dev` cookie instead, and nothing here is used.
//
// It is kept in localStorage, one per auth server: it has to outlive the page (without cookie
// mode a reload ends the session, and the owner's next log-in is the one it is for), and it is not
// a credential. It cannot log in, refresh or call an API; the server only reads it to choose which
// failure counter an attempt spends. What a script that reads it gains is docs/client.md, "The
// device token": that device's budget of guesses (5 per 15 minutes) and the account's id.

import type { DeviceTokenStorage } from './options.ts';

/**
 * The longest token sent back: the server's own limit (DEVICE_TOKEN_MAX, src/auth/device.ts),
 * which refuses the whole log-in (400) past it. A value in storage is checked against it and the
 * token alphabet before it is sent, so that nothing another script wrote there can break log-in.
 */
const MAX_LENGTH = 400;
/** base64url segments joined by dots, as the server makes them. */
const SHAPE = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

const KEY_PREFIX = 'laissez:device:';

interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** A value the server would accept as a device token (it still decides whether it is valid). */
function wellFormed(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_LENGTH && SHAPE.test(value);
}

/** The device token of one auth server, where the `deviceToken` option says. */
export class DeviceTokens {
  readonly #mode: DeviceTokenStorage;
  readonly #key: string;
  /** `memory`, and `localStorage` where storage is unavailable (blocked, full, outside a page). */
  #memory: string | undefined;

  /** `server`: the auth server's base URL; its href names the token in storage. */
  constructor(mode: DeviceTokenStorage, server: URL) {
    this.#mode = mode;
    this.#key = `${KEY_PREFIX}${server.href}`;
  }

  /** The token to send with a log-in, if one is kept and well formed. */
  get(): string | undefined {
    if (this.#mode === 'off') return undefined;
    let stored: string | null | undefined;
    try {
      stored = this.#storage()?.getItem(this.#key);
    } catch {
      stored = undefined;
    }
    return wellFormed(stored) ? stored : this.#memory;
  }

  /** Keeps `token` in place of the one before; anything not shaped like a token is not kept. */
  set(token: unknown): void {
    if (this.#mode === 'off' || !wellFormed(token)) return;
    this.#memory = token;
    const storage = this.#storage();
    try {
      storage?.setItem(this.#key, token);
    } catch {
      // Full, or refused (some private modes): kept in memory for the life of the page.
    }
  }

  /** Forgets the token (the server keeps it in a cookie now). */
  delete(): void {
    this.#memory = undefined;
    if (this.#mode === 'off') return;
    try {
      this.#storage()?.removeItem(this.#key);
    } catch {
      // Nothing to forget where storage cannot be used.
    }
  }

  #storage(): StorageLike | undefined {
    if (this.#mode !== 'localStorage') return undefined;
    try {
      // Reading `localStorage` throws where the browser blocks storage for the page.
      return (globalThis as { localStorage?: StorageLike }).localStorage;
    } catch {
      return undefined;
    }
  }
}
