// The standard OAuth 2 endpoints over laissez's own tokens and refresh families: the token
// endpoint (RFC 6749 §3.2; client_credentials §4.4, refresh_token §6), revocation (RFC 7009),
// introspection (RFC 7662) and the authorization-server metadata (RFC 8414), which is made from
// the same settings that register the endpoints, so it never advertises one that is off.
//
// Requests are application/x-www-form-urlencoded (RFC 6749 Appendix B); answers are JSON with
// `Cache-Control: no-store` (RFC 6749 §5.1); errors are `{error, error_description}` with the
// statuses of RFC 6749 §5.2 (400, and 401 for invalid_client).
import { createHash, randomBytes } from 'node:crypto';
import { type RevocationChecker, RevocationUnavailableError } from '@laissez/middleware/redis';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  ASSERTION_ALGORITHMS,
  ClientAuthenticator,
  type ClientAuthenticatorOptions,
  type ClientCredentials,
  InvalidClientError,
} from '../auth/clients.ts';
import { AuthServiceError } from '../auth/errors.ts';
import type { RoleScopes } from '../auth/scopes.ts';
import type { AccessClaims, RevocationSink } from '../auth/service.ts';
import { DPOP_ALGORITHMS, type TokenDpop } from './dpop.ts';
import { errorSchema, HttpError } from './errors.ts';

export type OAuthGrantType = 'client_credentials' | 'refresh_token';

export interface OAuthRouteOptions {
  issuer: string;
  grantTypes: readonly OAuthGrantType[];
  revocation: boolean;
  introspection: boolean;
  accessTtl: number;
  /** Scopes each role allows (log-ins' scopes), advertised with the clients' in scopes_supported. */
  roleScopes?: RoleScopes | undefined;
  checker: RevocationChecker | undefined;
  revocations: RevocationSink | undefined;
  now: () => number;
  /** How the app turns any error into its HttpError (src/server/app.ts). */
  toHttpError: (error: FastifyError | Error, request: FastifyRequest) => HttpError;
  /** How the app answers an HttpError, with the status given. */
  sendError: (
    request: FastifyRequest,
    reply: FastifyReply,
    error: HttpError,
    status?: number,
  ) => FastifyReply;
  /** DPoP proofs at the token endpoint (RFC 9449 §5). */
  dpop: TokenDpop;
  /** For tests: how client JWK Sets are fetched (`private_key_jwt` with a jwks_uri). */
  remoteJwks?: ClientAuthenticatorOptions['remoteJwks'];
}

export const TOKEN_PATH = '/oauth/token';
export const REVOCATION_PATH = '/oauth/revoke';
export const INTROSPECTION_PATH = '/oauth/introspect';

const FORM = 'application/x-www-form-urlencoded';
const REFRESH_TOKEN = /^rt_[A-Za-z0-9_-]{43}$/;
/**
 * The session ids of client-credentials tokens: `cc_` and 96 random bits. A service token has no
 * refresh family, but a `sid` of its own lets a revocation (RFC 7009) reach resource servers
 * through the revocation list like an ended log-in, and lets verifiers that require `sid`
 * (checkSessions) accept it.
 */
const CLIENT_SID = /^cc_[A-Za-z0-9_-]{16}$/;
const newClientSid = () => `cc_${randomBytes(12).toString('base64url')}`;
/** RFC 6749 §3.2: a request with more parameters than this is not a token request. */
const MAX_PARAMS = 32;

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

/** The form of an OAuth request: every parameter once (RFC 6749 §3.2), as strings. */
type Form = Readonly<Record<string, string>>;

