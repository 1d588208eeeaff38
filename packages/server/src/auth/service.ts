// The auth domain's facade: register, log in, refresh (rotate, detect reuse), log out. No HTTP,
// no SQL: it speaks to a Store and a KeyRing, and reports failures as AuthServiceError. The work is done
// beside it, one concern per file: accounts.ts (new accounts and their policies), login.ts (the
// password check behind its budgets), log-ins.ts (the log-ins that end in a session), sessions.ts
// (refresh-token families and their end). Its options are in service-options.ts, and
// service-parts.ts builds and wires those parts.
import { type Session, type Store, StoreUnavailableError, type User } from '../store/types.ts';
import type { AccountChanges } from './account-changes.ts';
import type { AccountMail } from './account-mail.ts';
import { createUserAccount } from './accounts.ts';
import { clientKeyOf } from './addresses.ts';
import { setAppMetadata } from './app-metadata.ts';
import type { AuditSink } from './audit.ts';
import { AuthServiceError } from './errors.ts';
import type { SecondFactors, TotpEnrolment } from './factors.ts';
import type { KeyRing } from './keyring.ts';
import { type LoggedIn, LogIns, type PasswordLogIn, type SecondStepLogIn } from './log-ins.ts';
import type { LoginGuard } from './login.ts';
import type { PasskeyAccount } from './passkey-account.ts';
import type { Argon2Params } from './password.ts';
import type { BreachedPasswordOptions } from './password-policy.ts';
import type { AuthServiceOptions, ClientContext, ReauthInput } from './service-options.ts';
import { buildServiceParts } from './service-parts.ts';
import type { AccessClaims, GrantInput, RequestContext, Sessions, TokenSet } from './sessions.ts';
import type { AccessTokens } from './tokens.ts';

export {
  type AccountInput,
  createUserAccount,
  insertUserAccount,
  type PublicUser,
  prepareUserAccount,
  toPublicUser,
} from './accounts.ts';
export { APP_METADATA_MAX_BYTES, checkAppMetadata } from './app-metadata.ts';
export { type AuditRecord, type AuditSink, storeAuditSink } from './audit.ts';
export type { SecurityEvent, SecurityEventSink } from './events.ts';
export { FACTOR_KINDS, type FactorKind, MFA_TOKEN_TTL, type TotpEnrolment } from './factors.ts';
export type { RoleScopes } from './scopes.ts';
export type {
  AuthServiceOptions,
  ClientContext,
  MailSettings,
  PasskeySettings,
  ReauthInput,
} from './service-options.ts';
export {
  type AccessClaims,
  type GrantInput,
  type LogInGrant,
  type RequestContext,
  type RevocationSink,
  SUCCESSOR_PURPOSE,
  type TokenSet,
} from './sessions.ts';
export {
  ACCESS_TOKEN_MAX_BYTES,
  type AccessTokenRequest,
  AccessTokens,
  CLAIMS_TIMEOUT,
  type ClaimsContext,
  type ClaimsFunction,
  type ClaimsUser,
  FIRST_PARTY_CLIENT_ID,
  RESERVED_CLAIMS,
  type TokenRefusal,
} from './tokens.ts';

export class AuthService {
  readonly #store: Store;
  readonly #keyRing: KeyRing;
  readonly #now: () => number;
  readonly #passwordParams: Argon2Params;
  readonly #defaultRoles: readonly string[];
  readonly #breachedPasswords: BreachedPasswordOptions | undefined;
  readonly #logins: LoginGuard;
  /** Log-ins that end in a session: password, second step, sign-in link (log-ins.ts). */
  readonly #logIns: LogIns;
  readonly #sessions: Sessions;
  readonly #audit: AuditSink;
  readonly #account: AccountChanges;
  readonly #mail: AccountMail | undefined;
  readonly #tokens: AccessTokens;
  readonly #clientId: string;
  readonly #factors: SecondFactors;
  readonly #passkeys: PasskeyAccount;

  constructor(options: AuthServiceOptions) {
    this.#store = options.store;
    this.#keyRing = options.keyRing;
    this.#breachedPasswords = options.breachedPasswords;
    const parts = buildServiceParts(options, (claims) => this.currentUser(claims));
    this.#now = parts.now;
    this.#passwordParams = parts.passwordParams;
    this.#defaultRoles = parts.defaultRoles;
    this.#audit = parts.audit;
    this.#logins = parts.logins;
    this.#tokens = parts.tokens;
    this.#clientId = parts.clientId;
    this.#sessions = parts.sessions;
    this.#factors = parts.factors;
    this.#account = parts.account;
    this.#mail = parts.mail;
    this.#passkeys = parts.passkeys;
    this.#logIns = new LogIns(parts);
  }

  /** Passkeys: registration, the user's list, passwordless log-in (passkey-account.ts). */
  get passkeys(): PasskeyAccount {
    return this.#passkeys;
  }

  /** The flows that send links by mail; undefined when the server has no mail. */
  get mail(): AccountMail | undefined {
    return this.#mail;
  }

