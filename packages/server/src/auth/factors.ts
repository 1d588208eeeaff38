// Second factors: TOTP, recovery codes, and the log-in's second step (an `mfa_token`
// challenge). No HTTP, no SQL. Factors join a small registry (`FACTOR_KINDS`): what a challenge
// offers is the list of kinds the user has. A passkey is one of them: its ceremony is
// passkeys.ts's, asked for with the challenge (`passkeyOptions`). The codes themselves (TOTP
// secrets sealed at rest, recovery codes hashed) are factor-codes.ts's.
import { randomBytes } from 'node:crypto';
import encodeQR from 'qr';
import type { Store, User } from '../store/types.ts';
import { clientKeyOf } from './addresses.ts';
import { AuthServiceError } from './errors.ts';
import { report, type SecurityEvent, type SecurityEventSink } from './events.ts';
import { checkCode, checkRecoveryCode, FactorCodes } from './factor-codes.ts';
import { sha256 } from './hash.ts';
import type { LoginGuard } from './login.ts';
import type { Passkeys } from './passkeys.ts';
import { type Argon2Params, verifyPassword } from './password.ts';

/** How long the `mfa_token` of a log-in's second step lives, seconds. */
export const MFA_TOKEN_TTL = 300;

/** The kinds of second factor a user can complete a log-in with. */
export const FACTOR_KINDS = ['totp', 'recovery_code', 'passkey'] as const;
export type FactorKind = (typeof FACTOR_KINDS)[number];

/** RFC 8176 §2 values a completed log-in gets. A recovery code is a one-time password too. */
const AMR_SECOND = ['otp', 'mfa'] as const;

const MFA_TOKEN = /^mfa_[A-Za-z0-9_-]{43}$/;

export interface SecondFactorsOptions {
  store: Store;
  now: () => number;
  /** HKDF of the key-encryption key (KeyRing.deriveSecret). */
  deriveSecret: (purpose: string) => Buffer;
  logins: LoginGuard;
  passwordParams: Argon2Params;
  /** The issuer shown in authenticator apps (`otpauth://totp/<issuer>:<user>`). */
  totpIssuer: string;
  events: SecurityEventSink | undefined;
  /** The passkey ceremonies: a passkey (WebAuthn assertion) as the second step. */
  passkeys: Passkeys;
}

/** A second step's proof: a code, a recovery code, or a passkey's assertion. */
export interface SecondFactorInput {
  code?: unknown;
  recovery_code?: unknown;
  /** A PublicKeyCredential (JSON) made with the options of `passkeyOptions`. */
  credential?: unknown;
}

export interface TotpEnrolment {
  /** Base32, for typing into an app that cannot scan. */
  secret: string;
  /** The otpauth:// URI (Key Uri Format) the QR code holds. */
  uri: string;
  /** The QR code as an SVG data URL. */
  qr: string;
}

/** What a completed second step proved. */
export interface SecondStep {
  user: User;
  amr: string[];
  /** When the password was checked (ms): the log-in's time. */
  authTime: number;
}

export class SecondFactors {
  readonly #o: SecondFactorsOptions;
  readonly #codes: FactorCodes;

  constructor(options: SecondFactorsOptions) {
    this.#o = options;
    this.#codes = new FactorCodes(options);
  }

