// Revocation pushed to every verifier instead of asked for on every request. Each process holds the
// revocation list in memory (sid → when the entry ends), loaded whole from Redis's sorted set at
// start and after every reconnection, then kept up to date by following the stream that every
// `revoke` appends to (revocation.ts). A check is then a Map lookup: no network call per request.
//
// Why a stream (XADD / XREAD BLOCK) rather than PUBLISH / SUBSCRIBE: a message published while a
// subscriber is reconnecting is lost, so pub/sub needs the subscription to be open before the full
// load and every message to be replayed over it, and a subscriber cannot tell that it missed one.
// The stream keeps the messages: the full load reads the set AND the stream's last id in one atomic
// script, and reading the stream after that id yields exactly the changes made after the snapshot,
// none lost, none missed, however long the load took. Messages are numbered (a counter incremented
// by the same script that writes the entry), so a verifier that fell further behind than the
// stream keeps (FEED_MAX_LENGTH) sees the gap and loads the set again.
//
// Fail closed: the local set is trusted only while the feed has heard from Redis within `maxStale`
// ms (an XREAD answers at least every `maxStale / 3` ms, with changes or empty). After that,
// `isRevoked` rejects with RevocationUnavailableError (the middleware answers 503), as the polled
// list does when Redis is down, until the set is loaded again.
//
// This file holds the local set and the staleness rule and wires them to the reader of the stream
// (feed-stream.ts), which owns the feed's connection, the full load and the XREAD loop.

import { checkOptions, optionNames } from '@laissez/jwt/options';
import { type ConnectionOptions, checkMs, checkPrefix } from './client.ts';
import { type FeedConnection, feedConnector, followRevocationFeed } from './feed-stream.ts';
import {
  createRevocationList,
  isValidSid,
  type RevocationList,
  RevocationUnavailableError,
  revocationKeys,
} from './revocation.ts';

export interface RevocationFeedOptions extends ConnectionOptions {
  /** The prefix of the revocation list's keys, as given to `createRevocationList`. Default `laissez:rev:`. */
  prefix?: string;
  /** Milliseconds for Redis to connect, or to answer a load or a revocation. Default 1000. */
  timeout?: number;
  /**
   * Milliseconds the local set may go without word from Redis before `isRevoked` fails closed
   * (RevocationUnavailableError, 503). Within it, a verifier whose connection dropped answers from
   * the set it has: a revocation made meanwhile reaches it when the feed is back. Default 3000.
   */
  maxStale?: number;
  /**
   * What `isRevoked` does once the set is stale (or was never loaded):
   * - `'deny'` (default): reject with RevocationUnavailableError (answer 503);
   * - `'allow'`: answer from the set it has (nothing before the first load), as if it were fresh.
   */
  onUnavailable?: 'deny' | 'allow';
  /** Called once when the feed is lost. Default: one line on stderr. */
  onError?: (error: Error) => void;
  /** Called once when the set is loaded again after that. Default: one line on stderr. */
  onRecover?: () => void;
  /** The clock of the entries' ends, ms since 1970 (tests). Default `Date.now`. */
  now?: () => number;
}

/**
 * A revocation list held in memory and pushed from Redis. `revoke` records the entry in Redis (and
 * here at once); `isRevoked` is a local lookup.
 */
export interface RevocationFeed extends RevocationList {
  /**
   * The same answer as `isRevoked`, without a promise when it can: a boolean once the set is
   * loaded and fresh; a promise while the first load is under way (it waits up to `timeout`). Throws
   * (or rejects with) RevocationUnavailableError when the set is stale. `checkSessions` uses it.
   */
  check(sid: string): boolean | Promise<boolean>;
  /** Resolves once the set has been loaded (the first time); never rejects. */
  ready(): Promise<void>;
  /** Entries held in memory now (ended ones included until the next sweep). */
  readonly size: number;
  /** True while the set is loaded and has heard from Redis within `maxStale`. */
  readonly fresh: boolean;
}

const OPTION_NAMES = optionNames<RevocationFeedOptions>({
  client: true,
  url: true,
  prefix: true,
  timeout: true,
  maxStale: true,
  onUnavailable: true,
  onError: true,
  onRecover: true,
  now: true,
});

/** How often ended entries are dropped from memory, ms. */
const SWEEP_INTERVAL = 1000;

/** The options checked once, with their defaults. */
interface FeedSettings {
  readonly policy: 'deny' | 'allow';
  readonly prefix: string;
  readonly timeout: number;
  readonly maxStale: number;
  /** Milliseconds an XREAD waits: it answers at least this often, so a live feed is never stale. */
  readonly block: number;
  readonly now: () => number;
  readonly connect: () => FeedConnection;
  readonly onError: (error: Error) => void;
  readonly onRecover: () => void;
}

