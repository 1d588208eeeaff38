// The auth domain's facade: register, log in, refresh (rotate, detect reuse), log out. No HTTP,
// no SQL: it speaks to a Store and a KeyRing, and reports failures as AuthServiceError. The work is done
// beside it, one concern per file: accounts.ts (new accounts and their policies), login.ts (the
// password check behind its budgets), sessions.ts (refresh-token families and their end).
import { type Store, StoreUnavailableError, type User } from '../store/types.ts';
import { createUserAccount } from './accounts.ts';
import { clientKeyOf } from './addresses.ts';
import { issueDeviceToken } from './device.ts';
import { AuthServiceError } from './errors.ts';
import type { SecurityEventSink } from './events.ts';
import { SecondFactors, type TotpEnrolment } from './factors.ts';
import type { KeyRing } from './keyring.ts';
import { type CounterStore, MemoryCounterStore, type RateLimits } from './limits.ts';
import { LoginGuard, type LoginInput } from './login.ts';
import { type Argon2Params, OWASP_ARGON2ID } from './password.ts';
import type { BreachedPasswordOptions } from './password-policy.ts';
import { type AccessClaims, type RevocationSink, Sessions, type TokenSet } from './sessions.ts';

export {
  type AccountInput,
  createUserAccount,
  insertUserAccount,
  type PublicUser,
  prepareUserAccount,
  toPublicUser,
} from './accounts.ts';
export type { SecurityEvent, SecurityEventSink } from './events.ts';
export { FACTOR_KINDS, type FactorKind, MFA_TOKEN_TTL, type TotpEnrolment } from './factors.ts';
export {
  type AccessClaims,
  type RevocationSink,
  SUCCESSOR_PURPOSE,
  type TokenSet,
} from './sessions.ts';

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
  /** The name authenticator apps show beside TOTP codes. Default `laissez`. */
  totpIssuer?: string;
  /**
   * Where security events go (a factor enrolled or removed, a recovery code used, too many wrong
   * codes): the seam of the audit log and the owner's mail. Default: dropped.
   */
  events?: SecurityEventSink;
}

/** What a second-factor management call needs: the password and a code of the factor. */
export interface ReauthInput {
  password?: unknown;
  code?: unknown;
  recovery_code?: unknown;
}

export class AuthService {
  readonly #store: Store;
  readonly #keyRing: KeyRing;
  readonly #now: () => number;
  readonly #passwordParams: Argon2Params;
  readonly #defaultRoles: readonly string[];
  readonly #breachedPasswords: BreachedPasswordOptions | undefined;
  readonly #logins: LoginGuard;
  readonly #sessions: Sessions;
  readonly #factors: SecondFactors;

