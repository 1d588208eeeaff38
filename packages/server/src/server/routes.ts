import {
  type AuthContext,
  type Authenticator,
  type AuthFailure,
  authorizationHeaders,
} from '@laissez/middleware';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clientKeyOf } from '../auth/addresses.ts';
import { DEVICE_TOKEN_MAX, DEVICE_TOKEN_TTL } from '../auth/device.ts';
import { AuthServiceError } from '../auth/errors.ts';
import {
  type AccessClaims,
  type RequestContext,
  type TokenSet,
  toPublicUser,
} from '../auth/service.ts';
import { accountMailRoutes } from './account-mail-routes.ts';
import { accountRoutes } from './account-routes.ts';
import type { TokenDpop } from './dpop.ts';
import { type ErrorCode, errorSchema, HttpError } from './errors.ts';
import { mfaRequiredSchema, mfaRoutes } from './mfa-routes.ts';
import { passkeyRoutes } from './passkey-routes.ts';

export interface RouteOptions {
  cookies: boolean;
  cookieSecure: boolean;
  allowedOrigins: string[];
  accessTtl: number;
  /** Seconds between two reloads of the key ring. */
  keyReloadSeconds: number;
  /** Checks access tokens: the resource servers' authenticator, over this server's key ring. */
  authenticator: Authenticator<AccessClaims>;
  /** DPoP proofs at log-in and refresh (RFC 9449 §5). */
  dpop: TokenDpop;
}

export const ACCESS_COOKIE = 'laissez_at';
export const REFRESH_COOKIE = 'laissez_rt';
/** The device token (docs/server.md, "Guessing passwords"), in cookie mode. */
export const DEVICE_COOKIE = 'laissez_dev';

