// laissez/express: a middleware that verifies access tokens.
//
//   const auth = laissez({ algorithms: ['EdDSA'], jwksUri, issuer, audience });
//   app.get('/notes', auth, (req, res) => res.json(req.auth!.subject));
//   app.delete('/notes', auth.require({ roles: ['admin'] }), handler);

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  type AuthContext,
  type AuthFailure,
  type AuthOptions,
  type AuthOutcome,
  authorizationHeaders,
  createAuthenticator,
  type Requirement,
} from './authenticator.ts';

export type { AuthContext, AuthFailure, AuthOptions, Requirement } from './authenticator.ts';

declare global {
  namespace Express {
    interface Request {
      /** The verified token, set by the laissez middleware. */
      auth?: AuthContext;
    }
  }
}

/** The middleware; `.require()` makes one that also needs a role or scope. */
export interface AuthMiddleware extends RequestHandler {
  require(requirement: Requirement): RequestHandler;
}

function send(res: Response, failure: AuthFailure): void {
  res
    .status(failure.status)
    .set(failure.headers)
    .json({ error: failure.error, error_description: failure.description });
}

/** Checks the options once and returns the middleware. */
export function laissez(options: AuthOptions): AuthMiddleware {
  const authenticator = createAuthenticator(options);
  const handlerFor = (requirement: Requirement | undefined): RequestHandler => {
    const finish = (outcome: AuthOutcome, req: Request, res: Response, next: NextFunction) => {
      if (!outcome.ok) return send(res, outcome.failure);
      const denied = requirement && authenticator.authorize(outcome.auth, requirement);
      if (denied) return send(res, denied);
      req.auth = outcome.auth;
      next();
    };
    return function laissezAuth(req, res, next) {
      const outcome = authenticator.authenticate({
        // Every copy: Node keeps only the first in req.headers, and two are a 400.
        authorization: authorizationHeaders(req.rawHeaders),
        cookie: req.headers.cookie,
        // The target as received: a router mounted at /api sees req.url without /api.
        method: req.method,
        url: req.originalUrl,
        dpop: req.headers.dpop,
      });
      if (outcome instanceof Promise) {
        // A throw while answering goes to Express's error handling, never an unhandled rejection.
        outcome.then((o) => finish(o, req, res, next)).catch(next);
      } else {
        finish(outcome, req, res, next);
      }
    };
  };
  const middleware = handlerFor(undefined) as AuthMiddleware;
  middleware.require = (requirement) => handlerFor(authenticator.checkRequirement(requirement));
  return middleware;
}

export default laissez;
