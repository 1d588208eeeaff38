// The auth domain's facade: register, log in, refresh (rotate, detect reuse), log out. No HTTP,
// no SQL: it speaks to a Store and a KeyRing, and reports failures as AuthServiceError. The work is done
// beside it, one concern per file: accounts.ts (new accounts and their policies), login.ts (the
// password check behind its budgets), sessions.ts (refresh-token families and their end).
import { type Store, StoreUnavailableError, type User } from '../store/types.ts';
import { createUserAccount } from './accounts.ts';
import { setAppMetadata } from './app-metadata.ts';
import { issueDeviceToken } from './device.ts';
import { AuthServiceError } from './errors.ts';
import type { KeyRing } from './keyring.ts';
import { type CounterStore, MemoryCounterStore, type RateLimits } from './limits.ts';
import { LoginGuard, type LoginInput } from './login.ts';
import { type Argon2Params, OWASP_ARGON2ID } from './password.ts';
import type { BreachedPasswordOptions } from './password-policy.ts';
import { checkRoleScopes, type RoleScopes } from './scopes.ts';
import {
  type AccessClaims,
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
export type { RoleScopes } from './scopes.ts';
export {
  type AccessClaims,
  type GrantInput,
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
  readonly #tokens: AccessTokens;
  readonly #clientId: string;

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
    this.#tokens = new AccessTokens({
      keyRing: options.keyRing,
      claims: options.claims,
      claimsTimeout: options.claimsTimeout,
      maxBytes: options.accessTokenMaxBytes,
      onRefusal: options.onTokenRefusal,
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
    });
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
      await this.#logins.count(`register:ip:${input.ip}`, this.#logins.limits.registerPerIp);
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
  async login(
    input: LoginInput & {
      /** RFC 6749 §3.3: the scopes asked for; absent, every scope the user's roles allow. */
      scope?: unknown;
      /** The request, for the claims function (`ip` above is the rate-limit key). */
      request?: RequestContext;
    },
  ): Promise<{
    user: User;
    tokens: TokenSet;
    deviceToken: string;
  }> {
    const { scope, request, ...credentials } = input;
    const { user, passwordHash } = await this.#logins.check(credentials);
    // The scope is checked once the password is: what a user's roles allow is theirs to learn.
    const tokens = await this.#sessions.start(user, {
      ...(scope !== undefined ? { scope } : {}),
      ...(request ? { request } : {}),
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
  refresh(
    token: unknown,
    grant: { scope?: unknown; request?: RequestContext } = {},
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
