// The admin API: `/admin/…`, for users with the `admin` role. Users listed and searched a page at
// a time, roles set, accounts disabled and enabled, sessions ended, lock-outs lifted, password
// resets sent, and the audit log read. Every action is the AdminService's (src/auth/admin.ts),
// which records it in the audit log with the administrator as its actor.
//
// Two checks guard every route: the access token (the shared authenticator, header only: never
// the cookie, so no cross-site form can reach an admin action), and the caller's roles *now*, read
// from the store: an administrator whose role was taken away, or whose account was disabled,
// loses this API at once, not when their access token expires.

import { type Authenticator, authorizationHeaders } from '@laissez/middleware';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { clientKeyOf } from '../auth/addresses.ts';
import type { Actor, AdminService } from '../auth/admin.ts';
import type { AccessClaims } from '../auth/service.ts';
import type { AuditEvent, User } from '../store/types.ts';
import { refusal } from './auth-helpers.ts';
import { errorSchema, HttpError } from './errors.ts';
import { BEARER, defined, errors, strictObject, userAnswer } from './route-common.ts';

export interface AdminRouteOptions {
  admin: AdminService;
  authenticator: Authenticator<AccessClaims>;
}

export const ADMIN_ROLE = 'admin';

/**
 * The guard of every `/admin/…` route (app metadata's too): the bearer token from the header, then
 * the caller's current roles in the store. Sets `request.auth`.
 */
export function requireCurrentAdmin(
  app: FastifyInstance,
  authenticator: Authenticator<AccessClaims>,
): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    const outcome = await authenticator.authenticate({
      authorization: authorizationHeaders(request.raw.rawHeaders),
      cookie: undefined,
      // A DPoP-bound admin token comes with its proof (RFC 9449).
      method: request.method,
      url: request.raw.url,
      origin: `${request.protocol}://${request.host}`,
      dpop: request.headers.dpop,
    });
    if (!outcome.ok) throw refusal(outcome.failure);
    const denied = authenticator.authorize(outcome.auth, { roles: [ADMIN_ROLE] });
    if (denied) throw refusal(denied);
    const caller = await app.store.findUserById(outcome.auth.subject);
    if (!caller || caller.disabled || !caller.roles.includes(ADMIN_ROLE)) {
      throw new HttpError(
        'insufficient_scope',
        'this needs the role "admin", which this account no longer has',
        { 'www-authenticate': 'Bearer error="insufficient_scope"' },
      );
    }
    request.auth = outcome.auth;
  };
}

/** The administrator behind a request that passed `requireCurrentAdmin`. */
export const actorOf = (request: FastifyRequest): Actor => ({
  id: (request.auth as { subject: string }).subject,
  ip: clientKeyOf(request.ip),
});

