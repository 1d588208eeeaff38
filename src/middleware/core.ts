// The framework-free heart of the resource-server middleware: find the access token in a request
// (Authorization header or a named cookie), verify it, and say what to answer when it fails.
// The Fastify, Express and Hono adapters are thin wrappers over this module.
//
// Answers follow RFC 6750 §3: no token → 401 with a bare `WWW-Authenticate: Bearer`; a bad token →
// 401 `invalid_token` with a description; a malformed request → 400 `invalid_request`; a valid
// token without the role or scope a route needs → 403 `insufficient_scope`.

import { parseCookie } from 'cookie';
import {
  type Algorithm,
  createRemoteJwks,
  createVerifier,
  type Duration,
  type Jwks,
  JwtError,
  type JwtHeader,
  type JwtPayload,
  type KeyInput,
  type KeyResolver,
  type RemoteJwksOptions,
  type VerifiedJwt,
} from '../jwt/index.ts';
import { DEFAULT_COOLDOWN } from '../jwt/jwks/remote.ts';
import { checkOptions } from '../jwt/lib/options.ts';

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
  /** The clock in milliseconds (tests). */
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

/** Why a request is refused, ready to send. */
export interface AuthFailure {
  readonly status: 400 | 401 | 403 | 503;
  readonly error:
    | 'invalid_request'
    | 'invalid_token'
    | 'insufficient_scope'
    | 'temporarily_unavailable';
  readonly description: string;
  /** The headers to send: `WWW-Authenticate` (or `Retry-After` for 503) and `Cache-Control`. */
  readonly headers: Readonly<Record<string, string>>;
}

export type AuthOutcome<P extends JwtPayload = JwtPayload> =
  | { readonly ok: true; readonly auth: AuthContext<P> }
  | { readonly ok: false; readonly failure: AuthFailure };

/** What a route requires beyond a valid token. */
export interface Requirement {
  /** The token's `roles` must hold at least one of these. */
  roles?: string[];
  /** The token's scopes must include every one of these. */
  scopes?: string[];
}

/** The request parts the core reads; adapters pass them in. */
export interface RequestParts {
  /**
   * The `Authorization` header; every copy when the request has several (Node keeps only the
   * first in `req.headers`: pass `authorizationHeaders(req.rawHeaders)`), which is a 400.
   */
  authorization: string | readonly string[] | undefined;
  /** The raw `Cookie` header (only read when the `cookie` option is set). */
  cookie: string | undefined;
}

export interface Authenticator<P extends JwtPayload = JwtPayload> {
  /** Synchronous with a static key or key set; a Promise with `jwksUri` or a resolver. */
  authenticate(request: RequestParts): AuthOutcome<P> | Promise<AuthOutcome<P>>;
  /** Checks a requirement against a verified request; undefined when it is met. */
  authorize(auth: AuthContext<P>, requirement: Requirement): AuthFailure | undefined;
  /** The options' requirement check, done once: throws TypeError on a bad one. */
  checkRequirement(requirement: Requirement): Requirement;
}

const TOKEN68 = /^[A-Za-z0-9._~+/-]+=*$/;

/**
 * A quoted-string for a header parameter (RFC 6750 §3: printable ASCII but `"` and `\`): quotes and
 * backslashes are dropped, anything else outside printable ASCII (a control character, a non-ASCII
 * role name) becomes `?`, so a header never carries a byte Node or a proxy would refuse.
 */
function quoted(text: string): string {
  return `"${text.replace(/["\\]/g, '').replace(/[^\x20-\x7e]/g, '?')}"`;
}

/** A name quoted for a description in the JSON body: as JSON spells it, nothing dropped. */
const named = (text: string) => JSON.stringify(text);

/**
 * Every `Authorization` value of a request, from Node's `rawHeaders` (name, value, name, value…):
 * the one value, the list when there are several, or undefined.
 */
export function authorizationHeaders(
  rawHeaders: readonly string[],
): string | readonly string[] | undefined {
  let found: string | string[] | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length !== 13 || name.toLowerCase() !== 'authorization') continue;
    const value = rawHeaders[i + 1]!;
    if (found === undefined) found = value;
    else if (typeof found === 'string') found = [found, value];
    else found.push(value);
  }
  return found;
}

function fail(
  status: AuthFailure['status'],
  error: AuthFailure['error'],
  description: string,
  extra = '',
): { ok: false; failure: AuthFailure } {
  const challenge = `Bearer error="${error}", error_description=${quoted(description)}${extra}`;
  const headers = { 'www-authenticate': challenge, 'cache-control': 'no-store' };
  return { ok: false, failure: { status, error, description, headers } };
}

/** Seconds a client is told to wait when the request cannot be checked now. */
const RETRY_AFTER = 5;

const SESSION_ENDED = fail(401, 'invalid_token', 'the session has ended; log in again');

