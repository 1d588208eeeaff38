// Second factors (TOTP, recovery codes) and the log-in challenges that wait for one: the records
// and the part of the `Store` contract that keeps them.

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
 * Second factors: TOTP factors, recovery codes and the log-in challenges awaiting a factor.
 * Deleting a user deletes their factors, recovery codes and challenges.
 */
export interface SecondFactorStore {
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
}