const adminUserSchema = {
  type: 'object',
  required: ['id', 'username', 'email', 'roles', 'disabled', 'created_at', 'updated_at'],
  properties: {
    id: { type: 'string' },
    username: { type: 'string' },
    email: { type: 'string' },
    roles: { type: 'array', items: { type: 'string' } },
    disabled: { type: 'boolean' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const;

const eventSchema = {
  type: 'object',
  required: ['id', 'at', 'type', 'actor', 'subject', 'ip', 'details'],
  properties: {
    id: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    type: { type: 'string' },
    actor: { type: 'string', description: 'a user id, or cli, system, anonymous' },
    subject: { type: ['string', 'null'] },
    ip: { type: ['string', 'null'] },
    details: { type: ['object', 'null'], additionalProperties: true },
  },
} as const;

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

/** Query strings are text: a page size is digits. */
const limitQuery = { type: 'string', pattern: '^[0-9]{1,3}$' } as const;
/** The page size when the query names none (the AdminService's). */
const DEFAULT_LIMIT = 50;

/** A page of a list: its rows under `name`, and where the next page starts. */
const pageSchema = (name: string, items: Record<string, unknown>, next: string) =>
  ({
    type: 'object',
    required: [name, 'next'],
    properties: {
      [name]: { type: 'array', items },
      next: { type: ['string', 'null'], description: next },
    },
  }) as const;

/** Where the next page starts: after the last row of a full page; null after the last page. */
const nextOf = (rows: readonly { id: string }[], limit: number | undefined): string | null =>
  rows.length === (limit ?? DEFAULT_LIMIT) ? rows.at(-1)!.id : null;

/** A page size from the query (digits, by its schema). */
const limitOf = (text: string | undefined) => (text === undefined ? undefined : Number(text));
const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;
const userAnswerSchema = userAnswer(adminUserSchema);

function toAdminUser(user: User) {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    roles: user.roles,
    disabled: user.disabled,
    created_at: new Date(user.createdAt).toISOString(),
    updated_at: new Date(user.updatedAt).toISOString(),
  };
}

function toEventBody(event: AuditEvent) {
  return { ...event, at: new Date(event.at).toISOString() };
}

/** A time in a query: an RFC 3339 date-time, or a date (midnight UTC). */
function timeOf(text: string | undefined, field: string): number | undefined {
  if (text === undefined) return undefined;
  const at = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(text)
    ? Date.parse(text)
    : Number.NaN;
  if (!Number.isFinite(at)) {
    throw new HttpError(
      'invalid_request',
      `${field} must be a date or an RFC 3339 date-time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z`,
    );
  }
  return at;
}

export async function adminRoutes(app: FastifyInstance, options: AdminRouteOptions) {
  // Each route plugin is its own context: the error body's schema is declared here too.
  app.addSchema({ $id: 'Error', ...errorSchema });
  // Admin answers concern other people's accounts: never cached.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });
  const guarded = { preHandler: requireCurrentAdmin(app, options.authenticator) };
  userRoutes(app, options.admin, guarded);
  accountActionRoutes(app, options.admin, guarded);
  auditRoute(app, options.admin, guarded);
}

type Guard = { preHandler: (request: FastifyRequest) => Promise<void> };

/** The users: listed a page at a time, one read, roles replaced. */
function userRoutes(app: FastifyInstance, admin: AdminService, guarded: Guard): void {
  app.get(
    '/admin/users',
    {
      ...guarded,
      schema: {
        summary: 'List users in registration order, optionally by username or email prefix',
        security: BEARER,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            q: { type: 'string', minLength: 1, maxLength: 254 },
            limit: limitQuery,
            after: { type: 'string', minLength: 1, maxLength: 64 },
          },
        },
        response: {
          200: pageSchema(
            'users',
            adminUserSchema,
            'pass as `after` for the next page; null on the last',
          ),
          ...errors(400, 401, 403),
        },
      },
    },
    async (request) => {
      const query = request.query as { q?: string; limit?: string; after?: string };
      const limit = limitOf(query.limit);
      const users = await admin.listUsers(defined({ q: query.q, limit, after: query.after }));
      return { users: users.map(toAdminUser), next: nextOf(users, limit) };
    },
  );

  app.get(
    '/admin/users/:id',
    {
      ...guarded,
      schema: {
        summary: 'One user',
        security: BEARER,
        params: idParams,
        response: { 200: userAnswerSchema, ...errors(401, 403, 404) },
      },
    },
    async (request) => ({ user: toAdminUser(await admin.user(idOf(request))) }),
  );

  app.put(
    '/admin/users/:id/roles',
    {
      ...guarded,
      schema: {
        summary: 'Replace the roles of a user (from their next log-in or refresh)',
        security: BEARER,
        params: idParams,
        body: strictObject(['roles'], {
          roles: { type: 'array', maxItems: 16, items: { type: 'string', maxLength: 32 } },
        }),
        response: { 200: userAnswerSchema, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { roles } = request.body as { roles: string[] };
      return { user: toAdminUser(await admin.setRoles(actorOf(request), idOf(request), roles)) };
    },
  );
}

/** What an administrator does to an account: disable, enable, end sessions, unlock, reset. */
function accountActionRoutes(app: FastifyInstance, admin: AdminService, guarded: Guard): void {
  const action = (summary: string, response: Record<number, unknown>) => ({
    ...guarded,
    schema: { summary, security: BEARER, params: idParams, response },
  });
  for (const verb of ['disable', 'enable'] as const) {
    app.post(
      `/admin/users/:id/${verb}`,
      action(
        verb === 'disable'
          ? 'Disable a user and end every session they have'
          : 'Enable a disabled user',
        {
          200: {
            type: 'object',
            required: ['user', 'revoked'],
            properties: { user: adminUserSchema, revoked: { type: 'integer' } },
          },
          ...errors(400, 401, 403, 404),
        },
      ),
      async (request) => {
        const id = idOf(request);
        const { revoked } = await admin.setDisabled(actorOf(request), id, verb === 'disable');
        return { user: toAdminUser(await admin.user(id)), revoked };
      },
    );
  }

  app.delete(
    '/admin/users/:id/sessions',
    action('End every session of a user (refresh tokens revoked, revocations published)', {
      200: {
        type: 'object',
        required: ['revoked'],
        properties: { revoked: { type: 'integer' } },
      },
      ...errors(401, 403, 404),
    }),
    async (request) => admin.endSessions(actorOf(request), idOf(request)),
  );

  app.post(
    '/admin/users/:id/unlock',
    action('Lift the lock-out of an account after failed log-ins', { ...errors(401, 403, 404) }),
    async (request, reply) => {
      await admin.unlock(actorOf(request), idOf(request));
      return reply.code(204).send();
    },
  );

  app.post(
    '/admin/users/:id/password-reset',
    action('Send the user a password-reset mail', { ...errors(401, 403, 404, 429, 503) }),
    async (request, reply) => {
      await admin.sendPasswordReset(actorOf(request), idOf(request));
      return reply.code(202).send();
    },
  );

  app.delete(
    '/admin/users/:id/second-factors',
    action("Remove a user's second factors (TOTP, recovery codes); their sessions stay", {
      200: {
        type: 'object',
        required: ['reset'],
        properties: {
          reset: { type: 'boolean', description: 'false: the user had no second factor' },
        },
      },
      ...errors(401, 403, 404),
    }),
    async (request) => ({
      reset: await admin.resetSecondFactors(actorOf(request), idOf(request)),
    }),
  );
}

/** The audit log, newest first, a page at a time. */
function auditRoute(app: FastifyInstance, admin: AdminService, guarded: Guard): void {
  app.get(
    '/admin/audit',
    {
      ...guarded,
      schema: {
        summary: 'The audit log, newest first',
        security: BEARER,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            type: { type: 'string', minLength: 1, maxLength: 64 },
            user: { type: 'string', minLength: 1, maxLength: 64, description: 'the subject' },
            since: { type: 'string', maxLength: 40 },
            until: { type: 'string', maxLength: 40 },
            limit: limitQuery,
            before: { type: 'string', minLength: 1, maxLength: 64 },
          },
        },
        response: {
          200: pageSchema(
            'events',
            eventSchema,
            'pass as `before` for the next (older) page; null on the last',
          ),
          ...errors(400, 401, 403),
        },
      },
    },
    async (request) => {
      const q = request.query as Record<string, string | undefined>;
      const limit = limitOf(q['limit']);
      const events = await admin.audit(
        defined({
          type: q['type'],
          subject: q['user'],
          since: timeOf(q['since'], 'since'),
          until: timeOf(q['until'], 'until'),
          limit,
          before: q['before'],
        }),
      );
      return { events: events.map(toEventBody), next: nextOf(events, limit) };
    },
  );
}