  /** Where this service records security events: for flows built beside it (admin, account). */
  get audit(): AuditSink {
    return this.#audit;
  }

  /**
   * Starts a session for a user who proved who they are another way (a sign-in link). The link
   * stands in for the password only: with a second factor on, the answer is the same
   * `mfa_required` challenge as a log-in's, and tokens come from `verifySecondFactor`. RFC 8176
   * registers no method for a mailed link, so such a session's tokens carry no `amr` unless a
   * second factor completes it (`["otp", "mfa"]`).
   */
  startSession(user: User, grant: GrantInput = {}, context: ClientContext = {}): Promise<TokenSet> {
    return this.#logIns.link(user, grant, context);
  }

  get keyRing(): KeyRing {
    return this.#keyRing;
  }

  /**
   * Builds access tokens (the claims function, reserved claims, the size budget): for grants
   * other than log-in and refresh, such as client credentials, `accessTokens.issue(...)`.
   */
  get accessTokens(): AccessTokens {
    return this.#tokens;
  }

  /** The first-party client id: `client_id` of the tokens of log-ins. */
  get clientId(): string {
    return this.#clientId;
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
  login(input: PasswordLogIn): Promise<LoggedIn> {
    return this.#logIns.password(input);
  }

  /**
   * The log-in's second step: the `mfa_token` of a password step and a TOTP `code`, a
   * `recovery_code` or a passkey's assertion (`credential`, made with the options of
   * `passkeySecondFactorOptions`). Tokens say `amr: ["pwd", "otp", "mfa"]` (a code) or
   * `["pwd", "hwk" | "swk", "mfa"]` (a passkey), and the password step's time.
   */
  verifySecondFactor(input: SecondStepLogIn): Promise<LoggedIn> {
    return this.#logIns.secondStep(input);
  }

  /**
   * WebAuthn request options for a passkey as the log-in's second step: the `mfa_token` of the
   * password step names the user (it stays unspent until `verifySecondFactor`). `ip` is the
   * rate-limit key's address.
   */
  passkeySecondFactorOptions(input: { mfa_token?: unknown; ip?: string }) {
    return this.#factors.passkeyOptions(input);
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

  /**
   * An administrator's reset of every second factor of the user: TOTP, recovery codes and
   * passkeys. True when one was on.
   */
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
  refresh(
    token: unknown,
    grant: { scope?: unknown; request?: RequestContext; jkt?: string | undefined } = {},
  ): Promise<TokenSet> {
    return this.#sessions.refresh(token, grant);
  }

  /**
   * Replaces a user's app metadata (administrators only: no route of the user's own reaches
   * this). `invalid_request` when it is not a JSON object within APP_METADATA_MAX_BYTES; false
   * when there is no such user.
   */
  setAppMetadata(userId: string, metadata: unknown): Promise<boolean> {
    return setAppMetadata(this.#store, userId, metadata, this.#now());
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

  /** The live sessions of the user behind `claims`, most recently used first. */
  async listSessions(claims: AccessClaims): Promise<Session[]> {
    const user = await this.currentUser(claims);
    await this.#countAccountRequest(user);
    return this.#sessions.list(user.id);
  }

  /**
   * Ends one session of the user behind `claims` (the current one too), revoking its refresh
   * family and announcing it. An unknown, ended or another user's session: `session_not_found`,
   * the same answer for each.
   */
  async endSession(claims: AccessClaims, sid: string, context: ClientContext = {}): Promise<void> {
    const user = await this.currentUser(claims);
    await this.#countAccountRequest(user);
    if (!(await this.#sessions.end(user.id, sid))) {
      throw new AuthServiceError('session_not_found', 'no such session of yours');
    }
    await this.#audit.record({
      type: 'session.ended',
      actor: user.id,
      subject: user.id,
      ip: context.ip ?? null,
      details: { sid },
    });
  }

  /**
   * Changes the password of the user behind `claims` (see AccountChanges.changePassword): the
   * current session stays, every other one ends. Returns how many ended.
   */
  async changePassword(
    claims: AccessClaims,
    input: { currentPassword: unknown; newPassword: unknown } & ClientContext,
  ): Promise<number> {
    const user = await this.currentUser(claims);
    await this.#countAccountRequest(user);
    return this.#account.changePassword(user, { ...input, sid: claims.sid });
  }

  /** Deletes the account behind `claims` after checking its password (AccountChanges.deleteAccount). */
  async deleteAccount(
    claims: AccessClaims,
    input: { password: unknown } & ClientContext,
  ): Promise<void> {
    const user = await this.currentUser(claims);
    await this.#countAccountRequest(user);
    await this.#account.deleteAccount(user, input.password, input.ip);
  }

  /** One request to the user's own account routes, against `accountPerUser`. */
  #countAccountRequest(user: User): Promise<void> {
    return this.#logins.count(`account:u:${user.id}`, this.#logins.limits.accountPerUser);
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
