// The plumbing shared by the Redis-backed parts of laissez: a client with safe defaults (no offline
// queue, endless reconnection, errors always handled), commands bounded by a timeout, Lua scripts
// sent by hash, and the bookkeeping of an outage (report it once, probe, notice the recovery).
import { createHash } from 'node:crypto';
import { checkOptions, optionNames } from '@laissez/jwt/options';
import { createClient, type RedisClientType } from '@redis/client';

/**
 * The part of a node-redis client that laissez uses. Any client made by `createClient()` of
 * `@redis/client` (or `redis`) fits.
 */
export interface RedisConnection {
  sendCommand(args: ReadonlyArray<string>): Promise<unknown>;
  on(event: 'error' | 'ready', listener: (error: Error) => void): unknown;
  off(event: 'error' | 'ready', listener: (error: Error) => void): unknown;
  readonly isReady?: boolean;
}

/** A client made by `connectRedis`. */
export type RedisClient = RedisClientType;

export interface ConnectRedisOptions {
  /** Milliseconds to open a connection before trying again. Default 2000. */
  connectTimeout?: number;
  /**
   * Connection errors (the client keeps reconnecting by itself, up to every 2 s): the first error
   * of an outage, then at most one per `errorInterval` with how many came since the last call
   * (`count`) and how long the outage has lasted (`downMs`). Default: ignored.
   */
  onError?: (error: Error, outage: { count: number; downMs: number }) => void;
  /** Milliseconds between two `onError` calls during one outage. Default 60 000; 0 for every error. */
  errorInterval?: number;
  /** Called once when the connection is back after errors, with how long it was down. */
  onRestored?: (downMs: number) => void;
}

const CONNECT_OPTION_NAMES = optionNames<ConnectRedisOptions>({
  connectTimeout: true,
  onError: true,
  errorInterval: true,
  onRestored: true,
});

/** The longest wait between two reconnection attempts, milliseconds. */
const MAX_RECONNECT_DELAY = 2000;

/**
 * A node-redis client for `url` (`redis://` or `rediss://`), already connecting in the background.
 * Made so that a request never waits for a Redis that is not there:
 * - commands sent while disconnected fail at once (no offline queue) instead of queueing;
 * - it reconnects for ever, backing off up to 2 s, so it comes back when Redis does;
 * - `error` events are always handled, so a Redis failure never crashes the process.
 * A bad URL throws here (TypeError). Close it with `closeClient(client)`, which also copes with a
 * client that is still making its first connection.
 */
export function connectRedis(url: string, options: ConnectRedisOptions = {}): RedisClient {
  if (typeof url !== 'string' || !/^rediss?:\/\//i.test(url)) {
    throw new TypeError('the Redis URL must start with redis:// or rediss://');
  }
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options must be an object');
  }
  checkOptions('connectRedis', options, CONNECT_OPTION_NAMES);
  const client = createClient({
    url,
    disableOfflineQueue: true,
    // Bounds what piles up behind a Redis that accepts connections but does not answer.
    commandsQueueMaxLength: 10_000,
    socket: {
      connectTimeout: options.connectTimeout ?? 2000,
      reconnectStrategy: (retries: number) =>
        Math.min(50 * 2 ** Math.min(retries, 6), MAX_RECONNECT_DELAY) +
        Math.floor(Math.random() * 100),
    },
  });
  const onError = options.onError ?? (() => {});
  const interval = options.errorInterval ?? 60_000;
  if (!(interval >= 0)) throw new TypeError('errorInterval must be 0 or more milliseconds');
  // One outage is one story in the logs: how it started, a line a minute while it lasts, its end.
  let downSince: number | undefined;
  let lastCall = 0;
  let unreported = 0;
  client.on('error', (error: Error) => {
    const now = Date.now();
    unreported++;
    if (downSince === undefined) downSince = now;
    else if (now - lastCall < interval) return;
    lastCall = now;
    const count = unreported;
    unreported = 0;
    try {
      onError(error, { count, downMs: now - downSince });
    } catch {
      // A throwing listener must not crash the process either.
    }
  });
  client.on('ready', () => {
    if (downSince === undefined) return;
    const downMs = Date.now() - downSince;
    downSince = undefined;
    unreported = 0;
    try {
      options.onRestored?.(downMs);
    } catch {
      // As above.
    }
  });
  // connect() keeps trying until Redis answers; it only rejects when the client is closed first.
  client.connect().catch(() => {});
  return client;
}

