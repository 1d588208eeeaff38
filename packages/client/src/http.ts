// The requests the client makes: Bearer requests to the token origins, and POSTs to the auth
// server with its cookies; and the bodies it sends and reads there.

import { pageLocation } from './options.ts';
import type { TokenScheme } from './tokens.ts';

/** A user as the server shows it. */
export interface User {
  id: string;
  username: string;
  email: string;
  roles: string[];
  /** Whether the owner followed a verification link (or a reset or sign-in link) to the address. */
  email_verified?: boolean;
  created_at: string;
}

/** Log in with a username or an email, and the password. */
export type Credentials =
  | { username: string; email?: undefined; password: string }
  | { email: string; username?: undefined; password: string };

export interface Registration {
  username: string;
  email: string;
  password: string;
}

type RequestCredentials = 'omit' | 'same-origin' | 'include';

/** A request the client may send again after a refresh. */
export interface Prepared {
  request: Request;
  /** `credentials` the caller chose, which wins over the client's default. */
  credentials: RequestCredentials | undefined;
}

/** The caller's `fetch` arguments as one request, relative URLs against the page (or `base`). */
export function prepare(
  input: string | URL | Request,
  init: RequestInit | undefined,
  base: URL,
): Prepared {
  const resolved =
    input instanceof Request ? input : new URL(String(input), pageLocation()?.href ?? base).href;
  return {
    request: new Request(resolved, init),
    credentials: init?.credentials as RequestCredentials | undefined,
  };
}

/**
 * The request to send with `access` (none: as it is) and a DPoP `proof` (none: no header), from a
 * clone, so that the original, body included, can be sent again. A request with a token omits
 * cookies unless the caller said otherwise: a laissez server refuses a token in both the header
 * and the cookie.
 */
export function withToken(
  prepared: Prepared,
  access: { token: string; scheme: TokenScheme } | null,
  proof: string | undefined,
): Request {
  const source = prepared.request.clone();
  if (access === null && proof === undefined) return source;
  const headers = new Headers(source.headers);
  if (proof !== undefined) headers.set('dpop', proof);
  if (access === null) return new Request(source, { headers });
  headers.set('authorization', `${access.scheme} ${access.token}`);
  return new Request(source, { headers, credentials: prepared.credentials ?? 'omit' });
}

/**
 * A POST of `body` (JSON; none: no body) to `url` of the auth server, with its cookies, and a DPoP
 * `proof` when given (log-in and refresh: RFC 9449 §5 binds the tokens to the proof's key).
 */
export function authPost(url: URL, body: object | undefined, proof?: string): Request {
  const headers = new Headers();
  const init: RequestInit = { method: 'POST', credentials: 'include', headers };
  if (body !== undefined) {
    headers.set('content-type', 'application/json');
    init.body = JSON.stringify(body);
  }
  if (proof !== undefined) headers.set('dpop', proof);
  return new Request(url, init);
}
