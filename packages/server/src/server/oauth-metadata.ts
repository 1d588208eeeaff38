// The authorization-server metadata (RFC 8414), made from the same settings that register the
// OAuth endpoints (oauth.ts), so it never advertises one that is off.
import type { FastifyInstance } from 'fastify';
import { ASSERTION_ALGORITHMS } from '../auth/clients.ts';
import { DPOP_ALGORITHMS } from './dpop.ts';
import type { OAuthContext } from './oauth.ts';
import { endpoint, INTROSPECTION_PATH, REVOCATION_PATH, TOKEN_PATH } from './oauth-form.ts';

export function metadataRoutes(app: FastifyInstance, ctx: OAuthContext): void {
  for (const path of [
    '/.well-known/oauth-authorization-server',
    '/.well-known/openid-configuration',
  ]) {
    app.get(
      path,
      { schema: { summary: 'Authorization-server metadata (RFC 8414), from the settings' } },
      async (_request, reply) => {
        reply.header('cache-control', 'public, max-age=300');
        return metadata(app, ctx);
      },
    );
  }
}

async function metadata(app: FastifyInstance, ctx: OAuthContext): Promise<Record<string, unknown>> {
  const { options } = ctx;
  const grants = options.grantTypes;
  const authMethods = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
  const signing = { token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS] };
  const scopes = new Set<string>();
  for (const client of await app.store.listClients()) for (const s of client.scopes) scopes.add(s);
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
          token_endpoint: endpoint(options.issuer, TOKEN_PATH),
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
    access_token_signing_alg_values_supported: [ctx.keyRing.current.alg],
    // RFC 9449 §5.1: the proof algorithms the token endpoint accepts.
    ...(grants.length > 0 ? { dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS] } : {}),
  };
}