function feedSettings(options: RevocationFeedOptions): FeedSettings {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('createRevocationFeed needs options: { url } or { client }');
  }
  checkOptions('createRevocationFeed', options, OPTION_NAMES);
  const policy = options.onUnavailable ?? 'deny';
  if (policy !== 'deny' && policy !== 'allow') {
    throw new TypeError("onUnavailable must be 'deny' or 'allow'");
  }
  const prefix = checkPrefix(options.prefix ?? 'laissez:rev:');
  const timeout = checkMs(options.timeout ?? 1000, 'timeout');
  const maxStale = checkMs(options.maxStale ?? 3000, 'maxStale');
  if (maxStale < 30) throw new TypeError('maxStale must be at least 30 ms');
  const connect = feedConnector(options, timeout);
  const onError =
    options.onError ??
    ((error: Error) =>
      console.error(
        `laissez: the revocation feed from Redis is lost (${error.message}); ${
          policy === 'deny'
            ? `requests are refused (503) once it has been gone ${maxStale} ms`
            : 'tokens are checked against the revocations known so far'
        } until it is back`,
      ));
  const onRecover =
    options.onRecover ??
    (() => console.error('laissez: the revocation feed from Redis is back, the list reloaded'));
  return {
    policy,
    prefix,
    timeout,
    maxStale,
    block: Math.max(10, Math.floor(Math.min(1000, maxStale / 3))),
    now: options.now ?? Date.now,
    connect,
    onError,
    onRecover,
  };
}

/**
 * The local set: sid → when its entry ends. Entries are only ever added or extended: an entry says
 * "revoked until", and no later message can make that untrue. Ended entries are swept every second
 * until `stop`.
 */
function localRevocations(now: () => number) {
  const entries = new Map<string, number>();
  const sweep = setInterval(() => {
    const t = now();
    for (const [sid, until] of entries) if (until <= t) entries.delete(sid);
  }, SWEEP_INTERVAL);
  sweep.unref();
  return {
    entries,
    add(sid: unknown, until: number): void {
      if (!isValidSid(sid) || !Number.isFinite(until) || until <= now()) return;
      const known = entries.get(sid);
      if (known === undefined || known < until) entries.set(sid, until);
    },
    lookup(sid: string): boolean {
      const until = entries.get(sid);
      return until !== undefined && until > now();
    },
    stop: () => clearInterval(sweep),
  };
}

/**
 * The staleness rule: the set is trusted while it is loaded and Redis was heard from within
 * `maxStale` ms. The reader reports each load and each answer; `loadedOnce` settles at the first
 * load.
 */
function staleness(maxStale: number) {
  let loaded = false;
  let lastContact = Number.NEGATIVE_INFINITY; // performance.now() of the last word from Redis
  let firstLoad!: () => void;
  const loadedOnce = new Promise<void>((resolve) => {
    firstLoad = resolve;
  });
  return {
    loadedOnce,
    get loaded() {
      return loaded;
    },
    onLoad(): void {
      lastContact = performance.now();
      loaded = true;
      firstLoad();
    },
    onContact(): void {
      lastContact = performance.now();
    },
    fresh: () => loaded && performance.now() - lastContact <= maxStale,
    unavailable: () =>
      new RevocationUnavailableError(
        loaded
          ? `the revocation feed has not heard from Redis for over ${maxStale} ms`
          : 'the revocation list has not been loaded from Redis yet',
      ),
  };
}

/** A revocation list held in memory by this process, pushed from Redis. See the file's header. */
export function createRevocationFeed(options: RevocationFeedOptions): RevocationFeed {
  const settings = feedSettings(options);
  const { policy, prefix, timeout, now } = settings;
  const local = localRevocations(now);
  const { add, lookup } = local;
  const rule = staleness(settings.maxStale);
  const { fresh, loadedOnce } = rule;
  let closed = false;
  const stream = followRevocationFeed({
    connect: settings.connect,
    keys: revocationKeys(prefix),
    timeout,
    block: settings.block,
    now,
    add,
    onLoad: rule.onLoad,
    onContact: rule.onContact,
    onError: settings.onError,
    onRecover: settings.onRecover,
  });
  const list = createRevocationList({
    ...(options.url !== undefined ? { url: options.url } : { client: options.client }),
    prefix,
    timeout,
    onError: () => {},
    onRecover: () => {},
    now,
  });

  function check(sid: string): boolean | Promise<boolean> {
    if (!isValidSid(sid)) throw new TypeError('sid must be a valid session id');
    if (fresh() || (policy === 'allow' && rule.loaded)) return lookup(sid);
    if (!rule.loaded && !closed) {
      // Just started: wait for the first load rather than refuse the first requests.
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeout);
      });
      return Promise.race([loadedOnce, waited]).then(() => {
        clearTimeout(timer);
        if (fresh() || (policy === 'allow' && rule.loaded)) return lookup(sid);
        if (policy === 'allow') return lookup(sid);
        throw rule.unavailable();
      });
    }
    if (policy === 'allow') return lookup(sid);
    throw rule.unavailable();
  }

  return {
    check,
    async isRevoked(sid) {
      return check(sid);
    },
    async revoke(sid, untilMs) {
      // Here at once (even if Redis does not take it), then in Redis for every other verifier.
      if (isValidSid(sid) && typeof untilMs === 'number') add(sid, Math.ceil(untilMs));
      await list.revoke(sid, untilMs);
    },
    ready: () => loadedOnce,
    get size() {
      return local.entries.size;
    },
    get fresh() {
      return fresh();
    },
    async close() {
      if (closed) return;
      closed = true;
      local.stop();
      stream.stop();
      await list.close();
    },
  };
}
