// The options of AuthService (service.ts), and the small inputs its methods share. Apart from the
// facade so that the parts it is built from (service-parts.ts) can read them without importing it.
import type { Store } from '../store/types.ts';
import type { AuditSink } from './audit.ts';
import type { SecurityEventSink } from './events.ts';
import type { KeyRing } from './keyring.ts';
import type { CounterStore, RateLimits } from './limits.ts';
import type { Mailer } from './mail.ts';
import type { ClonedAuthenticator } from './passkeys.ts';
import type { Argon2Params } from './password.ts';
import type { BreachedPasswordOptions } from './password-policy.ts';
import type { RoleScopes } from './scopes.ts';
import type { RevocationSink } from './sessions.ts';
import type { ClaimsFunction, TokenRefusal } from './tokens.ts';

export interface AuthServiceOptions {
  store: Store;
  keyRing: KeyRing;
  /** Access-token lifetime, seconds. */
  accessTtl: number;
  /** Refresh-token lifetime (absolute, from log-in), seconds. */
  refreshTtl: number;
  /** How long after a rotation the spent token may still be exchanged (racing tabs), seconds. */
  reuseGrace: number;
  now?: () => number;
  passwordParams?: Argon2Params;
  rateLimits?: RateLimits;
  counters?: CounterStore;
  /** Roles given to a new user. */
  defaultRoles?: string[];
  /**
   * Where ended sessions are announced to resource servers that check access tokens against a
   * revocation list (e.g. Redis): `revoke(sid, until)` for each session logged out, logged out
   * everywhere or revoked for reuse, until its last access token has expired.
   */
  revocations?: RevocationSink;
  /** Told when `revocations` fails; the log-out itself has happened. Default: ignored. */
  onRevocationError?: (error: unknown) => void;
  /** A k-anonymity range service that new passwords are checked against. Default: none. */
  breachedPasswords?: BreachedPasswordOptions;
  /** Where security events are recorded (src/auth/audit.ts). Default: nowhere. */
  audit?: AuditSink;
  /**
   * Seconds the username and email of a deleted account stay reserved (registration refuses
   * them as taken). Default 30 days.
   */
  nameReservation?: number;
  /** Mail: the account flows that send links (account-mail.ts). Default: none of them. */
  mail?: MailSettings;
  /** The app's extra claims for each access token (docs/tokens.md, "Tokens"). Default: none. */
  claims?: ClaimsFunction;
  /** Milliseconds the claims function has. Default 1000. */
  claimsTimeout?: number;
  /** Largest access token, in bytes; a bigger one is refused, never sent. Default 1024. */
  accessTokenMaxBytes?: number;
  /** Scopes each role allows (`{ user: ['notes:read'] }`). Default: tokens carry no scope. */
  roleScopes?: RoleScopes;
  /** `client_id` of the tokens of log-ins (RFC 9068 §2.2). Default `laissez`. */
  clientId?: string;
  /** Told why an access token was not built (a failing claims function, the size budget). */
  onTokenRefusal?: (refusal: TokenRefusal) => void;
  /** The name authenticator apps show beside TOTP codes. Default `laissez`. */
  totpIssuer?: string;
  /**
   * Where security events go (a factor enrolled or removed, a recovery code used, too many wrong
   * codes): the seam of the audit log and the owner's mail. Default: dropped.
   */
  events?: SecurityEventSink;
  /** Passkeys (WebAuthn): the relying party. Default: the issuer's host and origin. */
  passkeys?: PasskeySettings;
}

/** The WebAuthn relying party (W3C WebAuthn §5.1.3) and where a cloned authenticator is told. */
export interface PasskeySettings {
  rpId: string;
  rpOrigins: readonly string[];
  /** The name browsers show. Default `laissez`. */
  rpName?: string;
  onCloned?: (event: ClonedAuthenticator) => void;
}

export interface MailSettings {
  mailer: Mailer;
  /** Where links point (the server's public URL). */
  publicUrl: string;
  /** The product's name in mails. */
  product: string;
  /** Registration sends a verification link and answers alike for new and taken emails. */
  verifyEmail: boolean;
  /** Log-in is refused (`email_not_verified`) until the email is verified. */
  requireVerifiedEmail: boolean;
  /** Sign-in links are offered. */
  signInLinks: boolean;
}

/** What a signed-in user's request brings besides its verified claims. */
export interface ClientContext {
  /** The rate-limit key of the client's address (clientKeyOf). */
  ip?: string | undefined;
}

/** What a second-factor management call needs: the password and a code of the factor. */
export interface ReauthInput {
  password?: unknown;
  code?: unknown;
  recovery_code?: unknown;
}
