// What the auth server runs on, opened from resolved options: the store (SQLite or PostgreSQL),
// the key-encryption key and the key ring, Redis (shared counters and the revocation list), the
// auth service over them, and the key ring's reload timer. src/server/app.ts puts HTTP on top.
import type { FastifyBaseLogger } from 'fastify';
import { AdminService } from '../auth/admin.ts';
import { storeAuditSink } from '../auth/audit.ts';
import { loadKeyEncryptionKey } from '../auth/kek.ts';
import { KeyRing } from '../auth/keyring.ts';
import { AuthService, type RevocationSink } from '../auth/service.ts';
import { closeClient, connectRedis } from '../redis/client.ts';
import { RedisCounterStore } from '../redis/counters.ts';
import { createRevocationList, type RevocationChecker } from '../redis/revocation.ts';
import { openPostgresStore } from '../store/postgres.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import type { Store } from '../store/types.ts';
import { startAuditSweep } from './audit-sweep.ts';
import { createMetrics, type ServerMetrics } from './metrics.ts';
import type { ResolvedOptions } from './options.ts';

export interface Wiring {
  store: Store;
  keyRing: KeyRing;
  auth: AuthService;
  /** Administration (the admin API, src/server/admin-routes.ts). */
  admin: AdminService;
  /** The metrics, when `metricsToken` turns them on. */
  metrics: ServerMetrics | undefined;
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
  const { store, keyRing } = await openStoreAndKeys(options, log);
  const redis = openRedis(options, log);
  const counters = options.counters ?? redis.counters;
  const revocations: RevocationSink | undefined = options.revocations ?? redis.revocations;
  const metrics = options.metricsToken ? createMetrics() : undefined;
  const audit = storeAuditSink({
    store,
    now: options.now,
    // The event's type and subject only: its details may say more than a log should keep.
    onError: (error, event) =>
      log.warn(
        { err: error, event: event.type },
        'a security event was not written to the audit log',
      ),
    ...(metrics ? { observe: (event) => metrics.observe(event) } : {}),
  });
  const auth = new AuthService({
    audit,
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
  });
  const checker =
    revocations && typeof (revocations as Partial<RevocationChecker>).isRevoked === 'function'
      ? (revocations as unknown as RevocationChecker)
      : undefined;

  // The mail flow wires `sendPasswordReset` here (src/auth/admin.ts, PasswordResetSender).
  const admin = new AdminService({ store, auth, audit, now: options.now });
  const sweep = startAuditSweep({
    store,
    retentionMs: options.auditRetention * 1000,
    now: options.now,
    onError: (error) => log.warn({ err: error }, 'old audit events could not be deleted'),
  });

  // Keys rotated by another instance become known without a restart.
  const reload = setInterval(() => {
    keyRing.reload().catch((error: unknown) => log.warn({ err: error }, 'key ring reload failed'));
  }, options.keyReloadInterval);
  reload.unref();
  return {
    store,
    keyRing,
    auth,
    admin,
    metrics,
    checker,
    async close() {
      clearInterval(reload);
      await sweep.stop();
      if (!options.store) await store.close();
      await redis.close();
    },
  };
}
