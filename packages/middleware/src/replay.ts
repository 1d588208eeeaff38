// Replay caches for DPoP proofs (RFC 9449 §11.1): a proof's `jti` is remembered until the proof
// would be refused as too old anyway, so each proof is accepted once. In memory for one process
// (bounded), or in Redis for a fleet (laissez/redis `createRedisReplayCache`).
import { hash } from 'node:crypto';

/** Remembers proof ids. Shared by every check of one service (one cache, many routes). */
export interface ReplayCache {
  /**
   * Records `key` until `expiresAtMs` (ms since 1970); true the first time it is seen, false after.
   * A throw (or rejection) means "cannot tell": the request gets a 503, never a pass.
   */
  firstUse(key: string, expiresAtMs: number): boolean | Promise<boolean>;
}

/**
 * The key a proof is remembered by: its key's thumbprint and its jti, hashed to 22 characters
 * (128 bits), so an entry has a fixed size whatever the jti, and one client cannot use up another's
 * jti values.
 */
export function replayKey(jkt: string, jti: string): string {
  return hash('sha256', `${jkt}.${jti}`, 'base64url').slice(0, 22);
}

/** Thrown by the memory cache when it is full of proofs that are all still fresh. */
export class ReplayCacheFullError extends Error {
  override name = 'ReplayCacheFullError';
}

export interface MemoryReplayCacheOptions {
  /** Most proof ids kept. Default 200 000 (about 30 MB at most). */
  max?: number;
  /** The clock, ms (tests). */
  now?: () => number;
}

/**
 * A replay cache for one process. Entries leave when their proof could no longer be accepted. When
 * it holds `max` fresh entries it refuses to forget one (a forgotten jti could be replayed): the
 * request gets a 503 until entries expire. `max` over the proof window (65 s by default) bounds the
 * proofs per second one process can take: 200 000 / 65 s ≈ 3 000 /s; a fleet uses Redis.
 */
export function createMemoryReplayCache(options: MemoryReplayCacheOptions = {}): ReplayCache {
  const max = options.max ?? 200_000;
  if (!Number.isSafeInteger(max) || max < 1) throw new TypeError('max must be a positive integer');
  const now = options.now ?? Date.now;
  // Insertion order is nearly expiry order (every proof lives the same window from its iat), so
  // expired entries are swept from the front.
  const seen = new Map<string, number>();
  return {
    firstUse(key, expiresAtMs) {
      const t = now();
      const old = seen.get(key);
      if (old !== undefined && old > t) return false;
      for (const [k, until] of seen) {
        if (until > t) break;
        seen.delete(k);
      }
      if (seen.size >= max) {
        throw new ReplayCacheFullError(
          `the DPoP replay cache holds ${max} fresh proofs; raise its max or use the Redis replay cache`,
        );
      }
      seen.delete(key);
      seen.set(key, expiresAtMs);
      return true;
    },
  };
}