  constructor(options: AuthServiceOptions) {
    this.#store = options.store;
    this.#keyRing = options.keyRing;
    this.#now = options.now ?? Date.now;
    this.#passwordParams = options.passwordParams ?? OWASP_ARGON2ID;
    this.#defaultRoles = options.defaultRoles ?? ['user'];
    this.#breachedPasswords = options.breachedPasswords;
    this.#logins = new LoginGuard({
      store: options.store,
      now: this.#now,
      passwordParams: this.#passwordParams,
      rateLimits: options.rateLimits,
      counters: options.counters ?? new MemoryCounterStore(),
    });
    this.#sessions = new Sessions({
      store: options.store,
      keyRing: options.keyRing,
      accessTtl: options.accessTtl,
      refreshTtl: options.refreshTtl,
      reuseGrace: options.reuseGrace,
      now: this.#now,
      revocations: options.revocations,
      onRevocationError: options.onRevocationError ?? (() => {}),
    });
    this.#factors = new SecondFactors({
      store: options.store,
      now: this.#now,
      deriveSecret: (purpose) => options.keyRing.deriveSecret(purpose),
      logins: this.#logins,
      passwordParams: this.#passwordParams,
      totpIssuer: options.totpIssuer ?? 'laissez',
      events: options.events,
    });
  }

  get keyRing(): KeyRing {
    return this.#keyRing;
  }

  /** Creates a user. Passwords are taken exactly as typed (8 to 1024 characters). */
  async register(input: {
    username: unknown;
    email: unknown;
    password: unknown;
    ip?: string;
  }): Promise<User> {
    if (input.ip !== undefined)
      await this.#logins.count(
        `register:ip:${clientKeyOf(input.ip)}`,
        this.#logins.limits.registerPerIp,
      );
    return createUserAccount(this.#store, {
      username: input.username,
      email: input.email,
      password: input.password,
      roles: this.#defaultRoles,
      passwordParams: this.#passwordParams,
      now: this.#now(),
      breachedPasswords: this.#breachedPasswords,
    });
  }

  /**
   * Checks username-or-email and password; on success returns tokens for that user only, and a
   * fresh device token for the client to present with its next log-ins. The answer, and the time
   * it takes, are the same whether the user exists or not. Every attempt is counted before the
   * password is hashed, against the account's budgets (RateLimits; see LoginGuard.check).
   */
  async login(input: LoginInput): Promise<{
    user: User;
    tokens: TokenSet;
    deviceToken: string;
  }> {
    const { user, passwordHash } = await this.#logins.check(input);
    // A second factor on: no tokens yet, but a challenge (401 mfa_required) to finish with.
    const factors = await this.#factors.factorsOf(user.id);
    if (factors.length > 0) throw await this.#factors.challenge(user, factors);
    const tokens = await this.#sessions.start(user, { amr: ['pwd'] });
    return {
      user,
      tokens,
      deviceToken: issueDeviceToken({ id: user.id, passwordHash }, this.#now()),
    };
  }

  /**
   * The log-in's second step: the `mfa_token` of a password step and a TOTP `code` or a
   * `recovery_code`. Tokens say `amr: ["pwd", "otp", "mfa"]` and the password step's time.
   */
  async verifySecondFactor(input: {
    mfa_token?: unknown;
    code?: unknown;
    recovery_code?: unknown;
  }): Promise<{ user: User; tokens: TokenSet; deviceToken: string }> {
    const { user, amr, authTime } = await this.#factors.verify(input);
    const tokens = await this.#sessions.start(user, { amr, authTime });
    return { user, tokens, deviceToken: issueDeviceToken(user, this.#now()) };
  }

  /** Starts (or restarts) a TOTP enrolment: the secret, its otpauth:// URI and a QR code. */
  async enrolTotp(userId: string): Promise<TotpEnrolment> {
    return this.#factors.enrolTotp(await this.#liveUser(userId));
  }

  /** Turns TOTP on with a first code; returns the ten recovery codes, shown this once. */
  async confirmTotp(userId: string, code: unknown): Promise<{ recovery_codes: string[] }> {
    return this.#factors.confirmTotp(await this.#liveUser(userId), code);
  }

  /** Turns TOTP off: the password and a code (or a recovery code). */
  async disableTotp(userId: string, input: ReauthInput): Promise<void> {
    await this.#factors.disableTotp(await this.#liveUser(userId), input);
  }

  /** Ten new recovery codes; the old ones stop working: the password and a code. */
  async regenerateRecoveryCodes(
    userId: string,
    input: ReauthInput,
  ): Promise<{ recovery_codes: string[] }> {
    return this.#factors.regenerateRecoveryCodes(await this.#liveUser(userId), input);
  }

  /** The kinds of second factor the user has on (empty: the password alone logs in). */
  factorsOf(userId: string) {
    return this.#factors.factorsOf(userId);
  }

  /** An administrator's reset of every second factor of the user. True when one was on. */
  resetSecondFactors(userId: string): Promise<boolean> {
    return this.#factors.reset(userId);
  }

  async #liveUser(userId: string): Promise<User> {
    return this.currentUser({ sub: userId } as AccessClaims);
  }

  /**
   * Lifts the lock-out of an account for clients without a device token (its shared budget), and
   * with `ip`, the budget of that address too: what an administrator or a completed password reset
   * does for an owner locked out by a guesser.
   */
  async unlock(userId: string, options: { ip?: string } = {}): Promise<void> {
    await this.#logins.unlock(userId, options);
  }

  /**
   * Exchanges a refresh token for a new pair and spends it (rotation). A spent token presented
   * again after the grace window means it was copied: the whole family is revoked.
   */
  refresh(token: unknown): Promise<TokenSet> {
    return this.#sessions.refresh(token);
  }

  /** Revokes the refresh token's family. Idempotent; says nothing about unknown tokens. */
  logout(token: unknown): Promise<void> {
    return this.#sessions.logout(token);
  }

  /** Revokes every refresh-token family of the user. */
  logoutAll(userId: string): Promise<number> {
    return this.#sessions.logoutAll(userId);
  }

  /** The user behind verified claims, fresh from the store. */
  async currentUser(claims: AccessClaims): Promise<User> {
    const user = await this.#store.findUserById(claims.sub);
    if (!user)
      throw new AuthServiceError('invalid_token', 'the user of this token no longer exists');
    if (user.disabled) throw new AuthServiceError('account_disabled', 'this account is disabled');
    return user;
  }
}

export { StoreUnavailableError };
