// The auth domain's facade: register, log in, refresh (rotate, detect reuse), log out. No HTTP,
// no SQL: it speaks to a Store and a KeyRing, and reports failures as AuthServiceError. The work is done
// beside it, one concern per file: accounts.ts (new accounts and their policies), login.ts (the
// password check behind its budgets), sessions.ts (refresh-token families and their end).
import { type Session, type Store, StoreUnavailableError, type User } from '../store/types.ts';
import { AccountChanges, DEFAULT_NAME_RESERVATION } from './account-changes.ts';
import { AccountMail } from './account-mail.ts';
import { createUserAccount } from './accounts.ts';
import { clientKeyOf } from './addresses.ts';
import { setAppMetadata } from './app-metadata.ts';
import { type AuditSink, NO_AUDIT } from './audit.ts';
import { sessionClient } from './client-info.ts';
import { issueDeviceToken } from './device.ts';
import { AuthServiceError } from './errors.ts';
import { auditedEvents, type SecurityEventSink } from './events.ts';
import { SecondFactors, type TotpEnrolment } from './factors.ts';
import type { KeyRing } from './keyring.ts';
import { type CounterStore, MemoryCounterStore, type RateLimits } from './limits.ts';
import { LoginGuard, type LoginInput } from './login.ts';
import type { Mailer } from './mail.ts';
import { PasskeyAccount } from './passkey-account.ts';
import { type ClonedAuthenticator, Passkeys } from './passkeys.ts';
import { type Argon2Params, OWASP_ARGON2ID } from './password.ts';
import type { BreachedPasswordOptions } from './password-policy.ts';
import { checkRoleScopes, type RoleScopes } from './scopes.ts';
import {
  type AccessClaims,
  type GrantInput,
  type RequestContext,
  type RevocationSink,
  Sessions,
  type TokenSet,
} from './sessions.ts';
import {
  AccessTokens,
  type ClaimsFunction,
  FIRST_PARTY_CLIENT_ID,
  type TokenRefusal,
} from './tokens.ts';

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
  /**
   * Seconds the username and email of a deleted account stay reserved (registration refuses
   * them as taken). Default 30 days.
   */
  nameReservation?: number;
  /** Mail: the account flows that send links (account-mail.ts). Default: none of them. */
  mail?: MailSettings;
  /** The app's extra claims for each access token (docs/server.md, "Tokens"). Default: none. */
  claims?: ClaimsFunction;
  /** Milliseconds the claims function has. Default 1000. */
  claimsTimeout?: number;
  /** Largest access token, in bytes; a bigger one is refused, never sent. Default 1024. */
  accessTokenMaxBytes?: number;
  /** Scopes each role allows (`{ user: ['notes:read'] }`). Default: tokens carry no scope. */
  roleScopes?: RoleScopes;
  /** `client_id` of the tokens of log-ins (RFC 9068 §2.2). Default `laissez`. */
  clientId?: string;
  /** Told why an access token was not built (a failing claims function, the size budget). */
  onTokenRefusal?: (refusal: TokenRefusal) => void;
  /** The name authenticator apps show beside TOTP codes. Default `laissez`. */
  totpIssuer?: string;
  /**
   * Where security events go (a factor enrolled or removed, a recovery code used, too many wrong
   * codes): the seam of the audit log and the owner's mail. Default: dropped.
   */
  events?: SecurityEventSink;
  /** Passkeys (WebAuthn): the relying party. Default: the issuer's host and origin. */
  passkeys?: PasskeySettings;
}

/** The WebAuthn relying party (W3C WebAuthn §5.1.3) and where a cloned authenticator is told. */
export interface PasskeySettings {
  rpId: string;
  rpOrigins: readonly string[];
  /** The name browsers show. Default `laissez`. */
  rpName?: string;
  onCloned?: (event: ClonedAuthenticator) => void;
}

export interface MailSettings {
  mailer: Mailer;
  /** Where links point (the server's public URL). */
  publicUrl: string;
  /** The product's name in mails. */
  product: string;
  /** Registration sends a verification link and answers alike for new and taken emails. */
  verifyEmail: boolean;
  /** Log-in is refused (`email_not_verified`) until the email is verified. */
  requireVerifiedEmail: boolean;
  /** Sign-in links are offered. */
  signInLinks: boolean;
}

