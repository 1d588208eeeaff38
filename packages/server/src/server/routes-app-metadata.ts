// PUT /admin/users/:id/app-metadata: administrators set a user's app metadata, the per-user JSON
// the claims function reads (docs/tokens.md, "Tokens"). Only a bearer access token with the
// `admin` role in the Authorization header reaches it: never a cookie (no cross-site form can
// send it, so no CSRF), and no route lets users write their own. Guarded as the rest of the admin
// API (admin-routes.ts: the caller's roles now, from the store) and recorded in the audit log.

import { type Authenticator, authorizationHeaders } from '@laissez/middleware';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AdminService } from '../auth/admin.ts';
import { APP_METADATA_MAX_BYTES } from '../auth/app-metadata.ts';
import { type AccessClaims, toPublicUser } from '../auth/service.ts';
import { actorOf, requireCurrentAdmin } from './admin-routes.ts';
import { meSchema } from './auth-schemas.ts';
import { errorSchema, HttpError } from './errors.ts';
import { BEARER, strictObject, userAnswer } from './route-common.ts';

export interface AppMetadataRouteOptions {
  authenticator: Authenticator<AccessClaims>;
  admin: AdminService;
}

export async function appMetadataRoutes(
  app: FastifyInstance,
  options: AppMetadataRouteOptions,
): Promise<void> {
  const current = requireCurrentAdmin(app, options.authenticator);
  const admin = async (request: FastifyRequest) => {
    const authorization = authorizationHeaders(request.raw.rawHeaders);
    if (typeof authorization === 'string' && !/^(bearer|dpop) /i.test(authorization)) {
      throw new HttpError('invalid_request', 'send the access token as Authorization: Bearer', {
        'www-authenticate': 'Bearer error="invalid_request"',
      });
    }
    // The header only: without one, the authenticator must not fall back to the cookie.
    await current(request);
  };

  app.put(
    '/admin/users/:id/app-metadata',
    {
      preHandler: admin,
      schema: {
        summary: "Replace a user's app metadata (administrators only)",
        description: `A JSON object of at most ${APP_METADATA_MAX_BYTES} bytes, replaced whole ({} clears it). The claims function reads it at the next log-in or refresh; tokens issued before keep what they carry until they expire.`,
        security: BEARER,
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
        },
        body: strictObject(['app_metadata'], {
          app_metadata: { type: 'object', additionalProperties: true },
        }),
        response: {
          200: userAnswer(meSchema),
          // The shared `Error` schema is registered inside the /auth routes' scope, not this one.
          ...Object.fromEntries([400, 401, 403, 404].map((c) => [c, errorSchema])),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const { app_metadata: metadata } = request.body as { app_metadata: unknown };
      await options.admin.setAppMetadata(actorOf(request), id, metadata);
      const user = await app.store.findUserById(id);
      if (!user) throw new HttpError('not_found', 'no such user');
      reply.header('cache-control', 'no-store');
      return { user: { ...toPublicUser(user), app_metadata: user.appMetadata } };
    },
  );
}
