// What the OAuth endpoints say and do about a token a client holds: revocation (RFC 7009) ends
// what it stands for, introspection (RFC 7662) tells whether it is active and what it carries.
import { RevocationUnavailableError } from '@laissez/middleware/redis';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthServiceError } from '../auth/errors.ts';
import { sha256 } from '../auth/hash.ts';
import { REFRESH_TOKEN } from '../auth/refresh-token.ts';
import type { AccessClaims } from '../auth/service.ts';
import type { OAuthContext } from './oauth.ts';
import {
  CLIENT_AUTH_FIELDS,
  credentialsOf,
  FORM,
  formBody,
  formOf,
  INTROSPECTION_PATH,
  REVOCATION_PATH,
  required,
} from './oauth-form.ts';
import { CLIENT_SID } from './oauth-token.ts';
import { errors, noStore } from './route-common.ts';

/** Both endpoints take the token and its hint, and client authentication. */
const tokenForm = formBody({ token: 16384, token_type_hint: 64, ...CLIENT_AUTH_FIELDS });

export function revocationRoute(app: FastifyInstance, ctx: OAuthContext): void {
  app.post(
    REVOCATION_PATH,
    {
      schema: {
        summary: 'OAuth 2 token revocation (RFC 7009): ends the session of the token',
        consumes: [FORM],
        body: tokenForm,
        response: { 200: { type: 'null' }, ...errors(400, 401, 503) },
      },
    },
    async (request, reply) => {
      const form = formOf(request);
      await ctx.clients.authenticate(credentialsOf(request, form), { allowPublic: true });
      await revoke(app, ctx, required(form, 'token'), request);
      noStore(reply);
      return reply.code(200).send();
    },
  );
}

/**
 * Ends what a token stands for: a refresh token's family, or an access token's session (a
 * log-in's family; a client token's own session id), published to the revocation list. A
 * token that is not valid is ignored (RFC 7009 §2.2: 200 either way).
 */
async function revoke(
  app: FastifyInstance,
  ctx: OAuthContext,
  token: string,
  request: FastifyRequest,
): Promise<void> {
  if (REFRESH_TOKEN.test(token)) return app.auth.logout(token);
  let claims: AccessClaims;
  try {
    claims = (await ctx.keyRing.verifyReloading<AccessClaims>(token)).payload;
  } catch {
    return;
  }
  const sid = claims.sid;
  if (typeof sid !== 'string') return;
  const now = ctx.options.now();
  if (!CLIENT_SID.test(sid)) await app.store.revokeFamily(sid, now, 'logout');
  // Until every token of the session has expired, plus the verifiers' clock tolerance.
  const until = now + ctx.options.accessTtl * 1000 + 60_000;
  try {
    await ctx.options.revocations?.revoke(sid, until);
  } catch (error) {
    request.log.warn({ err: error }, 'a revoked token was not published to the revocation list');
  }
}

export function introspectionRoute(app: FastifyInstance, ctx: OAuthContext): void {
  app.post(
    INTROSPECTION_PATH,
    {
      schema: {
        summary: 'OAuth 2 token introspection (RFC 7662), for registered clients',
        consumes: [FORM],
        body: tokenForm,
        response: {
          200: {
            type: 'object',
            required: ['active'],
            additionalProperties: true,
            properties: { active: { type: 'boolean' } },
          },
          ...errors(400, 401, 503),
        },
      },
    },
    async (request, reply) => {
      const form = formOf(request);
      // RFC 7662 §2.1 and §4: only registered (authenticated) clients may ask, against
      // token scanning; the public first-party client may not.
      await ctx.clients.authenticate(credentialsOf(request, form), { allowPublic: false });
      const token = required(form, 'token');
      const answer = REFRESH_TOKEN.test(token)
        ? await introspectRefresh(app, ctx, token)
        : await introspectAccess(ctx, token);
      noStore(reply);
      return answer;
    },
  );
}

/** RFC 7662 §2.2: `{active: false}` says nothing more. */
const INACTIVE = { active: false } as const;

/** A refresh token: active while unused, unrevoked and unexpired, and its user enabled. */
async function introspectRefresh(
  app: FastifyInstance,
  ctx: OAuthContext,
  token: string,
): Promise<Record<string, unknown>> {
  const { store } = app;
  const now = ctx.options.now();
  const hash = sha256(token);
  const found = await store.findRefreshTokenWithUser?.(hash);
  const record = found ? found.token : await store.findRefreshToken(hash);
  const user = found ? found.user : record ? await store.findUserById(record.userId) : null;
  if (
    !record ||
    record.revokedAt !== null ||
    record.usedAt !== null ||
    record.expiresAt <= now ||
    !user ||
    user.disabled
  ) {
    return { ...INACTIVE };
  }
  return {
    active: true,
    client_id: ctx.firstParty,
    token_type: 'refresh_token',
    sub: user.id,
    username: user.username,
    sid: record.familyId,
    iat: Math.floor(record.createdAt / 1000),
    exp: Math.floor(record.expiresAt / 1000),
    iss: ctx.options.issuer,
  };
}

/** An access token: active when it verifies and its session is not on the revocation list. */
async function introspectAccess(
  ctx: OAuthContext,
  token: string,
): Promise<Record<string, unknown>> {
  let claims: AccessClaims;
  try {
    claims = (await ctx.keyRing.verifyReloading<AccessClaims>(token)).payload;
  } catch {
    return { ...INACTIVE };
  }
  const { checker } = ctx.options;
  if (checker && typeof claims.sid === 'string') {
    try {
      if (await checker.isRevoked(claims.sid)) return { ...INACTIVE };
    } catch (error) {
      if (error instanceof RevocationUnavailableError) {
        throw new AuthServiceError(
          'temporarily_unavailable',
          'the revocation list cannot be reached; try again shortly',
        );
      }
      throw error;
    }
  }
  const pick = (names: string[]) =>
    Object.fromEntries(names.filter((n) => claims[n] !== undefined).map((n) => [n, claims[n]]));
  return {
    active: true,
    // RFC 9449 §6.2: a bound token is a DPoP token, and its binding is told (`cnf`).
    token_type: claims['cnf'] === undefined ? 'Bearer' : 'DPoP',
    // First-party log-ins name the first-party client (RFC 9068 §2.2).
    client_id: typeof claims['client_id'] === 'string' ? claims['client_id'] : ctx.firstParty,
    ...pick(['scope', 'sub', 'aud', 'iss', 'exp', 'iat', 'nbf', 'jti', 'sid', 'roles', 'cnf']),
  };
}
