// Getting a JWK Set document over HTTP: which URLs are allowed (https, or plain http to a
// loopback host only), a download bounded in time and bytes, and how long the answer may be kept
// (Cache-Control max-age less Age, RFC 9111 §4.2). It knows nothing of keys or of when to fetch:
// the scheduler in remote.ts decides that, and select.ts reads the keys.
import { JwtError } from '../lib/errors.ts';

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

/** What the transport needs, already checked. */
export interface TransportConfig {
  readonly target: URL;
  readonly allowHttp: boolean;
  /** Milliseconds for the whole request, body included. */
  readonly timeout: number;
  /** Largest accepted body, in bytes. */
  readonly maxBytes: number;
  /** Bounds of a set's lifetime, ms. */
  readonly minAge: number;
  readonly maxAge: number;
  readonly fetch: RemoteJwksFetch;
  /** Request headers, from `checkHeaders`. */
  readonly headers: Record<string, string>;
}

/** A fetched JWK Set: its `keys` member (not yet read) and how long it may be kept, ms. */
export interface FetchedSet {
  readonly keys: unknown[];
  readonly lifetime: number;
}

/** The options `transportConfig` reads (a part of `RemoteJwksOptions`). */
export interface TransportOptions {
  timeout?: number;
  maxBytes?: number;
  minAge?: number;
  maxAge?: number;
  fetch?: RemoteJwksFetch;
  headers?: Record<string, string>;
  allowHttp?: boolean;
}

const DEFAULTS = {
  timeout: 5000,
  maxBytes: 64 * 1024,
  minAge: 30_000,
  maxAge: 24 * 60 * 60 * 1000,
};
/** Lifetime of a set served without Cache-Control (or without a usable max-age). */
const NO_CACHE_CONTROL_AGE = 10 * 60 * 1000;
const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** The set could not be had: the server's fault, not the token's. */
export function unavailable(message: string, cause?: unknown): JwtError {
  const error = new JwtError('ERR_JWKS_UNAVAILABLE', message);
  if (cause !== undefined) error.cause = cause;
  return error;
}

/**
 * Checks a JWKS URL: https, or plain http to 127.0.0.1, ::1 or localhost (or anywhere with
 * `allowHttp`); no credentials in it (they would reach messages and logs).
 * @throws TypeError for any other URL.
 */
export function parseUrl(url: string | URL, allowHttp: boolean): URL {
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

/**
 * Checks the URL and the transport's options once, at creation.
 * @throws TypeError naming the first bad one.
 */
export function transportConfig(url: string | URL, options: TransportOptions): TransportConfig {
  const allowHttp = options.allowHttp ?? false;
  if (typeof allowHttp !== 'boolean') throw new TypeError('allowHttp must be a boolean');
  const target = parseUrl(url, allowHttp);
  const timeout = integer(options.timeout, 'timeout', DEFAULTS.timeout, 1);
  const maxBytes = integer(options.maxBytes, 'maxBytes', DEFAULTS.maxBytes, 1);
  const minAge = integer(options.minAge, 'minAge', DEFAULTS.minAge, 0);
  const maxAge = integer(options.maxAge, 'maxAge', DEFAULTS.maxAge, 0);
  if (minAge > maxAge) {
    throw new TypeError(`minAge (${minAge} ms) must not be greater than maxAge (${maxAge} ms)`);
  }
  const fetch = options.fetch ?? (globalThis.fetch as unknown as RemoteJwksFetch | undefined);
  if (typeof fetch !== 'function') {
    throw new TypeError(
      options.fetch === undefined
        ? 'no global fetch is available; pass a fetch function in the fetch option'
        : 'fetch must be a function (url, init) => Promise<Response>',
    );
  }
  const headers = checkHeaders(options.headers);
  return { target, allowHttp, timeout, maxBytes, minAge, maxAge, fetch, headers };
}

/** An option that is a whole number of milliseconds (or bytes) of at least `min`. */
export function integer(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new TypeError(
      `${name} must be an integer number of ${name === 'maxBytes' ? 'bytes' : 'milliseconds'}${min > 0 ? ` of at least ${min}` : ', 0 or more'}`,
    );
  }
  return value;
}

/** The URL for messages: no query or fragment, which may carry credentials. */
export function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** The request headers: the caller's (checked, names lower-cased) after the default Accept. */
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

/**
 * Returns the function that fetches the set once: GET, within `timeout` ms (body included), at
 * most `maxBytes`, status 200, redirects only to allowed URLs, a JSON object with a `keys` array.
 * Every failure is a JwtError ERR_JWKS_UNAVAILABLE that names the URL (without its query).
 */
export function createTransport(config: TransportConfig): () => Promise<FetchedSet> {
  const { target, timeout, maxBytes } = config;
  const where = describeUrl(target);
  const tooLarge = () =>
    unavailable(
      `the JWKS at ${where} is larger than maxBytes (${maxBytes} bytes); check the URL, or raise maxBytes if the set really is that large`,
    );
  const notJson = () =>
    unavailable(
      `the JWKS at ${where} is not valid JSON; check that the URL serves a JWK Set (not an HTML page)`,
    );

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
        config.fetch(target.href, {
          method: 'GET',
          headers: config.headers,
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
          final = parseUrl(response.url, config.allowHttp);
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

  return async () => {
    const { text, cacheControl, age } = await download();
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw notJson();
    }
    // RFC 7517 §5: a JWK Set is a JSON object whose "keys" member is an array of JWKs.
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
    return {
      keys: (document as { keys: unknown[] }).keys,
      lifetime: lifetime(cacheControl, age, config.minAge, config.maxAge),
    };
  };
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
 * (`no-cache="set-cookie"`) only concerns those fields and is ignored (RFC 9111 §5.2.2.4).
 */
export function lifetime(
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