/** Closes a client made here: politely if it can, at once if it cannot within `ms`. */
export async function closeClient(client: RedisClient, ms = 1000): Promise<void> {
  if (!client.isReady) {
    // Nothing to drain (no offline queue). node-redis keeps a socket that was still connecting
    // when the client was closed, which would hold the process open: destroy that one as it comes.
    const destroy = () => {
      try {
        client.destroy();
      } catch {
        // Already gone.
      }
    };
    client.on('connect', destroy);
    client.on('ready', destroy);
    destroy();
    return;
  }
  try {
    await withTimeout(client.close(), ms);
  } catch {
    client.destroy();
  }
}

/** Thrown (internally) when a command takes longer than the configured timeout. */
export class RedisTimeoutError extends Error {
  override name = 'RedisTimeoutError';
}

/**
 * `promise`, or a RedisTimeoutError after `ms`. node-redis's own command timeout stops counting
 * once a command is written, so a Redis that accepts the command and never answers (stopped,
 * overloaded, a half-open connection) is bounded here instead.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RedisTimeoutError(`Redis did not answer within ${ms} ms`)),
      ms,
    );
  });
  // A late failure after the timeout won must not become an unhandled rejection.
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface Script {
  readonly source: string;
  readonly sha: string;
}

export function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Runs a Lua script by its hash, sending the source once when Redis does not know it yet. */
export async function evalScript(
  conn: RedisConnection,
  lua: Script,
  keys: readonly string[],
  args: readonly string[],
): Promise<unknown> {
  const tail = [String(keys.length), ...keys, ...args];
  try {
    return await conn.sendCommand(['EVALSHA', lua.sha, ...tail]);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return conn.sendCommand(['EVAL', lua.source, ...tail]);
  }
}

/** Thrown (internally) instead of trying Redis during an outage. */
export class RedisDownError extends Error {
  override name = 'RedisDownError';
}

/** The least time between two probes of one outage, milliseconds. */
const PROBE_INTERVAL = 1000;

/**
 * The state of one feature's view of Redis. The first failure starts an outage and is reported
 * once. While it lasts, calls do not try Redis at all: they fail at once with RedisDownError (and
 * the feature falls back), and one probe at a time, at most one per PROBE_INTERVAL, runs in the
 * background: a PING bounded by the timeout, which no call waits for. A hung Redis (it accepts
 * the connection and never answers) thus costs the calls in flight when it stopped answering one
 * timeout, once; a call that merely became due to probe costs nothing. The first success (a
 * probe's, or a call's that was already in flight) ends the outage and is reported too.
 */
export class Outage {
  #down = false;
  #probing = false;
  /** When the next probe may start (Date.now() clock). */
  #nextProbe = 0;
  #last: Error | undefined;
  #probe: (() => Promise<unknown>) | undefined;
  #probeMs = 0;
  readonly #report: (error: Error) => void;
  readonly #recovered: () => void;

  constructor(report: (error: Error) => void, recovered: () => void) {
    this.#report = report;
    this.#recovered = recovered;
  }

  get down(): boolean {
    return this.#down;
  }

  /** How to probe: `ping`, bounded by `ms` (`openConnection` sets it). */
  probeWith(ping: () => Promise<unknown>, ms: number): void {
    this.#probe = ping;
    this.#probeMs = ms;
  }

  /** Records a failure (a command's, or the client's `error` event). */
  failed(error: unknown): void {
    this.#last = error instanceof Error ? error : new Error(String(error));
    if (this.#down) return;
    this.#down = true;
    try {
      this.#report(this.#last);
    } catch {
      // A throwing reporter must not turn an outage into a crash.
    }
  }

  #succeeded(): void {
    if (!this.#down) return;
    this.#down = false;
    try {
      this.#recovered();
    } catch {
      // As above.
    }
  }

  /** A failed attempt: recorded, and the next probe is not due before PROBE_INTERVAL. */
  #attemptFailed(error: unknown): void {
    this.#nextProbe = Date.now() + PROBE_INTERVAL;
    this.failed(error);
  }

