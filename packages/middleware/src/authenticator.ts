// The authenticator: checks the token the bearer layer (bearer.ts) extracted. It verifies it with a
// verifier prepared once (signature before claims), asks the revocation check (`isRevoked`), and
// checks a route's requirements (roles, scopes). The Fastify, Express and Hono adapters are thin
// wrappers over it, and the auth server's own routes use it too (with its key ring as the
// verifier), so every service answers a token the same way.

import {
  type Algorithm,
  createRemoteJwks,
  createVerifier,
  DEFAULT_COOLDOWN,
  type Duration,
  describeJwtError,
  type Jwks,
  JwtError,
  type JwtHeader,
  type JwtPayload,
  type KeyInput,
  type KeyResolver,
  parseDuration,
  type RemoteJwksOptions,
  type VerifiedJwt,
} from '@laissez/jwt';
import { checkOptions } from '@laissez/jwt/options';
import {
  type AuthFailure,
  fail,
  MISSING,
  malformedAuthorization,
  named,
  quoted,
  RETRY_AFTER,
  type Refusal,
  type RequestParts,
  TOKEN68,
  tokenOf,
  unavailableFailure,
} from './bearer.ts';
import { boundJkt, type DpopLayer, type DpopMode, type DpopOptions, prepareDpop } from './dpop.ts';

export type { AuthFailure, RequestParts } from './bearer.ts';
export { authorizationHeaders } from './bearer.ts';
export type { DpopMode, DpopOptions } from './dpop.ts';
export type { ReplayCache } from './replay.ts';
export { createMemoryReplayCache } from './replay.ts';

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

/** What a verified request carries: `request.auth`, `req.auth`, `c.get('auth')`. */
export interface AuthContext<P extends JwtPayload = JwtPayload> {
  /** The verified claims. */
  readonly claims: P;
  readonly header: JwtHeader;
  /** The token's `sub`. */
  readonly subject: string;
  /** `roles` of the token (an array of strings), or empty. */
  readonly roles: readonly string[];
  /** `scope` (space-separated, RFC 9068) or `scp` (array) of the token, or empty. */
  readonly scopes: readonly string[];
  /** The raw access token, to forward to another service. */
  readonly token: string;
}

export type AuthOutcome<P extends JwtPayload = JwtPayload> =
  | { readonly ok: true; readonly auth: AuthContext<P> }
  | Refusal;

/** What a route requires beyond a valid token. */
export interface Requirement {
  /** The token's `roles` must hold at least one of these. */
  roles?: string[];
  /** The token's scopes must include every one of these. */
  scopes?: string[];
  /**
   * The token's `amr` (RFC 8176 authentication methods, e.g. `['mfa']`) must include every one
   * of these. Refused: 401 `insufficient_user_authentication` with `acr_values` (RFC 9470 §3).
   */
  amr?: string[];
  /**
   * The log-in behind the token (`auth_time`) must be at most this old (`'10m'`, or seconds).
   * Refused: 401 `insufficient_user_authentication` with `max_age` in seconds (RFC 9470 §3).
   */
  maxAge?: Duration;
}

export interface Authenticator<P extends JwtPayload = JwtPayload> {
  /** Synchronous with a static key or key set; a Promise with `jwksUri` or a resolver. */
  authenticate(request: RequestParts): AuthOutcome<P> | Promise<AuthOutcome<P>>;
  /** Checks a requirement against a verified request; undefined when it is met. */
  authorize(auth: AuthContext<P>, requirement: Requirement): AuthFailure | undefined;
  /** The options' requirement check, done once: throws TypeError on a bad one. */
  checkRequirement(requirement: Requirement): Requirement;
}

const SESSION_ENDED = fail(401, 'invalid_token', 'the session has ended; log in again');

const REVOCATION_UNAVAILABLE = unavailableFailure(
  'the session cannot be checked right now; try again shortly',
);

const KEYS_UNAVAILABLE_TEXT =
  'the keys that check access tokens cannot be loaded right now; try again shortly';

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
const REQUIREMENT_NAMES = ['roles', 'scopes', 'amr', 'maxAge'] as const;

