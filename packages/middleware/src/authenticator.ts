// The authenticator: checks the token the bearer layer (bearer.ts) extracted. It verifies it with a
// verifier prepared once (signature before claims), asks the revocation check (`isRevoked`), and
// checks a route's requirements (roles, scopes). What a verified request carries is read in
// context.ts, the answers to a refused or revoked token are prepared in outcomes.ts, and the
// requirements are checked in requirement.ts; this file wires them per request. The Fastify,
// Express and Hono adapters are thin wrappers over it, and the auth server's own routes use it too
// (with its key ring as the verifier), so every service answers a token the same way.

import {
  type Algorithm,
  createRemoteJwks,
  createVerifier,
  DEFAULT_COOLDOWN,
  type Duration,
  type Jwks,
  type JwtPayload,
  type KeyInput,
  type KeyResolver,
  type RemoteJwksOptions,
  type VerifiedJwt,
} from '@laissez/jwt';
import { checkOptions } from '@laissez/jwt/options';
import {
  type AuthFailure,
  fail,
  MISSING,
  RETRY_AFTER,
  type Refusal,
  type RequestParts,
  tokenOf,
} from './bearer.ts';
import { type AuthContext, type AuthOutcome, contextOf } from './context.ts';
import { boundJkt, type DpopLayer, type DpopMode, type DpopOptions, prepareDpop } from './dpop.ts';
import { revocationCheck, tokenRefusals } from './outcomes.ts';
import { checkRequirement, type Requirement, unmetRequirement } from './requirement.ts';

export type { AuthFailure, RequestParts } from './bearer.ts';
export { authorizationHeaders } from './bearer.ts';
export type { AuthContext, AuthOutcome } from './context.ts';
export type { DpopMode, DpopOptions } from './dpop.ts';
export type { ReplayCache } from './replay.ts';
export { createMemoryReplayCache } from './replay.ts';
export type { Requirement } from './requirement.ts';

export interface AuthOptions {
  /**
   * The key that verifies tokens: a shared secret (HS*), a public key (PEM, JWK, KeyObject), a JWK
   * Set object, or a resolver. Exactly one of `key` and `jwksUri`.
   */
  key?: KeyInput | Jwks | KeyResolver;
  /** The auth server's JWKS URL (e.g. `https://auth.example/.well-known/jwks.json`). */
  jwksUri?: string | URL;
  /** Options of the remote JWKS client (timeout, size cap, cool-down). */
  jwksOptions?: RemoteJwksOptions;
  /** The allow-list of algorithms. Required: an algorithm is never guessed. */
  algorithms: Algorithm[];
  /** Expected `iss`. */
  issuer?: string | string[];
  /** Expected `aud`: the token must name one of these. */
  audience?: string | string[];
  /**
   * Expected `typ` header. Default `at+jwt` (RFC 9068 access tokens, as the laissez auth server
   * issues); `false` accepts any.
   */
  typ?: string | false;
  /** Claims that must be present besides `exp` and `sub` (both always required). */
  requiredClaims?: string[];
  /** Leeway for `exp`, `nbf` and `iat`. Default 0. */
  clockTolerance?: Duration;
  /** Reuse verified tokens (keyed by the whole token, never past `exp`). Default off. */
  cache?: boolean | { max?: number };
  /** Also read the token from this cookie (e.g. `laissez_at`). Default: header only. */
  cookie?: string;
  /** Accept an HMAC secret shorter than the hash output. Default false. */
  allowWeakKey?: boolean;
  /** Longest token accepted, in characters. Default 16384. */
  maxTokenLength?: number;
  /** The clock in milliseconds (tests): for the token's times, `maxAge` and DPoP proofs' `iat`. */
  now?: () => number;
  /**
   * Checks, after the signature and claims, whether the token's session was revoked (log out
   * everywhere, a disabled user): e.g. a Redis revocation list looked up by the `sid` claim.
   * `true` → 401 `invalid_token`. A throw → 503: the check fails closed, never open.
   */
  isRevoked?: (claims: JwtPayload) => boolean | Promise<boolean>;
  /**
   * Called when a request cannot be checked: the keys cannot be had (JWKS unreachable, or without
   * a usable key) or `isRevoked` failed; the request gets a 503. Default: one line on stderr. The
   * error never holds a token or a key.
   */
  onUnavailable?: (error: Error) => void;
  /**
   * DPoP (RFC 9449): `'required'` accepts only `Authorization: DPoP <token>` with a `DPoP` proof
   * header; `'allowed'` accepts that and Bearer. Default: Bearer only. In every mode a token bound
   * to a key (`cnf.jkt`) sent as Bearer is refused. Needs `publicUrl`.
   */
  dpop?: DpopMode;
  /**
   * The URL clients call this service at (e.g. `https://api.example`, or `https://example.com/api`
   * when a proxy strips `/api`): a proof names the URL it is for (`htu`), and behind a proxy the
   * Host header and scheme the service sees are not what the client called.
   */
  publicUrl?: string | URL;
  /** Proof algorithms, proof age, clock leeway and the replay cache. */
  dpopOptions?: DpopOptions;
}

