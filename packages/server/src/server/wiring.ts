// What the auth server runs on, opened from resolved options: the store (SQLite or PostgreSQL),
// the key-encryption key and the key ring, Redis (shared counters and the revocation list), the
// auth service over them, and the key ring's reload timer. src/server/app.ts puts HTTP on top.
import { join } from 'node:path';
import { createMemoryReplayCache, type ReplayCache } from '@laissez/middleware';
import type { RevocationChecker } from '@laissez/middleware/redis';
import {
  closeClient,
  connectRedis,
  createRedisReplayCache,
  createRevocationFeed,
} from '@laissez/middleware/redis';
import type { FastifyBaseLogger } from 'fastify';
import { AdminService } from '../auth/admin.ts';
import { type AuditSink, storeAuditSink } from '../auth/audit.ts';
import { loadKeyEncryptionKey } from '../auth/kek.ts';
import { KeyRing } from '../auth/keyring.ts';
import type { CounterStore } from '../auth/limits.ts';
import { Mailer, type MailTransport, outboxTransport } from '../auth/mail.ts';
import { smtpTransport } from '../auth/mail-smtp.ts';
import { AuthService, type RevocationSink } from '../auth/service.ts';
import type { ClaimsFunction } from '../auth/tokens.ts';
import { RedisCounterStore } from '../redis/counters.ts';
import { openPostgresStore } from '../store/postgres.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import type { Store } from '../store/types.ts';
import { startAuditSweep } from './audit-sweep.ts';
import { createMetrics, type ServerMetrics } from './metrics.ts';
import type { ResolvedOptions } from './options.ts';
import { loadClaimsModule } from './token-settings.ts';

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
  /** Where ended sessions are announced (RFC 7009 revocations of access tokens too). */
  revocations: RevocationSink | undefined;
  /**
   * Where DPoP proof ids are remembered (RFC 9449 §11.1): Redis when configured, so that a proof
   * accepted by one instance is refused by all; else this process.
   */
  replayCache: ReplayCache;
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
  // The revocation list held in memory and pushed from Redis (revocation-feed.ts): this server's
  // own bearer routes check it locally, as resource servers do with the same feed.
  const revocations =
    !options.revocations && redis
      ? createRevocationFeed({
          client: redis,
          now: options.now,
          onError: (error) =>
            log.warn(
              { err: error },
              'the revocation feed from Redis is lost: access tokens are refused (503) once it has been gone 3 s',
            ),
          onRecover: () => log.info('the revocation feed from Redis is back; the list reloaded'),
        })
      : undefined;
  const replayCache = redis
    ? createRedisReplayCache({
        client: redis,
        now: options.now,
        onError: (error) =>
          log.warn({ err: error }, 'Redis unavailable: DPoP proofs are refused (503)'),
      })
    : undefined;
  return {
    counters,
    revocations,
    replayCache,
    async close() {
      await replayCache?.close();
      await counters?.close();
      await revocations?.close();
      if (redis) await closeClient(redis);
    },
  };
}

/**
 * The mailer: SMTP when configured, a given transport, or the embedded outbox in the data
 * directory, whose links are printed on the log (development and single-machine use: anyone who
 * reads that log can follow them). A mail that cannot be sent after its retries is an error log.
 */
function mailerFor(
  options: ResolvedOptions,
  log: FastifyBaseLogger,
  metrics: ServerMetrics | undefined,
): Mailer {
  const transport: MailTransport =
    options.mailTransport ??
    (options.smtpUrl
      ? smtpTransport(options.smtpUrl)
      : outboxTransport({
          dir: join(options.dataDir, 'outbox'),
          log: (message, file) =>
            log.info(
              { to: message.to, kind: message.kind, file },
              message.link
                ? `mail written to the outbox; its link: ${message.link}`
                : 'mail written to the outbox',
            ),
        }));
  return new Mailer({
    transport,
    from: options.mailFrom,
    onFailure: (message, error) => {
      metrics?.mailSent(message.kind, 'failed');
      log.error(
        { err: error, to: message.to, kind: message.kind },
        'a mail could not be sent after every retry',
      );
    },
    onSent: (message) => {
      metrics?.mailSent(message.kind, 'sent');
      log.debug({ to: message.to, kind: message.kind }, 'mail sent');
    },
  });
}

/** What the auth service runs on, opened by `wire`. */
interface WiredParts {
  store: Store;
  keyRing: KeyRing;
  audit: AuditSink;
  mailer: Mailer;
  counters: CounterStore | undefined;
  revocations: RevocationSink | undefined;
  claims: ClaimsFunction | undefined;
}

/** The auth service over `parts`, its settings from `options`; what it reports goes to `log`. */
function authServiceFor(
  options: ResolvedOptions,
  log: FastifyBaseLogger,
  { store, keyRing, audit, mailer, counters, revocations, claims }: WiredParts,
): AuthService {
  return new AuthService({
    audit,
    store,
    keyRing,
    accessTtl: options.accessTtl,
    refreshTtl: options.refreshTtl,
    reuseGrace: options.reuseGrace,
    nameReservation: options.nameReservation,
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
    ...(options.events ? { events: options.events } : {}),
    onRevocationError: (error) =>
      log.warn({ err: error }, 'an ended session was not published to the revocation list'),
    mail: {
      mailer,
      publicUrl: options.publicUrl,
      product: options.productName,
      verifyEmail: options.verifyEmail,
      requireVerifiedEmail: options.requireVerifiedEmail,
      signInLinks: options.signInLinks,
    },
    ...(claims ? { claims } : {}),
    claimsTimeout: options.claimsTimeout,
    accessTokenMaxBytes: options.accessTokenMaxBytes,
    ...(options.roleScopes ? { roleScopes: options.roleScopes } : {}),
    clientId: options.firstPartyClientId,
    passkeys: {
      rpId: options.rpId,
      rpOrigins: options.rpOrigins,
      rpName: options.productName,
      // A cloned authenticator (WebAuthn §6.1.1): who and which credential, never key material.
      onCloned: (event) =>
        log.warn(
          { event: 'passkey_cloned', ...event },
          'a passkey was refused: its signature counter went backwards (a cloned authenticator?)',
        ),
    },
    // Why, never a claim's value nor a token; what the claims function threw, as it threw it.
    onTokenRefusal: ({ reason, message, error }) =>
      log.error({ reason, ...(error === undefined ? {} : { err: error }) }, message),
  });
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
  const mailer = mailerFor(options, log, metrics);
  const auth = authServiceFor(options, log, {
    store,
    keyRing,
    audit,
    mailer,
    counters,
    revocations,
    claims,
  });
  const checker =
    revocations && typeof (revocations as Partial<RevocationChecker>).isRevoked === 'function'
      ? (revocations as unknown as RevocationChecker)
      : undefined;

  // An administrator's "send a reset" is the password-reset flow's own mail (account-mail.ts).
  const mail = auth.mail;
  const admin = new AdminService({
    store,
    auth,
    audit,
    now: options.now,
    ...(mail ? { sendPasswordReset: (user) => mail.sendPasswordReset(user) } : {}),
  });
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
    revocations,
    replayCache: redis.replayCache ?? createMemoryReplayCache({ now: options.now }),
    async close() {
      clearInterval(reload);
      await sweep.stop();
      // The mails in flight go before the store closes (they were already given their tokens).
      await mailer.close();
      if (!options.store) await store.close();
      await redis.close();
    },
  };
}
