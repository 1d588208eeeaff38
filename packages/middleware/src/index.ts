// `@laissez/middleware`: the framework-neutral core that the Express, Fastify and Hono adapters
// (`@laissez/middleware/express`, `/fastify`, `/hono`) wrap, for writing an adapter of one's own
// and for the laissez auth server, whose routes use the same authenticator as every resource
// server. The Redis-fed revocation list and DPoP replay cache are in `@laissez/middleware/redis`.

export {
  type AuthContext,
  type Authenticator,
  type AuthenticatorSettings,
  type AuthFailure,
  type AuthOptions,
  type AuthOutcome,
  authenticatorFor,
  authorizationHeaders,
  createAuthenticator,
  createMemoryReplayCache,
  type DpopMode,
  type DpopOptions,
  type ReplayCache,
  type RequestParts,
  type Requirement,
  type TokenVerifier,
} from './authenticator.ts';
export { htuOrigin } from './dpop.ts';
export { type MemoryReplayCacheOptions, ReplayCacheFullError, replayKey } from './replay.ts';
