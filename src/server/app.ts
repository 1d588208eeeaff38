// The auth server: a Fastify app over the auth domain. `createAuthServer` returns the instance
// (not listening), so it can be mounted, extended or injected in tests.
import { join } from 'node:path';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { AuthServiceError } from '../auth/errors.ts';
import { type KekSource, loadKeyEncryptionKey } from '../auth/kek.ts';
import { KeyRing, RETIRE_LEEWAY, type SigningAlgorithm } from '../auth/keyring.ts';
import type { CounterStore, RateLimits } from '../auth/limits.ts';
import type { Argon2Params } from '../auth/password.ts';
import { type AccessClaims, AuthService, type RevocationSink } from '../auth/service.ts';
import { type AuthContext, authenticatorFor } from '../middleware/authenticator.ts';
import { closeClient, connectRedis } from '../redis/client.ts';
import { RedisCounterStore } from '../redis/counters.ts';
import {
  checkSessions,
  createRevocationList,
  type RevocationChecker,
} from '../redis/revocation.ts';
import { openPostgresStore } from '../store/postgres.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import { type Store, StoreUnavailableError } from '../store/types.ts';
import {
  answerClientError,
  capConnectionsPerAddress,
  checkingInterval,
  clientErrorOf,
  DEFAULT_MAX_CONNECTIONS_PER_IP,
  proxyTrust,
  rawErrorAnswer,
  redactUrl,
  type TrustProxy,
  timeoutsOf,
} from './connections.ts';
import { ERROR_CATALOGUE, errorSchema, HttpError } from './errors.ts';
import { ACCESS_COOKIE, authRoutes } from './routes.ts';

export interface AuthServerOptions {
  /** A store; default: SQLite at `<dataDir>/laissez.db`. */
  store?: Store;
  /** Where the embedded database lives. Default `./data`. */
  dataDir?: string;
  /** A `postgres://` URL: the PostgreSQL store instead of the embedded SQLite one. */
  databaseUrl?: string;
  /**
   * The key-encryption key that encrypts the signing keys in the store: base64url of 32 random
   * bytes, or the bytes. Never stored in the database. Every instance on one database needs the
   * same one. Default: the file `keyEncryptionKeyFile`.
   */
  keyEncryptionKey?: string | Uint8Array;
  /**
   * A file holding the key-encryption key (base64url text). Default: `<dataDir>/laissez.kek`,
   * created 0600 on first start, with the embedded store; PostgreSQL (`databaseUrl`) or a
   * `store` without `dataDir` need `keyEncryptionKey` or this file (which must exist).
   */
  keyEncryptionKeyFile?: string;
  /** Signing algorithm for access tokens. Default HS256 (a generated 256-bit secret). */
  alg?: SigningAlgorithm;
  /** `iss` of access tokens. */
  issuer: string;
  /** `aud` of access tokens. Default `api`. */
  audience?: string;
  /** Seconds. Default 900 (15 min). */
  accessTtl?: number;
  /** Seconds, absolute from log-in. Default 30 days. */
  refreshTtl?: number;
  /** Seconds a spent refresh token may still be exchanged (racing tabs). Default 10. */
  reuseGrace?: number;
  /** Deliver tokens in HttpOnly cookies too. Default false. */
  cookies?: boolean;
  /** The `Secure` cookie attribute. Default true (browsers allow it on http://localhost). */
  cookieSecure?: boolean;
  /** Origins allowed to make cookie-authenticated requests besides the server's own. */
  allowedOrigins?: string[];
  /** TLS: PEM certificate and key. Adds HSTS. */
  https?: { cert: string | Buffer; key: string | Buffer };
  /**
   * Trust X-Forwarded-* from proxies in front (for client IPs and protocol): a hop count (the
   * nearest n peers are proxies), the proxies' addresses/CIDRs, or true (believe the whole
   * header). Default false.
   */
  trustProxy?: TrustProxy;
  /** Ms within which the request line and headers must arrive. Default 10 s. */
  headersTimeout?: number;
  /** Ms within which the whole request, body included, must arrive. Default 30 s. */
  requestTimeout?: number;
  /** Ms an idle keep-alive connection stays open. Default 5 s. */
  keepAliveTimeout?: number;
  /**
   * Open connections one client address may hold (0: no cap); trusted proxies are not counted.
   * Default 128.
   */
  maxConnectionsPerIp?: number;
  /** Fastify/pino logger options, or false. Default: info level, tokens redacted. */
  logger?: boolean | { level?: string };
  /** Largest request body in bytes. Default 16 KiB. */
  bodyLimit?: number;
  rateLimits?: RateLimits;
  counters?: CounterStore;
  /**
   * A `redis://` URL: rate-limit counters and lock-outs shared by every instance, and ended
   * sessions published to a revocation list resource servers can check (docs/scale-out.md).
   */
  redisUrl?: string;
  /**
   * Where ended sessions are announced (default: Redis when `redisUrl` is set, else nowhere).
   * When it can also answer `isRevoked(sid)` (a revocation list), this server's own routes refuse
   * access tokens of ended sessions with it, as resource servers do.
   */
  revocations?: RevocationSink;
  passwordParams?: Argon2Params;
  /**
   * New passwords are also checked against this k-anonymity range service (GET `<url>/<first 5
   * hex of SHA-1>`); unreachable or slower than `timeout` ms: allowed, and a warning is logged.
   */
  breachedPasswords?: { url: string; timeout: number };
  /** The clock in ms (tests). */
  now?: () => number;
  /**
   * How often to re-read signing keys written by other instances, ms. Default 30 s, at most 60 s
   * (a rotated-out key is kept 60 s past the last token it could sign).
   */
  keyReloadInterval?: number;
  /**
   * Seconds a rotated-in signing key is published in the JWKS before it signs (default 300), so
   * that every instance and every resource server knows it first. Longer than the reload interval
   * (or 0). The JWKS max-age is this less the reload interval, at most 300 s.
   */
  keyPublishDelay?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    auth: AuthService;
    store: Store;
  }
  interface FastifyRequest {
    /** The verified token on routes that require one (as the laissez middleware sets it). */
    auth: AuthContext | null;
  }
}

