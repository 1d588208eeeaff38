// How the authenticator (authenticator.ts) answers a token once verification has spoken: the
// refusal of one that failed (401, 400 for a malformed header, or 503 when the keys cannot be had),
// and the revocation check of one that passed (401 for an ended session, 503 when the check fails:
// closed, never open). Each is prepared once per authenticator; per request it is one call.

import { describeJwtError, JwtError, type JwtPayload } from '@laissez/jwt';
import {
  fail,
  malformedAuthorization,
  RETRY_AFTER,
  type Refusal,
  TOKEN68,
  unavailableFailure,
} from './bearer.ts';
import type { AuthContext, AuthOutcome } from './context.ts';

const SESSION_ENDED = fail(401, 'invalid_token', 'the session has ended; log in again');

const REVOCATION_UNAVAILABLE = unavailableFailure(
  'the session cannot be checked right now; try again shortly',
);

const KEYS_UNAVAILABLE_TEXT =
  'the keys that check access tokens cannot be loaded right now; try again shortly';

/** The answers to a token that failed verification. */
export interface TokenRefusals {
  /** A verification error as the answer: a JwtError's 401 or 503; anything else is rethrown. */
  refused(error: unknown): Refusal;
  /** As `refused`, but a header token that is not token68 is a malformed request (400). */
  rejected(
    error: unknown,
    token: string,
    authorization: string | readonly string[] | undefined,
  ): Refusal;
}

/** `keysRetryAfter`: the seconds a client is told to wait when the keys cannot be had. */
export function tokenRefusals(
  onUnavailable: (error: Error) => void,
  keysRetryAfter = RETRY_AFTER,
): TokenRefusals {
  const keysUnavailable = unavailableFailure(KEYS_UNAVAILABLE_TEXT, keysRetryAfter);
  const refused = (error: unknown): Refusal => {
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
  ): Refusal =>
    authorization !== undefined && !TOKEN68.test(token)
      ? malformedAuthorization(
          typeof authorization === 'string' ? authorization : authorization[0]!,
        )
      : refused(error);
  return { refused, rejected };
}

/** The revocation check of a token that passed every other: its outcome. */
export type RevocationCheck<P extends JwtPayload> = (
  auth: AuthContext<P>,
  claims: P,
) => AuthOutcome<P> | Promise<AuthOutcome<P>>;

export function revocationCheck<P extends JwtPayload>(
  isRevoked: ((claims: JwtPayload) => boolean | Promise<boolean>) | undefined,
  onUnavailable: (error: Error) => void,
): RevocationCheck<P> {
  if (isRevoked === undefined) return (auth) => ({ ok: true, auth });
  const unavailable = (error: unknown): AuthOutcome<P> => {
    onUnavailable(error instanceof Error ? error : new Error(String(error)));
    return REVOCATION_UNAVAILABLE;
  };
  const revokedOr = (revoked: boolean, auth: AuthContext<P>): AuthOutcome<P> =>
    revoked ? SESSION_ENDED : { ok: true, auth };
  return (auth, claims) => {
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
}