function checkStringList(value: unknown, name: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((v) => typeof v === 'string' && v !== '')
  ) {
    throw new TypeError(`${name} must be a non-empty array of non-empty strings`);
  }
  return value as string[];
}

const NONE: readonly string[] = Object.freeze([]);

/** The array itself when it holds only strings (no copy per request), else its strings. */
function strings(value: unknown[]): readonly string[] {
  for (const item of value) {
    if (typeof item !== 'string') return value.filter((v): v is string => typeof v === 'string');
  }
  return value as string[];
}

function contextOf<P extends JwtPayload>(token: string, verified: VerifiedJwt<P>): AuthContext<P> {
  const claims = verified.payload;
  const { roles, scope, scp } = claims as Record<string, unknown>;
  const scopes =
    typeof scope === 'string'
      ? scope.split(' ').filter(Boolean)
      : Array.isArray(scp)
        ? strings(scp)
        : NONE;
  return {
    claims,
    header: verified.header,
    subject: claims.sub as string,
    roles: Array.isArray(roles) ? strings(roles) : NONE,
    scopes,
    token,
  };
}

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
  const isRevoked = settings.isRevoked;
  const clock = settings.now ?? Date.now;
  const keysUnavailable = unavailableFailure(
    KEYS_UNAVAILABLE_TEXT,
    settings.keysRetryAfter ?? RETRY_AFTER,
  );

  const refused = (error: unknown) => {
    if (!(error instanceof JwtError)) throw error;
    // The key source failed (a JWKS that cannot be fetched, or one with no usable key): the
    // server's fault, not the token's, so 503 rather than 401.
    if (error.code === 'ERR_JWKS_UNAVAILABLE' || error.code === 'ERR_KEY_INVALID') {
      onUnavailable(error);
      return keysUnavailable;
    }
    return fail(401, 'invalid_token', describeJwtError(error));
  };

  // A header token that is not even token68 (RFC 6750 §2.1) is a malformed request (400), not a
  // bad token (401); checked only when verification fails, so good tokens skip the scan.
  const rejected = (
    error: unknown,
    token: string,
    authorization: string | readonly string[] | undefined,
  ) =>
    authorization !== undefined && !TOKEN68.test(token)
      ? malformedAuthorization(
          typeof authorization === 'string' ? authorization : authorization[0]!,
        )
      : refused(error);

  const unavailable = (error: unknown): AuthOutcome<P> => {
    onUnavailable(error instanceof Error ? error : new Error(String(error)));
    return REVOCATION_UNAVAILABLE;
  };
  const revokedOr = (revoked: boolean, auth: AuthContext<P>): AuthOutcome<P> =>
    revoked ? SESSION_ENDED : { ok: true, auth };

  const contexts = settings.shareContexts
    ? new WeakMap<VerifiedJwt<P>, AuthContext<P>>()
    : undefined;

  if (
    settings.dpop === undefined &&
    (settings.publicUrl !== undefined || settings.dpopOptions !== undefined)
  ) {
    throw new TypeError("publicUrl and dpopOptions only apply with dpop: 'required' or 'allowed'");
  }
  const dpop: DpopLayer | undefined =
    settings.dpop !== undefined
      ? prepareDpop(
          settings.dpop,
          settings.publicUrl,
          settings.dpopOptions,
          onUnavailable,
          settings.now,
        )
      : undefined;
  // RFC 9449 §7.2: a token bound to a key is worth nothing without a proof by that key; accepted
  // as Bearer, a stolen bound token would work after all. Refused in every mode.
  const boundAsBearer =
    dpop?.boundAsBearer ??
    fail(
      401,
      'invalid_token',
      'this access token is bound to a key (DPoP) and this service accepts Bearer tokens only',
    );

  /** The revocation check of a token that passed every other. */
  const revocation = (
    auth: AuthContext<P>,
    claims: P,
  ): AuthOutcome<P> | Promise<AuthOutcome<P>> => {
    if (isRevoked === undefined) return { ok: true, auth };
    let revoked: boolean | Promise<boolean>;
    try {
      revoked = isRevoked(claims);
    } catch (error) {
      return unavailable(error);
    }
    if (revoked instanceof Promise) {
      return revoked.then((r) => revokedOr(r === true, auth), unavailable);
    }
    return revokedOr(revoked === true, auth);
  };

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
    authorize(auth, requirement) {
      const { roles, scopes, amr, maxAge } = requirement;
      // RFC 9470 §3: the token is good but the log-in behind it is not strong or recent enough:
      // 401 with what would do, so that the client can log in again and retry.
      if (amr !== undefined || maxAge !== undefined) {
        const claims = auth.claims as Record<string, unknown>;
        const has = Array.isArray(claims['amr']) ? strings(claims['amr'] as unknown[]) : NONE;
        const missing = amr?.filter((m) => !has.includes(m)) ?? [];
        const at = claims['auth_time'];
        const seconds = maxAge === undefined ? undefined : parseDuration(maxAge, 'maxAge');
        const stale =
          seconds !== undefined &&
          !(typeof at === 'number' && Number.isFinite(at) && clock() / 1000 - at <= seconds);
        if (missing.length > 0 || stale) {
          const why =
            missing.length > 0
              ? `this needs a log-in with ${missing.map(named).join(' and ')}`
              : `this needs a log-in within the last ${seconds} seconds`;
          return fail(
            401,
            'insufficient_user_authentication',
            why,
            `${amr !== undefined ? `, acr_values=${quoted(amr.join(' '))}` : ''}${seconds !== undefined ? `, max_age=${quoted(String(seconds))}` : ''}`,
          ).failure;
        }
      }
      if (roles !== undefined && !roles.some((role) => auth.roles.includes(role))) {
        return fail(
          403,
          'insufficient_scope',
          `this needs the role ${roles.map(named).join(' or ')}`,
        ).failure;
      }
      if (scopes !== undefined) {
        const missing = scopes.filter((s) => !auth.scopes.includes(s));
        if (missing.length > 0) {
          return fail(
            403,
            'insufficient_scope',
            `this needs the scope ${missing.join(' ')}`,
            `, scope=${quoted(scopes.join(' '))}`,
          ).failure;
        }
      }
      return undefined;
    },

    checkRequirement(requirement) {
      if (requirement === null || typeof requirement !== 'object') {
        throw new TypeError('a requirement is an object: { roles?: string[], scopes?: string[] }');
      }
      checkOptions('require', requirement, REQUIREMENT_NAMES);
      const roles = checkStringList(requirement.roles, 'roles');
      const scopes = checkStringList(requirement.scopes, 'scopes');
      const amr = checkStringList(requirement.amr, 'amr');
      const maxAge =
        requirement.maxAge === undefined ? undefined : parseDuration(requirement.maxAge, 'maxAge');
      if (
        roles === undefined &&
        scopes === undefined &&
        amr === undefined &&
        maxAge === undefined
      ) {
        throw new TypeError(
          'a requirement names roles or scopes, or amr or maxAge: { roles: [...] }, { scopes: [...] }, { amr: ["mfa"], maxAge: "10m" }',
        );
      }
      const badAmr = amr?.find((m) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(m));
      if (badAmr !== undefined) {
        throw new TypeError(
          `amr value ${named(badAmr)} must be printable ASCII without space, " or \\`,
        );
      }
      // RFC 6749 §3.3: a scope-token is printable ASCII without space, `"` or `\`; the challenge
      // names the scopes, so anything else could not be sent.
      const badScope = scopes?.find((scope) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope));
      if (badScope !== undefined) {
        throw new TypeError(
          `scope ${named(badScope)} is not a scope-token (RFC 6749 §3.3: printable ASCII, no space, " or \\)`,
        );
      }
      return {
        ...(roles ? { roles } : {}),
        ...(scopes ? { scopes } : {}),
        ...(amr ? { amr } : {}),
        ...(maxAge !== undefined ? { maxAge } : {}),
      };
    },
  };
}
