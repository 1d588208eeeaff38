// The auth server: a Fastify app over the auth domain. `createAuthServer` returns the instance
// (not listening), so it can be mounted, extended or injected in tests.
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import { type AuthContext, authenticatorFor } from '@laissez/middleware';
import { checkSessions } from '@laissez/middleware/redis';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { AuthServiceError } from '../auth/errors.ts';
import type { AccessClaims, AuthService } from '../auth/service.ts';
import { type Store, StoreUnavailableError } from '../store/types.ts';
import {
  answerClientError,
  capConnectionsPerAddress,
  checkingInterval,
  clientErrorOf,
  rawErrorAnswer,
  redactUrl,
} from './connections.ts';
import { DPOP_ALGORITHMS, NONCE_PURPOSE, tokenEndpointDpop } from './dpop.ts';
import { errorSchema, HttpError } from './errors.ts';
import { oauthRoutes } from './oauth.ts';
import { type AuthServerOptions, type ResolvedOptions, resolveOptions } from './options.ts';
import { ACCESS_COOKIE, authRoutes } from './routes.ts';
import { appMetadataRoutes } from './routes-app-metadata.ts';
import { wire } from './wiring.ts';

export type { AuthServerOptions } from './options.ts';

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

/**
 * The auth server, not listening. Every option is checked first (unknown names included, with
 * "did you mean"), so a bad option is a TypeError before anything is opened.
 * @example const app = await createAuthServer({ issuer: 'https://auth.example', dataDir: './data' });
 */
export async function createAuthServer(options: AuthServerOptions): Promise<FastifyInstance> {
  const resolved = resolveOptions(options);
  const app = fastifyFor(resolved);
  const wiring = await wire(resolved, app.log);
  const { auth, store, keyRing, checker, revocations, replayCache } = wiring;
  const onDpopUnavailable = (error: Error) =>
    app.log.warn({ err: error }, 'a DPoP proof cannot be checked right now (503)');
  app.decorate('auth', auth);
  app.decorate('store', store);
  app.decorateRequest('auth', null);
  // The same authenticator as every resource server's middleware, over the key ring (which
  // reloads once on a key it does not know) and, when there is one, the revocation list.
  const authenticator = authenticatorFor<AccessClaims>(
    (token) => keyRing.verifyReloading<AccessClaims>(token),
    {
      cookie: resolved.cookies ? ACCESS_COOKIE : undefined,
      ...(checker ? { isRevoked: checkSessions(checker) } : {}),
      onUnavailable: (error) =>
        app.log.warn({ err: error }, 'an access token cannot be checked right now (503)'),
      // DPoP-bound tokens (RFC 9449 §7) with proofs naming this server's public URL; Bearer too.
      dpop: 'allowed',
      publicUrl: resolved.publicUrl,
      dpopOptions: { algorithms: [...DPOP_ALGORITHMS], replayCache },
      // The server's clock (`now`, tests), as the key ring's for the token: a proof's `iat` at the
      // server's own routes is judged by the same time as at its token endpoints.
      now: resolved.now,
    },
  );
  // Proofs at the token endpoints (log-in, refresh, /oauth/token), with nonces when required.
  const dpop = tokenEndpointDpop({
    publicUrl: resolved.publicUrl,
    nonceSecret: () => keyRing.deriveSecret(NONCE_PURPOSE),
    requireNonce: resolved.dpopNonce,
    replayCache,
    now: resolved.now,
    onUnavailable: onDpopUnavailable,
  });
  app.addHook('onClose', () => wiring.close());
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    if (resolved.https)
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
    cookies: resolved.cookies,
    cookieSecure: resolved.cookieSecure,
    allowedOrigins: [...resolved.allowedOrigins],
    accessTtl: resolved.accessTtl,
    keyReloadSeconds: resolved.keyReloadInterval / 1000,
    authenticator,
    dpop,
  });
  await app.register((await import('./admin-routes.ts')).adminRoutes, {
    admin: wiring.admin,
    authenticator,
  });
  if (wiring.metrics && resolved.metricsToken) {
    const { countRefreshes, metricsRoutes } = await import('./metrics.ts');
    countRefreshes(app, wiring.metrics);
    await app.register(metricsRoutes, { metrics: wiring.metrics, token: resolved.metricsToken });
  }
  await app.register(oauthRoutes, {
    issuer: resolved.issuer,
    grantTypes: resolved.oauthGrantTypes,
    revocation: resolved.oauthRevocation,
    introspection: resolved.oauthIntrospection,
    accessTtl: resolved.accessTtl,
    roleScopes: resolved.roleScopes,
    checker,
    revocations,
    now: resolved.now,
    toHttpError,
    sendError,
    dpop,
  });
  await app.register(appMetadataRoutes, { authenticator, admin: wiring.admin });
  await app.register((await import('./pages.ts')).webPages, {
    cookies: resolved.cookies,
    signInLinks: resolved.signInLinks,
    verifyEmail: resolved.verifyEmail,
  }); // web pages: /, /debugger, and where mailed links land
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

