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
  /** The owner proved they receive mail at `email` (a verification or sign-in link). */
  readonly emailVerified: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
  /**
   * Per-user JSON set by administrators only (`setUserAppMetadata`), never by the user: a JSON
   * object, `{}` until set. The claims function of the auth server reads it (docs/server.md,
   * "Tokens").
   */
  readonly appMetadata: Readonly<Record<string, unknown>>;
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

/**
 * A user's TOTP factor (RFC 6238). The secret is sealed by the auth domain under a key derived
 * from the key-encryption key: opaque text to the store, never the secret itself.
 */
export interface TotpFactor {
  readonly userId: string;
  readonly secret: string;
  readonly createdAt: number;
  /** When a first code confirmed the enrolment; null while it is pending. */
  readonly confirmedAt: number | null;
  /** The last RFC 6238 time step a code was accepted for (codes are single-use), or null. */
  readonly lastStep: number | null;
}

/**
 * The second step of a log-in: the password was right and a second factor is due. Only the
 * SHA-256 of the `mfa_token` the client holds is stored.
 */
export interface MfaChallenge {
  readonly tokenHash: string;
  readonly userId: string;
  /** The methods proved so far (`['pwd']`), and when the password was checked (ms). */
  readonly amr: readonly string[];
  readonly authTime: number;
  readonly expiresAt: number;
  /** When a verification spent it, or null. */
  readonly usedAt: number | null;
}

export type NewMfaChallenge = Omit<MfaChallenge, 'usedAt'>;

/**
 * What a one-time token (a link sent by mail) is for; a token of one purpose is never accepted
 * for another.
 */
export const ONE_TIME_PURPOSES = [
  'verify_email',
  'reset_password',
  'sign_in',
  'change_email',
] as const;
export type OneTimePurpose = (typeof ONE_TIME_PURPOSES)[number];

/** A single-use token sent by mail. Only its SHA-256 hash is stored, as for refresh tokens. */
export interface OneTimeToken {
  /** base64url SHA-256 of the token: the primary key. */
  readonly tokenHash: string;
  readonly purpose: OneTimePurpose;
  readonly userId: string;
  /** What the token carries: the address it was sent to (verify, change), or null. */
  readonly payload: string | null;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** When it was consumed, or null. */
  readonly usedAt: number | null;
}

export type NewOneTimeToken = Omit<OneTimeToken, 'usedAt'>;

/**
 * The outcome of `consumeOneTimeToken`: `consumed` by this caller (and by no other, ever);
 * `used` already; `expired`; `missing` (unknown, replaced by a newer token, or of another purpose).
 */
export type ConsumeResult =
  | { status: 'consumed'; token: OneTimeToken }
  | { status: 'used'; token: OneTimeToken }
  | { status: 'expired'; token: OneTimeToken }
  | { status: 'missing' };

/**
 * Why a one-time token was not consumed, in the order every store reports it: of another purpose
 * (`missing`: a reset link is no sign-in link), then already used, then expired.
 */
export function unconsumed(
  token: OneTimeToken | null,
  purpose: OneTimePurpose,
  now: number,
): ConsumeResult {
  if (!token || token.purpose !== purpose) return { status: 'missing' };
  if (token.usedAt !== null) return { status: 'used', token };
  if (token.expiresAt <= now) return { status: 'expired', token };
  // Live: a store only asks after its conditional update took nothing, so this is a racer that
  // lost; it is reported as used all the same.
  return { status: 'used', token };
}

/**
 * A WebAuthn credential (a passkey) registered by a user (W3C WebAuthn Level 3 §6.4 "credential
 * record"). Nothing in it is secret: the private key never leaves the authenticator.
 */
export interface Passkey {
  /** The credential id (base64url): the primary key, unique across every user. */
  readonly id: string;
  readonly userId: string;
  /** The credential public key: COSE_Key bytes (RFC 9053), base64url. */
  readonly publicKey: string;
  /**
   * The last signature counter seen (WebAuthn §6.1.1); 0 for authenticators that keep none.
   * A counter that does not grow past it means a cloned authenticator (§7.2 step 22).
   */
  readonly signCount: number;
  /** AuthenticatorTransport hints ('internal', 'hybrid', 'usb'…), given back to browsers. */
  readonly transports: readonly string[];
  /** The user's label for it ("Laptop", "Phone"). */
  readonly name: string;
  /** Backup eligible (BE flag, WebAuthn §6.1): a synced passkey rather than one bound to a device. */
  readonly backupEligible: boolean;
  /** Backed up (BS flag) when it was last used. */
  readonly backedUp: boolean;
  readonly createdAt: number;
  /** The last log-in with it, or null. */
  readonly lastUsedAt: number | null;
}

export type NewPasskey = Omit<Passkey, 'lastUsedAt'>;

/** What a WebAuthn challenge was made for; one of one ceremony is never accepted for another. */
export const WEBAUTHN_CEREMONIES = ['register', 'login'] as const;
export type WebAuthnCeremony = (typeof WEBAUTHN_CEREMONIES)[number];

