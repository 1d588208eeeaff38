// The signed-in user's own account: the sessions per device (list, end one), a password change
// and the account's deletion. Every route is behind the shared bearer authenticator (the same
// checks as /auth/me) and the `accountPerUser` rate limit; a password confirmation also spends
// the log-in failure budgets.
import type { FastifyInstance } from 'fastify';
import type { AuthRouteHelpers } from './auth-helpers.ts';
import { BEARER, errors, FIELDS, ipOf, noStore, strictObject } from './route-common.ts';

/** What the account routes use of authRoutes' helpers (auth-helpers.ts). */
export type AccountRouteHelpers = Pick<
  AuthRouteHelpers,
  'authenticate' | 'authOf' | 'clearCookies'
>;

/** A session id as the server makes them (newId: 9 random bytes, base64url); bounded. */
const SESSION_ID = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' };

const sessionSchema = {
  type: 'object',
  required: ['id', 'created_at', 'last_used_at', 'ip', 'device', 'current'],
  properties: {
    id: { type: 'string', description: 'The session id: the `sid` of its access tokens.' },
    created_at: { type: 'string', format: 'date-time' },
    last_used_at: {
      type: 'string',
      format: 'date-time',
      description: 'The log-in or the latest refresh.',
    },
    ip: { type: ['string', 'null'], description: 'The address the session logged in from.' },
    device: {
      type: ['string', 'null'],
      description: 'A label from the User-Agent at log-in ("Firefox on Linux"); never the header.',
    },
    current: { type: 'boolean', description: 'The session of the token that asked.' },
  },
} as const;

/** Password fields: the same bounds as log-in's (the policy then applies to the new one). */
const password = FIELDS.password;

export async function accountRoutes(
  app: FastifyInstance,
  helpers: AccountRouteHelpers,
): Promise<void> {
  await sessionRoutes(app, helpers);
  await credentialRoutes(app, helpers);
}

/** The user's sessions, one per device: listed, and ended one at a time. */
async function sessionRoutes(app: FastifyInstance, helpers: AccountRouteHelpers): Promise<void> {
  const { auth } = app;
  const { authenticate, authOf, clearCookies } = helpers;

  app.get(
    '/auth/sessions',
    {
      preValidation: authenticate,
      schema: {
        summary: "The user's live sessions, one per device, most recently used first",
        security: BEARER,
        response: {
          200: {
            type: 'object',
            required: ['sessions'],
            properties: { sessions: { type: 'array', items: sessionSchema } },
          },
          ...errors(401, 403, 429),
        },
      },
    },
    async (request, reply) => {
      const { claims } = authOf(request);
      const sessions = await auth.listSessions(claims);
      noStore(reply);
      return {
        sessions: sessions.map((s) => ({
          id: s.id,
          created_at: new Date(s.createdAt).toISOString(),
          last_used_at: new Date(s.lastUsedAt).toISOString(),
          ip: s.ip,
          device: s.device,
          current: s.id === claims.sid,
        })),
      };
    },
  );

  app.delete(
    '/auth/sessions/:id',
    {
      preValidation: authenticate,
      schema: {
        summary: 'End one session (its refresh family is revoked and the revocation published)',
        security: BEARER,
        params: strictObject(['id'], { id: SESSION_ID }),
        response: { ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const { claims } = authOf(request);
      const { id } = request.params as { id: string };
      await auth.endSession(claims, id, { ip: ipOf(request) });
      if (id === claims.sid) clearCookies(reply);
      return reply.code(204).send();
    },
  );
}

/** What needs the password again: changing it, and deleting the account. */
async function credentialRoutes(app: FastifyInstance, helpers: AccountRouteHelpers): Promise<void> {
  const { auth } = app;
  const { authenticate, authOf, clearCookies } = helpers;
  app.post(
    '/auth/password',
    {
      schema: {
        summary: 'Change the password: every other session ends, this one stays',
        security: BEARER,
        body: strictObject(['current_password', 'new_password'], {
          current_password: password,
          new_password: password,
        }),
        response: {
          200: {
            type: 'object',
            required: ['ended_sessions'],
            properties: {
              ended_sessions: {
                type: 'integer',
                description: 'How many other sessions were ended.',
              },
            },
          },
          ...errors(400, 401, 403, 429),
        },
      },
      preValidation: authenticate,
    },
    async (request, reply) => {
      const body = request.body as { current_password: string; new_password: string };
      const ended = await auth.changePassword(authOf(request).claims, {
        currentPassword: body.current_password,
        newPassword: body.new_password,
        ip: ipOf(request),
      });
      noStore(reply);
      return { ended_sessions: ended };
    },
  );

  app.delete(
    '/auth/account',
    {
      preValidation: authenticate,
      schema: {
        summary:
          'Delete the account (password required): every session ends, the names stay reserved',
        security: BEARER,
        body: strictObject(['password'], { password }),
        response: { ...errors(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const { password: given } = request.body as { password: string };
      await auth.deleteAccount(authOf(request).claims, {
        password: given,
        ip: ipOf(request),
      });
      clearCookies(reply);
      return reply.code(204).send();
    },
  );
}