export interface Authenticator<P extends JwtPayload = JwtPayload> {
  /** Synchronous with a static key or key set; a Promise with `jwksUri` or a resolver. */
  authenticate(request: RequestParts): AuthOutcome<P> | Promise<AuthOutcome<P>>;
  /** Checks a requirement against a verified request; undefined when it is met. */
  authorize(auth: AuthContext<P>, requirement: Requirement): AuthFailure | undefined;
  /** The options' requirement check, done once: throws TypeError on a bad one. */
  checkRequirement(requirement: Requirement): Requirement;
}

const OPTION_NAMES = [
  'key',
  'jwksUri',
  'jwksOptions',
  'algorithms',
  'issuer',
  'audience',
  'typ',
  'requiredClaims',
  'clockTolerance',
  'cache',
  'cookie',
  'allowWeakKey',
  'maxTokenLength',
  'now',
  'isRevoked',
  'onUnavailable',
  'dpop',
  'publicUrl',
  'dpopOptions',
] as const;
/** Verifies one token: throws (or rejects with) a JwtError when it is refused. */
export type TokenVerifier<P extends JwtPayload = JwtPayload> = (
  token: string,
) => VerifiedJwt<P> | Promise<VerifiedJwt<P>>;

/** What an authenticator needs besides its verifier. */
export interface AuthenticatorSettings {
  /** The cookie that may carry the token; undefined: the header only. */
  cookie?: string | undefined;
  isRevoked?: AuthOptions['isRevoked'];
  onUnavailable?: AuthOptions['onUnavailable'];
  /** Seconds a client waits when the keys cannot be had. Default 5. */
  keysRetryAfter?: number;
  /** The DPoP mode, URL and options (see AuthOptions). */
  dpop?: DpopMode | undefined;
  publicUrl?: string | URL | undefined;
  dpopOptions?: DpopOptions | undefined;
  /** The clock in milliseconds, for `maxAge` and DPoP proofs' `iat` (tests). Default Date.now. */
  now?: (() => number) | undefined;
}

/**
 * Prepares token checking for a resource server once. Bad options are a TypeError here, not at
 * the first request.
 */
