// Rate-limit counters in Redis, so that limits and lock-outs hold across every instance of the auth
// server. Fixed windows: the first hit of a window creates the key with the window as its expiry;
// each hit is one atomic round trip (a Lua script: INCR, then PEXPIRE when the key is new).
//
// When Redis cannot be reached or does not answer in time, limits degrade but never open: by
// default each instance counts in memory until Redis answers again ('memory'), or the request is
// refused with StoreUnavailableError, which the server answers with 503 ('closed').
import { createHash } from 'node:crypto';
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
} from '@laissez/middleware/redis';
import { type CounterStore, MemoryCounterStore } from '../auth/limits.ts';
import { StoreUnavailableError } from '../store/types.ts';

export interface RedisCounterStoreOptions extends ConnectionOptions {
  /** Prepended to every key. Default `laissez:rl:`. */
  prefix?: string;
  /** Milliseconds to wait for Redis before treating it as unavailable. Default 250. */
  timeout?: number;
  /**
   * What to do while Redis is unavailable:
   * - `'memory'` (default): count in this process until Redis answers again. Limits still hold,
   *   per instance (with N instances an attacker gets up to N times the limit, never unlimited);
   * - `'closed'`: throw StoreUnavailableError (the server answers 503): no log-in or registration
   *   until Redis is back.
   */
  onUnavailable?: 'memory' | 'closed';
  /** Called once when an outage starts. Default: one line on stderr. */
  onError?: (error: Error) => void;
  /** Called once when Redis answers again after an outage. Default: one line on stderr. */
  onRecover?: () => void;
  /** Most windows kept by the in-memory fallback. Default 100 000. */
  memoryMax?: number;
}

const OPTION_NAMES = optionNames<RedisCounterStoreOptions>({
  client: true,
  url: true,
  prefix: true,
  timeout: true,
  onUnavailable: true,
  onError: true,
  onRecover: true,
  memoryMax: true,
});

type Window = { count: number; resetAt: number };

// KEYS[1] the counter, ARGV[1] the window (ms). Returns {count, milliseconds left}. A key without
// an expiry (a window whose PEXPIRE never ran, or a key set by hand) is given one.
const HIT = script(`
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`);

// KEYS[1] the counter. Returns {count, milliseconds left}, {0, 0} when there is no window.
const PEEK = script(`
local count = redis.call('GET', KEYS[1])
if not count then return {0, 0} end
return {tonumber(count), redis.call('PTTL', KEYS[1])}
`);

// KEYS[1] the counter, ARGV[1] the window (ms), ARGV[2] the most hits allowed. Adds one hit only if
// fewer than ARGV[2] are counted: the read and the write are one script, which Redis runs without
// interleaving another command, so N callers at once on any number of connections get at most
// ARGV[2] hits between them. Returns {1 if added else 0, count, milliseconds left}.
const RESERVE = script(`
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if count >= tonumber(ARGV[2]) then
  if count > 0 and ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
  end
  return {0, count, math.max(ttl, 0)}
end
count = redis.call('INCR', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {1, count, ttl}
`);

// KEYS[1] the counter. Takes one hit back, never below zero; DECR keeps the key's expiry, so the
// window ends when it would have. Returns the count before.
const RELEASE = script(`
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return count
`);

/** Keys longer than this (the login part is user input) are stored under their SHA-256. */
const LONG_KEY = 200;

function toWindow(reply: unknown, now: number): Window {
  if (!Array.isArray(reply) || reply.length !== 2) throw new Error('unexpected reply from Redis');
  const [count, ttl] = reply.map(Number) as [number, number];
  if (!Number.isSafeInteger(count) || !Number.isSafeInteger(ttl)) {
    throw new Error('unexpected reply from Redis');
  }
  return { count, resetAt: now + Math.max(0, ttl) };
}

function checkKey(key: unknown): void {
  if (typeof key !== 'string' || key.length === 0) throw new TypeError('key must be a string');
}

function checkNow(now: unknown): number {
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw new TypeError('now must be a time in milliseconds');
  }
  return now;
}

/** Counts hits per key in fixed windows kept in Redis, shared by every process that uses it. */
export class RedisCounterStore implements CounterStore {
  readonly #conn: RedisConnection;
  readonly #close: () => Promise<void>;
  readonly #prefix: string;
  readonly #timeout: number;
  readonly #closedWhenDown: boolean;
  readonly #outage: Outage;
  readonly #memory: MemoryCounterStore;
  /** Until then, windows counted in memory during an outage still count (caller's clock). */
  #memoryUntil = 0;

  constructor(options: RedisCounterStoreOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError('RedisCounterStore needs options: { url } or { client }');
    }
    checkOptions('RedisCounterStore', options, OPTION_NAMES);
    const policy = options.onUnavailable ?? 'memory';
    if (policy !== 'memory' && policy !== 'closed') {
      throw new TypeError("onUnavailable must be 'memory' or 'closed'");
    }
    this.#closedWhenDown = policy === 'closed';
    this.#prefix = checkPrefix(options.prefix ?? 'laissez:rl:');
    this.#timeout = checkMs(options.timeout ?? 250, 'timeout');
    this.#memory = new MemoryCounterStore(options.memoryMax);
    const onError =
      options.onError ??
      ((error: Error) =>
        console.error(
          `laissez: Redis is unavailable for rate limits (${error.message}); ${
            this.#closedWhenDown
              ? 'log-ins and registrations are refused (503)'
              : 'counting on this instance only'
          } until it answers again`,
        ));
    const onRecover =
      options.onRecover ??
      (() => console.error('laissez: Redis answers again; rate limits are shared again'));
    this.#outage = new Outage(onError, onRecover);
    const { conn, close } = openConnection(options, this.#outage, this.#timeout);
    this.#conn = conn;
    this.#close = close;
  }

