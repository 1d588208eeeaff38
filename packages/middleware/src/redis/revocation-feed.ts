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

import { checkOptions, optionNames } from '@laissez/jwt/options';
import { createClient } from '@redis/client';
import {
  type ConnectionOptions,
  checkMs,
  checkPrefix,
  evalScript,
  type RedisConnection,
  script,
  withTimeout,
} from './client.ts';
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

// KEYS set, feed, seq; ARGV now. The live entries, the stream's last id and the counter of its
// last message, read in one script so that nothing can come between them (read-only: a replica can
// answer it).
const LOAD = script(`
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local id = '0-0'
if #last > 0 then id = last[1][1] end
local seq = redis.call('GET', KEYS[3]) or '0'
return {id, seq, redis.call('ZRANGE', KEYS[1], '(' .. ARGV[1], '+inf', 'BYSCORE', 'WITHSCORES')}
`);

/** Messages read from the stream at once. */
const READ_COUNT = 1000;
/** The longest wait between two connection attempts, ms. */
const MAX_BACKOFF = 2000;
/** How often ended entries are dropped from memory, ms. */
const SWEEP_INTERVAL = 1000;

/** The part of a node-redis client the feed uses for its own connection. */
interface FeedConnection extends RedisConnection {
  connect(): Promise<unknown>;
  destroy(): void;
}

/**
 * Drops a connection, also one still connecting: node-redis keeps a socket that was connecting
 * when its client was destroyed, which would hold the process open after close (a server that
 * never exits on SIGTERM). It is destroyed again as soon as it connects.
 */
function drop(conn: FeedConnection): void {
  const destroy = () => {
    try {
      conn.destroy();
    } catch {
      // Already gone.
    }
  };
  // node-redis emits both; RedisConnection types only the ones the stores listen to.
  const events = conn as unknown as { on(event: 'connect' | 'ready', listener: () => void): void };
  events.on('connect', destroy);
  events.on('ready', destroy);
  destroy();
}

type Message = { id: string; sid: unknown; until: number; n: number };

/** The messages of an XREAD reply, whichever RESP version the client speaks. */
function messagesOf(reply: unknown): Message[] {
  if (reply === null || reply === undefined) return [];
  let streams: unknown[];
  if (reply instanceof Map) streams = [...reply.values()];
  else if (Array.isArray(reply)) streams = reply.map((s) => (s as unknown[])[1]);
  else if (typeof reply === 'object') streams = Object.values(reply);
  else throw new TypeError('unexpected XREAD reply');
  const out: Message[] = [];
  for (const messages of streams) {
    for (const message of messages as [string, unknown][]) {
      const [id, raw] = message;
      const fields = new Map<string, string>();
      if (Array.isArray(raw)) {
        for (let i = 0; i + 1 < raw.length; i += 2) fields.set(String(raw[i]), String(raw[i + 1]));
      } else if (raw instanceof Map) {
        for (const [k, v] of raw) fields.set(String(k), String(v));
      } else if (raw !== null && typeof raw === 'object') {
        for (const [k, v] of Object.entries(raw)) fields.set(k, String(v));
      }
      out.push({
        id: String(id),
        sid: fields.get('sid'),
        until: Number(fields.get('until')),
        n: Number(fields.get('n')),
      });
    }
  }
  return out;
}