/**
 * A challenge handed to a browser for one WebAuthn ceremony (WebAuthn §13.4.3: made and kept by
 * the server, used once). Only its SHA-256 is stored, like a one-time token.
 */
export interface WebAuthnChallenge {
  /** base64url SHA-256 of the challenge: the primary key. */
  readonly challengeHash: string;
  readonly ceremony: WebAuthnCeremony;
  /** The user it was made for (registration, a second factor); null for a passwordless log-in. */
  readonly userId: string | null;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** How a client proves who it is at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2). */
export const CLIENT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

/**
 * A registered OAuth client (a service that gets tokens of its own at `POST /oauth/token`).
 * Confidential only: every client authenticates, with a secret or with a key of its own.
 */
export interface Client {
  /** The `client_id`: unique, chosen at registration. */
  readonly id: string;
  readonly name: string;
  /**
   * base64url SHA-256 of the client secret (a 256-bit random value, so a fast hash is enough:
   * there is nothing to guess from it); null for `private_key_jwt` clients, which have none.
   */
  readonly secretHash: string | null;
  /** The scopes it may ask for; a token request asks for a subset. */
  readonly scopes: readonly string[];
  /** The grant types it may use (`client_credentials`). */
  readonly grantTypes: readonly string[];
  readonly authMethod: ClientAuthMethod;
  /** `private_key_jwt`: the client's public keys (a JWK Set, JSON text), or null. */
  readonly jwks: string | null;
  /** `private_key_jwt`: where its public keys are fetched (https), or null. */
  readonly jwksUri: string | null;
  readonly createdAt: number;
  /** When the secret was last replaced (`laissez clients rotate-secret`), or null. */
  readonly secretRotatedAt: number | null;
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
   * key or the same confusable skeleton (a look-alike) does, or any of them is reserved (by
   * `deleteUser`) past `user.createdAt`. Unique indexes decide: of two racers
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
  /**
   * Sets the password hash to `to` only if it is still `from`, atomically: of two changes racing
   * from the same hash exactly one succeeds. True when it did.
   */
  replacePasswordHash(id: string, from: string, to: string, now: number): Promise<boolean>;
  setUserDisabled(id: string, disabled: boolean, now: number): Promise<boolean>;
  /**
   * Replaces the user's app metadata with `metadata` (a JSON object: strings, finite numbers,
   * booleans, null, arrays and objects; the caller checks its size) and sets updatedAt. True when
   * there was such a user.
   */
  setUserAppMetadata(
    id: string,
    metadata: Readonly<Record<string, unknown>>,
    now: number,
  ): Promise<boolean>;
  /**
   * Marks the user's email verified, only while it is still `email` (a link sent to an address the
   * user has since left verifies nothing). True when it did.
   */
  markEmailVerified(id: string, email: string, now: number): Promise<boolean>;
  /**
   * Changes the user's email from `from` to `to` (verified: the owner followed a link sent there),
   * only while it is still `from`; false when it no longer is or there is no such user.
   * `ConflictError('email')` when another user has `to`: the unique index decides, so of two
   * users racing for one address exactly one gets it.
   */
  changeEmail(id: string, from: string, to: string, now: number): Promise<boolean>;
  /**
   * Deletes the user and all of their refresh tokens. True when there was such a user. With
   * `reserveUntil`, in the same atomic step, the user's username (its RFC 8265 key and its
   * confusable skeleton) and email are reserved until then: `createUser` refuses them with
   * `ConflictError` as if the user still existed, so that links in old mail cannot reach a
   * newcomer with the same name. A later reservation of a name extends an earlier one.
   */
  deleteUser(id: string, options?: { reserveUntil?: number }): Promise<boolean>;
  /** Deletes reservations whose time has passed (they already refuse nothing). Returns how many. */
  deleteExpiredReservations(now: number): Promise<number>;

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

  /**
   * Stores a one-time token. With `replace`, the user's unused tokens of the same purpose are
   * deleted in the same step: only the newest link works.
   */
  createOneTimeToken(token: NewOneTimeToken, options?: { replace?: boolean }): Promise<void>;
  /** A one-time token by its hash, consumed or not; null when unknown. */
  findOneTimeToken(tokenHash: string): Promise<OneTimeToken | null>;
  /**
   * Consumes a live token of `purpose`: of any number of concurrent callers, exactly one gets
   * `consumed`; the others get `used`. A token of another purpose is `missing`.
   */
  consumeOneTimeToken(
    tokenHash: string,
    purpose: OneTimePurpose,
    now: number,
  ): Promise<ConsumeResult>;
  /** Deletes one-time tokens past their expiry. Returns how many. */
  deleteExpiredOneTimeTokens(now: number): Promise<number>;
  /**
   * Registers a client. False (and nothing stored) when a client with this id exists: the
   * primary key decides, so of two racers for one id exactly one gets true.
   */
  createClient(client: Client): Promise<boolean>;
  findClient(id: string): Promise<Client | null>;
  /** Every client, ordered by creation then id. */
  listClients(): Promise<Client[]>;
  /** True when there was such a client. */
  deleteClient(id: string): Promise<boolean>;
  /** Replaces the client's secret hash and sets `secretRotatedAt`; false for an unknown client. */
  setClientSecret(id: string, secretHash: string, now: number): Promise<boolean>;
  /**
   * Records that a client assertion (RFC 7523 `private_key_jwt`) with this `jti` was used, until
   * `expiresAt`: true the first time, false while an earlier record of the same client and jti has
   * not expired (a replay). Atomic: of racers with one assertion exactly one gets true. Records
   * past their expiry may be replaced or deleted.
   */
  useClientAssertion(
    clientId: string,
    jti: string,
    expiresAt: number,
    now: number,
  ): Promise<boolean>;

