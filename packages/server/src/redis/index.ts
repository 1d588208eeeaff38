// Redis-backed parts of laissez: shared rate-limit counters for the auth server, and the opt-in
// revocation list of sessions for resource servers: asked per request (createRevocationList) or
// held in memory and pushed to every verifier (createRevocationFeed). See docs/scale-out.md.

export {
  type ConnectRedisOptions,
  checkSessions,
  closeClient,
  connectRedis,
  createRedisReplayCache,
  createRevocationFeed,
  createRevocationList,
  isValidSid,
  type RedisClient,
  type RedisConnection,
  type RedisReplayCache,
  type RedisReplayCacheOptions,
  type RevocationChecker,
  type RevocationFeed,
  type RevocationFeedOptions,
  type RevocationList,
  type RevocationListOptions,
  RevocationUnavailableError,
  revocationKeys,
  SID_MAX_LENGTH,
} from '@laissez/middleware/redis';
export { StoreUnavailableError } from '../store/types.ts';
export { RedisCounterStore, type RedisCounterStoreOptions } from './counters.ts';
