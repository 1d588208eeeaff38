// The /auth routes of a session's refresh family: the refresh (rotation), the log-out of one
// session, and the log-out of every session of the user.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthServiceError } from '../auth/errors.ts';
import { type AuthRouteHelpers, REFRESH_COOKIE } from './auth-helpers.ts';
import { refreshBody, refreshGrantBody, tokenSchema } from './auth-schemas.ts';
import { BEARER, defined, errors, ipOf, noStore, requestContextOf } from './route-common.ts';

/** A POST without a body validates as `{}`, so the route can say precisely what is missing. */
async function emptyBodyIsObject(request: FastifyRequest): Promise<void> {
  request.body ??= {};
}

export async function refreshRoute(app: FastifyInstance, h: AuthRouteHelpers): Promise<void> {
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
      const jkt = await h.dpopKeyOf(request, reply);
      try {
        return h.deliver(
          reply,
          await app.auth.refresh(h.refreshTokenOf(request), {
            ...defined({ scope }),
            request: requestContextOf(request),
            ...defined({ jkt }),
          }),
        );
      } catch (error) {
        if (error instanceof AuthServiceError && error.code === 'invalid_grant')
          h.clearCookies(reply);
        throw error;
      }
    },
  );
}

export async function logoutRoutes(app: FastifyInstance, h: AuthRouteHelpers): Promise<void> {
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
        body?.refresh_token ?? (h.cookies ? request.cookies[REFRESH_COOKIE] : undefined);
      if (body?.refresh_token === undefined && token !== undefined) h.checkOrigin(request);
      await app.auth.logout(token, { ip: ipOf(request) });
      h.clearCookies(reply);
      return reply.code(204).send();
    },
  );

  app.post(
    '/auth/logout-all',
    {
      preHandler: h.authenticate,
      schema: {
        summary: 'Revoke every session of the user',
        security: BEARER,
        response: {
          200: { type: 'object', properties: { revoked: { type: 'integer' } } },
          ...errors(401),
        },
      },
    },
    async (request, reply) => {
      const revoked = await app.auth.logoutAll(h.authOf(request).subject, { ip: ipOf(request) });
      h.clearCookies(reply);
      noStore(reply);
      return { revoked };
    },
  );
}