function formOf(request: FastifyRequest): Form {
  const type = String(request.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  if (type !== FORM) {
    throw request.body === undefined || request.body === null
      ? new HttpError('invalid_request', `send the parameters as an ${FORM} body`)
      : new HttpError('unsupported_media_type', `send the body as ${FORM}`);
  }
  return request.body as Form;
}

/** Where a token request came from, for the claims function (as /auth routes give it). */
function requestContextOf(request: FastifyRequest): { ip: string; userAgent?: string } {
  const agent = request.headers['user-agent'];
  return { ip: request.ip, ...(typeof agent === 'string' ? { userAgent: agent } : {}) };
}

const credentialsOf = (request: FastifyRequest, form: Form): ClientCredentials => ({
  authorization: request.headers.authorization,
  form,
});

function required(form: Form, name: string): string {
  const value = form[name];
  if (value === undefined || value === '') {
    throw new HttpError('invalid_request', `${name} is required`);
  }
  return value;
}

/** RFC 6749 §3.3: scope is a space-delimited list of scope tokens. */
function requestedScopes(text: string): string[] {
  const scopes = text.split(' ');
  if (scopes.some((scope) => !/^[\x21\x23-\x5B\x5D-\x7E]{1,64}$/.test(scope))) {
    throw new AuthServiceError(
      'invalid_scope',
      'scope must be scope tokens separated by one space',
    );
  }
  return [...new Set(scopes)];
}

const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, { $ref: 'Error#' }]));

const formBody = (properties: Record<string, number>) =>
  ({
    type: 'object',
    // RFC 6749 §3.2: parameters the server does not know are ignored.
    additionalProperties: true,
    properties: Object.fromEntries(
      Object.entries(properties).map(([name, maxLength]) => [name, { type: 'string', maxLength }]),
    ),
  }) as const;

const CLIENT_AUTH_FIELDS = {
  client_id: 64,
  client_secret: 256,
  client_assertion_type: 128,
  client_assertion: 8192,
};

/** The endpoints' URLs under the issuer (which may have a path). */
function endpoint(issuer: string, path: string): string {
  return `${issuer.replace(/\/+$/, '')}${path}`;
}