  /** True while Redis is considered unavailable (between a failure and the next success). */
  get unavailable(): boolean {
    return this.#outage.down;
  }

  async hit(key: string, windowMs: number, now: number): Promise<Window> {
    checkKey(key);
    checkNow(now);
    const window = Math.ceil(checkMs(windowMs, 'windowMs'));
    let counted: Window;
    try {
      counted = toWindow(await this.#run(HIT, key, [String(window)]), now);
    } catch (error) {
      this.#refuseIfClosed(error);
      const local = await this.#memory.hit(key, window, now);
      this.#memoryUntil = Math.max(this.#memoryUntil, local.resetAt);
      return local;
    }
    return this.#addOutageCounts(key, counted, now);
  }

  async reserve(
    key: string,
    max: number,
    windowMs: number,
    now: number,
  ): Promise<Window & { ok: boolean }> {
    checkKey(key);
    checkNow(now);
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new TypeError('max must be a whole number of hits, at least 1');
    }
    const window = Math.ceil(checkMs(windowMs, 'windowMs'));
    // After an outage, hits counted in memory while Redis was away still count (see
    // #addOutageCounts): Redis may add one only while the two counts together stay under max.
    const local = now < this.#memoryUntil ? (await this.#memory.peek(key, now)).count : 0;
    let reply: unknown;
    try {
      reply = await this.#run(RESERVE, key, [String(window), String(Math.max(0, max - local))]);
    } catch (error) {
      this.#refuseIfClosed(error);
      const counted = await this.#memory.reserve(key, max, window, now);
      if (counted.ok) this.#memoryUntil = Math.max(this.#memoryUntil, counted.resetAt);
      return counted;
    }
    if (!Array.isArray(reply) || reply.length !== 3) throw new Error('unexpected reply from Redis');
    const counted = toWindow(reply.slice(1), now);
    return { ok: Number(reply[0]) === 1, ...(await this.#addOutageCounts(key, counted, now)) };
  }

  /**
   * Gives back a reserved hit: in Redis, or in this process's memory when Redis has none of this
   * key (the hit was counted there during an outage) or cannot be reached. Never throws: a hit not
   * given back keeps the count higher until its window ends (stricter, never looser).
   */
  async release(key: string, now: number): Promise<void> {
    checkKey(key);
    checkNow(now);
    try {
      const before = Number(await this.#run(RELEASE, key, []));
      if (before > 0) return;
    } catch {
      // Below: the hit may have been counted in memory.
    }
    await this.#memory.release(key, now);
  }

  async peek(key: string, now: number): Promise<Window> {
    checkKey(key);
    checkNow(now);
    let counted: Window;
    try {
      counted = toWindow(await this.#run(PEEK, key, []), now);
    } catch (error) {
      this.#refuseIfClosed(error);
      return this.#memory.peek(key, now);
    }
    return this.#addOutageCounts(key, counted, now);
  }

  /**
   * Deletes the window. With 'memory', a reset that cannot reach Redis only clears this process's
   * count: the shared window stays until it expires (stricter, never looser).
   */
  async reset(key: string): Promise<void> {
    checkKey(key);
    await this.#memory.reset(key);
    try {
      await this.#outage.attempt(
        () => this.#conn.sendCommand(['DEL', this.#key(key)]),
        this.#timeout,
      );
    } catch (error) {
      this.#refuseIfClosed(error);
    }
  }

  /** Closes the client made from `url`; a client passed in stays open. */
  async close(): Promise<void> {
    await this.#close();
  }

  #key(key: string): string {
    if (key.length <= LONG_KEY) return this.#prefix + key;
    return `${this.#prefix}sha256:${createHash('sha256').update(key).digest('base64url')}`;
  }

  #run(lua: typeof HIT, key: string, args: string[]): Promise<unknown> {
    const redisKey = this.#key(key);
    return this.#outage.attempt(() => evalScript(this.#conn, lua, [redisKey], args), this.#timeout);
  }

  #refuseIfClosed(error: unknown): void {
    if (this.#closedWhenDown) {
      const why = error instanceof Error ? error.message : String(error);
      throw new StoreUnavailableError(`the rate-limit counters are unavailable: ${why}`, {
        cause: error,
      });
    }
  }

  /**
   * After an outage, hits counted in memory while Redis was away are added to Redis's count until
   * their windows end: the two sets of hits are disjoint, so the sum is the best count there is,
   * and a lock-out taken during the outage does not vanish when Redis comes back.
   */
  async #addOutageCounts(key: string, counted: Window, now: number): Promise<Window> {
    if (now >= this.#memoryUntil) return counted;
    const local = await this.#memory.peek(key, now);
    if (local.count === 0) return counted;
    return {
      count: counted.count + local.count,
      resetAt: Math.max(counted.resetAt, local.resetAt),
    };
  }
}
