// The /auth routes of an account's identity: registration, the password log-in (its second
// step is mfa-routes.ts's), and /auth/me.
import type { FastifyInstance } from 'fastify';
import { DEVICE_TOKEN_MAX } from '../auth/device.ts';
import { toPublicUser } from '../auth/service.ts';
import { type AuthRouteHelpers, DEVICE_COOKIE } from './auth-helpers.ts';
import { meSchema, scopeField, tokenSchema } from './auth-schemas.ts';
import { errorSchema } from './errors.ts';
import { mfaRequiredSchema } from './mfa-routes.ts';
import {
  BEARER,
  defined,
  errors,
  FIELDS,
  ipOf,
  noStore,
  requestContextOf,
  strictObject,
  userAnswer,
  userSchema,
} from './route-common.ts';

export async function registerRoute(app: FastifyInstance): Promise<void> {
  const { auth } = app;
  app.post(
    '/auth/register',
    {
      schema: {
        summary: 'Create a user',
        body: strictObject(['username', 'email', 'password'], {
          username: { type: 'string', minLength: 3, maxLength: 32 },
          email: FIELDS.email,
          password: FIELDS.newPassword,
        }),
        response: {
          201: userAnswer(userSchema),
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
        await auth.mail.register({ ...body, ip: ipOf(request) });
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
}

export async function loginRoute(app: FastifyInstance, h: AuthRouteHelpers): Promise<void> {
  app.post(
    '/auth/login',
    {
      schema: {
        summary: 'Log in with username or email, and password',
        body: strictObject(['password'], {
          username: { type: 'string', minLength: 1, maxLength: 64 },
          email: { type: 'string', minLength: 1, maxLength: 254 },
          password: FIELDS.password,
          device_token: { type: 'string', minLength: 1, maxLength: DEVICE_TOKEN_MAX },
          scope: scopeField,
        }),
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
      const deviceToken = fromBody ?? (h.cookies ? request.cookies[DEVICE_COOKIE] : undefined);
      // The proof first: a bad one costs no password attempt, and no password is checked twice
      // for a client that retries with the nonce it was sent (RFC 9449 §8).
      const jkt = await h.dpopKeyOf(request, reply);
      const result = await app.auth.login({
        ...body,
        ip: request.ip,
        clientIp: request.ip,
        userAgent: request.headers['user-agent'],
        request: requestContextOf(request),
        ...defined({ deviceToken, jkt }),
      });
      return h.loggedIn(reply, result.tokens, result.deviceToken);
    },
  );
}

export async function meRoute(app: FastifyInstance, h: AuthRouteHelpers): Promise<void> {
  app.get(
    '/auth/me',
    {
      preHandler: h.authenticate,
      schema: {
        summary: 'The current user, from the database',
        security: BEARER,
        response: {
          200: { type: 'object', properties: { user: meSchema } },
          ...errors(401, 403),
        },
      },
    },
    async (request, reply) => {
      const user = await app.auth.currentUser(h.authOf(request).claims);
      noStore(reply);
      return { user: { ...toPublicUser(user), app_metadata: user.appMetadata } };
    },
  );
}
