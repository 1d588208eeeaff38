// The access token of a client-credentials grant (RFC 6749 §4.4), in the RFC 9068 profile. The
// key ring adds `iss`, `aud`, `exp`, `iat`, `jti` and the `typ: at+jwt` header; this adds the
// claims of the client. One small function, so that the access-token builder (custom claims,
// scopes per role, the size budget) can take its place in one spot.
import { randomBytes } from 'node:crypto';
import type { KeyRing } from './keyring.ts';

export interface ClientTokenClaims {
  clientId: string;
  /** The granted scopes (a subset of the client's); none: no `scope` claim. */
  scopes: readonly string[];
  /** The thumbprint of the client's DPoP key: the token is bound to it (`cnf.jkt`, RFC 9449 §6.1). */
  jkt?: string | undefined;
}

/**
 * Signs a service token: `sub` and `client_id` are the client (RFC 9068 §2.2: a token without a
 * resource owner names its client as subject). `sid` is a session id of its own, so that
 * revoking the token (RFC 7009) reaches resource servers through the revocation list like an
 * ended log-in, and so that verifiers which require `sid` (checkSessions) accept it.
 */
export function signClientAccessToken(keyRing: KeyRing, claims: ClientTokenClaims): string {
  return keyRing.sign({
    sub: claims.clientId,
    client_id: claims.clientId,
    ...(claims.scopes.length > 0 ? { scope: claims.scopes.join(' ') } : {}),
    sid: `cc_${randomBytes(12).toString('base64url')}`,
    ...(claims.jkt !== undefined ? { cnf: { jkt: claims.jkt } } : {}),
  });
}
