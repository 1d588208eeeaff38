// The users of the store: their records and the part of the `Store` contract that keeps them
// (accounts, their names and emails, and the reservations a deleted account leaves behind).

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
   * object, `{}` until set. The claims function of the auth server reads it (docs/tokens.md,
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

/**
 * The user `createUser` stores and returns for `user`: email lower-cased, roles copied, neither
 * disabled nor verified, no app metadata, `updatedAt` = `createdAt`.
 */
export function createdUser(user: NewUser): User {
  return {
    id: user.id,
    username: user.username,
    email: user.email.toLowerCase(),
    passwordHash: user.passwordHash,
    roles: [...user.roles],
    disabled: false,
    emailVerified: false,
    createdAt: user.createdAt,
    updatedAt: user.createdAt,
    appMetadata: {},
  };
}

/** Users: accounts, looked up by id, username key or email, and the names a deletion reserves. */
export interface UserStore {
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
}
