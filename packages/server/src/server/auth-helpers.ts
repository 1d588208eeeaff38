// What every /auth route plugin is handed by authRoutes (routes.ts): how tokens are answered
// (headers, and the cookies in cookie mode), and how a request's credentials are read (the access
// token through the resource servers' authenticator, the refresh token from the body or its
// cookie, the Origin check of anything a cookie authenticates).

import { type AuthContext, type AuthFailure, authorizationHeaders } from '@laissez/middleware';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEVICE_TOKEN_TTL } from '../auth/device.ts';
import type { AccessClaims, TokenSet } from '../auth/service.ts';
import { type ErrorCode, HttpError } from './errors.ts';
import { noStore } from './route-common.ts';
import type { RouteOptions } from './routes.ts';

export const ACCESS_COOKIE = 'laissez_at';
export const REFRESH_COOKIE = 'laissez_rt';
/** The device token (docs/security.md, "Guessing passwords"), in cookie mode. */
export const DEVICE_COOKIE = 'laissez_dev';

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

/** How the /auth routes answer tokens. */
export interface TokenDelivery {
  /** Tokens in the body and the headers, and (cookie mode) the refresh token in its cookie. */
  deliver(reply: FastifyReply, tokens: TokenSet): Partial<TokenSet>;
  /** A completed log-in (a password, or a password and a second factor): tokens and device token. */
  loggedIn(reply: FastifyReply, tokens: TokenSet, deviceToken: string): unknown;
  /** Clears the token cookies (cookie mode): the session that sent the request has ended. */
  clearCookies(reply: FastifyReply): void;
}

export function tokenDelivery(options: RouteOptions): TokenDelivery {
  const cookieBase = { httpOnly: true, secure: options.cookieSecure } as const;
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
  return {
    deliver,
    loggedIn: (reply, tokens, deviceToken) => {
      const delivered = deliver(reply, tokens);
      if (!options.cookies) return { ...delivered, device_token: deviceToken };
      reply.setCookie(DEVICE_COOKIE, deviceToken, {
        ...cookieBase,
        sameSite: 'strict',
        path: '/auth/login',
        maxAge: DEVICE_TOKEN_TTL,
      });
      return delivered;
    },
    clearCookies: (reply) => {
      if (!options.cookies) return;
      reply.clearCookie(ACCESS_COOKIE, { ...cookieBase, path: '/' });
      reply.clearCookie(REFRESH_COOKIE, { ...cookieBase, path: '/auth' });
    },
  };
}

/** How the /auth routes read a request's credentials. */
export interface RequestCredentials {
  /** CSRF defence for requests that authenticate with a cookie: the Origin must be ours or allowed. */
  checkOrigin(request: FastifyRequest): void;
  /** The refresh token from the body, or (cookie mode) from the cookie with an origin check. */
  refreshTokenOf(request: FastifyRequest): unknown;
  /**
   * Verifies the access token of a request (`Authorization: Bearer`, or the cookie in cookie mode)
   * with the authenticator every resource server uses: the same extraction, diagnostics,
   * revocation check and RFC 6750 answers. Sets `request.auth`, as the middleware does.
   */
  authenticate(request: FastifyRequest): Promise<void>;
  /** The verified token of a route behind `authenticate`. */
  authOf(request: FastifyRequest): AuthContext<AccessClaims>;
}

export function requestCredentials(options: RouteOptions): RequestCredentials {
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
  return {
    checkOrigin,
    refreshTokenOf: (request) => {
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
        throw new HttpError(
          'invalid_grant',
          'no session: log in (no refresh token cookie or body)',
        );
      }
      throw new HttpError('invalid_request', 'refresh_token is required');
    },
    authenticate: async (request) => {
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
      // A token from the cookie (also when the header holds another scheme's credentials) is what
      // a cross-site form could send: the origin is checked. A header token was taken only when
      // the one header says Bearer or DPoP.
      const fromHeader =
        typeof authorization === 'string' && /^(bearer|dpop) /i.test(authorization);
      if (options.cookies && !fromHeader && !['GET', 'HEAD'].includes(request.method)) {
        checkOrigin(request);
      }
      request.auth = outcome.auth;
    },
    authOf: (request) => request.auth as AuthContext<AccessClaims>,
  };
}

/** Everything authRoutes hands its route plugins. */
export interface AuthRouteHelpers extends TokenDelivery, RequestCredentials {
  /** Whether tokens travel in cookies (cookie mode). */
  cookies: boolean;
  /** The thumbprint of the request's DPoP proof key, checked, or undefined without a proof. */
  dpopKeyOf(request: FastifyRequest, reply: FastifyReply): Promise<string | undefined>;
}