const REDACT = ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'];

export async function createAuthServer(options: AuthServerOptions): Promise<FastifyInstance> {
  const now = options.now ?? Date.now;
  const accessTtl = options.accessTtl ?? 900;
  const keyReloadInterval = options.keyReloadInterval ?? 30_000;
  const keyPublishDelay = options.keyPublishDelay ?? 300;
  if (!(keyReloadInterval > 0 && keyReloadInterval <= RETIRE_LEEWAY)) {
    throw new TypeError(
      `keyReloadInterval must be over 0 and at most ${RETIRE_LEEWAY} ms: an instance may sign with a rotated-out key until it reloads, and that key is kept only ${RETIRE_LEEWAY / 1000} s past its tokens`,
    );
  }
  if (keyPublishDelay > 0 && keyPublishDelay * 1000 <= keyReloadInterval) {
    throw new TypeError(
      'keyPublishDelay (s) must be longer than keyReloadInterval (ms), or 0: every instance must have published a new key before it signs',
    );
  }
  const trust = proxyTrust(options.trustProxy);
  const timeouts = timeoutsOf({
    ...(options.headersTimeout !== undefined ? { headersTimeout: options.headersTimeout } : {}),
    ...(options.requestTimeout !== undefined ? { requestTimeout: options.requestTimeout } : {}),
    ...(options.keepAliveTimeout !== undefined
      ? { keepAliveTimeout: options.keepAliveTimeout }
      : {}),
  });
  const maxConnectionsPerIp = options.maxConnectionsPerIp ?? DEFAULT_MAX_CONNECTIONS_PER_IP;
  if (!Number.isInteger(maxConnectionsPerIp) || maxConnectionsPerIp < 0) {
    throw new TypeError('maxConnectionsPerIp must be a whole number (0: no cap)');
  }
  // Node's own server options: the header timeout, and how often both timeouts are checked.
  const nodeHttp = {
    headersTimeout: timeouts.headersTimeout,
    connectionsCheckingInterval: checkingInterval(timeouts),
  };
  const app = Fastify({
    logger:
      options.logger === false
        ? false
        : {
            level: (typeof options.logger === 'object' && options.logger.level) || 'info',
            redact: { paths: REDACT, censor: '[redacted]' },
            serializers: {
              // Fastify's request fields, with the query's values out of the URL.
              req: (request: FastifyRequest) => ({
                method: request.method,
                url: redactUrl(request.url),
                host: request.host,
                remoteAddress: request.ip,
                remotePort: request.socket?.remotePort,
              }),
            },
          },
    bodyLimit: options.bodyLimit ?? 16 * 1024,
    trustProxy: trust,
    requestTimeout: timeouts.requestTimeout,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    ...(options.https ? { https: { ...options.https, ...nodeHttp } } : { http: nodeHttp }),
    // Errors Node's parser raises before any route (timeouts, 431, malformed requests) get the
    // API's error body too; nothing of the raw request (its `rawPacket`) is logged.
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: import('node:net').Socket) => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const [code, description] = clientErrorOf(error, timeouts);
      app.log.debug({ code: error.code, remoteAddress: socket.remoteAddress }, 'client error');
      answerClientError(socket, rawErrorAnswer(code, description));
    },
    // A path Fastify cannot decode (`/%zz`): an invalid request in the API's shape.
    frameworkErrors: (_error, request, reply) =>
      sendError(request, reply, new HttpError('invalid_request', 'the URL is not valid')),
    // Wrong types are errors, not coerced; unknown fields are refused, not silently dropped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  capConnectionsPerAddress(app.server, maxConnectionsPerIp, (address) =>
    trust ? trust(address, 0) : false,
  );
  // Fastify parses text/plain bodies into strings by default; every body here is JSON (415).
  app.removeContentTypeParser('text/plain');

  const store =
    options.store ??
    (options.databaseUrl
      ? openPostgresStore({
          connectionString: options.databaseUrl,
          onError: (error) => app.log.warn({ err: error }, 'database connection lost'),
        })
      : openSqliteStore({ path: `${options.dataDir ?? './data'}/laissez.db` }));
  try {
    await store.migrate();
  } catch (error) {
    if (!options.store) await store.close();
    throw error;
  }
  const audience = options.audience ?? 'api';
  let keyRing: KeyRing;
  try {
    const kek = await loadKeyEncryptionKey(kekSourceOf(options), store);
    keyRing = await KeyRing.open(store, {
      kek,
      alg: options.alg ?? 'HS256',
      issuer: options.issuer,
      audience,
      accessTtl,
      ...(options.keyPublishDelay !== undefined ? { publishDelay: options.keyPublishDelay } : {}),
      now,
    });
  } catch (error) {
    if (!options.store) await store.close();
    throw error;
  }
  // Redis, when configured: shared rate limits (falling back to per-instance counting while
  // Redis is down: degraded, never open) and the revocation list of ended sessions.
  const redis = options.redisUrl
    ? connectRedis(options.redisUrl, {
        onError: (error, { count, downMs }) =>
          downMs === 0
            ? app.log.warn({ err: error }, 'Redis connection error; reconnecting')
            : app.log.warn(
                { err: error, errors: count },
                `Redis still unreachable after ${Math.round(downMs / 1000)} s`,
              ),
        onRestored: (downMs) =>
          app.log.info(`Redis connection restored after ${Math.round(downMs / 1000)} s`),
      })
    : undefined;
  const redisCounters =
    !options.counters && redis
      ? new RedisCounterStore({
          client: redis,
          onError: (error) =>
            app.log.warn({ err: error }, 'Redis unavailable: rate limits count per instance'),
          onRecover: () => app.log.info('Redis is back: rate limits are shared again'),
        })
      : undefined;
  const redisRevocations =
    !options.revocations && redis
      ? createRevocationList({
          client: redis,
          now,
          onError: (error) =>
            app.log.warn(
              { err: error },
              'Redis unavailable: ended sessions are not published, and access tokens cannot be checked against them (503)',
            ),
        })
      : undefined;
  const counters = options.counters ?? redisCounters;
  const revocations = options.revocations ?? redisRevocations;
  const auth = new AuthService({
    store,
    keyRing,
    accessTtl,
    refreshTtl: options.refreshTtl ?? 30 * 24 * 3600,
    reuseGrace: options.reuseGrace ?? 10,
    now,
    ...(options.passwordParams ? { passwordParams: options.passwordParams } : {}),
    ...(options.breachedPasswords
      ? {
          breachedPasswords: {
            ...options.breachedPasswords,
            // The reason only: never the password, nor its hash or prefix.
            onUnavailable: (reason: string) =>
              app.log.warn(`${reason}; the new password was allowed without that check`),
          },
        }
      : {}),
    ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
    ...(counters ? { counters } : {}),
    ...(revocations ? { revocations } : {}),
    onRevocationError: (error) =>
      app.log.warn({ err: error }, 'an ended session was not published to the revocation list'),
  });
  app.decorate('auth', auth);
  app.decorate('store', store);
  app.decorateRequest('auth', null);
  // The same authenticator as every resource server's middleware, over the key ring (which
  // reloads once on a key it does not know) and, when there is one, the revocation list.
  const checker =
    revocations && typeof (revocations as Partial<RevocationChecker>).isRevoked === 'function'
      ? (revocations as unknown as RevocationChecker)
      : undefined;
  const authenticator = authenticatorFor<AccessClaims>(
    (token) => keyRing.verifyReloading<AccessClaims>(token),
    {
      cookie: options.cookies ? ACCESS_COOKIE : undefined,
      ...(checker ? { isRevoked: checkSessions(checker) } : {}),
      onUnavailable: (error) =>
        app.log.warn({ err: error }, 'an access token cannot be checked right now (503)'),
    },
  );

  // Keys rotated by another instance become known without a restart.
  const reload = setInterval(() => {
    keyRing
      .reload()
      .catch((error: unknown) => app.log.warn({ err: error }, 'key ring reload failed'));
  }, keyReloadInterval);
  reload.unref();
  app.addHook('onClose', async () => {
    clearInterval(reload);
    if (!options.store) await store.close();
    await redisCounters?.close();
    await redisRevocations?.close();
    if (redis) await closeClient(redis);
  });

  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    if (options.https)
      reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
  });

  app.setErrorHandler((error: FastifyError, request, reply) =>
    sendError(request, reply, toHttpError(error, request)),
  );
  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new HttpError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );

  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'laissez auth server',
        version: '0.1.0',
        description: 'Stateless JWT authentication.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        schemas: { Error: errorSchema as unknown as Record<string, unknown> },
      },
    },
  });
  await app.register(authRoutes, {
    cookies: options.cookies ?? false,
    cookieSecure: options.cookieSecure ?? true,
    allowedOrigins: options.allowedOrigins ?? [],
    accessTtl,
    keyReloadSeconds: keyReloadInterval / 1000,
    authenticator,
  });
  await app.register((await import('./pages.ts')).webPages, { cookies: options.cookies }); // web pages: / and /debugger
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

