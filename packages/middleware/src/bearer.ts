// The bearer layer of RFC 6750, framework-free: find the access token in a request (the
// Authorization header or a named cookie), diagnose a malformed or duplicated header, and build
// the answers and challenges a refused request gets, with one way of quoting. The authenticator
// (authenticator.ts) verifies what this module extracts; the adapters and the auth server's own
// routes send what both return.
//
// Answers follow RFC 6750 §3: no token → 401 with a bare `WWW-Authenticate: Bearer`; a bad token →
// 401 `invalid_token` with a description; a malformed request → 400 `invalid_request`; a valid
// token without the role or scope a route needs → 403 `insufficient_scope`.

import { parseCookie } from 'cookie';

/** Why a request is refused, ready to send. */
export interface AuthFailure {
  readonly status: 400 | 401 | 403 | 503;
  readonly error:
    | 'invalid_request'
    | 'invalid_token'
    | 'insufficient_scope'
    | 'insufficient_user_authentication'
    | 'temporarily_unavailable'
    // RFC 9449 §7.1 and §8: a DPoP proof refused, or a server nonce needed.
    | 'invalid_dpop_proof'
    | 'use_dpop_nonce';
  readonly description: string;
  /** The headers to send: `WWW-Authenticate` (or `Retry-After` for 503) and `Cache-Control`. */
  readonly headers: Readonly<Record<string, string>>;
}

/** A refusal, as the authenticator returns it. */
export interface Refusal {
  readonly ok: false;
  readonly failure: AuthFailure;
}

/** The request parts the bearer layer reads; adapters pass them in. */
export interface RequestParts {
  /**
   * The `Authorization` header; every copy when the request has several (Node keeps only the
   * first in `req.headers`: pass `authorizationHeaders(req.rawHeaders)`), which is a 400.
   */
  authorization: string | readonly string[] | undefined;
  /** The raw `Cookie` header (only read when the `cookie` option is set). */
  cookie: string | undefined;
  /** With the `dpop` option: the method, the request target (path and query) and the DPoP header. */
  method?: string;
  url?: string;
  dpop?: string | readonly string[] | undefined;
  /** The origin the request arrived at (the auth server's own routes; see DpopRequestParts). */
  origin?: string;
}

/** RFC 6750 §2.1: the b64token (token68) syntax of a bearer credential. */
export const TOKEN68 = /^[A-Za-z0-9._~+/-]+=*$/;

/**
 * A quoted-string for a header parameter (RFC 6750 §3: printable ASCII but `"` and `\`): quotes and
 * backslashes are dropped, anything else outside printable ASCII (a control character, a non-ASCII
 * role name) becomes `?`, so a header never carries a byte Node or a proxy would refuse.
 */
export function quoted(text: string): string {
  return `"${text.replace(/["\\]/g, '').replace(/[^\x20-\x7e]/g, '?')}"`;
}

/** A name quoted for a description in the JSON body: as JSON spells it, nothing dropped. */
export const named = (text: string) => JSON.stringify(text);

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

/** A refusal with its RFC 6750 §3 challenge; `extra` adds parameters (e.g. `, scope="…"`). */
export function fail(
  status: AuthFailure['status'],
  error: AuthFailure['error'],
  description: string,
  extra = '',
): Refusal {
  const challenge = `Bearer error="${error}", error_description=${quoted(description)}${extra}`;
  const headers = { 'www-authenticate': challenge, 'cache-control': 'no-store' };
  return { ok: false, failure: { status, error, description, headers } };
}

/** Seconds a client is told to wait when the request cannot be checked now. */
export const RETRY_AFTER = 5;

/** A 503: the request cannot be checked now (no WWW-Authenticate: the token is not at fault). */
export function unavailableFailure(description: string, retryAfter = RETRY_AFTER): Refusal {
  const headers = { 'retry-after': String(retryAfter), 'cache-control': 'no-store' };
  return {
    ok: false,
    failure: { status: 503, error: 'temporarily_unavailable', description, headers },
  };
}

/** No token at all (RFC 6750 §3.1). */
export const MISSING: Refusal = {
  ok: false,
  failure: {
    status: 401,
    error: 'invalid_token',
    description: 'an access token is required: send "Authorization: Bearer <token>"',
    // RFC 6750 §3.1: a request without credentials gets the bare challenge, no error code.
    headers: { 'www-authenticate': 'Bearer', 'cache-control': 'no-store' },
  },
};

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
export function malformedAuthorization(authorization: string) {
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
): string | Refusal | undefined {
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

/** RFC 6265 §4.1.1: a cookie-value may be wrapped in DQUOTEs, which are not part of the token. */
function unquoted(value: string | undefined): string | undefined {
  return value !== undefined && value.length >= 2 && value[0] === '"' && value.endsWith('"')
    ? value.slice(1, -1)
    : value;
}

/**
 * The token of a request: the header, or the cookie named `cookieName` (when given) read from the
 * raw `Cookie` header; the failure to answer, or undefined when there is none. See `extractToken`.
 */
export function tokenOf(
  request: RequestParts,
  cookieName: string | undefined,
  checkSyntax = true,
): string | Refusal | undefined {
  const cookieValue =
    cookieName !== undefined && request.cookie !== undefined
      ? unquoted(parseCookie(request.cookie)[cookieName])
      : undefined;
  return extractToken(request.authorization, cookieValue, checkSyntax);
}
