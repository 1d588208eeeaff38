// A JWKS fetched over HTTP(S) and used as a key resolver. The token only ever chooses among the keys
// of the configured URL: its jku, x5u and jwk headers are never read. This file is the scheduler:
// keys are fetched lazily, one fetch at a time, kept for the server's Cache-Control lifetime
// (clamped), served stale when a refetch fails, and refetched early only for an unknown kid and at
// most once per cool-down, so forged kids cannot turn into a request flood. The HTTP side is in
// transport.ts, the choice of a key in select.ts.
import { JwtError } from '../lib/errors.ts';
import { checkOptions, optionNames } from '../lib/options.ts';
import type { Jwk, JwtHeader } from '../types.ts';
import { buildKeySet, type KeySet, keyNotFound, selectKey } from './select.ts';
import {
  createTransport,
  describeUrl,
  integer,
  type RemoteJwksFetch,
  transportConfig,
  unavailable,
} from './transport.ts';

export type { RemoteJwksFetch, RemoteJwksResponse } from './transport.ts';

export interface RemoteJwksOptions {
  /** Milliseconds for the whole request, body included. Default 5000. */
  timeout?: number;
  /** Largest accepted body, in bytes. Default 65536 (64 KiB). */
  maxBytes?: number;
  /**
   * Milliseconds: unknown kids start at most one fetch per cool-down (fetches on expiry do not
   * count), and after a failed fetch no fetch starts before it has passed. Default 30000.
   */
  cooldown?: number;
  /** Shortest time (ms) a fetched set is kept, whatever Cache-Control says; also the lifetime for no-store/no-cache. Default 30000. */
  minAge?: number;
  /** Longest time (ms) a fetched set is kept before it is fetched again. Default 86400000 (24 h). */
  maxAge?: number;
  /** The fetch function. Default: the global `fetch`. */
  fetch?: RemoteJwksFetch;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Allow plain `http:` to hosts other than 127.0.0.1, ::1 and localhost. Default false. */
  allowHttp?: boolean;
  /** The clock in milliseconds, like `Date.now`. */
  now?: () => number;
}

/** A key resolver backed by a remote JWKS, with a way to force a fetch and to see the keys. */
export interface RemoteJwks {
  /** Finds the key for a token header; pass the function itself as a verifier's `key`. */
  (header: JwtHeader): Promise<Jwk>;
  /** Fetches the set now (joins a fetch already under way). Rejects if the fetch fails; the keys held stay. */
  refresh(): Promise<void>;
  /** The usable public keys held now (frozen); empty before the first fetch. */
  keys(): readonly Jwk[];
}

/** The default cool-down (ms): at most one fetch per cool-down for unknown kids, none after a failure before it ends. */
export const DEFAULT_COOLDOWN = 30_000;

const OPTION_NAMES = optionNames<RemoteJwksOptions>({
  timeout: true,
  maxBytes: true,
  cooldown: true,
  minAge: true,
  maxAge: true,
  fetch: true,
  headers: true,
  allowHttp: true,
  now: true,
});
const EMPTY: readonly Jwk[] = Object.freeze([]);

/** The options checked once: the transport's, the URL as errors name it, the cool-down, the clock. */
function remoteSettings(url: string | URL, options: RemoteJwksOptions) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options must be an object');
  }
  checkOptions('createRemoteJwks', options, OPTION_NAMES);
  const config = transportConfig(url, options);
  const where = describeUrl(config.target);
  const cooldown = integer(options.cooldown, 'cooldown', DEFAULT_COOLDOWN, 0);
  const now = options.now ?? Date.now;
  if (typeof now !== 'function')
    throw new TypeError('now must be a function returning milliseconds');
  return { config, where, cooldown, now };
}

/** A fresh error with the last failure's code, message and cause (each caller gets its own). */
function failedAgain(failure: JwtError): JwtError {
  const error = new JwtError(failure.code, failure.message);
  if (failure.cause !== undefined) error.cause = failure.cause;
  return error;
}