/**
 * Where the key-encryption key comes from. The embedded database keeps it in a file beside
 * itself, created on first start; a shared database (PostgreSQL) must be told, so that every
 * instance uses the same key and none makes one of its own.
 */
function kekSourceOf(options: AuthServerOptions): KekSource {
  if (options.keyEncryptionKey !== undefined && options.keyEncryptionKeyFile !== undefined) {
    throw new TypeError('give keyEncryptionKey or keyEncryptionKeyFile, not both');
  }
  if (options.keyEncryptionKey !== undefined) {
    return {
      kind: 'text',
      value: options.keyEncryptionKey,
      label: 'keyEncryptionKey (LAISSEZ_KEY_ENCRYPTION_KEY)',
    };
  }
  if (options.keyEncryptionKeyFile !== undefined) {
    return {
      kind: 'file',
      path: options.keyEncryptionKeyFile,
      label: 'the key-encryption key file (--key-encryption-key-file)',
      own: false,
    };
  }
  const shared = options.store ? options.dataDir === undefined : options.databaseUrl !== undefined;
  if (shared) {
    throw new TypeError(
      'a key-encryption key is needed for the signing keys in a shared database: set keyEncryptionKey (LAISSEZ_KEY_ENCRYPTION_KEY) or keyEncryptionKeyFile (--key-encryption-key-file), the same on every instance',
    );
  }
  return {
    kind: 'file',
    path: join(options.dataDir ?? './data', 'laissez.kek'),
    label: 'the key-encryption key file',
    own: true,
  };
}

