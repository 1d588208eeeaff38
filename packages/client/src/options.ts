// The options of createClient, checked once (unknown names refused with "did you mean") and
// resolved to the settings a LaissezClient runs with.

import type { StepUpChallenge } from './challenge.ts';
// The one import from outside src/client: a file with no imports of its own (no node:), served
// to the page beside these.
import { checkOptions, optionNames } from './shared/options.ts';

/**
 * Where the refresh token is kept. `cookie`: the server's HttpOnly cookie (run the server with
 * `--cookies on`); sessions survive reloads and are shared by tabs. `memory`: the token response's
 * `refresh_token`, held privately by this object; a reload ends the session. `auto` (default):
 * `cookie` unless the log-in response carries a `refresh_token`.
 */
export type RefreshTokenStorage = 'auto' | 'cookie' | 'memory';

/**
 * Where the device token of a server without cookie mode is kept (docs/client.md, "The device
 * token"): it lets this browser's log-ins spend a failure budget of their own, so strangers who
 * lock the account out do not lock out its owner. `localStorage` (default): kept across reloads,
 * one per auth server, in the one place that outlives the page (falls back to `memory` where
 * storage is unavailable). `memory`: for the life of this object. `off`: never kept or sent.
 * In cookie mode the server keeps it in its own HttpOnly cookie and this setting is not used.
 */
export type DeviceTokenStorage = 'localStorage' | 'memory' | 'off';

export interface ClientOptions {
  /** The auth server's origin (and path prefix, if mounted under one). Default: the page's origin. */
  baseUrl?: string | URL;
  /** Default `auto`. */
  refreshToken?: RefreshTokenStorage;
  /** Default `localStorage`. */
  deviceToken?: DeviceTokenStorage;
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
  /**
   * DPoP (RFC 9449): sign a proof for log-in, refresh and every request to the token origins with
   * a non-extractable P-256 key kept in IndexedDB (one per auth server; in memory where IndexedDB
   * is unavailable), so that tokens the server binds to it are useless without it. Default
   * false. Needs WebCrypto (a secure context: https, or localhost).
   */
  dpop?: boolean;
  /**
   * Called when a request is answered with the step-up challenge of RFC 9470
   * (`insufficient_user_authentication`): re-authenticate the user as `acrValues`/`maxAge` ask
   * (a second factor, a passkey, a fresh log-in through this client), then resolve. The request
   * is sent once more unless it resolves `false`; a rejection rejects the `fetch`. Concurrent
   * challenges share one call. Without it, the challenge is returned as it came.
   */
  onStepUp?: (challenge: StepUpChallenge) => unknown;
}

const OPTION_NAMES = optionNames<ClientOptions>({
  baseUrl: true,
  refreshToken: true,
  deviceToken: true,
  tokenOrigins: true,
  autoRefresh: true,
  crossTab: true,
  channelName: true,
  fetch: true,
  now: true,
  dpop: true,
  onStepUp: true,
});

const REFRESH_TOKEN_STORAGES: readonly string[] = ['auto', 'cookie', 'memory'];
const DEVICE_TOKEN_STORAGES: readonly string[] = ['localStorage', 'memory', 'off'];

/** ClientOptions with every default applied. */
export interface Settings {
  /** Ends with `/`, so that relative paths (`auth/login`) stay under a path prefix. */
  readonly base: URL;
  readonly tokenOrigins: ReadonlySet<string>;
  readonly refreshToken: RefreshTokenStorage;
  readonly deviceToken: DeviceTokenStorage;
  readonly autoRefresh: boolean;
  readonly crossTab: boolean;
  readonly channelName: string;
  readonly fetch: (request: Request) => Promise<Response>;
  readonly now: () => number;
  readonly dpop: boolean;
  readonly onStepUp: ClientOptions['onStepUp'];
}

/** Checks `options` once and applies the defaults; a caller's mistake is a TypeError. */
export function resolveClientOptions(options: ClientOptions): Settings {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('createClient: options must be an object');
  }
  // A misspelt option (`tokenOrigin`) would be ignored: here, the token sent to fewer origins
  // than meant, or a refresh-token mode other than the one asked for.
  checkOptions('createClient', options, OPTION_NAMES);
  const refreshToken = options.refreshToken ?? 'auto';
  if (!REFRESH_TOKEN_STORAGES.includes(refreshToken)) {
    throw new TypeError(`createClient: refreshToken must be "auto", "cookie" or "memory"`);
  }
  const deviceToken = options.deviceToken ?? 'localStorage';
  if (!DEVICE_TOKEN_STORAGES.includes(deviceToken)) {
    throw new TypeError(`createClient: deviceToken must be "localStorage", "memory" or "off"`);
  }
  if (options.dpop !== undefined && typeof options.dpop !== 'boolean') {
    throw new TypeError('createClient: dpop must be true or false');
  }
  if (options.dpop === true && typeof globalThis.crypto?.subtle?.sign !== 'function') {
    throw new TypeError(
      'createClient: dpop needs WebCrypto (crypto.subtle), which browsers offer to secure contexts only (https, or localhost)',
    );
  }
  if (options.onStepUp !== undefined && typeof options.onStepUp !== 'function') {
    throw new TypeError('createClient: onStepUp must be a function');
  }
  const page = pageLocation();
  const given = options.baseUrl ?? page?.origin;
  if (given === undefined) throw new TypeError('baseUrl is required outside a browser page');
  const base = new URL(String(given));
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return {
    base,
    tokenOrigins: new Set((options.tokenOrigins ?? [base.origin]).map((o) => new URL(o).origin)),
    refreshToken,
    deviceToken,
    autoRefresh: options.autoRefresh ?? true,
    crossTab: options.crossTab ?? true,
    channelName: options.channelName ?? `laissez:${base.origin}`,
    fetch: options.fetch ?? ((request: Request) => globalThis.fetch(request)),
    now: options.now ?? Date.now,
    dpop: options.dpop ?? false,
    onStepUp: options.onStepUp,
  };
}

/** The page's location, or undefined outside a page (Node, Deno, Bun, a worker without one). */
export function pageLocation(): { origin: string; href: string } | undefined {
  return (globalThis as { location?: { origin: string; href: string } }).location;
}
