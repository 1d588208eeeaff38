// Refresh-token families (sessions): the records, the reasons a family is revoked, and the part of
// the `Store` contract that stores, rotates and revokes them. `unrotatable` and `checkReason` are
// the pure decisions every store makes alike.
import type { User } from './users.ts';

/** One refresh token. Only its SHA-256 hash is stored; the token itself exists only at the client. */
export interface RefreshToken {
  /** base64url SHA-256 of the token: the primary key. */
  readonly tokenHash: string;
  /** All tokens descended from one log-in share a family; reuse revokes the family. */
  readonly familyId: string;
  readonly userId: string;
  readonly createdAt: number;
  /** Absolute: set at log-in, inherited by every rotation. */
  readonly expiresAt: number;
  /** When it was rotated (spent), or null. */
  readonly usedAt: number | null;
  /** The hash of the token that replaced it, or null. */
  readonly replacedBy: string | null;
  /** When its family was revoked, or null. */
  readonly revokedAt: number | null;
  /** Why its family was revoked (the first revocation's reason), or null. */
  readonly revokedReason: RevocationReason | null;
  /** The family's authentication methods (RFC 8176), when recorded; absent otherwise. */
  readonly amr?: readonly string[];
  /**
   * The scope granted at log-in (space-separated scope-tokens, RFC 6749 §3.3; '' for none),
   * inherited by every rotation: a refresh never widens it. null on rows stored before scopes
   * were recorded.
   */
  readonly scope: string | null;
  /**
   * When the user authenticated: the time of the log-in that started the family, inherited by
   * every rotation (`auth_time`, and the session's `created_at` given to the claims function).
   * null on rows stored before it was recorded.
   */
  readonly authTime: number | null;
  /**
   * The RFC 7638 thumbprint of the DPoP key the family is bound to (RFC 9449 §5: a public
   * client's refresh token is bound to the key of the proof sent at log-in), inherited by every
   * rotation: a refresh must carry a proof by that key. null for an unbound family.
   */
  readonly jkt: string | null;
}

/**
 * Why a family was revoked, so that a refresh can say why it is refused: log-out (also a session
 * ended from the session list), log out everywhere, reuse of a spent token, a disabled account, a
 * password change that ended the other sessions. `null` on rows revoked before reasons
 * were recorded.
 */
export const REVOCATION_REASONS = [
  'logout',
  'logout_all',
  'reuse',
  'disabled',
  'password_changed',
] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

/** A reason a store may record, or a TypeError (a caller's mistake, never a client's). */
export function checkReason(reason: unknown): RevocationReason {
  if (!(REVOCATION_REASONS as readonly unknown[]).includes(reason)) {
    throw new TypeError(`reason must be one of ${REVOCATION_REASONS.join(', ')}`);
  }
  return reason as RevocationReason;
}

export interface NewRefreshToken {
  tokenHash: string;
  familyId: string;
  userId: string;
  createdAt: number;
  expiresAt: number;
  /**
   * How the user proved who they are at the log-in that started the family (RFC 8176 `amr`
   * values, e.g. `['pwd']` or `['pwd', 'otp', 'mfa']`): the family keeps them, so access tokens
   * after a refresh say the same. Absent on families started before they were recorded. Like
   * `scope` and `authTime`, read from the first token of a family only; a successor inherits it.
   */
  amr?: readonly string[];
  /**
   * The first token of a family (`createRefreshToken`): the granted scope, the log-in time and
   * the DPoP key binding (default null). A successor (`rotateRefreshToken`) ignores them: it
   * inherits the spent token's.
   */
  scope?: string | null;
  authTime?: number | null;
  /** The DPoP key thumbprint the family is bound to (default null); successors inherit it. */
  jkt?: string | null;
  /**
   * Who started the session, recorded with the first token of a family (a log-in) and listed by
   * `listSessions`; successors do not repeat it. Bounded by the caller (see src/auth/client-info.ts).
   */
  client?: SessionClient;
}

/** The client a session was started from: its address and a short device label, when known. */
export interface SessionClient {
  ip: string | null;
  /** A label made from the User-Agent ("Firefox on Linux"), never the raw header. */
  device: string | null;
}

