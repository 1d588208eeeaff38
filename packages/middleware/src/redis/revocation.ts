// An opt-in revocation list of sessions, in Redis, for resource servers that want "log out
// everywhere" to reach access tokens before they expire. Entries are keyed by the session id (the
// `sid` claim, which is the refresh-token family), never by the token, and each one lives exactly
// until the last access token of that session can expire: the list stays as small as the set of
// sessions revoked within one access-token lifetime.
import { checkOptions, optionNames } from '@laissez/jwt/options';
import {
  type ConnectionOptions,
  checkMs,
  checkPrefix,
  evalScript,
  Outage,
  openConnection,
  type RedisConnection,
  script,
} from './client.ts';

/** What a resource server needs to refuse tokens of revoked sessions. */
export interface RevocationChecker {
  /**
   * True when the session was revoked. Rejects with RevocationUnavailableError when that cannot be
   * known (Redis unavailable with `onUnavailable: 'deny'`): answer 503, not 401.
   */
  isRevoked(sid: string): Promise<boolean>;
  /**
   * The same answer without a promise when it is known at once (a list held in memory, see
   * createRevocationFeed); `checkSessions` prefers it. Throws RevocationUnavailableError as
   * `isRevoked` rejects with it.
   */
  check?(sid: string): boolean | Promise<boolean>;
}

export interface RevocationList extends RevocationChecker {
  /**
   * Revokes the session until `untilMs` (ms since 1970): the time by which every access token of
   * the session has expired (now + access-token lifetime + the verifiers' clock tolerance). An
   * existing entry is extended, never shortened. A time already past does nothing. Rejects with
   * RevocationUnavailableError when Redis cannot record it, whatever `onUnavailable` says.
   */
  revoke(sid: string, untilMs: number): Promise<void>;
  /** Closes the client made from `url`; a client passed in stays open. */
  close(): Promise<void>;
}

export interface RevocationListOptions extends ConnectionOptions {
  /** Prepended to every key. Default `laissez:rev:`. */
  prefix?: string;
  /** Milliseconds to wait for Redis before treating it as unavailable. Default 250. */
  timeout?: number;
  /**
   * How long an answer of `isRevoked` is reused by this process, ms. Default 0 (off): every check
   * asks Redis. With N ms, a revocation made by another process takes up to N ms to be seen here;
   * a revocation made through this list is seen at once.
   */
  cacheMs?: number;
  /** Most answers kept in the cache. Default 10 000. */
  cacheMax?: number;
  /**
   * What `isRevoked` does while Redis is unavailable:
   * - `'deny'` (default): reject with RevocationUnavailableError (answer 503): a token whose session
   *   may have been revoked is not accepted;
   * - `'allow'`: answer false: tokens are accepted until they expire, as without a revocation list.
   */
  onUnavailable?: 'deny' | 'allow';
  /** Called once when an outage starts. Default: one line on stderr. */
  onError?: (error: Error) => void;
  /** Called once when Redis answers again after an outage. Default: one line on stderr. */
  onRecover?: () => void;
  /** The clock, ms (tests). Default `Date.now`. */
  now?: () => number;
}

/** Redis cannot tell (or record) whether a session is revoked. Map it to 503. */
export class RevocationUnavailableError extends Error {
  override name = 'RevocationUnavailableError';
}

/** Longest session id accepted (laissez's own are 12 characters). */
export const SID_MAX_LENGTH = 256;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A session id the list accepts: a non-empty, well-formed string of at most 256 characters, no control characters. */
export function isValidSid(sid: unknown): sid is string {
  return (
    typeof sid === 'string' &&
    sid.length > 0 &&
    sid.length <= SID_MAX_LENGTH &&
    sid.isWellFormed() &&
    !CONTROL.test(sid)
  );
}

function checkSid(sid: unknown): string {
  if (!isValidSid(sid)) {
    throw new TypeError(
      `sid must be a non-empty string of at most ${SID_MAX_LENGTH} characters without control characters`,
    );
  }
  return sid;
}

/**
 * The Redis keys of a revocation list under `prefix`. One sorted set holds every entry (member the
 * sid, score when it ends, ms since 1970), so a verifier loads the whole list with one ZRANGE; a
 * stream carries each new or extended entry to the verifiers that follow it (see
 * revocation-feed.ts), each message numbered from a counter so that a gap (a trimmed stream) is
 * seen. No key is derived from a sid, so a sid can never name one of these.
 */
export function revocationKeys(prefix: string): { set: string; feed: string; seq: string } {
  return { set: `${prefix}sessions`, feed: `${prefix}feed`, seq: `${prefix}seq` };
}

/**
 * Messages kept in the stream (approximately: MAXLEN ~). A verifier that falls further behind
 * than this sees the gap in the numbering and loads the whole set again.
 */
export const FEED_MAX_LENGTH = 10_000;

// KEYS set, feed, seq; ARGV sid, until (ms since 1970), now, stream length. An entry that ends
// later is kept as it is (nothing is published); otherwise it is set, entries already ended are
// trimmed, the change is published with its number, and the set expires with its last entry.
// The stream and the counter never expire: a stream that vanished would restart its ids, and a
// verifier waiting after the old last id would miss the new ones. Needs Redis 6.2 (ZRANGE BYSCORE).
const REVOKE = script(`
local ends = redis.call('ZSCORE', KEYS[1], ARGV[1])
if ends and tonumber(ends) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local n = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'sid', ARGV[1], 'until', ARGV[2], 'n', n)
local last = redis.call('ZRANGE', KEYS[1], '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, 1, 'WITHSCORES')
if last[2] ~= 'inf' then redis.call('PEXPIREAT', KEYS[1], last[2]) else redis.call('PERSIST', KEYS[1]) end
return 1
`);

