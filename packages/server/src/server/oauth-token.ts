// The OAuth 2 token endpoint (RFC 6749 §3.2): the client_credentials grant (§4.4), for registered
// confidential clients, and the refresh_token grant (§6), for the first-party client's families.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthServiceError } from '../auth/errors.ts';
import type { OAuthContext } from './oauth.ts';
import {
  CLIENT_AUTH_FIELDS,
  credentialsOf,
  FORM,
  type Form,
  formBody,
  formOf,
  requestedScopes,
  required,
  TOKEN_PATH,
} from './oauth-form.ts';
import { defined, errors, noStore, requestContextOf } from './route-common.ts';

/**
 * The session ids of client-credentials tokens: `cc_` and 96 random bits. A service token has no
 * refresh family, but a `sid` of its own lets a revocation (RFC 7009) reach resource servers
 * through the revocation list like an ended log-in, and lets verifiers that require `sid`
 * (checkSessions) accept it.
 */
export const CLIENT_SID = /^cc_[A-Za-z0-9_-]{16}$/;
const newClientSid = () => `cc_${randomBytes(12).toString('base64url')}`;

export function tokenRoute(app: FastifyInstance, ctx: OAuthContext): void {
  const { options } = ctx;
  app.post(
    TOKEN_PATH,
    {
      schema: {
        summary: 'OAuth 2 token endpoint: client_credentials and refresh_token (RFC 6749)',
        consumes: [FORM],
        body: formBody({
          grant_type: 64,
          scope: 4096,
          refresh_token: 16384,
          ...CLIENT_AUTH_FIELDS,
        }),
        response: {
          200: {
            type: 'object',
            required: ['access_token', 'token_type', 'expires_in'],
            properties: {
              access_token: { type: 'string' },
              token_type: { type: 'string', enum: ['Bearer', 'DPoP'] },
              expires_in: { type: 'integer' },
              scope: { type: 'string' },
              refresh_token: { type: 'string' },
              refresh_expires_in: { type: 'integer' },
            },
          },
          ...errors(400, 401, 503),
        },
      },
    },
    async (request, reply) => {
      const form = formOf(request);
      const grant = required(form, 'grant_type');
      const jkt = await options.dpop.keyOf(request, reply);
      if (!(options.grantTypes as readonly string[]).includes(grant)) {
        throw new AuthServiceError(
          'unsupported_grant_type',
          `grant_type must be ${options.grantTypes.join(' or ')}`,
        );
      }
      const answer =
        grant === 'client_credentials'
          ? await clientCredentialsGrant(app, ctx, request, form, jkt)
          : await refreshTokenGrant(app, ctx, request, form, jkt);
      noStore(reply);
      return answer;
    },
  );
}

/** RFC 6749 §4.4: a service token for a registered client, within its registered scopes. */
async function clientCredentialsGrant(
  app: FastifyInstance,
  ctx: OAuthContext,
  request: FastifyRequest,
  form: Form,
  jkt: string | undefined,
): Promise<Record<string, unknown>> {
  const { client } = await ctx.clients.authenticate(credentialsOf(request, form), {
    allowPublic: false,
  });
  if (client?.id === ctx.firstParty) {
    // A registered client under the first-party id (registered before firstPartyClientId
    // was set to it) would get tokens no verifier could tell from a log-in's.
    throw new AuthServiceError(
      'unauthorized_client',
      "the client's id is the first-party client's (firstPartyClientId): register it under another id",
    );
  }
  if (!client?.grantTypes.includes('client_credentials')) {
    throw new AuthServiceError('unauthorized_client', 'the client may not use client_credentials');
  }
  // RFC 6749 §3.3: without `scope`, the client's registered scopes.
  const scopes = form['scope'] === undefined ? [...client.scopes] : requestedScopes(form['scope']);
  const refused = scopes.find((scope) => !client.scopes.includes(scope));
  if (refused !== undefined) {
    throw new AuthServiceError(
      'invalid_scope',
      `the client may not ask for the scope "${refused.slice(0, 64)}"`,
    );
  }
  // The one token builder (src/auth/tokens.ts): the claims function, the reserved claims
  // and the size budget apply to service tokens as to log-ins'. RFC 9068 §2.2: a token
  // with no resource owner names its client as subject. RFC 9449 §5: a proof binds the
  // token to its key (`cnf`, a reserved claim; a confidential client gets no refresh).
  const accessToken = await app.auth.accessTokens.issue({
    subject: client.id,
    clientId: client.id,
    scope: scopes,
    user: null,
    session: { id: newClientSid(), createdAt: ctx.options.now() },
    request: requestContextOf(request),
    ...defined({ jkt }),
  });
  return {
    access_token: accessToken,
    token_type: jkt === undefined ? 'Bearer' : 'DPoP',
    expires_in: ctx.options.accessTtl,
    ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
  };
}

/**
 * RFC 6749 §6: every family is the first-party client's (a log-in at /auth/login), a public
 * client (RFC 6749 §2.1) that names itself with client_id. A registered client holding one was
 * not issued it: invalid_grant (RFC 6749 §6, §5.2).
 */
async function refreshTokenGrant(
  app: FastifyInstance,
  ctx: OAuthContext,
  request: FastifyRequest,
  form: Form,
  jkt: string | undefined,
): Promise<object> {
  const who = await ctx.clients.authenticate(credentialsOf(request, form), {
    allowPublic: true,
  });
  const refreshToken = required(form, 'refresh_token');
  if (who.client !== null) {
    throw new AuthServiceError('invalid_grant', 'the refresh token was not issued to this client');
  }
  // RFC 6749 §6: `scope` may narrow the session's grant for this token, never widen it
  // (invalid_scope), exactly as at /auth/refresh.
  return app.auth.refresh(refreshToken, {
    ...defined({ scope: form['scope'] }),
    request: requestContextOf(request),
    ...defined({ jkt }),
  });
}