const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, { $ref: 'Error#' }]));
const userSchema = {
  type: 'object',
  required: ['id', 'username', 'email', 'roles', 'email_verified', 'created_at'],
  properties: {
    id: { type: 'string' },
    username: { type: 'string' },
    email: { type: 'string' },
    roles: { type: 'array', items: { type: 'string' } },
    email_verified: { type: 'boolean' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;
/** /auth/me's user: with the app metadata administrators set (read-only here). */
export const meSchema = {
  ...userSchema,
  properties: {
    ...userSchema.properties,
    app_metadata: {
      type: 'object',
      additionalProperties: true,
      description:
        'Set by administrators only (PUT /admin/users/{id}/app-metadata); read-only to the user. Not secret: the claims function may put it in tokens.',
    },
  },
} as const;
/** RFC 6749 §3.3: space-separated scope-tokens (bounded: 64 of at most 128 characters). */
const scopeField = {
  type: 'string',
  maxLength: 8256,
  description:
    'Space-separated scopes (RFC 6749 §3.3), within what the roles allow; absent: all of them.',
} as const;
const tokenSchema = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_in'],
  properties: {
    access_token: { type: 'string' },
    token_type: {
      type: 'string',
      enum: ['Bearer', 'DPoP'],
      description:
        'DPoP when the request carried a DPoP proof: the access token is bound to its key (RFC 9449 §5).',
    },
    expires_in: { type: 'integer' },
    refresh_token: {
      type: 'string',
      description: 'Absent in cookie mode: the refresh token is in an HttpOnly cookie.',
    },
    refresh_expires_in: { type: 'integer' },
    scope: {
      type: 'string',
      description:
        'The granted scope (RFC 6749 §5.1), when the server grants scopes (--role-scopes); the access token carries it as "scope" (RFC 9068 §2.2.3).',
    },
    device_token: {
      type: 'string',
      description:
        'Log-in only, without cookie mode: send it back with later log-ins from this client, which then keep their own failure budget (in cookie mode it is the laissez_dev cookie).',
    },
  },
} as const;
const refreshBody = {
  type: 'object',
  additionalProperties: false,
  // Long enough for an access token sent by mistake, which gets a precise invalid_grant.
  properties: { refresh_token: { type: 'string', maxLength: 16384 } },
} as const;
/** A refresh may narrow the scope of its access token (RFC 6749 §6), never widen it. */
const refreshGrantBody = {
  ...refreshBody,
  properties: {
    ...refreshBody.properties,
    scope: {
      ...scopeField,
      description:
        'Narrows the scope of this access token (RFC 6749 §6): within the scope granted at log-in; absent, all of it.',
    },
  },
} as const;

/** The request as the claims function sees it: the client's address and its User-Agent. */
function requestContextOf(request: FastifyRequest): RequestContext {
  const agent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof agent === 'string' ? agent : undefined };
}

/** A POST without a body validates as `{}`, so the route can say precisely what is missing. */
async function emptyBodyIsObject(request: FastifyRequest): Promise<void> {
  request.body ??= {};
}

/** The catalogue code of each refusal of the authenticator. */
const REFUSALS: Record<AuthFailure['error'], ErrorCode> = {
  invalid_request: 'invalid_request',
  invalid_token: 'invalid_token',
  insufficient_scope: 'insufficient_scope',
  insufficient_user_authentication: 'insufficient_user_authentication',
  temporarily_unavailable: 'temporarily_unavailable',
  invalid_dpop_proof: 'invalid_dpop_proof',
  use_dpop_nonce: 'use_dpop_nonce',
};

/** A refusal of the authenticator as this server's error: same status, description and challenge. */
export function refusal(failure: AuthFailure): HttpError {
  return new HttpError(REFUSALS[failure.error], failure.description, { ...failure.headers });
}

export async function authRoutes(app: FastifyInstance, options: RouteOptions): Promise<void> {
  app.addSchema({ $id: 'Error', ...errorSchema });
  const { auth } = app;
  const cookieBase = { httpOnly: true, secure: options.cookieSecure } as const;

  const noStore = (reply: FastifyReply) =>
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');

  const deliver = (reply: FastifyReply, tokens: TokenSet): Partial<TokenSet> => {
    noStore(reply);
    reply.header('authorization', `${tokens.token_type} ${tokens.access_token}`);
    if (!options.cookies) return tokens;
    reply.setCookie(ACCESS_COOKIE, tokens.access_token, {
      ...cookieBase,
      sameSite: 'lax',
      path: '/',
      maxAge: tokens.expires_in,
    });
    reply.setCookie(REFRESH_COOKIE, tokens.refresh_token, {
      ...cookieBase,
      sameSite: 'strict',
      path: '/auth',
      maxAge: tokens.refresh_expires_in,
    });
    // The refresh token stays in the HttpOnly cookie, out of reach of scripts.
    const { refresh_token: _kept, ...body } = tokens;
    return body;
  };

  /** A completed log-in (a password, or a password and a second factor): tokens and device token. */
  const loggedIn = (reply: FastifyReply, tokens: TokenSet, deviceToken: string) => {
    const delivered = deliver(reply, tokens);
    if (!options.cookies) return { ...delivered, device_token: deviceToken };
    reply.setCookie(DEVICE_COOKIE, deviceToken, {
      ...cookieBase,
      sameSite: 'strict',
      path: '/auth/login',
      maxAge: DEVICE_TOKEN_TTL,
    });
    return delivered;
  };

  const clearCookies = (reply: FastifyReply) => {
    if (!options.cookies) return;
    reply.clearCookie(ACCESS_COOKIE, { ...cookieBase, path: '/' });
    reply.clearCookie(REFRESH_COOKIE, { ...cookieBase, path: '/auth' });
  };

  /** CSRF defence for requests that authenticate with a cookie: the Origin must be ours or allowed. */
  const checkOrigin = (request: FastifyRequest) => {
    const origin = request.headers.origin;
    const own = `${request.protocol}://${request.host}`;
    const fetchSite = request.headers['sec-fetch-site'];
    if (origin === undefined) {
      if (fetchSite === undefined || fetchSite === 'same-origin' || fetchSite === 'none') return;
    } else if (origin === own || options.allowedOrigins.includes(origin)) {
      return;
    }
    throw new HttpError(
      'invalid_origin',
      'cookie-authenticated requests must come from an allowed origin',
    );
  };

  /** The refresh token from the body, or (cookie mode) from the cookie with an origin check. */
  const refreshTokenOf = (request: FastifyRequest): unknown => {
    const fromBody = (request.body as { refresh_token?: string } | undefined)?.refresh_token;
    if (fromBody !== undefined) return fromBody;
    const fromCookie = options.cookies ? request.cookies[REFRESH_COOKIE] : undefined;
    if (fromCookie !== undefined) {
      checkOrigin(request);
      return fromCookie;
    }
    // In cookie mode the cookie is the credential: without it there is no session to refresh
    // (a page checking whether it is logged in), which is a 401, not a malformed request.
    if (options.cookies) {
      throw new HttpError('invalid_grant', 'no session: log in (no refresh token cookie or body)');
    }
    throw new HttpError('invalid_request', 'refresh_token is required');
  };

  /**
   * Verifies the access token of a request (`Authorization: Bearer`, or the cookie in cookie mode)
   * with the authenticator every resource server uses: the same extraction, diagnostics,
   * revocation check and RFC 6750 answers. Sets `request.auth`, as the middleware does.
   */
  const authenticate = async (request: FastifyRequest) => {
    // Every copy of the header (Node keeps only the first in request.headers): two are a 400.
    const authorization = authorizationHeaders(request.raw.rawHeaders);
    const outcome = await options.authenticator.authenticate({
      authorization,
      cookie: request.headers.cookie,
      method: request.method,
      url: request.raw.url,
      origin: `${request.protocol}://${request.host}`,
      dpop: request.headers.dpop,
    });
    if (!outcome.ok) throw refusal(outcome.failure);
    // A token from the cookie (also when the header holds another scheme's credentials) is what a
    // cross-site form could send: the origin is checked. A header token was taken only when the
    // one header says Bearer or DPoP.
    const fromHeader = typeof authorization === 'string' && /^(bearer|dpop) /i.test(authorization);
    if (options.cookies && !fromHeader && !['GET', 'HEAD'].includes(request.method)) {
      checkOrigin(request);
    }
    request.auth = outcome.auth;
  };

  /** The verified token of a route behind `authenticate`. */
  const authOf = (request: FastifyRequest): AuthContext<AccessClaims> =>
    request.auth as AuthContext<AccessClaims>;

  app.post(
    '/auth/register',
    {
      schema: {
        summary: 'Create a user',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['username', 'email', 'password'],
          properties: {
            username: { type: 'string', minLength: 3, maxLength: 32 },
            email: { type: 'string', minLength: 3, maxLength: 254 },
            password: { type: 'string', minLength: 8, maxLength: 1024 },
          },
        },
        response: {
          201: { type: 'object', required: ['user'], properties: { user: userSchema } },
          202: {
            description:
              'With --verify-email: the same answer whether the email is new or taken (a mail tells its owner which)',
            type: 'object',
            required: ['status'],
            properties: { status: { type: 'string' }, message: { type: 'string' } },
          },
          ...errors(400, 409, 429),
        },
      },
    },
    async (request, reply) => {
      const body = request.body as { username: string; email: string; password: string };
      if (auth.mail?.verifyEmail) {
        await auth.mail.register({ ...body, ip: clientKeyOf(request.ip) });
        noStore(reply);
        return reply.code(202).send({
          status: 'accepted',
          message: 'check your mailbox: a link to confirm the address is on its way',
        });
      }
      const user = await auth.register({ ...body, ip: request.ip });
      return reply.code(201).send({ user: toPublicUser(user) });
    },
  );

  app.post(
    '/auth/login',
    {
      schema: {
        summary: 'Log in with username or email, and password',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['password'],
          properties: {
            username: { type: 'string', minLength: 1, maxLength: 64 },
            email: { type: 'string', minLength: 1, maxLength: 254 },
            password: { type: 'string', minLength: 1, maxLength: 1024 },
            device_token: { type: 'string', minLength: 1, maxLength: DEVICE_TOKEN_MAX },
            scope: scopeField,
          },
        },
        response: {
          200: tokenSchema,
          ...errors(400, 401, 403, 429, 503),
          401: mfaRequiredSchema(errorSchema),
        },
      },
    },
    async (request, reply) => {
      const { device_token: fromBody, ...body } = request.body as {
        username?: string;
        email?: string;
        password: string;
        device_token?: string;
        scope?: string;
      };
      // The cookie is SameSite=Strict: a cross-site page cannot make the browser send it.
      const deviceToken =
        fromBody ?? (options.cookies ? request.cookies[DEVICE_COOKIE] : undefined);
      // The proof first: a bad one costs no password attempt, and no password is checked twice
      // for a client that retries with the nonce it was sent (RFC 9449 §8).
      const jkt = await options.dpop.keyOf(request, reply);
      const result = await auth.login({
        ...body,
        ip: request.ip,
        clientIp: request.ip,
        userAgent: request.headers['user-agent'],
        request: requestContextOf(request),
        ...(deviceToken !== undefined ? { deviceToken } : {}),
        ...(jkt !== undefined ? { jkt } : {}),
      });
      return loggedIn(reply, result.tokens, result.deviceToken);
    },
  );

  await mfaRoutes(app, {
    authenticate,
    subjectOf: (request) => authOf(request).subject,
    noStore,
    loggedIn,
    errors,
    tokenSchema,
    scopeField,
    requestContextOf,
    dpopKeyOf: (request, reply) => options.dpop.keyOf(request, reply),
  });

  app.post(
    '/auth/refresh',
    {
      // In cookie mode the refresh token travels in its cookie: a POST without a body is fine.
      preValidation: emptyBodyIsObject,
      schema: {
        summary: 'Exchange a refresh token for a new pair (rotation)',
        body: refreshGrantBody,
        response: { 200: tokenSchema, ...errors(400, 401, 403, 503) },
      },
    },
    async (request, reply) => {
      const { scope } = request.body as { scope?: string };
      const jkt = await options.dpop.keyOf(request, reply);
      try {
        return deliver(
          reply,
          await auth.refresh(refreshTokenOf(request), {
            ...(scope !== undefined ? { scope } : {}),
            request: requestContextOf(request),
            ...(jkt !== undefined ? { jkt } : {}),
          }),
        );
      } catch (error) {
        if (error instanceof AuthServiceError && error.code === 'invalid_grant')
          clearCookies(reply);
        throw error;
      }
    },
  );

  app.post(
    '/auth/logout',
    {
      // In cookie mode the refresh token travels in its cookie: a POST without a body is fine.
      preValidation: emptyBodyIsObject,
      schema: {
        summary: 'Revoke a refresh token and its family (idempotent)',
        body: refreshBody,
        response: { ...errors(400, 403) },
      },
    },
    async (request, reply) => {
      const body = request.body as { refresh_token?: string } | undefined;
      const token =
        body?.refresh_token ?? (options.cookies ? request.cookies[REFRESH_COOKIE] : undefined);
      if (body?.refresh_token === undefined && token !== undefined) checkOrigin(request);
      await auth.logout(token, { ip: clientKeyOf(request.ip) });
      clearCookies(reply);
      return reply.code(204).send();
    },
  );

  app.post(
    '/auth/logout-all',
    {
      preHandler: authenticate,
      schema: {
        summary: 'Revoke every session of the user',
        security: [{ bearer: [] }],
        response: {
          200: { type: 'object', properties: { revoked: { type: 'integer' } } },
          ...errors(401),
        },
      },
    },
    async (request, reply) => {
      const revoked = await auth.logoutAll(authOf(request).subject, {
        ip: clientKeyOf(request.ip),
      });
      clearCookies(reply);
      noStore(reply);
      return { revoked };
    },
  );

  app.get(
    '/auth/me',
    {
      preHandler: authenticate,
      schema: {
        summary: 'The current user, from the database',
        security: [{ bearer: [] }],
        response: {
          200: { type: 'object', properties: { user: meSchema } },
          ...errors(401, 403),
        },
      },
    },
    async (request, reply) => {
      const user = await auth.currentUser(authOf(request).claims);
      noStore(reply);
      return { user: { ...toPublicUser(user), app_metadata: user.appMetadata } };
    },
  );

  // The user's own account: sessions per device, password change, deletion (account-routes.ts).
  await accountRoutes(app, { authenticate, authOf, noStore, clearCookies });

  // Passkeys: registration, the user's list, passwordless log-in (passkey-routes.ts).
  await passkeyRoutes(app, {
    authenticate,
    authOf,
    noStore,
    deliver,
    requestContextOf,
    tokenSchema,
    scopeField,
  });

  // A new key reaches this instance's set up to one reload after the rotation and signs
  // `publishDelay` after it: a copy of the set taken just before the reload must be stale by then,
  // so that no cached copy lacks the key of a token. At most 5 minutes.
  const jwksMaxAge = Math.max(
    0,
    Math.floor(Math.min(300, auth.keyRing.publishDelay - options.keyReloadSeconds)),
  );
  const jwksCacheControl = `public, max-age=${jwksMaxAge}`;
  app.get(
    '/.well-known/jwks.json',
    { schema: { summary: 'Public signing keys (empty when signing with an HMAC secret)' } },
    async (_request, reply) => {
      reply.header('cache-control', jwksCacheControl);
      return auth.keyRing.jwks;
    },
  );

  if (auth.mail) {
    await accountMailRoutes(app, auth.mail, {
      authenticate,
      authOf,
      deliver,
      noStore,
      userSchema,
      tokenSchema,
      mfaRequiredSchema: mfaRequiredSchema(errorSchema),
    });
  }

  app.get('/healthz', { schema: { summary: 'Liveness' } }, async () => ({ status: 'ok' }));
}