function toHttpError(error: FastifyError | Error, request: FastifyRequest): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof AuthServiceError) {
    const headers: Record<string, string> = {};
    if (error.retryAfter !== undefined) headers['retry-after'] = String(error.retryAfter);
    return new HttpError(error.code, error.message, headers);
  }
  if (error instanceof StoreUnavailableError) {
    return new HttpError(
      'temporarily_unavailable',
      'the database is unavailable; try again shortly',
      {
        'retry-after': '5',
      },
    );
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const first = fastifyError.validation[0];
    const where = (first?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    const field =
      where ||
      (first?.params as { missingProperty?: string; additionalProperty?: string } | undefined)
        ?.missingProperty;
    const extra = (first?.params as { additionalProperty?: string } | undefined)
      ?.additionalProperty;
    const description = extra
      ? `unknown field "${extra.slice(0, 40)}"`
      : `${field ? `${field} ` : 'the body '}${first?.message ?? 'is not valid'}`.replace(
          /must have required property '([^']+)'/,
          'is required',
        );
    return new HttpError(
      'invalid_request',
      description.replace(/^the body must be object$/, 'the body must be a JSON object'),
    );
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError('unsupported_media_type', 'send the body as application/json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError('payload_too_large', 'the body is too large');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpError('invalid_request', 'the body is empty; send a JSON object');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new HttpError('invalid_request', 'the body is not valid JSON');
  }
  if (fastifyError.statusCode === 400 && error instanceof SyntaxError) {
    return new HttpError('invalid_request', 'the body is not valid JSON');
  }
  if (
    typeof fastifyError.statusCode === 'number' &&
    fastifyError.statusCode >= 400 &&
    fastifyError.statusCode < 500
  ) {
    return new HttpError('invalid_request', 'the request is not valid');
  }
  request.log.error({ err: error }, 'unhandled error');
  return new HttpError('server_error', 'something went wrong on the server');
}

function sendError(_request: FastifyRequest, reply: FastifyReply, error: HttpError): FastifyReply {
  const { status } = ERROR_CATALOGUE[error.code];
  reply.code(status).headers({ 'cache-control': 'no-store', ...error.headers });
  return reply.send({ error: error.code, error_description: error.message });
}