  /** The client (re)connected: during an outage, probe now rather than at the next call. */
  reconnected(): void {
    if (!this.#down) return;
    this.#nextProbe = 0;
    this.#maybeProbe();
  }

  /** Starts a background probe when one is due; nobody waits for it. */
  #maybeProbe(): void {
    const ping = this.#probe;
    if (ping === undefined || this.#probing || Date.now() < this.#nextProbe) return;
    this.#probing = true;
    let answer: Promise<unknown>;
    try {
      answer = withTimeout(ping(), this.#probeMs);
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      () => {
        this.#probing = false;
        this.#succeeded();
      },
      (error: unknown) => {
        this.#probing = false;
        this.#attemptFailed(error);
      },
    );
  }

  /**
   * Runs `command` within `ms`. During an outage, fails at once with RedisDownError (starting a
   * background probe when one is due) unless `always` (for writes that must be tried, like a
   * revocation: those wait for Redis, within `ms`, whatever the outage).
   */
  async attempt<T>(command: () => Promise<T>, ms: number, always = false): Promise<T> {
    if (this.#down && !always) {
      this.#maybeProbe();
      throw new RedisDownError('Redis is unavailable', { cause: this.#last });
    }
    try {
      const value = await withTimeout(command(), ms);
      this.#succeeded();
      return value;
    } catch (error) {
      this.#attemptFailed(error);
      throw error;
    }
  }
}

export interface ConnectionOptions {
  /** A connected node-redis client, shared: `close()` leaves it open. */
  client?: RedisConnection;
  /** A Redis URL: a client is made (see `connectRedis`) and closed by `close()`. */
  url?: string;
}

/**
 * The connection of a store: the caller's client, or one made from the URL and owned. While the
 * client makes its first connection, commands wait for it (within the caller's timeout), so that
 * the first requests after start do not count as an outage; once it has connected or failed to, a
 * disconnected client fails at once. `outage` probes it with a PING bounded by `timeout`.
 */
export function openConnection(
  options: ConnectionOptions,
  outage: Outage,
  timeout: number,
): { conn: RedisConnection; close(): Promise<void> } {
  const hasClient = options.client !== undefined;
  const hasUrl = options.url !== undefined;
  if (hasClient === hasUrl) throw new TypeError('give exactly one of client and url');
  let client: RedisConnection;
  let owned: RedisClient | undefined;
  if (hasUrl) {
    owned = connectRedis(options.url as string, { onError: (e) => outage.failed(e) });
    client = owned;
  } else {
    client = options.client as RedisConnection;
    if (typeof client.sendCommand !== 'function' || typeof client.on !== 'function') {
      throw new TypeError('client must be a node-redis client (createClient() of @redis/client)');
    }
  }
  // Without a listener, an `error` event would crash the process.
  const onError = (error: Error) => outage.failed(error);
  if (!owned) client.on('error', onError);

  let ready = client.isReady !== false;
  let firstReady: Promise<void> = Promise.resolve();
  let onReady = () => {};
  if (!ready) {
    firstReady = new Promise<void>((resolve) => {
      onReady = () => {
        ready = true;
        client.off('ready', onReady);
        client.off('error', onReady);
        resolve();
      };
    });
    client.on('ready', onReady);
    // A first attempt that fails ends the wait: from then on, commands fail at once.
    client.on('error', onReady);
  }
  const conn: RedisConnection = {
    sendCommand: async (args) => {
      if (!ready) await firstReady;
      return client.sendCommand(args);
    },
    on: (event, listener) => client.on(event, listener),
    off: (event, listener) => client.off(event, listener),
  };
  outage.probeWith(() => conn.sendCommand(['PING']), timeout);
  // A Redis that comes back is noticed when the client reconnects, not only at the next call.
  const onReconnect = () => outage.reconnected();
  client.on('ready', onReconnect);
  return {
    conn,
    close: async () => {
      client.off('ready', onReady);
      client.off('error', onReady);
      client.off('ready', onReconnect);
      if (owned) await closeClient(owned);
      else client.off('error', onError);
    },
  };
}

/** A positive number of milliseconds, or TypeError. */
export function checkMs(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${name} must be a positive number of milliseconds`);
  }
  return value;
}

export function checkPrefix(value: unknown): string {
  if (typeof value !== 'string' || value.length > 100) {
    throw new TypeError('prefix must be a string of at most 100 characters');
  }
  return value;
}
