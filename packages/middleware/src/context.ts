// What a verified request carries (`request.auth`, `req.auth`, `c.get('auth')`), read once from the
// token's claims by the authenticator (authenticator.ts); the requirement checks (requirement.ts)
// read the same string lists.

import type { JwtHeader, JwtPayload, VerifiedJwt } from '@laissez/jwt';
import type { Refusal } from './bearer.ts';

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

/** The empty list, shared (frozen) by every context without roles or scopes. */
export const NO_STRINGS: readonly string[] = Object.freeze([]);

/** The array itself when it holds only strings (no copy per request), else its strings. */
export function stringsOf(value: unknown[]): readonly string[] {
  for (const item of value) {
    if (typeof item !== 'string') return value.filter((v): v is string => typeof v === 'string');
  }
  return value as string[];
}

export function contextOf<P extends JwtPayload>(
  token: string,
  verified: VerifiedJwt<P>,
): AuthContext<P> {
  const claims = verified.payload;
  const { roles, scope, scp } = claims as Record<string, unknown>;
  const scopes =
    typeof scope === 'string'
      ? scope.split(' ').filter(Boolean)
      : Array.isArray(scp)
        ? stringsOf(scp)
        : NO_STRINGS;
  return {
    claims,
    header: verified.header,
    subject: claims.sub as string,
    roles: Array.isArray(roles) ? stringsOf(roles) : NO_STRINGS,
    scopes,
    token,
  };
}
