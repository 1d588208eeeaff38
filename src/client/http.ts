// The requests the client makes: Bearer requests to the token origins, and POSTs to the auth
// server with its cookies; and the bodies it sends and reads there.

import { pageLocation } from './options.ts';

/** A user as the server shows it. */
export interface User {
  id: string;
  username: string;
  email: string;
  roles: string[];
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
 * The request to send with `token` (none: as it is); from a clone when `keep`, so that the
 * original, body included, can be sent again. A Bearer request omits cookies unless the caller
 * said otherwise: a laissez server refuses a token in both the header and the cookie.
 */
export function withToken(prepared: Prepared, token: string | null, keep: boolean): Request {
  const source = keep ? prepared.request.clone() : prepared.request;
  if (token === null) return source;
  const headers = new Headers(source.headers);
  headers.set('authorization', `Bearer ${token}`);
  return new Request(source, { headers, credentials: prepared.credentials ?? 'omit' });
}

/** A POST of `body` (JSON; none: no body) to `path` of the auth server, with its cookies. */
export function authPost(base: URL, path: string, body: object | undefined): Request {
  const init: RequestInit = { method: 'POST', credentials: 'include' };
  if (body !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  return new Request(new URL(path, base), init);
}