  /** The refusal of a code, reported (`code_refused`: why and which kind, never the code). */
  #refused(
    userId: string,
    factor: 'totp' | 'recovery_code',
    reason: 'wrong' | 'replayed',
  ): AuthServiceError {
    this.#emit({ type: 'code_refused', userId, factor, reason });
    return wrongCode();
  }

  #emit(event: Omit<SecurityEvent, 'at'>): void {
    // Reported, never awaited into the answer: an audit or mail outage does not fail a log-in.
    report(this.#o.events, event, this.#o.now());
  }

  /**
   * The kinds of factor the user can finish a log-in with; empty: the password is enough. A
   * registered passkey is a factor: with one, a password log-in asks for it (or TOTP) too.
   */
  async factorsOf(userId: string): Promise<FactorKind[]> {
    const { store } = this.#o;
    const kinds: FactorKind[] = [];
    const totp = await store.findTotpFactor(userId);
    if (totp?.confirmedAt) {
      kinds.push('totp');
      if ((await store.countRecoveryCodes(userId)) > 0) kinds.push('recovery_code');
    }
    if ((await store.listPasskeys(userId)).length > 0) kinds.push('passkey');
    return kinds;
  }

  /** Starts (or restarts) a TOTP enrolment; refused while a confirmed factor exists. */
  async enrolTotp(user: User): Promise<TotpEnrolment> {
    const base32 = this.#codes.newSecret();
    const saved = await this.#o.store.saveTotpFactor({
      userId: user.id,
      secret: this.#codes.seal(user.id, base32),
      createdAt: this.#o.now(),
    });
    if (!saved) {
      throw new AuthServiceError(
        'factor_conflict',
        'TOTP is already on for this account; turn it off first (DELETE /auth/mfa/totp)',
      );
    }
    const uri = this.#codes.uri(user, base32);
    const qr = `data:image/svg+xml;base64,${Buffer.from(encodeQR(uri, 'svg')).toString('base64')}`;
    return { secret: base32, uri, qr };
  }

  /** Confirms a pending enrolment with a first code; returns the ten recovery codes (shown once). */
  async confirmTotp(user: User, code: unknown): Promise<{ recovery_codes: string[] }> {
    const text = checkCode(code);
    const factor = await this.#o.store.findTotpFactor(user.id);
    if (!factor || factor.confirmedAt !== null) {
      throw new AuthServiceError(
        'factor_conflict',
        factor
          ? 'TOTP is already on for this account'
          : 'start an enrolment first (POST /auth/mfa/totp)',
      );
    }
    const giveBack = await this.#o.logins.reserveSecondFactor(user.id);
    const step = this.#codes.stepOf(user, factor.secret, text);
    if (step === undefined) throw this.#refused(user.id, 'totp', 'wrong');
    // The factor confirmed is the one this code was checked against (a racing re-enrolment
    // replaces the secret, and then nothing is confirmed).
    if (!(await this.#o.store.confirmTotpFactor(user.id, factor.secret, step, this.#o.now()))) {
      throw new AuthServiceError('factor_conflict', 'the enrolment changed meanwhile; start again');
    }
    await giveBack();
    const codes = await this.#newRecoveryCodes(user.id);
    this.#emit({ type: 'totp_enrolled', userId: user.id });
    return { recovery_codes: codes };
  }

  async #newRecoveryCodes(userId: string): Promise<string[]> {
    const codes = this.#codes.newRecoveryCodes();
    await this.#o.store.replaceRecoveryCodes(
      userId,
      codes.map((c) => this.#codes.hashRecovery(userId, c)),
      this.#o.now(),
    );
    return codes;
  }

  /**
   * Checks a code against the user's confirmed factor: a TOTP code (its step spent, atomically)
   * or a recovery code (spent, atomically). Every check spends one attempt of the account's
   * budget first, given back when the code was right.
   */
  async #prove(user: User, input: SecondFactorInput): Promise<'totp' | 'recovery_code'> {
    const byRecovery = input.recovery_code !== undefined;
    if (byRecovery === (input.code !== undefined)) {
      throw new AuthServiceError('invalid_request', 'send either code or recovery_code', {
        field: 'code',
      });
    }
    const text = byRecovery ? checkRecoveryCode(input.recovery_code) : checkCode(input.code);
    const factor = await this.#o.store.findTotpFactor(user.id);
    if (!factor?.confirmedAt) {
      throw new AuthServiceError('factor_conflict', 'this account has no second factor on');
    }
    const giveBack = await this.#o.logins.reserveSecondFactor(user.id).catch((error: unknown) => {
      this.#emit({ type: 'second_factor_locked', userId: user.id });
      throw error;
    });
    if (byRecovery) {
      const ok = await this.#o.store.useRecoveryCode(
        user.id,
        this.#codes.hashRecovery(user.id, text),
        this.#o.now(),
      );
      if (!ok) throw this.#refused(user.id, 'recovery_code', 'wrong');
      await giveBack();
      this.#emit({
        type: 'recovery_code_used',
        userId: user.id,
        remaining: await this.#o.store.countRecoveryCodes(user.id),
      });
      return 'recovery_code';
    }
    const step = this.#codes.stepOf(user, factor.secret, text);
    if (step === undefined) throw this.#refused(user.id, 'totp', 'wrong');
    // Right code, but its step (or a later one) was used: a replay (RFC 6238 §5.2). Counted as a
    // failure.
    if (!(await this.#o.store.useTotpStep(user.id, step))) {
      throw this.#refused(user.id, 'totp', 'replayed');
    }
    await giveBack();
    return 'totp';
  }

  /**
   * The `mfa_required` refusal of a log-in whose first step was right, with its challenge: `amr`
   * says what that step proved (`['pwd']` for a password; nothing RFC 8176 names for a sign-in
   * link).
   */
  async challenge(
    user: User,
    kinds: FactorKind[],
    amr: readonly string[] = ['pwd'],
  ): Promise<AuthServiceError> {
    const now = this.#o.now();
    const token = `mfa_${randomBytes(32).toString('base64url')}`;
    await this.#o.store.createMfaChallenge({
      tokenHash: sha256(token),
      userId: user.id,
      amr: [...amr],
      authTime: now,
      expiresAt: now + MFA_TOKEN_TTL * 1000,
    });
    return new AuthServiceError(
      'mfa_required',
      amr.includes('pwd')
        ? 'the password is right; a second factor is required: POST /auth/mfa/verify'
        : 'a second factor is required: POST /auth/mfa/verify',
      { details: { mfa_token: token, expires_in: MFA_TOKEN_TTL, factors: kinds } },
    );
  }

  /** The live challenge of an `mfa_token` (unspent, unexpired) and its user. */
  async #challengeOf(
    token: unknown,
  ): Promise<{ user: User; hash: string; amr: readonly string[]; authTime: number }> {
    const expired = expiredChallenge;
    if (typeof token !== 'string' || !MFA_TOKEN.test(token)) throw expired();
    const { store } = this.#o;
    const hash = sha256(token);
    const challenge = await store.findMfaChallenge(hash);
    if (!challenge || challenge.usedAt !== null || challenge.expiresAt <= this.#o.now()) {
      throw expired();
    }
    const user = await store.findUserById(challenge.userId);
    if (!user) throw expired();
    if (user.disabled) throw new AuthServiceError('account_disabled', 'this account is disabled');
    return { user, hash, amr: challenge.amr, authTime: challenge.authTime };
  }

  /**
   * Options for a passkey as the log-in's second step (`navigator.credentials.get()` with the
   * user's own passkeys): the challenge of the password step names the user. It is not spent
   * here; the WebAuthn challenge made is bound to the user and used once. Counted per address,
   * as passwordless options are, so that no client fills the challenge table.
   */
  async passkeyOptions(input: { mfa_token?: unknown; ip?: string | undefined }) {
    const { user } = await this.#challengeOf(input.mfa_token);
    if (input.ip !== undefined) {
      await this.#o.logins.count(
        `passkey:options:ip:${clientKeyOf(input.ip)}`,
        this.#o.logins.limits.loginPerIp,
      );
    }
    if ((await this.#o.store.listPasskeys(user.id)).length === 0) {
      throw new AuthServiceError('factor_conflict', 'this account has no passkey');
    }
    return this.#o.passkeys.secondFactorOptions(user);
  }

  /**
   * A passkey's assertion as the second step, on the account's second-factor budget like a
   * code (an assertion that fails spends one attempt): its `amr` (`hwk` or `swk`, `mfa` when
   * the authenticator verified its user).
   */
  async #provePasskey(user: User, credential: unknown): Promise<string[]> {
    const giveBack = await this.#o.logins.reserveSecondFactor(user.id).catch((error: unknown) => {
      this.#emit({ type: 'second_factor_locked', userId: user.id });
      throw error;
    });
    const proof = await this.#o.passkeys.verifyForUser(user, credential);
    await giveBack();
    return proof.amr;
  }

  /**
   * The log-in's second step: the challenge of the password step and a code, a recovery code or
   * a passkey's assertion. The challenge is spent only once the proof is right (a wrong code
   * may be retried within the budget), and then atomically: of two requests with one
   * challenge, one gets tokens. Tokens say the first step's `amr`, the factor's and `mfa`
   * (RFC 8176 §2: two factors were proved, whatever the authenticator said of its user).
   */
  async verify(input: { mfa_token?: unknown } & SecondFactorInput): Promise<SecondStep> {
    const { user, hash, amr, authTime } = await this.#challengeOf(input.mfa_token);
    let second: readonly string[];
    if (input.credential !== undefined) {
      if (input.code !== undefined || input.recovery_code !== undefined) {
        throw new AuthServiceError(
          'invalid_request',
          'send one of code, recovery_code or credential',
          { field: 'credential' },
        );
      }
      second = [...(await this.#provePasskey(user, input.credential)), 'mfa'];
    } else {
      await this.#prove(user, input);
      second = AMR_SECOND;
    }
    if (!(await this.#o.store.consumeMfaChallenge(hash, this.#o.now()))) throw expiredChallenge();
    return { user, amr: [...new Set([...amr, ...second])], authTime };
  }

  /** Checks the password (on the second-factor budget) then a code: what disabling needs. */
  async #reauthenticate(
    user: User,
    input: { password?: unknown; code?: unknown; recovery_code?: unknown },
  ): Promise<void> {
    if (typeof input.password !== 'string' || input.password === '') {
      throw new AuthServiceError('invalid_request', 'password is required', { field: 'password' });
    }
    const giveBack = await this.#o.logins.reserveSecondFactor(user.id);
    const { ok } = await verifyPassword(input.password, user.passwordHash, this.#o.passwordParams);
    if (!ok) {
      throw new AuthServiceError('invalid_credentials', 'the password is not right');
    }
    await giveBack();
    // A code or a recovery code: the routes that turn a factor off take no assertion.
    await this.#prove(user, { code: input.code, recovery_code: input.recovery_code });
  }

  /** Turns TOTP off (and drops the recovery codes): the password and a code. */
  async disableTotp(
    user: User,
    input: { password?: unknown; code?: unknown; recovery_code?: unknown },
  ): Promise<void> {
    await this.#reauthenticate(user, input);
    await this.#o.store.deleteTotpFactor(user.id);
    await this.#o.store.replaceRecoveryCodes(user.id, [], this.#o.now());
    this.#emit({ type: 'totp_disabled', userId: user.id });
  }

  /** New recovery codes (the old ones stop working): the password and a code. */
  async regenerateRecoveryCodes(
    user: User,
    input: { password?: unknown; code?: unknown; recovery_code?: unknown },
  ): Promise<{ recovery_codes: string[] }> {
    await this.#reauthenticate(user, input);
    const codes = await this.#newRecoveryCodes(user.id);
    this.#emit({ type: 'recovery_codes_regenerated', userId: user.id });
    return { recovery_codes: codes };
  }

  /** An administrator's reset: every second factor of the user is removed. */
  async reset(userId: string): Promise<boolean> {
    const had = await resetSecondFactors(this.#o.store, userId, this.#o.now());
    this.#emit({ type: 'second_factors_reset', userId });
    return had;
  }
}

/**
 * Removes every second factor of a user (TOTP, recovery codes and passkeys): an administrator's
 * reset for an owner who lost their device. The CLI calls it on the store directly (no
 * key-encryption key needed). True when a factor was on or pending.
 */
export async function resetSecondFactors(
  store: Store,
  userId: string,
  now: number,
): Promise<boolean> {
  const had = await store.deleteTotpFactor(userId);
  const codes = await store.countRecoveryCodes(userId);
  if (codes > 0) await store.replaceRecoveryCodes(userId, [], now);
  let passkeys = 0;
  for (const passkey of await store.listPasskeys(userId)) {
    if (await store.deletePasskey(userId, passkey.id)) passkeys++;
  }
  return had || codes > 0 || passkeys > 0;
}

function expiredChallenge(): AuthServiceError {
  return new AuthServiceError(
    'invalid_grant',
    'the mfa_token is unknown, used or expired; log in again',
  );
}

function wrongCode(): AuthServiceError {
  return new AuthServiceError('invalid_code', 'the code is not right, or was used already');
}
