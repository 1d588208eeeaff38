// One-time tokens (links sent by mail: verification, password reset, sign-in, email change): the
// records and the part of the `Store` contract that stores and consumes them.

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

/** One-time tokens: single-use links sent by mail. */
export interface OneTimeTokenStore {
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
}
