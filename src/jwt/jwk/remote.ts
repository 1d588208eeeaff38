// A JWKS fetched over HTTP(S) and used as a key resolver. The token only ever chooses among the keys
// of the configured URL: its jku, x5u and jwk headers are never read. Keys are fetched lazily, one
// fetch at a time, kept for the server's Cache-Control lifetime (clamped), and refetched early only
// for an unknown kid and at most once per cool-down, so forged kids cannot turn into a request flood.
import { ALGORITHMS } from '../lib/algorithms.ts';
import { JwtError, type JwtErrorCode } from '../lib/errors.ts';
import { assertKeyFits, isPrivateJwk, type PreparedKey, prepareKey } from '../lib/keys.ts';
import type { Algorithm, Jwk, JwtHeader } from '../types.ts';

/** The part of a fetch `Response` that the client reads. */
export interface RemoteJwksResponse {
  readonly status: number;
  /** The final URL after redirects; checked against the same http/https rule as the configured URL. */
  readonly url?: string;
  readonly headers: { get(name: string): string | null };
  readonly body: ReadableStream<Uint8Array> | null;
}

/** A fetch function: the global `fetch` or a wrapper (a proxy dispatcher, tracing). */
export type RemoteJwksFetch = (
  url: string,
  init: {
    method: 'GET';
    headers: Record<string, string>;
    signal: AbortSignal;
    redirect: 'follow';
  },
) => Promise<RemoteJwksResponse>;

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

const DEFAULTS = {
  timeout: 5000,
  maxBytes: 64 * 1024,
  cooldown: DEFAULT_COOLDOWN,
  minAge: 30_000,
  maxAge: 24 * 60 * 60 * 1000,
};
/** Lifetime of a set served without Cache-Control (or without a usable max-age). */
const NO_CACHE_CONTROL_AGE = 10 * 60 * 1000;
const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

interface Entry {
  readonly jwk: Jwk;
  readonly kid: string | undefined;
  readonly fits: ReadonlySet<Algorithm>;
}

type SkipReason = 'private' | 'unusable';