export async function oauthRoutes(app: FastifyInstance, options: OAuthRouteOptions): Promise<void> {
  app.addSchema({ $id: 'Error', ...errorSchema });
  const { auth, store } = app;
  const keyRing = auth.keyRing;
  // The configured first-party client (firstPartyClientId): the public client that refreshes
  // log-ins' families, and the `client_id` of their tokens (RFC 9068 §2.2).
  const firstParty = auth.clientId;
  const tokenEndpoint = endpoint(options.issuer, TOKEN_PATH);
  const clients = new ClientAuthenticator({
    store,
    issuer: options.issuer,
    tokenEndpoint,
    firstPartyClientId: firstParty,
    now: options.now,
    ...(options.remoteJwks ? { remoteJwks: options.remoteJwks } : {}),
  });

  // This plugin's own parser (encapsulated: the /auth routes stay JSON only). Every parameter
  // at most once (RFC 6749 §3.2), at most MAX_PARAMS of them.
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => {
    const form: Record<string, string> = Object.create(null);
    let count = 0;
    for (const [name, value] of new URLSearchParams(body as string)) {
      if (++count > MAX_PARAMS) {
        done(new HttpError('invalid_request', `at most ${MAX_PARAMS} parameters`), undefined);
        return;
      }
      if (name in form) {
        done(
          new HttpError('invalid_request', `${name.slice(0, 40)} is given more than once`),
          undefined,
        );
        return;
      }
      form[name] = value;
    }
    done(null, { ...form });
  });

  // RFC 6749 §5.2: every error is 400, except invalid_client (401, with a Basic challenge when
  // the client tried Basic, §5.2). The catalogue's 401 for invalid_grant is /auth/refresh's.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const answer = options.toHttpError(error, request);
    if (error instanceof InvalidClientError && error.basic) {
      answer.headers['www-authenticate'] = 'Basic realm="laissez", charset="UTF-8"';
    }
    // RFC 9449 §5 and §8: the DPoP errors of a token endpoint are 400 as well.
    const status = ['invalid_grant', 'invalid_dpop_proof', 'use_dpop_nonce'].includes(answer.code)
      ? 400
      : undefined;
    return options.sendError(request, reply, answer, status);
  });

  const noStore = (reply: FastifyReply) =>
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');

  if (options.grantTypes.length > 0) {
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
        if (grant === 'client_credentials') {
          const { client } = await clients.authenticate(credentialsOf(request, form), {
            allowPublic: false,
          });
          if (client?.id === firstParty) {
            // A registered client under the first-party id (registered before firstPartyClientId
            // was set to it) would get tokens no verifier could tell from a log-in's.
            throw new AuthServiceError(
              'unauthorized_client',
              "the client's id is the first-party client's (firstPartyClientId): register it under another id",
            );
          }
          if (!client?.grantTypes.includes('client_credentials')) {
            throw new AuthServiceError(
              'unauthorized_client',
              'the client may not use client_credentials',
            );
          }
          // RFC 6749 §3.3: without `scope`, the client's registered scopes.
          const scopes =
            form['scope'] === undefined ? [...client.scopes] : requestedScopes(form['scope']);
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
          const accessToken = await auth.accessTokens.issue({
            subject: client.id,
            clientId: client.id,
            scope: scopes,
            user: null,
            session: { id: newClientSid(), createdAt: options.now() },
            request: requestContextOf(request),
            ...(jkt !== undefined ? { jkt } : {}),
          });
          noStore(reply);
          return {
            access_token: accessToken,
            token_type: jkt === undefined ? 'Bearer' : 'DPoP',
            expires_in: options.accessTtl,
            ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
          };
        }
        // refresh_token: every family is the first-party client's (a log-in at /auth/login),
        // a public client (RFC 6749 §2.1) that names itself with client_id. A registered client
        // holding one was not issued it: invalid_grant (RFC 6749 §6, §5.2).
        const who = await clients.authenticate(credentialsOf(request, form), {
          allowPublic: true,
        });
        const refreshToken = required(form, 'refresh_token');
        if (who.client !== null) {
          throw new AuthServiceError(
            'invalid_grant',
            'the refresh token was not issued to this client',
          );
        }
        // RFC 6749 §6: `scope` may narrow the session's grant for this token, never widen it
        // (invalid_scope), exactly as at /auth/refresh.
        const tokens = await auth.refresh(refreshToken, {
          ...(form['scope'] !== undefined ? { scope: form['scope'] } : {}),
          request: requestContextOf(request),
          ...(jkt !== undefined ? { jkt } : {}),
        });
        noStore(reply);
        return tokens;
      },
    );
  }

  /**
   * Ends what a token stands for: a refresh token's family, or an access token's session (a
   * log-in's family; a client token's own session id), published to the revocation list. A
   * token that is not valid is ignored (RFC 7009 §2.2: 200 either way).
   */
  const revoke = async (token: string, request: FastifyRequest): Promise<void> => {
    if (REFRESH_TOKEN.test(token)) return auth.logout(token);
    let claims: AccessClaims;
    try {
      claims = (await keyRing.verifyReloading<AccessClaims>(token)).payload;
    } catch {
      return;
    }
    const sid = claims.sid;
    if (typeof sid !== 'string') return;
    const now = options.now();
    if (!CLIENT_SID.test(sid)) await store.revokeFamily(sid, now, 'logout');
    // Until every token of the session has expired, plus the verifiers' clock tolerance.
    const until = now + options.accessTtl * 1000 + 60_000;
    try {
      await options.revocations?.revoke(sid, until);
    } catch (error) {
      request.log.warn({ err: error }, 'a revoked token was not published to the revocation list');
    }
  };

  if (options.revocation) {
    app.post(
      REVOCATION_PATH,
      {
        schema: {
          summary: 'OAuth 2 token revocation (RFC 7009): ends the session of the token',
          consumes: [FORM],
          body: formBody({ token: 16384, token_type_hint: 64, ...CLIENT_AUTH_FIELDS }),
          response: { 200: { type: 'null' }, ...errors(400, 401, 503) },
        },
      },
      async (request, reply) => {
        const form = formOf(request);
        await clients.authenticate(credentialsOf(request, form), { allowPublic: true });
        await revoke(required(form, 'token'), request);
        noStore(reply);
        return reply.code(200).send();
      },
    );
  }

  /** RFC 7662 §2.2: the answer about one token; `{active: false}` says nothing more. */
  const introspect = async (token: string): Promise<Record<string, unknown>> => {
    const inactive = { active: false };
    const now = options.now();
    if (REFRESH_TOKEN.test(token)) {
      const found = await store.findRefreshTokenWithUser?.(sha256(token));
      const record = found ? found.token : await store.findRefreshToken(sha256(token));
      const user = found ? found.user : record ? await store.findUserById(record.userId) : null;
      if (
        !record ||
        record.revokedAt !== null ||
        record.usedAt !== null ||
        record.expiresAt <= now ||
        !user ||
        user.disabled
      ) {
        return inactive;
      }
      return {
        active: true,
        client_id: firstParty,
        token_type: 'refresh_token',
        sub: user.id,
        username: user.username,
        sid: record.familyId,
        iat: Math.floor(record.createdAt / 1000),
        exp: Math.floor(record.expiresAt / 1000),
        iss: options.issuer,
      };
    }
    let claims: AccessClaims;
    try {
      claims = (await keyRing.verifyReloading<AccessClaims>(token)).payload;
    } catch {
      return inactive;
    }
    if (options.checker && typeof claims.sid === 'string') {
      try {
        if (await options.checker.isRevoked(claims.sid)) return inactive;
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
      client_id: typeof claims['client_id'] === 'string' ? claims['client_id'] : firstParty,
      ...pick(['scope', 'sub', 'aud', 'iss', 'exp', 'iat', 'nbf', 'jti', 'sid', 'roles', 'cnf']),
    };
  };

  if (options.introspection) {
    app.post(
      INTROSPECTION_PATH,
      {
        schema: {
          summary: 'OAuth 2 token introspection (RFC 7662), for registered clients',
          consumes: [FORM],
          body: formBody({ token: 16384, token_type_hint: 64, ...CLIENT_AUTH_FIELDS }),
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
        await clients.authenticate(credentialsOf(request, form), { allowPublic: false });
        const answer = await introspect(required(form, 'token'));
        noStore(reply);
        return answer;
      },
    );
  }

  const metadata = async (): Promise<Record<string, unknown>> => {
    const grants = options.grantTypes;
    const authMethods = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
    const signing = { token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS] };
    const scopes = new Set<string>();
    for (const client of await store.listClients()) for (const s of client.scopes) scopes.add(s);
    for (const allowed of Object.values(options.roleScopes ?? {}))
      for (const s of allowed) scopes.add(s);
    return {
      issuer: options.issuer,
      jwks_uri: endpoint(options.issuer, '/.well-known/jwks.json'),
      // No authorization endpoint (yet): no response types (RFC 8414 §2).
      response_types_supported: [],
      scopes_supported: [...scopes].sort(),
      ...(grants.length > 0
        ? {
            token_endpoint: tokenEndpoint,
            grant_types_supported: [...grants],
            // `none`: the first-party client, public, refreshes its own families.
            token_endpoint_auth_methods_supported: grants.includes('refresh_token')
              ? [...authMethods, 'none']
              : authMethods,
            ...signing,
          }
        : {}),
      ...(options.revocation
        ? {
            revocation_endpoint: endpoint(options.issuer, REVOCATION_PATH),
            revocation_endpoint_auth_methods_supported: [...authMethods, 'none'],
            revocation_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
          }
        : {}),
      ...(options.introspection
        ? {
            introspection_endpoint: endpoint(options.issuer, INTROSPECTION_PATH),
            introspection_endpoint_auth_methods_supported: authMethods,
            introspection_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
          }
        : {}),
      access_token_signing_alg_values_supported: [keyRing.current.alg],
      // RFC 9449 §5.1: the proof algorithms the token endpoint accepts.
      ...(grants.length > 0 ? { dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS] } : {}),
    };
  };
  for (const path of [
    '/.well-known/oauth-authorization-server',
    '/.well-known/openid-configuration',
  ]) {
    app.get(
      path,
      { schema: { summary: 'Authorization-server metadata (RFC 8414), from the settings' } },
      async (_request, reply) => {
        reply.header('cache-control', 'public, max-age=300');
        return metadata();
      },
    );
  }
}
