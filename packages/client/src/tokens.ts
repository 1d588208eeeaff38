// The access token as the client holds it: read from a token answer, judged fresh or not, and
// refreshed ahead of its expiry.

/** The access token and when this client considers it expired (ms since the epoch, local clock). */
export interface AccessToken {
  readonly token: string;
  readonly expiresAt: number;
  /** Seconds the server gave it (`expires_in`). */
  readonly lifetime: number;
  /**
   * How it is sent: `DPoP` when the server bound it to this client's key (`token_type: DPoP`,
   * RFC 9449 §5), with a proof per request; else `Bearer`.
   */
  readonly scheme: TokenScheme;
}

export type TokenScheme = 'Bearer' | 'DPoP';

/** The body of a token answer (`/auth/login`, `/auth/refresh`); not exported by laissez/client. */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
  refresh_expires_in?: number;
  /** Log-in only, server without cookie mode: docs/security.md, "Guessing passwords". */
  device_token?: string;
}

/** Before a request, an access token with less than this left is refreshed first. */
export const EXPIRY_SKEW_MS = 1000;

/** The access token of a token answer, its expiry on the local clock `now` (ms). */
export function accessTokenOf(body: TokenResponse, now: number): AccessToken {
  if (typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
    throw new TypeError('the server answered without an access token');
  }
  return {
    token: body.access_token,
    expiresAt: now + body.expires_in * 1000,
    lifetime: body.expires_in,
    // RFC 9449 §5: token_type is case-insensitive; a server without DPoP answers Bearer.
    scheme:
      typeof body.token_type === 'string' && /^dpop$/i.test(body.token_type) ? 'DPoP' : 'Bearer',
  };
}

/** The token of `access` if it can still be sent at `now` without a refresh first. */
export function freshToken(access: AccessToken | null, now: number): string | undefined {
  return access !== null && now < access.expiresAt - EXPIRY_SKEW_MS ? access.token : undefined;
}

/**
 * How long from `now` to refresh `access` ahead of its expiry: a fifth of the lifetime before it
 * ends, between 2 s and 60 s, and at most half of it (so a very short token is not refreshed
 * again and again at once).
 */
export function refreshDelay(access: AccessToken, now: number): number {
  const margin = Math.min(60_000, Math.max(2000, access.lifetime * 200), access.lifetime * 500);
  return Math.max(0, access.expiresAt - margin - now);
}

/** The `sid` claim of a laissez access token (its refresh token family), if it has one. */
export function sessionIdOf(token: string | undefined): string | undefined {
  try {
    const payload = JSON.parse(
      atob(token?.split('.')[1]?.replace(/-/g, '+').replace(/_/g, '/') ?? ''),
    );
    return typeof payload?.sid === 'string' ? payload.sid : undefined;
  } catch {
    return undefined;
  }
}