export function createAuthenticator<P extends JwtPayload = JwtPayload>(
  options: AuthOptions,
): Authenticator<P> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('laissez middleware needs options: { algorithms, key | jwksUri, ... }');
  }
  checkOptions('laissez middleware', options, OPTION_NAMES);
  if ((options.key === undefined) === (options.jwksUri === undefined)) {
    throw new TypeError(
      'give exactly one key source: key (a secret, a public key or a JWK Set) or jwksUri (the auth server JWKS URL)',
    );
  }
  if (!Array.isArray(options.algorithms) || options.algorithms.length === 0) {
    throw new TypeError('algorithms is required: the list of algorithms to accept, e.g. ["EdDSA"]');
  }
  if (options.jwksOptions !== undefined && options.jwksUri === undefined) {
    throw new TypeError('jwksOptions only applies with jwksUri (the remote key set)');
  }
  if (options.jwksUri !== undefined && options.algorithms.some((alg) => alg.startsWith('HS'))) {
    throw new TypeError(
      'a JWKS publishes public keys, never an HMAC secret: with jwksUri, list asymmetric algorithms (e.g. ["EdDSA"]); for HS256 give the shared secret as key',
    );
  }
  if (
    options.requiredClaims !== undefined &&
    !(
      Array.isArray(options.requiredClaims) &&
      options.requiredClaims.every((c) => typeof c === 'string')
    )
  ) {
    throw new TypeError('requiredClaims must be an array of claim names');
  }
  if (options.cookie !== undefined && (typeof options.cookie !== 'string' || !options.cookie)) {
    throw new TypeError('cookie must be the name of the cookie that holds the access token');
  }
  const key =
    options.jwksUri !== undefined
      ? createRemoteJwks(options.jwksUri, options.jwksOptions)
      : options.key!;
  const typ = options.typ === undefined ? 'at+jwt' : options.typ;
  const verify = createVerifier<P>({
    key,
    algorithms: options.algorithms,
    ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
    ...(options.audience !== undefined ? { audience: options.audience } : {}),
    ...(typ !== false ? { typ } : {}),
    // `sub` is always required: every request's `auth.subject` is a string.
    requiredClaims: [...new Set(['sub', ...(options.requiredClaims ?? [])])],
    ...(options.clockTolerance !== undefined ? { clockTolerance: options.clockTolerance } : {}),
    ...(options.cache !== undefined ? { cache: options.cache } : {}),
    ...(options.allowWeakKey !== undefined ? { allowWeakKey: options.allowWeakKey } : {}),
    ...(options.maxTokenLength !== undefined ? { maxTokenLength: options.maxTokenLength } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
  } as Parameters<typeof createVerifier>[0]) as TokenVerifier<P>;
  return authenticatorFor(verify, {
    cookie: options.cookie,
    isRevoked: options.isRevoked,
    onUnavailable: options.onUnavailable,
    dpop: options.dpop,
    publicUrl: options.publicUrl,
    dpopOptions: options.dpopOptions,
    // A failed JWKS fetch is not retried before the cool-down ends: clients are told to wait that long.
    keysRetryAfter:
      options.jwksUri !== undefined
        ? Math.max(1, Math.ceil((options.jwksOptions?.cooldown ?? DEFAULT_COOLDOWN) / 1000))
        : RETRY_AFTER,
    now: options.now,
    // With the verify cache, a hit returns the same frozen result object: its context is built
    // once too (the token is the cache key, so it is the same token).
    ...(options.cache ? { shareContexts: true } : {}),
  });
}

const BOUND_AS_BEARER = fail(
  401,
  'invalid_token',
  'this access token is bound to a key (DPoP) and this service accepts Bearer tokens only',
);

/** The DPoP layer of the settings' mode, prepared once; undefined: Bearer only. */
function dpopLayerFor(
  settings: AuthenticatorSettings,
  onUnavailable: (error: Error) => void,
): DpopLayer | undefined {
  if (settings.dpop === undefined) {
    if (settings.publicUrl !== undefined || settings.dpopOptions !== undefined) {
      throw new TypeError(
        "publicUrl and dpopOptions only apply with dpop: 'required' or 'allowed'",
      );
    }
    return undefined;
  }
  return prepareDpop(
    settings.dpop,
    settings.publicUrl,
    settings.dpopOptions,
    onUnavailable,
    settings.now,
  );
}

