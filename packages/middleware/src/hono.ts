// laissez/hono: a middleware that verifies access tokens.
//
//   const auth = laissez({ algorithms: ['EdDSA'], jwksUri, issuer, audience });
//   const app = new Hono<LaissezEnv>();
//   app.get('/notes', auth, (c) => c.json(c.get('auth').subject));
//   app.delete('/notes', auth.require({ roles: ['admin'] }), handler);

import type { Context, MiddlewareHandler } from 'hono';
import {
  type AuthContext,
  type AuthFailure,
  type AuthOptions,
  authorizationHeaders,
  createAuthenticator,
  type Requirement,
} from './authenticator.ts';

export type { AuthContext, AuthFailure, AuthOptions, Requirement } from './authenticator.ts';

/** The Hono environment that types `c.get('auth')`. */
export interface LaissezEnv {
  Variables: { auth: AuthContext };
}

/** The middleware; `.require()` makes one that also needs a role or scope. */
export interface AuthMiddleware extends MiddlewareHandler<LaissezEnv> {
  require(requirement: Requirement): MiddlewareHandler<LaissezEnv>;
}

function refuse(c: Context, failure: AuthFailure): Response {
  return c.json({ error: failure.error, error_description: failure.description }, failure.status, {
    ...failure.headers,
  });
}

/** What the DPoP check reads: the method, the path and query (from the full URL) and the proof. */
function dpopParts(c: Context) {
  const full = c.req.url;
  const path = full.indexOf('/', full.indexOf('//') + 2);
  return {
    method: c.req.method,
    url: path === -1 ? '/' : full.slice(path),
    dpop: c.req.header('dpop'),
  };
}

/** Checks the options once and returns the middleware. */
export function laissez(options: AuthOptions): AuthMiddleware {
  const authenticator = createAuthenticator(options);
  const cookieOption = options.cookie !== undefined;
  const dpopOption = options.dpop !== undefined;
  const handlerFor = (requirement: Requirement | undefined): MiddlewareHandler<LaissezEnv> =>
    async function laissezAuth(c, next) {
      // On @hono/node-server, every copy of the header from Node's raw list (two are a 400);
      // elsewhere Fetch joins copies with ", ", which fails as a malformed header.
      const raw = (c.env as { incoming?: { rawHeaders?: string[] } } | undefined)?.incoming
        ?.rawHeaders;
      const pending = authenticator.authenticate({
        authorization: raw ? authorizationHeaders(raw) : c.req.header('authorization'),
        cookie: cookieOption ? c.req.header('cookie') : undefined,
        ...(dpopOption ? dpopParts(c) : {}),
      });
      // With a static key the outcome is there already: no extra turn of the event loop.
      const outcome = pending instanceof Promise ? await pending : pending;
      if (!outcome.ok) return refuse(c, outcome.failure);
      const denied = requirement && authenticator.authorize(outcome.auth, requirement);
      if (denied) return refuse(c, denied);
      c.set('auth', outcome.auth);
      await next();
    };
  const middleware = handlerFor(undefined) as AuthMiddleware;
  middleware.require = (requirement) => handlerFor(authenticator.checkRequirement(requirement));
  return middleware;
}

export default laissez;