interface KeySet {
  readonly entries: readonly Entry[];
  readonly view: readonly Jwk[];
  /** Keys the document had but that are not used, by kid (for messages). */
  readonly skippedKids: ReadonlyMap<string, SkipReason>;
  readonly skipped: { readonly private: number; readonly unusable: number };
  /** Entries by their JSON text, so that an unchanged key keeps its object across fetches. */
  readonly byText: ReadonlyMap<string, Entry>;
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
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options must be an object');
  }
  const allowHttp = options.allowHttp ?? false;
  if (typeof allowHttp !== 'boolean') throw new TypeError('allowHttp must be a boolean');
  const target = parseUrl(url, allowHttp);
  const where = describeUrl(target);
  const timeout = integer(options.timeout, 'timeout', DEFAULTS.timeout, 1);
  const maxBytes = integer(options.maxBytes, 'maxBytes', DEFAULTS.maxBytes, 1);
  const cooldown = integer(options.cooldown, 'cooldown', DEFAULTS.cooldown, 0);
  const minAge = integer(options.minAge, 'minAge', DEFAULTS.minAge, 0);
  const maxAge = integer(options.maxAge, 'maxAge', DEFAULTS.maxAge, 0);
  if (minAge > maxAge) {
    throw new TypeError(`minAge (${minAge} ms) must not be greater than maxAge (${maxAge} ms)`);
  }
  const fetchFn = options.fetch ?? (globalThis.fetch as unknown as RemoteJwksFetch | undefined);
  if (typeof fetchFn !== 'function') {
    throw new TypeError(
      options.fetch === undefined
        ? 'no global fetch is available; pass a fetch function in the fetch option'
        : 'fetch must be a function (url, init) => Promise<Response>',
    );
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function')
    throw new TypeError('now must be a function returning milliseconds');
  const requestHeaders = checkHeaders(options.headers);

  let current: KeySet | undefined;
  let expiresAt = 0;
  let lastAttemptAt = Number.NEGATIVE_INFINITY;
  /** When an unknown kid last started a fetch. */
  let lastKidFetchAt = Number.NEGATIVE_INFINITY;
  let lastError: JwtError | undefined;
  let inflight: Promise<KeySet> | undefined;

  const fail = (code: JwtErrorCode, message: string, cause?: unknown): JwtError => {
    const error = new JwtError(code, message);
    if (cause !== undefined) error.cause = cause;
    return error;
  };
  /** The set could not be had: the server's fault, not the token's. */
  const unavailable = (message: string, cause?: unknown): JwtError => {
    const error = new JwtError('ERR_JWKS_UNAVAILABLE', message);
    if (cause !== undefined) error.cause = cause;
    return error;
  };

  const download = async (): Promise<{
    text: string;
    cacheControl: string | null;
    age: string | null;
  }> => {
    const signal = AbortSignal.timeout(timeout);
    const timedOut = () =>
      unavailable(
        `the JWKS at ${where} did not answer within ${timeout} ms; check that the server is reachable, or raise the timeout option`,
      );
    let response: RemoteJwksResponse;
    try {
      response = await abortable(
        fetchFn(target.href, {
          method: 'GET',
          headers: requestHeaders,
          signal,
          redirect: 'follow',
        }),
        signal,
      );
    } catch (error) {
      if (signal.aborted) throw timedOut();
      throw unavailable(
        `the JWKS at ${where} could not be fetched (${networkReason(error)}); check the URL, DNS and that the server is reachable`,
        error,
      );
    }
    try {
      if (response.status !== 200) {
        throw unavailable(
          `the JWKS at ${where} answered HTTP ${response.status}, not 200; check the URL (the issuer's jwks_uri)`,
        );
      }
      if (typeof response.url === 'string' && response.url !== '' && response.url !== target.href) {
        let final: URL | undefined;
        try {
          final = parseUrl(response.url, allowHttp);
        } catch {}
        if (final === undefined) {
          throw unavailable(
            `the JWKS at ${where} redirected to a URL that is not https; a key set is only taken over https (or http to a loopback host, or with allowHttp)`,
          );
        }
      }
      const length = response.headers.get('content-length');
      if (length !== null && /^\d+$/.test(length.trim()) && Number(length) > maxBytes) {
        throw tooLarge();
      }
      const bytes = await readCapped(response.body, maxBytes, signal);
      if (bytes === undefined) throw tooLarge();
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        throw notJson();
      }
      return {
        text,
        cacheControl: response.headers.get('cache-control'),
        age: response.headers.get('age'),
      };
    } catch (error) {
      cancel(response.body);
      if (error instanceof JwtError) throw error;
      if (signal.aborted) throw timedOut();
      throw unavailable(
        `the JWKS at ${where} could not be read (${networkReason(error)}); check that the server is reachable`,
        error,
      );
    }
  };

  const tooLarge = () =>
    unavailable(
      `the JWKS at ${where} is larger than maxBytes (${maxBytes} bytes); check the URL, or raise maxBytes if the set really is that large`,
    );
  const notJson = () =>
    unavailable(
      `the JWKS at ${where} is not valid JSON; check that the URL serves a JWK Set (not an HTML page)`,
    );

  const load = async (): Promise<KeySet> => {
    const { text, cacheControl, age } = await download();
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw notJson();
    }
    if (
      document === null ||
      typeof document !== 'object' ||
      Array.isArray(document) ||
      !Array.isArray((document as { keys?: unknown }).keys)
    ) {
      throw unavailable(
        `the JWKS at ${where} is not a JWK Set: expected a JSON object with a "keys" array; check the URL (the issuer's jwks_uri)`,
      );
    }
    const set = buildSet((document as { keys: unknown[] }).keys, current);
    expiresAt = now() + lifetime(cacheControl, age, minAge, maxAge);
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
      throw fail(failure.code, failure.message, failure.cause);
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
    let found = select(set, header);
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
        found = select(set, header);
      }
      // The set could not be refetched: the kid may well be a new key, so the token is not the
      // one at fault. Say the keys are unavailable rather than that the signature is bad.
      if (found === undefined && lastError !== undefined) {
        throw fail(lastError.code, lastError.message, lastError.cause);
      }
    }
    if (found === undefined) throw notFound(set, header);
    return found;
  };

  const notFound = (set: KeySet, header: JwtHeader): JwtError => {
    const { alg, kid } = header;
    if (set.entries.length === 0) {
      const { private: secret, unusable } = set.skipped;
      return fail(
        'ERR_KEY_INVALID',
        `the JWKS at ${where} has no usable public signature key` +
          (secret > 0
            ? ` (${secret} key${secret === 1 ? '' : 's'} skipped for holding private members: a JWKS served over HTTP must only publish public keys)`
            : unusable > 0
              ? ` (${unusable} key${unusable === 1 ? '' : 's'} skipped: unsupported kty, not for "sig", or invalid)`
              : ' (the set is empty)') +
          '; check the issuer configuration',
      );
    }
    if (kid === undefined) {
      return fail(
        'ERR_KEY_NOT_FOUND',
        `the token has no kid and no key in the JWKS at ${where} fits ${alg}`,
      );
    }
    const named = printable(kid);
    const skipped = set.skippedKids.get(kid);
    return fail(
      'ERR_KEY_NOT_FOUND',
      `no key in the JWKS at ${where} has ${named} for ${alg}` +
        (skipped === 'private'
          ? ' (a key with that kid was skipped: it holds private members, which a JWKS must never publish)'
          : skipped === 'unusable'
            ? ' (a key with that kid was skipped: unsupported kty, not for "sig", or invalid)'
            : `; the set is refetched for an unknown kid at most once per cool-down (${cooldown} ms)`),
    );
  };

  const select = (set: KeySet, header: JwtHeader): Jwk | undefined => {
    const { alg, kid } = header;
    if (kid !== undefined) {
      let sameKid: Entry | undefined;
      for (const entry of set.entries) {
        if (entry.kid !== kid) continue;
        if (entry.fits.has(alg)) return entry.jwk;
        sameKid ??= entry;
      }
      if (sameKid !== undefined) {
        // The kid is known: a refetch would not help. Say why the key does not fit.
        throw new JwtError(
          'ERR_KEY_ALG_MISMATCH',
          `the key with ${printable(kid)} in the JWKS at ${where} cannot verify ${alg}` +
            (typeof sameKid.jwk.alg === 'string'
              ? `: its JWK alg is ${printable(sameKid.jwk.alg, 'another algorithm', false)}`
              : `: it is a ${describeKey(sameKid.jwk)} key`),
        );
      }
      return undefined;
    }
    let match: Entry | undefined;
    let count = 0;
    for (const entry of set.entries) {
      if (entry.fits.has(alg)) {
        match ??= entry;
        count++;
      }
    }
    if (count > 1) {
      throw new JwtError(
        'ERR_KEY_NOT_FOUND',
        `the token has no kid and the JWKS at ${where} has ${count} keys that fit ${alg}; tokens must name their key with a kid when several keys are candidates`,
      );
    }
    return match?.jwk;
  };

  const resolver = resolve as RemoteJwks;
  resolver.refresh = async () => {
    await start();
  };
  resolver.keys = () => current?.view ?? EMPTY;
  return resolver;
}

