// The /auth routes and the key set: authRoutes makes the helpers every /auth plugin shares (token
// delivery, credentials, DPoP) and registers the plugins in the order the API documents them.

import type { Authenticator } from '@laissez/middleware';
import type { FastifyInstance } from 'fastify';
import type { AccessClaims } from '../auth/service.ts';
import { accountMailRoutes } from './account-mail-routes.ts';
import { accountRoutes } from './account-routes.ts';
import { type AuthRouteHelpers, requestCredentials, tokenDelivery } from './auth-helpers.ts';
import type { TokenDpop } from './dpop.ts';
import { errorSchema } from './errors.ts';
import { loginRoute, meRoute, registerRoute } from './login-routes.ts';
import { mfaRoutes } from './mfa-routes.ts';
import { passkeyRoutes } from './passkey-routes.ts';
import { logoutRoutes, refreshRoute } from './token-routes.ts';

// The cookies' names, where the app, the package's exports and the tests have always found them.
export { ACCESS_COOKIE, DEVICE_COOKIE, REFRESH_COOKIE } from './auth-helpers.ts';

export interface RouteOptions {
  cookies: boolean;
  cookieSecure: boolean;
  allowedOrigins: string[];
  accessTtl: number;
  /** Seconds between two reloads of the key ring. */
  keyReloadSeconds: number;
  /** Checks access tokens: the resource servers' authenticator, over this server's key ring. */
  authenticator: Authenticator<AccessClaims>;
  /** DPoP proofs at log-in and refresh (RFC 9449 §5). */
  dpop: TokenDpop;
}

export async function authRoutes(app: FastifyInstance, options: RouteOptions): Promise<void> {
  app.addSchema({ $id: 'Error', ...errorSchema });
  const h: AuthRouteHelpers = {
    ...tokenDelivery(options),
    ...requestCredentials(options),
    cookies: options.cookies,
    dpopKeyOf: (request, reply) => options.dpop.keyOf(request, reply),
  };

  await registerRoute(app);
  await loginRoute(app, h);
  // The log-in's second step and the user's second factors (mfa-routes.ts).
  await mfaRoutes(app, h);
  await refreshRoute(app, h);
  await logoutRoutes(app, h);
  await meRoute(app, h);
  // The user's own account: sessions per device, password change, deletion (account-routes.ts).
  await accountRoutes(app, h);
  // Passkeys: registration, the user's list, passwordless log-in (passkey-routes.ts).
  await passkeyRoutes(app, h);
  jwksRoute(app, options.keyReloadSeconds);
  // Verification, password reset, sign-in links, change of email (account-mail-routes.ts).
  if (app.auth.mail) await accountMailRoutes(app, app.auth.mail, h);

  app.get('/healthz', { schema: { summary: 'Liveness' } }, async () => ({ status: 'ok' }));
}

function jwksRoute(app: FastifyInstance, keyReloadSeconds: number): void {
  const { auth } = app;
  // A new key reaches this instance's set up to one reload after the rotation and signs
  // `publishDelay` after it: a copy of the set taken just before the reload must be stale by then,
  // so that no cached copy lacks the key of a token. At most 5 minutes.
  const jwksMaxAge = Math.max(
    0,
    Math.floor(Math.min(300, auth.keyRing.publishDelay - keyReloadSeconds)),
  );
  const jwksCacheControl = `public, max-age=${jwksMaxAge}`;
  app.get(
    '/.well-known/jwks.json',
    { schema: { summary: 'Public signing keys (empty when signing with an HMAC secret)' } },
    async (_request, reply) => {
      reply.header('cache-control', jwksCacheControl);
      return auth.keyRing.jwks;
    },
  );
}