/** The Fastify instance with the connection-level settings: logger, limits, timeouts, TLS. */
function fastifyFor(options: ResolvedOptions): FastifyInstance {
  const trust = options.trustProxy;
  // Node's own server options: the header timeout, and how often both timeouts are checked.
  const nodeHttp = {
    headersTimeout: options.headersTimeout,
    connectionsCheckingInterval: checkingInterval(options),
  };
  const app = Fastify({
    logger: options.logger && {
      level: options.logger.level,
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
    bodyLimit: options.bodyLimit,
    trustProxy: trust,
    requestTimeout: options.requestTimeout,
    keepAliveTimeout: options.keepAliveTimeout,
    ...(options.https ? { https: { ...options.https, ...nodeHttp } } : { http: nodeHttp }),
    // Errors Node's parser raises before any route (timeouts, 431, malformed requests) get the
    // API's error body too; nothing of the raw request (its `rawPacket`) is logged.
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: import('node:net').Socket) => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const [code, description] = clientErrorOf(error, options);
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
  capConnectionsPerAddress(app.server, options.maxConnectionsPerIp, (address) =>
    trust ? trust(address, 0) : false,
  );
  // Fastify parses text/plain bodies into strings by default; every body here is JSON (415).
  app.removeContentTypeParser('text/plain');
  strictJsonBodies(app);
  return app;
}

/**
 * JSON bodies decoded strictly. Fastify decodes a body as UTF-8 with replacement, so bytes that
 * are not UTF-8 became U+FFFD and two different byte strings (`abc\xff` and `abc\xfe`) reached
 * the domain as one password or one username. RFC 8259 §8.1: JSON exchanged between systems is
 * UTF-8; a body that is not is refused (400) rather than guessed at. Parsing itself stays
 * Fastify's (prototype poisoning refused).
 */
function strictJsonBodies(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(new HttpError('invalid_request', 'the body is not valid UTF-8'), undefined);
      return;
    }
    // Fastify's parser calls `done` synchronously; its type allows a promise.
    void parse(request, text, done);
  });
}

function toHttpError(error: FastifyError | Error, request: FastifyRequest): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof AuthServiceError) {
    const headers: Record<string, string> = {};
    if (error.retryAfter !== undefined) headers['retry-after'] = String(error.retryAfter);
    // The service refuses a DPoP proof only where tokens are issued (a bound session refreshed
    // without one): a token endpoint's 400 (RFC 9449 §5), not a resource server's 401.
    const status = error.code === 'invalid_dpop_proof' ? 400 : undefined;
    return new HttpError(error.code, error.message, headers, error.details, status);
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

function sendError(
  _request: FastifyRequest,
  reply: FastifyReply,
  error: HttpError,
  status: number = error.status,
): FastifyReply {
  reply.code(status).headers({ 'cache-control': 'no-store', ...error.headers });
  return reply.send({ ...error.details, error: error.code, error_description: error.message });
}
