// A refresh token as the sessions see it: its form, its hash (the only form the store keeps),
// the successor derived from it, and the words a holder of an ended one is told.
import { createHmac } from 'node:crypto';
import type { RefreshToken, User } from '../store/types.ts';
import { AuthServiceError } from './errors.ts';

export const REFRESH_TOKEN = /^rt_[A-Za-z0-9_-]{43}$/;

/** The purpose under which the successor secret is derived from the key-encryption key. */
export const SUCCESSOR_PURPOSE = 'refresh-token successor';

/**
 * The successor of a refresh token: derived from it with the server's secret, so every request
 * that spends the same token (racing tabs, on any instance) names the same successor, and the
 * family never forks. Without the secret, a spent token says nothing about its successor. The
 * secret is derived from the key-encryption key (HKDF, `KeyEncryptionKey.deriveKey`), which is
 * never in the database: a dump of the store and a spent token do not yield its successor.
 */
export const successorToken = (secret: Buffer, token: string) =>
  `rt_${createHmac('sha256', secret).update(token).digest('base64url')}`;

/**
 * Why a revoked token is refused, as much as its holder may know: the holder had the session,
 * so it may learn how the session ended (never anything about other sessions).
 */
export function endedSession(token: RefreshToken, user: User | null): AuthServiceError {
  switch (token.revokedReason) {
    case 'reuse':
      return new AuthServiceError(
        'invalid_grant',
        'the refresh token was reused; the session was revoked for safety; log in again',
      );
    case 'disabled':
      return new AuthServiceError(
        'invalid_grant',
        user?.disabled
          ? 'the account is disabled'
          : 'the session was ended when the account was disabled; log in again',
      );
    case 'password_changed':
      return new AuthServiceError(
        'invalid_grant',
        'the session was ended when the password was changed; log in again',
      );
    case 'logout_all':
      return new AuthServiceError(
        'invalid_grant',
        'the session was logged out everywhere; log in again',
      );
    default:
      return new AuthServiceError('invalid_grant', 'the session was logged out; log in again');
  }
}