const EMPTY: readonly Jwk[] = Object.freeze([]);

function parseUrl(url: string | URL, allowHttp: boolean): URL {
  if (typeof url !== 'string' && !(url instanceof URL)) {
    throw new TypeError('url must be a string or a URL: the https address of a JWK Set');
  }
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    throw new TypeError('url is not an absolute URL: pass the https address of a JWK Set');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new TypeError('url must not contain credentials; send them with the headers option');
  }
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:') {
    if (allowHttp || LOOPBACK.has(parsed.hostname)) return parsed;
    throw new TypeError(
      `url uses plain http to ${parsed.hostname}: anyone on the path could swap the keys. Use https (http is accepted for 127.0.0.1, ::1 and localhost, or with allowHttp: true)`,
    );
  }
  throw new TypeError(`url must use https, not ${parsed.protocol.replace(':', '')}`);
}

/** The URL for messages: no query or fragment, which may carry credentials. */
function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function integer(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new TypeError(
      `${name} must be an integer number of ${name === 'maxBytes' ? 'bytes' : 'milliseconds'}${min > 0 ? ` of at least ${min}` : ', 0 or more'}`,
    );
  }
  return value;
}

function checkHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = { accept: 'application/jwk-set+json, application/json' };
  if (headers === undefined) return out;
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
    throw new TypeError('headers must be an object of header names to string values');
  }
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') {
      throw new TypeError(`headers.${name} must be a string`);
    }
    try {
      new Headers([[name, value]]);
    } catch {
      throw new TypeError(`headers.${name} is not a valid HTTP header name and value`);
    }
    out[name.toLowerCase()] = value;
  }
  return out;
}

/** Rejects when the signal aborts, even if the promise ignores the signal (a custom fetch). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Reads a body up to `max` bytes; undefined when it is longer (the stream is then cancelled). */
async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  max: number,
  signal: AbortSignal,
): Promise<Uint8Array | undefined> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await abortable(reader.read(), signal);
      if (done) break;
      total += value.byteLength;
      if (total > max) {
        reader.cancel().catch(() => {});
        return undefined;
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks, total);
}

function cancel(body: ReadableStream<Uint8Array> | null): void {
  if (body === null || body.locked) return;
  body.cancel().catch(() => {});
}

