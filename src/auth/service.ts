// The auth domain's facade: register, log in, refresh (rotate, detect reuse), log out. No HTTP,
// no SQL: it speaks to a Store and a KeyRing, and reports failures as AuthServiceError. The work is done
// beside it, one concern per file: accounts.ts (new accounts and their policies), login.ts (the
// password check behind its budgets), sessions.ts (refresh-token families and their end).
import { type Store, StoreUnavailableError, type User } from '../store/types.ts';
import { createUserAccount } from './accounts.ts';
import { type AuditSink, NO_AUDIT } from './audit.ts';
import { issueDeviceToken } from './device.ts';
import { AuthServiceError } from './errors.ts';
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
export { type AuditRecord, type AuditSink, storeAuditSink } from './audit.ts';
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
  /** Where security events are recorded (src/auth/audit.ts). Default: nowhere. */
  audit?: AuditSink;
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
  readonly #audit: AuditSink;

  constructor(options: AuthServiceOptions) {
    this.#audit = options.audit ?? NO_AUDIT;
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
      audit: this.#audit,
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
      audit: this.#audit,
    });
  }

  /** Where this service records security events: for flows built beside it (admin, account). */
  get audit(): AuditSink {
    return this.#audit;
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
      await this.#logins.count(`register:ip:${input.ip}`, this.#logins.limits.registerPerIp);
    const user = await createUserAccount(this.#store, {
      username: input.username,
      email: input.email,
      password: input.password,
      roles: this.#defaultRoles,
      passwordParams: this.#passwordParams,
      now: this.#now(),
      breachedPasswords: this.#breachedPasswords,
    });
    await this.#audit.record({
      type: 'user.registered',
      actor: user.id,
      subject: user.id,
      ip: input.ip ?? null,
    });
    return user;
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
    const tokens = await this.#sessions.start(user);
    await this.#audit.record({
      type: 'login.succeeded',
      actor: user.id,
      subject: user.id,
      ip: input.ip ?? null,
      details: { method: 'password' },
    });
    return {
      user,
      tokens,
      deviceToken: issueDeviceToken({ id: user.id, passwordHash }, this.#now()),
    };
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
  logout(token: unknown, context: { ip?: string } = {}): Promise<void> {
    return this.#sessions.logout(token, context.ip);
  }

  /** Revokes every refresh-token family of the user (the user's own "log out everywhere"). */
  async logoutAll(userId: string, context: { ip?: string } = {}): Promise<number> {
    const revoked = await this.#sessions.logoutAll(userId);
    await this.#audit.record({
      type: 'session.ended_all',
      actor: userId,
      subject: userId,
      ip: context.ip ?? null,
      details: { revoked },
    });
    return revoked;
  }

  /**
   * Ends every session of a user for someone else (an administrator, a disabled account):
   * revokes the families with `reason` and announces them; records nothing (the caller records
   * its own action).
   */
  endSessions(userId: string, reason: 'logout_all' | 'disabled' = 'logout_all'): Promise<number> {
    return this.#sessions.logoutAll(userId, reason);
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