/** A 503: the request cannot be checked now (no WWW-Authenticate: the token is not at fault). */
function unavailableFailure(
  description: string,
  retryAfter = RETRY_AFTER,
): { ok: false; failure: AuthFailure } {
  const headers = { 'retry-after': String(retryAfter), 'cache-control': 'no-store' };
  return {
    ok: false,
    failure: { status: 503, error: 'temporarily_unavailable', description, headers },
  };
}

const REVOCATION_UNAVAILABLE = unavailableFailure(
  'the session cannot be checked right now; try again shortly',
);

const KEYS_UNAVAILABLE_TEXT =
  'the keys that check access tokens cannot be loaded right now; try again shortly';

const MISSING: { ok: false; failure: AuthFailure } = {
  ok: false,
  failure: {
    status: 401,
    error: 'invalid_token',
    description: 'an access token is required: send "Authorization: Bearer <token>"',
    // RFC 6750 §3.1: a request without credentials gets the bare challenge, no error code.
    headers: { 'www-authenticate': 'Bearer', 'cache-control': 'no-store' },
  },
};

/** A short reason for a refused token, safe to show: it never contains the token or a key. */
export function describeJwtError(error: JwtError): string {
  switch (error.code) {
    case 'ERR_JWT_EXPIRED':
      return 'the access token has expired';
    case 'ERR_JWT_NOT_YET_VALID':
      return 'the access token is not valid yet';
    case 'ERR_JWS_SIGNATURE_INVALID':
      return 'the access token signature is not valid';
    case 'ERR_KEY_NOT_FOUND':
    case 'ERR_KEY_ALG_MISMATCH':
      return 'the access token was signed by a key this service does not know';
    case 'ERR_JWT_CLAIM_INVALID':
    case 'ERR_JWT_CLAIM_MISSING':
      return error.claim === 'typ'
        ? 'this is not an access token'
        : `the access token "${error.claim}" claim is not valid`;
    case 'ERR_JWS_ALG_NOT_ALLOWED':
      return 'the access token algorithm is not accepted';
    case 'ERR_JWT_TOO_LARGE':
      return 'the access token is too large';
    default:
      return 'the access token is malformed';
  }
}

/**
 * Registered HTTP authentication schemes (IANA) and a few common made-up ones: a refused header
 * names its scheme only when it is one of these, so no other text of it (a credential sent
 * without a scheme) is ever echoed back.
 */
const KNOWN_SCHEMES = new Map(
  [
    'Basic',
    'Digest',
    'Negotiate',
    'NTLM',
    'HOBA',
    'Mutual',
    'DPoP',
    'PrivateToken',
    'Concealed',
    'SCRAM-SHA-1',
    'SCRAM-SHA-256',
    'vapid',
    'AWS4-HMAC-SHA256',
    'OAuth',
    'Token',
    'JWT',
    'Bearer-Token',
    'ApiKey',
  ].map((scheme) => [scheme.toLowerCase(), scheme]),
);

/** RFC 9110 §11.1: an auth-scheme is a token (tchar+). */
const SCHEME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const oneForm = 'send the access token as "Authorization: Bearer <token>"';

/** The answer to a malformed Authorization header, with a hint at the right form. */
function malformedAuthorization(authorization: string) {
  let hint: string;
  if (authorization.trim() === '') {
    hint = ' (the header is empty)';
  } else if (/^bearer:/i.test(authorization)) {
    hint = ' (no colon after "Bearer")';
  } else if (/^bearer(\s|$)/i.test(authorization)) {
    const rest = authorization.slice(6);
    hint =
      rest.trim() === ''
        ? ' (the token is missing after "Bearer")'
        : !rest.startsWith(' ')
          ? ' (one space after "Bearer", not a tab or a line break)'
          : /,\s*bearer\s/i.test(rest)
            ? ' (one Authorization header, not several)'
            : ' (the token may only hold letters, digits and -._~+/, then = padding)';
  } else {
    const space = authorization.search(/\s/);
    const scheme = space === -1 ? '' : authorization.slice(0, space);
    const known = KNOWN_SCHEMES.get(scheme.toLowerCase());
    hint =
      known !== undefined
        ? ` (the scheme must be Bearer, not ${known})`
        : space === -1
          ? ' (the header has no scheme: put "Bearer" and a space before the token)'
          : ' (the scheme must be Bearer)';
  }
  return fail(400, 'invalid_request', `${oneForm}${hint}`);
}

const ONE_HEADER = fail(
  400,
  'invalid_request',
  'send one Authorization header: this request has several',
);
const ONE_PLACE = fail(
  400,
  'invalid_request',
  'send the access token in one place: the Authorization header or the cookie, not both',
);

/**
 * Finds the token: the Authorization header (`Bearer`, any case) or the named cookie, never both.
 * Returns the token, or the failure to answer. An empty cookie counts as no cookie. When the
 * header holds another scheme's credentials (e.g. `Basic` from a proxy in front of the site) and
 * the cookie holds a token, the cookie is used: the header carries no bearer token. With
 * `checkSyntax: false` the token68 syntax of a header token is left to the caller (the middleware
 * checks it only when verification fails, which saves a scan of every good token).
 */