/**
 * The authenticator over a prepared verifier: what `createAuthenticator` builds from its options,
 * and what the auth server builds over its key ring. Extraction, diagnostics, revocation and
 * requirements are the same for both.
 */
export function authenticatorFor<P extends JwtPayload = JwtPayload>(
  verify: TokenVerifier<P>,
  settings: AuthenticatorSettings & { shareContexts?: boolean } = {},
): Authenticator<P> {
  const cookieName = settings.cookie;
  if (settings.onUnavailable !== undefined && typeof settings.onUnavailable !== 'function') {
    throw new TypeError('onUnavailable must be a function (error) => void');
  }
  if (settings.isRevoked !== undefined && typeof settings.isRevoked !== 'function') {
    throw new TypeError('isRevoked must be a function (claims) => boolean | Promise<boolean>');
  }
  const onUnavailable =
    settings.onUnavailable ??
    ((error: Error) => console.error(`laissez: access tokens cannot be checked: ${error.message}`));
  const clock = settings.now ?? Date.now;
  const { refused, rejected } = tokenRefusals(onUnavailable, settings.keysRetryAfter);
  const revocation = revocationCheck<P>(settings.isRevoked, onUnavailable);

  const contexts = settings.shareContexts
    ? new WeakMap<VerifiedJwt<P>, AuthContext<P>>()
    : undefined;

  const dpop = dpopLayerFor(settings, onUnavailable);
  // RFC 9449 §7.2: a token bound to a key is worth nothing without a proof by that key; accepted
  // as Bearer, a stolen bound token would work after all. Refused in every mode.
  const boundAsBearer = dpop?.boundAsBearer ?? BOUND_AS_BEARER;

  /** A verified token: accepted, unless its proof fails or its session was revoked. */
  const accept = (
    token: string,
    verified: VerifiedJwt<P>,
    request: RequestParts,
    withProof: boolean,
  ): AuthOutcome<P> | Promise<AuthOutcome<P>> => {
    let auth = contexts?.get(verified);
    if (auth === undefined) {
      auth = contextOf(token, verified);
      if (contexts) {
        // Shared by every request with this token: frozen, like the cached claims.
        Object.freeze(auth.roles);
        Object.freeze(auth.scopes);
        contexts.set(verified, Object.freeze(auth));
      }
    }
    if (!withProof) {
      return boundJkt(verified.payload) === undefined
        ? revocation(auth, verified.payload)
        : boundAsBearer;
    }
    const checked = dpop!.check(token, verified.payload, request);
    const done = auth;
    if (checked instanceof Promise) {
      return checked.then((refusal) => refusal ?? revocation(done, verified.payload));
    }
    return checked ?? revocation(auth, verified.payload);
  };

  return {
    authenticate(request) {
      let token: string | Refusal | undefined;
      let withProof = false;
      if (dpop !== undefined) {
        const credentials = dpop.credentials(request.authorization);
        if (credentials !== undefined) {
          if (typeof credentials !== 'string') return credentials;
          token = credentials;
          withProof = true;
        }
      }
      if (!withProof) {
        token = tokenOf(request, cookieName, false);
        if (token === undefined) return dpop?.missing ?? MISSING;
        if (typeof token !== 'string') return token;
        if (dpop?.mode === 'required') return dpop.bearerRefused;
      }
      const accepted = token as string;
      const { authorization } = request;
      let verified: VerifiedJwt<P> | Promise<VerifiedJwt<P>>;
      try {
        verified = verify(accepted);
      } catch (error) {
        return withProof ? refused(error) : rejected(error, accepted, authorization);
      }
      if (verified instanceof Promise) {
        return verified.then(
          (v) => accept(accepted, v, request, withProof),
          (error: unknown) =>
            withProof ? refused(error) : rejected(error, accepted, authorization),
        );
      }
      return accept(accepted, verified, request, withProof);
    },
    authorize: (auth, requirement) => unmetRequirement(auth, requirement, clock),
    checkRequirement,
  };
}
