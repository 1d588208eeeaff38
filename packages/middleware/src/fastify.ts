// laissez/fastify: a Fastify plugin that verifies access tokens on the routes that ask for it.
//
//   await app.register(laissez, { algorithms: ['EdDSA'], jwksUri, issuer, audience });
//   app.get('/notes', { onRequest: app.authenticate }, (request) => request.auth.subject);
//   app.delete('/notes', { onRequest: app.authenticate.require({ roles: ['admin'] }) }, handler);

import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  onRequestHookHandler,
} from 'fastify';
import fp from 'fastify-plugin';
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

/** `app.authenticate`: an onRequest hook that requires a valid token; `.require()` adds a role or scope. */
export interface AuthHook extends onRequestHookHandler {
  require(requirement: Requirement): onRequestHookHandler;
}

declare module 'fastify' {
  interface FastifyInstance {
    authenticate: AuthHook;
  }
  interface FastifyRequest {
    /** The verified token; null on routes without the `authenticate` hook. */
    auth: AuthContext | null;
  }
}

function send(reply: FastifyReply, failure: AuthFailure): void {
  reply
    .code(failure.status)
    .headers(failure.headers)
    .send({ error: failure.error, error_description: failure.description });
}

async function plugin(app: FastifyInstance, pluginOptions: AuthOptions): Promise<void> {
  // Fastify hands its own register options to the plugin too; they are not laissez's.
  const { prefix, logLevel, logSerializers, ...options } = pluginOptions as AuthOptions & {
    prefix?: unknown;
    logLevel?: unknown;
    logSerializers?: unknown;
  };
  const authenticator = createAuthenticator(options);

  const hookFor = (requirement: Requirement | undefined) => {
    const finish = (
      outcome: AuthOutcome,
      request: FastifyRequest,
      reply: FastifyReply,
      done: HookHandlerDoneFunction,
    ) => {
      if (!outcome.ok) return send(reply, outcome.failure);
      const denied = requirement && authenticator.authorize(outcome.auth, requirement);
      if (denied) return send(reply, denied);
      request.auth = outcome.auth;
      done();
    };
    // A callback hook, not an async one: with a static key the check is synchronous and costs
    // no promise per request.
    return function laissezAuth(
      this: FastifyInstance,
      request: FastifyRequest,
      reply: FastifyReply,
      done: HookHandlerDoneFunction,
    ) {
      const outcome = authenticator.authenticate({
        // Every copy: Node keeps only the first in request.headers, and two are a 400.
        authorization: authorizationHeaders(request.raw.rawHeaders),
        cookie: request.headers.cookie,
        method: request.method,
        url: request.raw.url,
        dpop: request.headers.dpop,
      });
      if (outcome instanceof Promise) {
        // A throw while answering goes to Fastify's error handling, never an unhandled rejection.
        outcome
          .then((o) => finish(o, request, reply, done))
          .catch((error: unknown) => {
            if (reply.sent) request.log.error(error);
            else done(error as Error);
          });
      } else {
        finish(outcome, request, reply, done);
      }
    };
  };

  const hook = hookFor(undefined) as unknown as AuthHook;
  hook.require = (requirement) => hookFor(authenticator.checkRequirement(requirement));
  app.decorateRequest('auth', null);
  app.decorate('authenticate', hook);
}

/** The plugin. Options are checked when it is registered. */
export const laissez = fp(plugin, { fastify: '5.x', name: 'laissez' });
export default laissez;