export function extractToken(
  authorization: string | readonly string[] | undefined,
  cookieValue: string | undefined,
  checkSyntax = true,
): string | { ok: false; failure: AuthFailure } | undefined {
  const cookie = cookieValue === '' ? undefined : cookieValue;
  let header: string | undefined;
  if (typeof authorization === 'string' || authorization === undefined) {
    header = authorization;
  } else {
    if (authorization.length > 1) return ONE_HEADER;
    header = authorization[0];
  }
  if (header === undefined) return cookie;
  const space = header.indexOf(' ');
  const scheme = space === -1 ? header : header.slice(0, space);
  if (scheme !== 'Bearer' && scheme.toLowerCase() !== 'bearer') {
    if (
      cookie !== undefined &&
      space > 0 &&
      SCHEME.test(scheme) &&
      !scheme.toLowerCase().startsWith('bearer')
    ) {
      return cookie;
    }
    return malformedAuthorization(header);
  }
  const token = space === -1 ? '' : header.slice(space + 1).trim();
  if (token === '' || (checkSyntax && !TOKEN68.test(token))) {
    return malformedAuthorization(header);
  }
  if (cookie !== undefined) return ONE_PLACE;
  return token;
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
] as const;
const REQUIREMENT_NAMES = ['roles', 'scopes'] as const;

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

/** RFC 6265 §4.1.1: a cookie-value may be wrapped in DQUOTEs, which are not part of the token. */
function unquoted(value: string | undefined): string | undefined {
  return value !== undefined && value.length >= 2 && value[0] === '"' && value.endsWith('"')
    ? value.slice(1, -1)
    : value;
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
  // A failed JWKS fetch is not retried before the cool-down ends: clients are told to wait that long.
  const keysUnavailable = unavailableFailure(
    KEYS_UNAVAILABLE_TEXT,
    options.jwksUri !== undefined
      ? Math.max(1, Math.ceil((options.jwksOptions?.cooldown ?? DEFAULT_COOLDOWN) / 1000))
      : RETRY_AFTER,
  );
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
  } as Parameters<typeof createVerifier>[0]) as (
    token: string,
  ) => VerifiedJwt<P> | Promise<VerifiedJwt<P>>;
  const cookieName = options.cookie;

  if (options.onUnavailable !== undefined && typeof options.onUnavailable !== 'function') {
    throw new TypeError('onUnavailable must be a function (error) => void');
  }
  if (options.isRevoked !== undefined && typeof options.isRevoked !== 'function') {
    throw new TypeError('isRevoked must be a function (claims) => boolean | Promise<boolean>');
  }
  const onUnavailable =
    options.onUnavailable ??
    ((error: Error) => console.error(`laissez: access tokens cannot be checked: ${error.message}`));
  const isRevoked = options.isRevoked;

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

  // With the verify cache, a hit returns the same frozen result object: its context is built
  // once too (the token is the cache key, so it is the same token).
  const contexts = options.cache ? new WeakMap<VerifiedJwt<P>, AuthContext<P>>() : undefined;

  /** A verified token: accepted, unless its session was revoked. */
  const accept = (
    token: string,
    verified: VerifiedJwt<P>,
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
    if (isRevoked === undefined) return { ok: true, auth };
    let revoked: boolean | Promise<boolean>;
    try {
      revoked = isRevoked(verified.payload);
    } catch (error) {
      return unavailable(error);
    }
    if (revoked instanceof Promise) {
      return revoked.then((r) => revokedOr(r === true, auth), unavailable);
    }
    return revokedOr(revoked === true, auth);
  };

  return {
    authenticate(request) {
      const cookieValue =
        cookieName !== undefined && request.cookie !== undefined
          ? unquoted(parseCookie(request.cookie)[cookieName])
          : undefined;
      const { authorization } = request;
      const token = extractToken(authorization, cookieValue, false);
      if (token === undefined) return MISSING;
      if (typeof token !== 'string') return token;
      let verified: VerifiedJwt<P> | Promise<VerifiedJwt<P>>;
      try {
        verified = verify(token);
      } catch (error) {
        return rejected(error, token, authorization);
      }
      if (verified instanceof Promise) {
        return verified.then(
          (v) => accept(token, v),
          (error: unknown) => rejected(error, token, authorization),
        );
      }
      return accept(token, verified);
    },

    authorize(auth, requirement) {
      const { roles, scopes } = requirement;
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
      if (roles === undefined && scopes === undefined) {
        throw new TypeError(
          'a requirement names roles or scopes: { roles: [...] } or { scopes: [...] }',
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
      return { ...(roles ? { roles } : {}), ...(scopes ? { scopes } : {}) };
    },
  };
}
