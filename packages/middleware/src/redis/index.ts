// `@laissez/middleware/redis`: what a resource server needs from Redis, with @redis/client as an
// optional peer dependency (install it to use this entry). The revocation list of sessions, asked
// per request (createRevocationList) or held in memory and pushed to every verifier
// (createRevocationFeed), and the DPoP replay cache shared by a fleet (createRedisReplayCache).
// The connection plumbing at the end is shared with the laissez auth server's rate-limit counters.

export {
  type ConnectionOptions,
  type ConnectRedisOptions,
  checkMs,
  checkPrefix,
  closeClient,
  connectRedis,
  evalScript,
  Outage,
  openConnection,
  type RedisClient,
  type RedisConnection,
  script,
} from './client.ts';
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