/** Answers of `isRevoked`, each reused for the same time; the oldest goes first when full. */
class AnswerCache {
  readonly #ms: number;
  readonly #max: number;
  readonly #answers = new Map<string, { revoked: boolean; until: number }>();

  constructor(ms: number, max: number) {
    this.#ms = ms;
    this.#max = max;
  }

  get(sid: string, now: number): boolean | undefined {
    const answer = this.#answers.get(sid);
    if (answer === undefined) return undefined;
    if (answer.until > now) return answer.revoked;
    this.#answers.delete(sid);
    return undefined;
  }

  set(sid: string, revoked: boolean, now: number): void {
    if (this.#ms === 0) return;
    // A "not revoked" that was asked before this process revoked the session must not hide it.
    if (!revoked && this.get(sid, now) === true) return;
    this.#answers.delete(sid);
    // Every answer lives as long, so the first in insertion order is the oldest.
    for (const oldest of this.#answers.keys()) {
      if (this.#answers.size < this.#max) break;
      this.#answers.delete(oldest);
    }
    this.#answers.set(sid, { revoked, until: now + this.#ms });
  }
}

/**
 * The `isRevoked` option of the laissez middleware, from a revocation list: looks the token's `sid`
 * up. A token without a usable `sid` cannot be checked, so it counts as revoked (401) rather than
 * as a failure of the list (503). Add `'sid'` to `requiredClaims` to say so more plainly.
 */
export function checkSessions(
  list: RevocationChecker,
): (claims: { readonly [claim: string]: unknown }) => boolean | Promise<boolean> {
  if (typeof list.check === 'function') {
    // A local lookup: answered without a promise, so a check costs no more than a Map lookup.
    const check = list.check.bind(list);
    return (claims) => {
      const sid = claims['sid'];
      return isValidSid(sid) ? check(sid) : true;
    };
  }
  return async (claims) => {
    const sid = claims['sid'];
    return isValidSid(sid) ? list.isRevoked(sid) : true;
  };
}

const OPTION_NAMES = optionNames<RevocationListOptions>({
  client: true,
  url: true,
  prefix: true,
  timeout: true,
  cacheMs: true,
  cacheMax: true,
  onUnavailable: true,
  onError: true,
  onRecover: true,
  now: true,
});

/** A revocation list of sessions in Redis. */
export function createRevocationList(options: RevocationListOptions): RevocationList {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('createRevocationList needs options: { url } or { client }');
  }
  checkOptions('createRevocationList', options, OPTION_NAMES);
  const policy = options.onUnavailable ?? 'deny';
  if (policy !== 'deny' && policy !== 'allow') {
    throw new TypeError("onUnavailable must be 'deny' or 'allow'");
  }
  const prefix = checkPrefix(options.prefix ?? 'laissez:rev:');
  const timeout = checkMs(options.timeout ?? 250, 'timeout');
  const cacheMs = options.cacheMs ?? 0;
  if (typeof cacheMs !== 'number' || !Number.isFinite(cacheMs) || cacheMs < 0) {
    throw new TypeError('cacheMs must be a number of milliseconds, 0 for no cache');
  }
  const cacheMax = options.cacheMax ?? 10_000;
  if (!Number.isSafeInteger(cacheMax) || cacheMax < 1) {
    throw new TypeError('cacheMax must be a positive integer');
  }
  const now = options.now ?? Date.now;
  const keys = revocationKeys(prefix);
  const cache = new AnswerCache(cacheMs, cacheMax);
  const onError =
    options.onError ??
    ((error: Error) =>
      console.error(
        `laissez: Redis is unavailable for the revocation list (${error.message}); ${
          policy === 'deny'
            ? 'requests are refused (503)'
            : 'tokens of revoked sessions are accepted until they expire'
        } until it answers again`,
      ));
  const onRecover =
    options.onRecover ??
    (() => console.error('laissez: Redis answers again; the revocation list is checked again'));
  const outage = new Outage(onError, onRecover);
  const { conn, close } = openConnection(options, outage, timeout);
  const redis: RedisConnection = conn;

  const unavailable = (error: unknown) =>
    new RevocationUnavailableError(
      `the revocation list is unavailable: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );

  return {
    async revoke(sid, untilMs) {
      checkSid(sid);
      if (typeof untilMs !== 'number' || !Number.isFinite(untilMs)) {
        throw new TypeError('untilMs must be a time in milliseconds since 1970');
      }
      const until = Math.ceil(untilMs);
      if (until <= now()) return;
      // Seen here at once, even if Redis does not take it.
      cache.set(sid, true, now());
      try {
        // Always tried, even during an outage: a revocation must not be dropped quietly.
        await outage.attempt(
          () =>
            evalScript(
              redis,
              REVOKE,
              [keys.set, keys.feed, keys.seq],
              [sid, String(until), String(now()), String(FEED_MAX_LENGTH)],
            ),
          timeout,
          true,
        );
      } catch (error) {
        throw unavailable(error);
      }
    },

    async isRevoked(sid) {
      checkSid(sid);
      const cached = cache.get(sid, now());
      if (cached !== undefined) return cached;
      let revoked: boolean;
      try {
        const ends = await outage.attempt(
          () => redis.sendCommand(['ZSCORE', keys.set, sid]),
          timeout,
        );
        // Entries that ended stay in the set until the next revocation trims them.
        revoked = ends !== null && Number(ends) > now();
      } catch (error) {
        if (policy === 'allow') return false;
        throw unavailable(error);
      }
      cache.set(sid, revoked, now());
      return revoked;
    },

    close,
  };
}