/** A short, body-free reason for a network error: the system error code when there is one. */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  const code =
    (cause as { code?: unknown } | undefined)?.code ?? (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) ? code : 'network error';
}

/**
 * How long a fetched set is kept: Cache-Control max-age less the response's Age (the time a cache
 * on the way held it, RFC 9111 §4.2.3), no-store/no-cache as minAge, 10 minutes without a usable
 * max-age; always within minAge..maxAge. A no-cache or private that names header fields
 * (`no-cache="set-cookie"`) only concerns those fields and is ignored.
 */
function lifetime(
  cacheControl: string | null,
  age: string | null,
  minAge: number,
  maxAge: number,
): number {
  let ms = NO_CACHE_CONTROL_AGE;
  if (cacheControl !== null) {
    let maxAgeSeconds: number | undefined;
    let noCache = false;
    for (const part of cacheControl.split(',')) {
      const [rawName, ...rest] = part.split('=');
      const name = rawName!.trim().toLowerCase();
      if (name === 'no-store' || (name === 'no-cache' && rest.length === 0)) noCache = true;
      else if (name === 'max-age' && maxAgeSeconds === undefined) {
        const value = rest
          .join('=')
          .trim()
          .replace(/^"(.*)"$/, '$1');
        if (/^\d{1,15}$/.test(value)) maxAgeSeconds = Number(value);
      }
    }
    if (noCache) ms = minAge;
    else if (maxAgeSeconds !== undefined) {
      const ageSeconds = age !== null && /^\d{1,15}$/.test(age.trim()) ? Number(age.trim()) : 0;
      ms = Math.max(0, maxAgeSeconds - ageSeconds) * 1000;
    }
  }
  return Math.min(maxAge, Math.max(minAge, ms));
}

/** Turns the document's keys into usable entries; keys unchanged since `previous` keep their objects. */
function buildSet(keys: unknown[], previous: KeySet | undefined): KeySet {
  const entries: Entry[] = [];
  const byText = new Map<string, Entry>();
  const skippedKids = new Map<string, SkipReason>();
  const skipped = { private: 0, unusable: 0 };
  const skip = (value: unknown, reason: SkipReason) => {
    skipped[reason]++;
    const kid = (value as { kid?: unknown } | null)?.kid;
    if (typeof kid === 'string' && !skippedKids.has(kid)) skippedKids.set(kid, reason);
  };
  for (const value of keys) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      skipped.unusable++;
      continue;
    }
    const jwk = value as Jwk;
    if (isPrivateJwk(jwk)) {
      skip(jwk, 'private');
      continue;
    }
    const text = JSON.stringify(jwk);
    if (byText.has(text)) continue; // the same key twice
    let entry = previous?.byText.get(text);
    if (entry === undefined) {
      const made = makeEntry(jwk);
      if (made === undefined) {
        skip(jwk, 'unusable');
        continue;
      }
      entry = made;
    }
    byText.set(text, entry);
    entries.push(entry);
  }
  return {
    entries,
    view: Object.freeze(entries.map((e) => e.jwk)),
    skippedKids,
    skipped,
    byText,
  };
}

/** A public key with the algorithms it may verify, or undefined when it cannot verify any. */
function makeEntry(jwk: Jwk): Entry | undefined {
  if (typeof jwk.kty !== 'string') return undefined;
  if (jwk.kid !== undefined && typeof jwk.kid !== 'string') return undefined;
  let prepared: PreparedKey;
  try {
    prepared = prepareKey(jwk, 'verify');
  } catch {
    return undefined; // unsupported kty, use "enc", key_ops without verify, or not a valid key
  }
  const fits = new Set<Algorithm>();
  for (const alg of ALGORITHMS) {
    try {
      assertKeyFits(prepared, alg, false);
      fits.add(alg);
    } catch {}
  }
  if (fits.size === 0) return undefined;
  return { jwk: deepFreeze(jwk), kid: jwk.kid, fits };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

function describeKey(jwk: Jwk): string {
  const kty = printable(jwk.kty, 'unknown', false);
  const crv = typeof jwk.crv === 'string' ? ` ${printable(jwk.crv, '', false)}` : '';
  return `${kty}${crv}`;
}

/** Text from a token or a fetched document reaches a message only when short and plain. */
function printable(value: unknown, fallback = 'kid (unprintable)', asKid = true): string {
  if (typeof value === 'string' && /^[\w.~+/=:-]{1,100}$/.test(value)) {
    return asKid ? `kid ${JSON.stringify(value)}` : value;
  }
  return fallback;
}