/** What a signed-in user's request brings besides its verified claims. */
export interface ClientContext {
  /** The rate-limit key of the client's address (clientKeyOf). */
  ip?: string | undefined;
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
  readonly #audit: AuditSink;
  readonly #account: AccountChanges;
  readonly #mail: AccountMail | undefined;
  readonly #requireVerifiedEmail: boolean;
  readonly #tokens: AccessTokens;
  readonly #clientId: string;
  readonly #factors: SecondFactors;
  readonly #passkeys: PasskeyAccount;

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
    this.#tokens = new AccessTokens({
      keyRing: options.keyRing,
      claims: options.claims,
      claimsTimeout: options.claimsTimeout,
      maxBytes: options.accessTokenMaxBytes,
      onRefusal: options.onTokenRefusal,
      emailVerifiedClaim: options.mail?.verifyEmail ?? false,
    });
    this.#clientId = options.clientId ?? FIRST_PARTY_CLIENT_ID;
    this.#sessions = new Sessions({
      store: options.store,
      keyRing: options.keyRing,
      tokens: this.#tokens,
      roleScopes:
        options.roleScopes === undefined
          ? undefined
          : checkRoleScopes(options.roleScopes, 'roleScopes'),
      clientId: this.#clientId,
      accessTtl: options.accessTtl,
      refreshTtl: options.refreshTtl,
      reuseGrace: options.reuseGrace,
      now: this.#now,
      revocations: options.revocations,
      onRevocationError: options.onRevocationError ?? (() => {}),
      audit: this.#audit,
    });
    // Security events go to the audit log, to the owner by mail (when the server has mail), and
    // to the caller's own sink. The mail flows are built below: the sink reads them when it fires.
    const events = auditedEvents(this.#audit, {
      emit: async (event) => {
        await this.#mail?.notifySecurityEvent(event);
        await options.events?.emit(event);
      },
    });
    // Passkeys default to the issuer's host and origin (a key ring always has an issuer; a
    // stand-in without one, in tests of other parts, gets a relying party no browser matches).
    const issuerText: unknown = options.keyRing.issuer;
    const issuer = typeof issuerText === 'string' ? new URL(issuerText) : undefined;
    const passkeys = new Passkeys({
      store: options.store,
      now: this.#now,
      rpId: options.passkeys?.rpId ?? issuer?.hostname ?? 'localhost',
      rpOrigins: options.passkeys?.rpOrigins ?? (issuer ? [issuer.origin] : []),
      rpName: options.passkeys?.rpName ?? 'laissez',
      ...(options.passkeys?.onCloned ? { onCloned: options.passkeys.onCloned } : {}),
      events,
    });
    this.#factors = new SecondFactors({
      store: options.store,
      now: this.#now,
      deriveSecret: (purpose) => options.keyRing.deriveSecret(purpose),
      logins: this.#logins,
      passwordParams: this.#passwordParams,
      totpIssuer: options.totpIssuer ?? 'laissez',
      events,
      passkeys,
    });
    this.#account = new AccountChanges({
      store: options.store,
      logins: this.#logins,
      sessions: this.#sessions,
      passwordParams: this.#passwordParams,
      breachedPasswords: options.breachedPasswords,
      nameReservation: options.nameReservation ?? DEFAULT_NAME_RESERVATION,
      now: this.#now,
      audit: this.#audit,
    });
    const mail = options.mail;
    this.#requireVerifiedEmail = mail?.requireVerifiedEmail ?? false;
    this.#mail = mail
      ? new AccountMail({
          ...mail,
          store: options.store,
          now: this.#now,
          passwordParams: this.#passwordParams,
          defaultRoles: this.#defaultRoles,
          breachedPasswords: this.#breachedPasswords,
          count: (key, limit) => this.#logins.count(key, limit),
          registerPerIp: this.#logins.limits.registerPerIp,
          endSessions: (userId) => this.#sessions.logoutAll(userId),
          unlock: (userId) => this.#logins.unlock(userId),
          audit: this.#audit,
        })
      : undefined;
    this.#passkeys = new PasskeyAccount({
      passkeys,
      currentUser: (claims) => this.currentUser(claims),
      count: (key, limit) => this.#logins.count(key, limit),
      accountPerUser: this.#logins.limits.accountPerUser,
      loginPerIp: this.#logins.limits.loginPerIp,
      // The grant carries the passkey's amr (RFC 8176), kept with the refresh-token family.
      startSession: (user, grant) => this.#sessions.start(user, grant),
      requireVerifiedEmail: this.#requireVerifiedEmail,
    });
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
  async startSession(
    user: User,
    grant: GrantInput = {},
    context: ClientContext = {},
  ): Promise<TokenSet> {
    const factors = await this.#factors.factorsOf(user.id);
    if (factors.length > 0) throw await this.#factors.challenge(user, factors, []);
    const tokens = await this.#sessions.start(user, grant);
    await this.#audit.record({
      type: 'login.succeeded',
      actor: user.id,
      subject: user.id,
      ip: context.ip ?? null,
      details: { method: 'link' },
    });
    return tokens;
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
  async login(
    input: LoginInput & {
      /** The client's address as the session list shows it (not the rate-limit key). */
      clientIp?: string;
      /** The User-Agent header: only a short device label of it is kept (client-info.ts). */
      userAgent?: unknown;
      /** RFC 6749 §3.3: the scopes asked for; absent, every scope the user's roles allow. */
      scope?: unknown;
      /** The request, for the claims function (`ip` above is the rate-limit key). */
      request?: RequestContext;
      /** The key thumbprint of the request's valid DPoP proof: binds the token and the family. */
      jkt?: string | undefined;
    },
  ): Promise<{
    user: User;
    tokens: TokenSet;
    deviceToken: string;
  }> {
    const { clientIp, userAgent, scope, request, jkt, ...credentials } = input;
    const { user, passwordHash } = await this.#logins.check(credentials);
    // Said only after the password proved right, so it tells nothing to a guesser.
    if (this.#requireVerifiedEmail && !user.emailVerified) {
      throw new AuthServiceError(
        'email_not_verified',
        'verify your email first: follow the link in the mail we sent, or ask for another',
      );
    }
    // A second factor on: no tokens yet, but a challenge (401 mfa_required) to finish with.
    const factors = await this.#factors.factorsOf(user.id);
    if (factors.length > 0) throw await this.#factors.challenge(user, factors, ['pwd']);
    // The scope is checked once the password is: what a user's roles allow is theirs to learn.
    const tokens = await this.#sessions.start(user, {
      ...(scope !== undefined ? { scope } : {}),
      ...(request ? { request } : {}),
      ...(jkt !== undefined ? { jkt } : {}),
      client: sessionClient(clientIp ?? credentials.ip, userAgent),
      amr: ['pwd'],
    });
    await this.#audit.record({
      type: 'login.succeeded',
      actor: user.id,
      subject: user.id,
      ip: credentials.ip === undefined ? null : clientKeyOf(credentials.ip),
      details: { method: 'password' },
    });
    return {
      user,
      tokens,
      deviceToken: issueDeviceToken({ id: user.id, passwordHash }, this.#now()),
    };
  }

  /**
   * The log-in's second step: the `mfa_token` of a password step and a TOTP `code`, a
   * `recovery_code` or a passkey's assertion (`credential`, made with the options of
   * `passkeySecondFactorOptions`). Tokens say `amr: ["pwd", "otp", "mfa"]` (a code) or
   * `["pwd", "hwk" | "swk", "mfa"]` (a passkey), and the password step's time.
   */
  async verifySecondFactor(input: {
    mfa_token?: unknown;
    code?: unknown;
    recovery_code?: unknown;
    credential?: unknown;
    /** RFC 6749 §3.3, as at /auth/login (the challenge does not keep the first step's). */
    scope?: unknown;
    /** The client's address as the session list shows it. */
    clientIp?: string;
    userAgent?: unknown;
    request?: RequestContext;
    /** RFC 9449: the thumbprint of the DPoP proof's key the tokens are bound to. */
    jkt?: string;
  }): Promise<{ user: User; tokens: TokenSet; deviceToken: string }> {
    const { scope, clientIp, userAgent, request, jkt, ...proof } = input;
    const { user, amr, authTime } = await this.#factors.verify(proof);
    const tokens = await this.#sessions.start(user, {
      ...(scope !== undefined ? { scope } : {}),
      ...(request ? { request } : {}),
      ...(jkt !== undefined ? { jkt } : {}),
      client: sessionClient(clientIp, userAgent),
      amr,
      authTime,
    });
    // The log-in is done only now: the password (or link) step recorded nothing.
    await this.#audit.record({
      type: 'login.succeeded',
      actor: user.id,
      subject: user.id,
      ip: clientIp === undefined ? null : clientKeyOf(clientIp),
      details: { method: 'second_factor', amr: amr.join(' ') },
    });
    return { user, tokens, deviceToken: issueDeviceToken(user, this.#now()) };
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
