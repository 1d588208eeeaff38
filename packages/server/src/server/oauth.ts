// The standard OAuth 2 endpoints over laissez's own tokens and refresh families: the token
// endpoint (RFC 6749 §3.2; client_credentials §4.4, refresh_token §6), revocation (RFC 7009),
// introspection (RFC 7662) and the authorization-server metadata (RFC 8414), which is made from
// the same settings that register the endpoints, so it never advertises one that is off.
//
// Requests are application/x-www-form-urlencoded (RFC 6749 Appendix B); answers are JSON with
// `Cache-Control: no-store` (RFC 6749 §5.1); errors are `{error, error_description}` with the
// statuses of RFC 6749 §5.2 (400, and 401 for invalid_client).
//
// This plugin sets up what the endpoints share (the form parser, the error answers, the client
// authenticator) and registers each from its own file: oauth-token.ts, oauth-introspection.ts
// (revocation too), oauth-metadata.ts; oauth-form.ts reads their requests.

import type { RevocationChecker } from '@laissez/middleware/redis';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  ClientAuthenticator,
  type ClientAuthenticatorOptions,
  InvalidClientError,
} from '../auth/clients.ts';
import type { KeyRing } from '../auth/keyring.ts';
import type { RoleScopes } from '../auth/scopes.ts';
import type { RevocationSink } from '../auth/service.ts';
import type { TokenDpop } from './dpop.ts';
import { errorSchema, type HttpError } from './errors.ts';
import { endpoint, FORM, parseForm, TOKEN_PATH } from './oauth-form.ts';
import { introspectionRoute, revocationRoute } from './oauth-introspection.ts';
import { metadataRoutes } from './oauth-metadata.ts';
import { tokenRoute } from './oauth-token.ts';

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

export { INTROSPECTION_PATH, REVOCATION_PATH, TOKEN_PATH } from './oauth-form.ts';

/** What the OAuth endpoints share, made once by oauthRoutes. */
export interface OAuthContext {
  options: OAuthRouteOptions;
  /** Authenticates the clients (RFC 6749 §2.3) of every endpoint. */
  clients: ClientAuthenticator;
  /**
   * The configured first-party client (firstPartyClientId): the public client that refreshes
   * log-ins' families, and the `client_id` of their tokens (RFC 9068 §2.2).
   */
  firstParty: string;
  keyRing: KeyRing;
}

export async function oauthRoutes(app: FastifyInstance, options: OAuthRouteOptions): Promise<void> {
  app.addSchema({ $id: 'Error', ...errorSchema });
  const { auth, store } = app;
  const firstParty = auth.clientId;
  const clients = new ClientAuthenticator({
    store,
    issuer: options.issuer,
    tokenEndpoint: endpoint(options.issuer, TOKEN_PATH),
    firstPartyClientId: firstParty,
    now: options.now,
    ...(options.remoteJwks ? { remoteJwks: options.remoteJwks } : {}),
  });
  const ctx: OAuthContext = { options, clients, firstParty, keyRing: auth.keyRing };

  // This plugin's own parser (encapsulated: the /auth routes stay JSON only).
  app.addContentTypeParser(FORM, { parseAs: 'string' }, parseForm);

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

  if (options.grantTypes.length > 0) tokenRoute(app, ctx);
  if (options.revocation) revocationRoute(app, ctx);
  if (options.introspection) introspectionRoute(app, ctx);
  metadataRoutes(app, ctx);
}