/** A live session (a refresh-token family) of a user, as `listSessions` reports it. */
export interface Session {
  /** The family id: the `sid` of the session's access tokens. */
  readonly id: string;
  /** When the session started (its first token). */
  readonly createdAt: number;
  /** When it was last used: its newest token (a log-in or the latest rotation). */
  readonly lastUsedAt: number;
  readonly ip: string | null;
  readonly device: string | null;
}

/**
 * The outcome of `rotateRefreshToken`:
 * - `rotated`: this caller spent the old token and the successor was stored, atomically;
 * - `spent`: the token had already been rotated (by a racer or a thief): `token` tells when and by what;
 * - `revoked`, `expired`: the family was revoked, or the token is past its absolute expiry;
 * - `missing`: no such token.
 */
export type RotateResult =
  | { status: 'rotated'; token: RefreshToken }
  | { status: 'spent'; token: RefreshToken }
  | { status: 'revoked'; token: RefreshToken }
  | { status: 'expired'; token: RefreshToken }
  | { status: 'missing' };

/**
 * Why a token cannot be rotated, in the order every store reports it: revoked, then expired, then
 * already spent; undefined while it is live.
 */
export function unrotatable(token: RefreshToken, now: number): RotateResult | undefined {
  if (token.revokedAt !== null) return { status: 'revoked', token };
  if (token.expiresAt <= now) return { status: 'expired', token };
  if (token.usedAt !== null) return { status: 'spent', token };
  return undefined;
}

/** Refresh tokens and the sessions (families) they make up. */
export interface RefreshTokenStore {
  /** Stores the first token of a new family (log-in). */
  createRefreshToken(token: NewRefreshToken): Promise<void>;
  findRefreshToken(tokenHash: string): Promise<RefreshToken | null>;
  /**
   * The token and its owner in one read (one round trip on a networked database); null for an
   * unknown token. Optional: without it, a refresh calls `findRefreshToken`, then `findUserById`.
   */
  findRefreshTokenWithUser?(
    tokenHash: string,
  ): Promise<{ token: RefreshToken; user: User | null } | null>;
  /**
   * Spends `tokenHash` and stores `successor` (same family, same expiresAt; the spent token's
   * `scope` and `authTime`, whatever `successor` says) in one atomic step:
   * of any number of concurrent callers with the same token, exactly one gets `rotated` and its
   * successor is stored; the others get `spent` (with `replacedBy`, the winner's successor) and
   * store nothing, so a spent token has exactly one successor. A revoked or expired token is not
   * rotated.
   */
  rotateRefreshToken(
    tokenHash: string,
    successor: NewRefreshToken,
    now: number,
  ): Promise<RotateResult>;
  /**
   * Revokes every token of the family, recording `reason` (default `logout`) on the tokens it
   * revokes; tokens revoked already keep their time and reason. Returns how many tokens were
   * newly revoked.
   */
  revokeFamily(familyId: string, now: number, reason?: RevocationReason): Promise<number>;
  /**
   * The families (session ids) of the user that still have a token neither revoked nor expired,
   * sorted: the sessions "log out everywhere" ends, for a revocation list of access tokens.
   */
  listLiveFamilies(userId: string, now: number): Promise<string[]>;
  /**
   * The user's live sessions (families with a token neither revoked nor expired) with when they
   * started, when they were last used and the client that started them; most recently used first.
   */
  listSessions(userId: string, now: number): Promise<Session[]>;
  /**
   * Revokes the live family `familyId` if it belongs to `userId` (recording `reason`, default
   * `logout`), as `revokeFamily` does. False, changing nothing, for an unknown, ended or expired
   * family, or one of another user: a user can only end their own sessions.
   */
  revokeSession(
    userId: string,
    familyId: string,
    now: number,
    reason?: RevocationReason,
  ): Promise<boolean>;
  /**
   * Revokes every family of the user (log out everywhere), recording `reason` (default
   * `logout_all`) as `revokeFamily` does. Returns how many tokens were newly revoked.
   */
  revokeUserTokens(userId: string, now: number, reason?: RevocationReason): Promise<number>;
  /** Deletes tokens whose absolute expiry has passed. Returns how many. */
  deleteExpiredRefreshTokens(now: number): Promise<number>;
}