  /**
   * Stores a passkey. False (and nothing stored) when a credential with this id is registered
   * already, to this user or another: the primary key decides, so of two racers registering one
   * credential exactly one gets true.
   */
  createPasskey(passkey: NewPasskey): Promise<boolean>;
  /** A passkey by its credential id; null when unknown. */
  findPasskey(id: string): Promise<Passkey | null>;
  /** The user's passkeys, oldest first (then by id). */
  listPasskeys(userId: string): Promise<Passkey[]>;
  /** Renames the user's passkey `id`; false for an unknown id or another user's passkey. */
  renamePasskey(userId: string, id: string, name: string, now: number): Promise<boolean>;
  /** Deletes the user's passkey `id`; false for an unknown id or another user's passkey. */
  deletePasskey(userId: string, id: string): Promise<boolean>;
  /**
   * Records a log-in with the passkey: its counter goes from `from` to `to` and `lastUsedAt` and
   * `backedUp` are set, only while the counter is still `from`, atomically: of two log-ins that
   * read the same counter exactly one moves it. False when it was not (gone, or moved meanwhile).
   */
  usePasskey(
    id: string,
    counter: { from: number; to: number },
    backedUp: boolean,
    now: number,
  ): Promise<boolean>;
  /**
   * Stores a WebAuthn challenge; challenges past their expiry are deleted in the same step, so
   * the table holds only live ones.
   */
  createWebAuthnChallenge(challenge: WebAuthnChallenge): Promise<void>;
  /**
   * Takes a live challenge of `ceremony` (deleting it): of any number of concurrent callers with
   * one challenge, exactly one gets it; the others, and a challenge unknown, expired or of the
   * other ceremony, get null.
   */
  consumeWebAuthnChallenge(
    challengeHash: string,
    ceremony: WebAuthnCeremony,
    now: number,
  ): Promise<WebAuthnChallenge | null>;

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

  // --- second factors ---------------------------------------------------------------------------
  // Deleting a user deletes their factors, recovery codes and challenges.

  /** The user's TOTP factor, pending or confirmed, or null. */
  findTotpFactor(userId: string): Promise<TotpFactor | null>;
  /**
   * Stores a pending TOTP enrolment, replacing a pending one. Refuses (false, nothing written)
   * when the user has a confirmed factor: enrolling again must not replace it unseen.
   */
  saveTotpFactor(factor: { userId: string; secret: string; createdAt: number }): Promise<boolean>;
  /**
   * Confirms the pending factor holding exactly `secret` (the one the code was checked against),
   * recording `step` as used, in one atomic step: of concurrent callers exactly one gets true.
   */
  confirmTotpFactor(userId: string, secret: string, step: number, now: number): Promise<boolean>;
  /**
   * Records `step` as used on the user's confirmed factor if it is later than the last one used,
   * atomically: of concurrent callers with the same step exactly one gets true (a code is
   * single-use, RFC 6238 §5.2), and an earlier step is refused once a later one was used.
   */
  useTotpStep(userId: string, step: number): Promise<boolean>;
  /** Deletes the user's TOTP factor. True when there was one. */
  deleteTotpFactor(userId: string): Promise<boolean>;

  /** Replaces every recovery code of the user with these hashes (none: the user has none). */
  replaceRecoveryCodes(userId: string, codeHashes: readonly string[], now: number): Promise<void>;
  /** Spends an unused recovery code of the user, atomically: exactly one caller gets true. */
  useRecoveryCode(userId: string, codeHash: string, now: number): Promise<boolean>;
  /** How many unused recovery codes the user has. */
  countRecoveryCodes(userId: string): Promise<number>;

  createMfaChallenge(challenge: NewMfaChallenge): Promise<void>;
  findMfaChallenge(tokenHash: string): Promise<MfaChallenge | null>;
  /**
   * Spends a challenge that is unused and unexpired at `now`, atomically: of concurrent callers
   * exactly one gets true.
   */
  consumeMfaChallenge(tokenHash: string, now: number): Promise<boolean>;
  /** Deletes challenges expired at `now`. Returns how many. */
  deleteExpiredMfaChallenges(now: number): Promise<number>;

  /** Appends a security event to the audit log. Events are never changed afterwards. */
  appendAuditEvent(event: AuditEvent): Promise<void>;
  /** Events newest first (`at`, then id, descending), filtered; see `AuditQuery`. */
  listAuditEvents(query: AuditQuery): Promise<AuditEvent[]>;
  /** Deletes the events older than `before` (ms; `at < before`): retention. Returns how many. */
  deleteAuditEventsBefore(before: number): Promise<number>;
}
