import type { AuditEvent, AuditQuery } from './audit.ts';

export type { AuditEvent, AuditQuery } from './audit.ts';

/**
 * The storage contract of laissez: users, refresh-token families and signing keys. A few typed
 * methods, all async (SQLite answers at once, PostgreSQL over the network), and one conformance
 * suite (`src/store/testing/`, published as `laissez/store/testing`) that every implementation passes.
 *
 * Times are milliseconds since 1970 (numbers). Ids are strings made by the caller.
 */

export interface User {
  readonly id: string;
  /**
   * As the user typed it (after Unicode NFC). Unique by its RFC 8265 key (width mapping, full case
   * folding, NFC) and by the UTS #39 confusable skeleton of that key (`username-key.ts`).
   */
  readonly username: string;
  /** Lower-cased; unique. */
  readonly email: string;
  /** A PHC string (argon2id); never leaves the server. */
  readonly passwordHash: string;
  readonly roles: readonly string[];
  readonly disabled: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface NewUser {
  id: string;
  username: string;
  email: string;
  passwordHash: string;
  roles: string[];
  createdAt: number;
}

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
}

/**
 * Why a family was revoked, so that a refresh can say why it is refused: log-out, log out
 * everywhere, reuse of a spent token, a disabled account. `null` on rows revoked before reasons
 * were recorded.
 */
export const REVOCATION_REASONS = ['logout', 'logout_all', 'reuse', 'disabled'] as const;
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

export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  /**
   * The private (or secret) JWK, encrypted: an envelope `enc:v1:…` written by the key ring
   * (src/auth/kek.ts) under a key-encryption key the store never sees. Opaque text to the store.
   * (Plain JSON in databases written before keys were encrypted, until the ring re-encrypts it.)
   */
  readonly privateJwk: string;
  /** The public JWK as JSON text; null for HMAC secrets. */
  readonly publicJwk: string | null;
  readonly createdAt: number;
  /**
   * When the key starts signing. Until then it is only published (in the JWKS), so that every
   * verifier can know it before the first token it signs. The key with the latest activatesAt
   * not in the future signs.
   */
  readonly activatesAt: number;
  /** Set when a newer key took over signing: the key keeps verifying until this time, then goes. */
  readonly retiresAt: number | null;
}

/** Thrown by `createUser` when the username or the email is taken. */
export class ConflictError extends Error {
  override name = 'ConflictError';
  readonly field: 'username' | 'email';
  constructor(field: 'username' | 'email') {
    super(`the ${field} is already taken`);
    this.field = field;
  }
}

/** Thrown by a store that cannot reach its database (the server answers 503). */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

export interface Store {
  /** Applies pending migrations. Idempotent; called once at start. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  /**
   * Inserts a user; `ConflictError` when the email exists, or a username with the same RFC 8265
   * key or the same confusable skeleton (a look-alike) does. Unique indexes decide: of two racers
   * for one name or two look-alikes, exactly one succeeds.
   */
  createUser(user: NewUser): Promise<User>;
  findUserById(id: string): Promise<User | null>;
  /** By the RFC 8265 key: `ODIN`, fullwidth `ｏｄｉｎ` and `odin` find the same user. */
  findUserByUsername(username: string): Promise<User | null>;
  /** Case-insensitive. */
  findUserByEmail(email: string): Promise<User | null>;
  /**
   * Users ordered by creation, `limit` at most, after the user id `after` when given; with
   * `prefix`, only those whose RFC 8265 username key or lower-cased email starts with the prefix
   * (itself keyed the same way: `ODI` finds `odin`).
   */
  listUsers(options: { limit: number; after?: string; prefix?: string }): Promise<User[]>;
  /** Replaces the user's roles and sets updatedAt. False when there is no such user. */
  setUserRoles(id: string, roles: readonly string[], now: number): Promise<boolean>;
  updatePasswordHash(id: string, passwordHash: string, now: number): Promise<void>;
  setUserDisabled(id: string, disabled: boolean, now: number): Promise<boolean>;
  /** Deletes the user and all of their refresh tokens. True when there was such a user. */
  deleteUser(id: string): Promise<boolean>;

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
   * Spends `tokenHash` and stores `successor` (same family, same expiresAt) in one atomic step:
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
   * Revokes every family of the user (log out everywhere), recording `reason` (default
   * `logout_all`) as `revokeFamily` does. Returns how many tokens were newly revoked.
   */
  revokeUserTokens(userId: string, now: number, reason?: RevocationReason): Promise<number>;
  /** Deletes tokens whose absolute expiry has passed. Returns how many. */
  deleteExpiredRefreshTokens(now: number): Promise<number>;

  /** All signing keys, newest first. */
  listSigningKeys(): Promise<SigningKey[]>;
  addSigningKey(key: SigningKey): Promise<void>;
  /**
   * Marks as retiring at `retiresAt` every key not retiring yet that comes before `key` in the
   * signing order: an earlier `activatesAt`, or the same and a smaller `kid` (compared bytewise).
   * The last key of that order is never touched, so rotations racing each other (several
   * instances opening a new database) can never retire every key.
   */
  retireKeysBefore(key: { kid: string; activatesAt: number }, retiresAt: number): Promise<void>;
  /**
   * Like `retireKeysBefore`, but keys already retiring later than `retiresAt` are brought forward
   * to it too: after a leak every earlier key must go, whatever its tokens still need. Keys that
   * do not sign yet at `retiresAt` (`activatesAt` later: rotated in, only published) are
   * withdrawn as well, so that none of them takes over signing from `key` later.
   */
  withdrawKeysBefore(key: { kid: string; activatesAt: number }, retiresAt: number): Promise<void>;
  /**
   * Sets `privateJwk` to `to` on every listed key whose `privateJwk` is still `from`, in one
   * transaction: all the changes are written, or (on an error) none. Keys whose text changed
   * meanwhile, or that are gone, are skipped. Returns how many keys changed. Used to encrypt
   * keys stored in plain text and to re-encrypt every key under a new key-encryption key.
   */
  replaceSigningKeyMaterial(
    changes: readonly { kid: string; from: string; to: string }[],
  ): Promise<number>;
  /** Deletes keys whose retiresAt has passed. Returns how many. */
  deleteRetiredKeys(now: number): Promise<number>;

  /** Appends a security event to the audit log. Events are never changed afterwards. */
  appendAuditEvent(event: AuditEvent): Promise<void>;
  /** Events newest first (`at`, then id, descending), filtered; see `AuditQuery`. */
  listAuditEvents(query: AuditQuery): Promise<AuditEvent[]>;
  /** Deletes the events older than `before` (ms; `at < before`): retention. Returns how many. */
  deleteAuditEventsBefore(before: number): Promise<number>;
}
