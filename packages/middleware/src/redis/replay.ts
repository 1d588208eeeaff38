// A DPoP replay cache in Redis (RFC 9449 §11.1), for a fleet: every process behind one URL records
// each proof id in one place, so a proof accepted by one process is refused by all the others.
// One command per proof: SET key 1 NX PX ms: only the first SET of a key succeeds.
import { checkOptions, optionNames } from '@laissez/jwt/options';
import { type ConnectionOptions, checkMs, checkPrefix, Outage, openConnection } from './client.ts';

export interface RedisReplayCacheOptions extends ConnectionOptions {
  /** Prepended to every key. Default `laissez:dpop:`. */
  prefix?: string;
  /** Milliseconds to wait for Redis; longer is "cannot tell" (503). Default 250. */
  timeout?: number;
  /** Called once when an outage starts. Default: one line on stderr. */
  onError?: (error: Error) => void;
  /** The clock, ms (tests). */
  now?: () => number;
}

/**
 * Fits the middleware's `ReplayCache` (structurally: redis sits below the middleware layer and
 * does not import it).
 */
export interface RedisReplayCache {
  /** True the first time `key` is recorded before `expiresAtMs`; rejects when Redis cannot tell. */
  firstUse(key: string, expiresAtMs: number): Promise<boolean>;
  /** Closes the client made from `url`; a client passed in stays open. */
  close(): Promise<void>;
}

const OPTION_NAMES = optionNames<RedisReplayCacheOptions>({
  client: true,
  url: true,
  prefix: true,
  timeout: true,
  onError: true,
  now: true,
});

/**
 * The `dpopOptions.replayCache` of the middleware, shared through Redis. While Redis is unavailable
 * it cannot tell a replay, so it fails closed: the request gets a 503, never a pass.
 * @example
 * const replayCache = createRedisReplayCache({ url: 'redis://127.0.0.1:6379' });
 * app.use(laissez({ ..., dpop: 'required', publicUrl, dpopOptions: { replayCache } }));
 */
export function createRedisReplayCache(options: RedisReplayCacheOptions): RedisReplayCache {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('createRedisReplayCache needs options: { url } or { client }');
  }
  checkOptions('createRedisReplayCache', options, OPTION_NAMES);
  const prefix = checkPrefix(options.prefix ?? 'laissez:dpop:');
  const timeout = checkMs(options.timeout ?? 250, 'timeout');
  const now = options.now ?? Date.now;
  const onError =
    options.onError ??
    ((error: Error) =>
      console.error(
        `laissez: Redis is unavailable for the DPoP replay cache (${error.message}); DPoP requests are refused (503) until it answers again`,
      ));
  const outage = new Outage(onError, () =>
    console.error('laissez: Redis answers again; DPoP proofs are checked again'),
  );
  const { conn, close } = openConnection(options, outage, timeout);
  return {
    async firstUse(key, expiresAtMs) {
      // At least one millisecond: PX 0 is an error, and a proof at its last moment is still kept.
      const ms = Math.max(1, Math.ceil(expiresAtMs - now()));
      const answer = await outage.attempt(
        () => conn.sendCommand(['SET', prefix + key, '1', 'NX', 'PX', String(ms)]),
        timeout,
      );
      return answer === 'OK';
    },
    close,
  };
}
