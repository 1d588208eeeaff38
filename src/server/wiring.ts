// What the auth server runs on, opened from resolved options: the store (SQLite or PostgreSQL),
// the key-encryption key and the key ring, Redis (shared counters and the revocation list), the
// auth service over them, and the key ring's reload timer. src/server/app.ts puts HTTP on top.
import type { FastifyBaseLogger } from 'fastify';
import { loadKeyEncryptionKey } from '../auth/kek.ts';
import { KeyRing } from '../auth/keyring.ts';
import { AuthService, type RevocationSink } from '../auth/service.ts';
import { closeClient, connectRedis } from '../redis/client.ts';
import { RedisCounterStore } from '../redis/counters.ts';
import { createRevocationList, type RevocationChecker } from '../redis/revocation.ts';
import { openPostgresStore } from '../store/postgres.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import type { Store } from '../store/types.ts';
import type { ResolvedOptions } from './options.ts';
import { loadClaimsModule } from './token-settings.ts';

export interface Wiring {
  store: Store;
  keyRing: KeyRing;
  auth: AuthService;
  /** The revocation list, when the sink can also answer `isRevoked(sid)`. */
  checker: RevocationChecker | undefined;
  /** Stops the timer and closes what was opened here (a given store stays open). */
  close(): Promise<void>;
}

/** Opens the store and the key ring; on failure closes the store it opened. */
async function openStoreAndKeys(
  options: ResolvedOptions,
  log: FastifyBaseLogger,
): Promise<{ store: Store; keyRing: KeyRing }> {
  const store =
    options.store ??
    (options.databaseUrl
      ? openPostgresStore({
          connectionString: options.databaseUrl,
          onError: (error) => log.warn({ err: error }, 'database connection lost'),
        })
      : openSqliteStore({ path: `${options.dataDir}/laissez.db` }));
  try {
    await store.migrate();
    const kek = await loadKeyEncryptionKey(options.kek, store);
    const keyRing = await KeyRing.open(store, {
      kek,
      alg: options.alg,
      issuer: options.issuer,
      audience: options.audience,
      accessTtl: options.accessTtl,
      publishDelay: options.keyPublishDelay,
      now: options.now,
    });
    return { store, keyRing };
  } catch (error) {
    if (!options.store) await store.close();
    throw error;
  }
}

/**
 * Redis, when configured: shared rate limits (falling back to per-instance counting while Redis
 * is down: degraded, never open) and the revocation list of ended sessions.
 */
function openRedis(options: ResolvedOptions, log: FastifyBaseLogger) {
  const redis = options.redisUrl
    ? connectRedis(options.redisUrl, {
        onError: (error, { count, downMs }) =>
          downMs === 0
            ? log.warn({ err: error }, 'Redis connection error; reconnecting')
            : log.warn(
                { err: error, errors: count },
                `Redis still unreachable after ${Math.round(downMs / 1000)} s`,
              ),
        onRestored: (downMs) =>
          log.info(`Redis connection restored after ${Math.round(downMs / 1000)} s`),
      })
    : undefined;
  const counters =
    !options.counters && redis
      ? new RedisCounterStore({
          client: redis,
          onError: (error) =>
            log.warn({ err: error }, 'Redis unavailable: rate limits count per instance'),
          onRecover: () => log.info('Redis is back: rate limits are shared again'),
        })
      : undefined;
  const revocations =
    !options.revocations && redis
      ? createRevocationList({
          client: redis,
          now: options.now,
          onError: (error) =>
            log.warn(
              { err: error },
              'Redis unavailable: ended sessions are not published, and access tokens cannot be checked against them (503)',
            ),
        })
      : undefined;
  return {
    counters,
    revocations,
    async close() {
      await counters?.close();
      await revocations?.close();
      if (redis) await closeClient(redis);
    },
  };
}

/** Opens everything the server runs on. */
export async function wire(options: ResolvedOptions, log: FastifyBaseLogger): Promise<Wiring> {
  // Loaded before anything is opened: a claims module that cannot load stops the start.
  const claims =
    options.claims ??
    (options.claimsModule ? await loadClaimsModule(options.claimsModule) : undefined);
  const { store, keyRing } = await openStoreAndKeys(options, log);
  const redis = openRedis(options, log);
  const counters = options.counters ?? redis.counters;
  const revocations: RevocationSink | undefined = options.revocations ?? redis.revocations;
  const auth = new AuthService({
    store,
    keyRing,
    accessTtl: options.accessTtl,
    refreshTtl: options.refreshTtl,
    reuseGrace: options.reuseGrace,
    now: options.now,
    ...(options.passwordParams ? { passwordParams: options.passwordParams } : {}),
    ...(options.breachedPasswords
      ? {
          breachedPasswords: {
            ...options.breachedPasswords,
            // The reason only: never the password, nor its hash or prefix.
            onUnavailable: (reason: string) =>
              log.warn(`${reason}; the new password was allowed without that check`),
          },
        }
      : {}),
    ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
    ...(counters ? { counters } : {}),
    ...(revocations ? { revocations } : {}),
    onRevocationError: (error) =>
      log.warn({ err: error }, 'an ended session was not published to the revocation list'),
    ...(claims ? { claims } : {}),
    claimsTimeout: options.claimsTimeout,
    accessTokenMaxBytes: options.accessTokenMaxBytes,
    ...(options.roleScopes ? { roleScopes: options.roleScopes } : {}),
    clientId: options.firstPartyClientId,
    // Why, never a claim's value nor a token; what the claims function threw, as it threw it.
    onTokenRefusal: ({ reason, message, error }) =>
      log.error({ reason, ...(error === undefined ? {} : { err: error }) }, message),
  });
  const checker =
    revocations && typeof (revocations as Partial<RevocationChecker>).isRevoked === 'function'
      ? (revocations as unknown as RevocationChecker)
      : undefined;

  // Keys rotated by another instance become known without a restart.
  const reload = setInterval(() => {
    keyRing.reload().catch((error: unknown) => log.warn({ err: error }, 'key ring reload failed'));
  }, options.keyReloadInterval);
  reload.unref();
  return {
    store,
    keyRing,
    auth,
    checker,
    async close() {
      clearInterval(reload);
      if (!options.store) await store.close();
      await redis.close();
    },
  };
}