/** A revocation list held in memory by this process, pushed from Redis. See the file's header. */
export function createRevocationFeed(options: RevocationFeedOptions): RevocationFeed {
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
  const now = options.now ?? Date.now;
  const keys = revocationKeys(prefix);
  // An XREAD answers at least this often, so a live feed is never stale.
  const block = Math.max(10, Math.floor(Math.min(1000, maxStale / 3)));

  if ((options.client === undefined) === (options.url === undefined)) {
    throw new TypeError('give exactly one of client and url');
  }
  // The feed blocks its connection in XREAD, so it needs one of its own: a duplicate of the
  // client given (its options, its address), or a client of the URL.
  let connect: () => FeedConnection;
  if (options.url !== undefined) {
    const url = options.url;
    if (typeof url !== 'string' || !/^rediss?:\/\//i.test(url)) {
      throw new TypeError('the Redis URL must start with redis:// or rediss://');
    }
    connect = () =>
      createClient({
        url,
        disableOfflineQueue: true,
        socket: { connectTimeout: timeout, reconnectStrategy: false },
      }) as unknown as FeedConnection;
  } else {
    const client = options.client as RedisConnection & { duplicate?: unknown };
    if (typeof client?.sendCommand !== 'function' || typeof client.duplicate !== 'function') {
      throw new TypeError(
        'client must be a node-redis client (createClient() of @redis/client): the feed duplicates it for its own connection',
      );
    }
    const duplicate = client.duplicate as (overrides: object) => FeedConnection;
    connect = () => duplicate.call(client, { disableOfflineQueue: true });
  }

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

  // The list: sid → when its entry ends. Entries are only ever added or extended: an entry says
  // "revoked until", and no later message can make that untrue.
  const entries = new Map<string, number>();
  const add = (sid: unknown, until: number) => {
    if (!isValidSid(sid) || !Number.isFinite(until) || until <= now()) return;
    const known = entries.get(sid);
    if (known === undefined || known < until) entries.set(sid, until);
  };
  let loaded = false;
  let lastContact = Number.NEGATIVE_INFINITY; // performance.now() of the last word from Redis
  let lost = false;
  let closed = false;
  let lastId = '0-0';
  let lastSeq = 0;
  let current: FeedConnection | undefined;
  let wake: (() => void) | undefined;
  let firstLoad!: () => void;
  const loadedOnce = new Promise<void>((resolve) => {
    firstLoad = resolve;
  });

  const report = (error: unknown) => {
    if (lost || closed) return;
    lost = true;
    try {
      onError(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // A throwing reporter must not stop the feed.
    }
  };

  async function load(conn: FeedConnection): Promise<void> {
    const reply = (await withTimeout(
      evalScript(conn, LOAD, [keys.set, keys.feed, keys.seq], [String(now())]),
      timeout,
    )) as [unknown, unknown, unknown[]];
    const [id, seq, flat] = reply;
    for (let i = 0; i + 1 < flat.length; i += 2) add(String(flat[i]), Number(flat[i + 1]));
    lastId = String(id);
    lastSeq = Number(seq);
    lastContact = performance.now();
    loaded = true;
    firstLoad();
    if (lost) {
      lost = false;
      try {
        onRecover();
      } catch {
        // As above.
      }
    }
  }

  /** Reads the next changes (or none within `block` ms); loads again on a gap in the numbering. */
  async function follow(conn: FeedConnection): Promise<void> {
    const reply = await withTimeout(
      conn.sendCommand([
        'XREAD',
        'COUNT',
        String(READ_COUNT),
        'BLOCK',
        String(block),
        'STREAMS',
        keys.feed,
        lastId,
      ]),
      block + timeout,
    );
    const messages = messagesOf(reply);
    for (const message of messages) {
      if (!(message.n <= lastSeq + 1)) {
        // Messages were trimmed from the stream before this process read them.
        await load(conn);
        return;
      }
      add(message.sid, message.until);
      lastId = message.id;
      if (message.n > lastSeq) lastSeq = message.n;
    }
    lastContact = performance.now();
  }

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function run(): Promise<void> {
    let failures = 0;
    while (!closed) {
      const conn = connect();
      current = conn;
      // Without a listener, an `error` event would crash the process.
      conn.on('error', (error) => report(error));
      try {
        await withTimeout(conn.connect(), timeout);
        await load(conn);
        failures = 0;
        while (!closed) await follow(conn);
      } catch (error) {
        report(error);
      } finally {
        current = undefined;
        drop(conn);
      }
      if (closed) break;
      // A fresh connection and a full load after every failure, backing off up to 2 s.
      await pause(Math.min(50 * 2 ** Math.min(failures++, 6), MAX_BACKOFF) * Math.random());
    }
  }
  void run();

  const sweep = setInterval(() => {
    const t = now();
    for (const [sid, until] of entries) if (until <= t) entries.delete(sid);
  }, SWEEP_INTERVAL);
  sweep.unref();

  const list = createRevocationList({
    ...(options.url !== undefined ? { url: options.url } : { client: options.client }),
    prefix,
    timeout,
    onError: () => {},
    onRecover: () => {},
    now,
  });

  const unavailable = () =>
    new RevocationUnavailableError(
      loaded
        ? `the revocation feed has not heard from Redis for over ${maxStale} ms`
        : 'the revocation list has not been loaded from Redis yet',
    );
  const fresh = () => loaded && performance.now() - lastContact <= maxStale;
  const lookup = (sid: string) => {
    const until = entries.get(sid);
    return until !== undefined && until > now();
  };

  function check(sid: string): boolean | Promise<boolean> {
    if (!isValidSid(sid)) throw new TypeError('sid must be a valid session id');
    if (fresh() || (policy === 'allow' && loaded)) return lookup(sid);
    if (!loaded && !closed) {
      // Just started: wait for the first load rather than refuse the first requests.
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeout);
      });
      return Promise.race([loadedOnce, waited]).then(() => {
        clearTimeout(timer);
        if (fresh() || (policy === 'allow' && loaded)) return lookup(sid);
        if (policy === 'allow') return lookup(sid);
        throw unavailable();
      });
    }
    if (policy === 'allow') return lookup(sid);
    throw unavailable();
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
      return entries.size;
    },
    get fresh() {
      return fresh();
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweep);
      wake?.();
      if (current) drop(current);
      await list.close();
    },
  };
}
