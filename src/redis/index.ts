// Redis-backed parts of laissez: shared rate-limit counters for the auth server, and the opt-in
// revocation list of sessions for resource servers: asked per request (createRevocationList) or
// held in memory and pushed to every verifier (createRevocationFeed). See docs/scale-out.md.

export { StoreUnavailableError } from '../store/types.ts';
export {
  type ConnectRedisOptions,
  closeClient,
  connectRedis,
  type RedisClient,
  type RedisConnection,
} from './client.ts';
export { RedisCounterStore, type RedisCounterStoreOptions } from './counters.ts';
export {
  createRedisReplayCache,
  type RedisReplayCache,
  type RedisReplayCacheOptions,
} from './replay.ts';
export {
  checkSessions,
  createRevocationList,
  isValidSid,
  type RevocationChecker,
  type RevocationList,
  type RevocationListOptions,
  RevocationUnavailableError,
  revocationKeys,
  SID_MAX_LENGTH,
} from './revocation.ts';
export {
  createRevocationFeed,
  type RevocationFeed,
  type RevocationFeedOptions,
} from './revocation-feed.ts';