/**
 * A key resolver for a remote JWK Set (RFC 7517 §5), such as an issuer's `jwks_uri`.
 * Nothing is fetched until the first token; the set is kept as long as its Cache-Control says
 * (within `minAge`..`maxAge`), served stale when a refetch fails, and refetched early for an unknown
 * kid at most once per `cooldown`. Only public signature keys are used.
 * @throws TypeError at creation for a bad URL (not https, or http to a non-loopback host without
 * `allowHttp`) or bad options.
 * @example
 * const verify = createVerifier({
 *   key: createRemoteJwks('https://auth.example/.well-known/jwks.json'),
 *   algorithms: ['ES256'],
 *   issuer: 'https://auth.example',
 * });
 * const { payload } = await verify(token);
 */
export function createRemoteJwks(url: string | URL, options: RemoteJwksOptions = {}): RemoteJwks {
  const { config, where, cooldown, now } = remoteSettings(url, options);
  const fetchSet = createTransport(config);

  let current: KeySet | undefined;
  let expiresAt = 0;
  let lastAttemptAt = Number.NEGATIVE_INFINITY;
  /** When an unknown kid last started a fetch. */
  let lastKidFetchAt = Number.NEGATIVE_INFINITY;
  let lastError: JwtError | undefined;
  let inflight: Promise<KeySet> | undefined;

  const load = async (): Promise<KeySet> => {
    const { keys, lifetime } = await fetchSet();
    const set = buildKeySet(keys, current);
    expiresAt = now() + lifetime;
    return set;
  };

  /** Starts a fetch, or joins the one under way. The returned promise may reject. */
  const start = (): Promise<KeySet> => {
    if (inflight) return inflight;
    lastAttemptAt = now();
    const attempt = load().then(
      (set) => {
        current = set;
        lastError = undefined;
        inflight = undefined;
        return set;
      },
      (error: unknown) => {
        lastError =
          error instanceof JwtError
            ? error
            : unavailable(`the JWKS at ${where} could not be loaded`, error);
        inflight = undefined;
        throw lastError;
      },
    );
    inflight = attempt;
    attempt.catch(() => {}); // callers that care await it; nobody may be listening
    return attempt;
  };

  /** The last fetch's error, while less than a cool-down old: no new request starts before then. */
  const recentFailure = (at: number): JwtError | undefined =>
    lastError !== undefined && at - lastAttemptAt < cooldown ? lastError : undefined;

  /** The set to use now: fetched first when there is none or it expired (stale if that fails). */
  const fresh = async (): Promise<KeySet> => {
    const held = current;
    if (held !== undefined && now() < expiresAt) return held;
    const failure = inflight ? undefined : recentFailure(now());
    if (failure !== undefined) {
      // The last fetch failed a moment ago: no new request until the cool-down has passed.
      if (held !== undefined) return held;
      throw failedAgain(failure);
    }
    try {
      return await start();
    } catch (error) {
      if (current !== undefined) return current; // stale-if-error
      throw error;
    }
  };

  /**
   * Whether an unknown kid may start a fetch now. Only fetches that unknown kids started count
   * toward the cool-down: a set fetched on expiry a moment before an `--immediate` rotation would
   * otherwise keep the new key out for a whole cool-down. A failed fetch still holds every fetch
   * back until the cool-down has passed since it.
   */
  const mayFetchForKid = (at: number): boolean =>
    at - lastKidFetchAt >= cooldown && recentFailure(at) === undefined;

  const resolve = async (header: JwtHeader): Promise<Jwk> => {
    const held = current;
    let set = await fresh();
    // A fetch that finished while this call waited (a refresh(), another token's) is newer.
    if (current !== undefined && current !== set) set = current;
    let found = selectKey(set, header, where);
    if (found === undefined) {
      // An unknown kid may be a new key: one fetch, shared, at most once per cool-down, and none
      // when this call's set has just been fetched (it is as new as a refetch would be).
      const at = now();
      if (inflight || (set === held && mayFetchForKid(at))) {
        if (!inflight) lastKidFetchAt = at;
        try {
          set = await start();
        } catch {
          set = current ?? set;
        }
        found = selectKey(set, header, where);
      }
      // The set could not be refetched: the kid may well be a new key, so the token is not the
      // one at fault. Say the keys are unavailable rather than that the signature is bad.
      if (found === undefined && lastError !== undefined) throw failedAgain(lastError);
    }
    if (found === undefined) throw keyNotFound(set, header, where, cooldown);
    return found;
  };

  const resolver = resolve as RemoteJwks;
  resolver.refresh = async () => {
    await start();
  };
  resolver.keys = () => current?.view ?? EMPTY;
  return resolver;
}
