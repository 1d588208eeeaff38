// The auth domain: register, log in, refresh (rotate, detect reuse), log out. No HTTP, no SQL:
// it speaks to a Store and a KeyRing, and reports failures as AuthError.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import {
  ConflictError,
  type NewRefreshToken,
  type NewUser,
  type RefreshToken,
  type Store,
  StoreUnavailableError,
  type User,
  unrotatable,
} from '../store/types.ts';
import { usernameKey } from '../store/username-key.ts';
import { issueDeviceToken, readDeviceToken } from './device.ts';
import { AuthError } from './errors.ts';
import type { KeyRing } from './keyring.ts';
import {
  type CounterStore,
  DEFAULT_RATE_LIMITS,
  type Limit,
  MemoryCounterStore,
  type RateLimits,
  resolveRateLimits,
} from './limits.ts';
import {
  type Argon2Params,
  createDummyHash,
  hashPassword,
  OWASP_ARGON2ID,
  PASSWORD_MAX,
  PASSWORD_MIN,
  verifyPassword,
} from './password.ts';
import {
  type BreachedPasswordOptions,
  checkPasswordStrength,
  isBreachedPassword,
} from './password-policy.ts';
import { checkUsername } from './username.ts';

export interface AuthOptions {
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
}

/** Receives ended sessions (`sid`) and until when their access tokens could still be presented. */
export interface RevocationSink {
  revoke(sid: string, untilMs: number): Promise<void>;
}

export interface TokenSet {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  refresh_expires_in: number;
}

export interface PublicUser {
  id: string;
  username: string;
  email: string;
  roles: readonly string[];
  created_at: string;
}

/** Claims of a verified access token. */
export interface AccessClaims {
  sub: string;
  sid: string;
  roles: string[];
  jti: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string | string[];
  [claim: string]: unknown;
}

// Deliberately plain: one @, no spaces or controls, a dot in the domain. Delivery proves the rest.
const EMAIL = /^[^\s@\p{C}]{1,64}@[^\s@\p{C}]+\.[^\s@\p{C}]+$/u;
const REFRESH_TOKEN = /^rt_[A-Za-z0-9_-]{43}$/;

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

/** The store's name of the secret that derives refresh-token successors. */
export const SUCCESSOR_SECRET = 'refresh-successor';

/**
 * The successor of a refresh token: derived from it with the server's secret, so every request
 * that spends the same token (racing tabs, on any instance) names the same successor, and the
 * family never forks. Without the secret, a spent token says nothing about its successor.
 */
const successorOf = (secret: Buffer, token: string) =>
  `rt_${createHmac('sha256', secret).update(token).digest('base64url')}`;

/**
 * How many rotations a request within the grace window may follow to reach the live token of its
 * family: a tab that raced a rotation which was itself rotated again a moment later. More than
 * this within one grace window is not racing tabs.
 */
const MAX_HOPS = 8;
const newId = (bytes = 9) => randomBytes(bytes).toString('base64url');

export function toPublicUser(user: User): PublicUser {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    roles: user.roles,
    created_at: new Date(user.createdAt).toISOString(),
  };
}

/** The characters of a string as a person counts them (code points). */
const length = (text: string) => [...text].length;

function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string')
    throw new AuthError('invalid_request', `${field} must be a string`, { field });
  return value;
}

/**
 * A password string that is well-formed Unicode: a lone surrogate would be encoded as U+FFFD,
 * so two different strings would hash alike; such a string is refused, never replaced.
 */
function requirePassword(value: unknown): string {
  const password = requireString(value, 'password');
  if (!password.isWellFormed()) {
    throw new AuthError(
      'invalid_request',
      'password must be well-formed Unicode (it contains a lone surrogate)',
      { field: 'password' },
    );
  }
  return password;
}

/** Checks a password's type and length (code points, exactly as typed). */
function checkPassword(value: unknown): string {
  const password = requirePassword(value);
  const n = length(password);
  if (n < PASSWORD_MIN || n > PASSWORD_MAX) {
    throw new AuthError(
      'invalid_request',
      `password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`,
      { field: 'password' },
    );
  }
  return password;
}

const ROLE = /^[a-z][a-z0-9_:-]{0,31}$/;

interface AccountInput {
  username: unknown;
  email: unknown;
  password: unknown;
  roles: readonly string[];
  passwordParams: Argon2Params;
  now: number;
  /** Also refuse passwords this range service lists as breached. */
  breachedPasswords?: BreachedPasswordOptions | undefined;
}

/**
 * Validates a new account and hashes its password: the slow half of registration, safe to run
 * several at once. `insertUserAccount` stores the result.
 * @throws AuthError `invalid_request` or `weak_password`, naming the field.
 */
export async function prepareUserAccount(input: AccountInput): Promise<NewUser> {
  const username = checkUsername(requireString(input.username, 'username'));
  const email = requireString(input.email, 'email').normalize('NFC').toLowerCase();
  if (email.length > 254 || !EMAIL.test(email)) {
    throw new AuthError('invalid_request', 'email must be an address like name@example.com', {
      field: 'email',
    });
  }
  for (const role of input.roles) {
    if (!ROLE.test(role)) {
      throw new AuthError(
        'invalid_request',
        'a role is 1 to 32 lower-case letters, digits, "_", ":" or "-", starting with a letter',
        { field: 'roles' },
      );
    }
  }
  const password = checkPassword(input.password);
  await checkPasswordStrength(password, { username: usernameKey(username), email });
  if (input.breachedPasswords && (await isBreachedPassword(password, input.breachedPasswords))) {
    throw new AuthError(
      'weak_password',
      'password appears in known data breaches; choose another',
      { field: 'password' },
    );
  }
  return {
    id: newId(),
    username,
    email,
    passwordHash: await hashPassword(password, input.passwordParams),
    roles: [...new Set(input.roles)],
    createdAt: input.now,
  };
}

/**
 * Stores a prepared account.
 * @throws AuthError `username_taken` or `email_taken`.
 */
export async function insertUserAccount(store: Store, user: NewUser): Promise<User> {
  try {
    return await store.createUser(user);
  } catch (error) {
    if (error instanceof ConflictError) {
      throw new AuthError(
        error.field === 'username' ? 'username_taken' : 'email_taken',
        `that ${error.field} is already registered`,
        { field: error.field },
      );
    }
    throw error;
  }
}

/**
 * Validates and stores a new user with a hashed password: what `POST /auth/register` does (after
 * its rate limit) and what `laissez users add` does.
 */
export async function createUserAccount(store: Store, input: AccountInput): Promise<User> {
  return insertUserAccount(store, await prepareUserAccount(input));
}

export class AuthService {
  readonly #o: Required<
    Omit<AuthOptions, 'counters' | 'revocations' | 'onRevocationError' | 'breachedPasswords'>
  > & {
    breachedPasswords: BreachedPasswordOptions | undefined;
    counters: CounterStore;
    revocations: RevocationSink | undefined;
    onRevocationError: (error: unknown) => void;
  };
  readonly #dummyHash: Promise<string>;
  readonly #limits: Readonly<Required<RateLimits>>;
  #successorSecret: Promise<Buffer> | undefined;

  constructor(options: AuthOptions) {
    this.#o = {
      now: Date.now,
      passwordParams: OWASP_ARGON2ID,
      rateLimits: DEFAULT_RATE_LIMITS,
      counters: new MemoryCounterStore(),
      defaultRoles: ['user'],
      revocations: undefined,
      breachedPasswords: undefined,
      onRevocationError: () => {},
      ...options,
    };
    this.#limits = resolveRateLimits(options.rateLimits);
    this.#o.rateLimits = this.#limits;
    this.#dummyHash = createDummyHash(this.#o.passwordParams);
    // An unhandled rejection here would crash the process before the first log-in asks for it.
    this.#dummyHash.catch(() => {});
    // Read (or made) at once, so that no refresh waits for it; asked again after a failure.
    this.#secret().catch(() => {});
  }

  /** The secret that derives successors, shared by every instance through the store. */
  #secret(): Promise<Buffer> {
    this.#successorSecret ??= this.#o.store
      .ensureSecret(SUCCESSOR_SECRET, randomBytes(32).toString('base64url'), this.#o.now())
      .then((text) => Buffer.from(text, 'base64url'));
    this.#successorSecret.catch(() => {
      this.#successorSecret = undefined;
    });
    return this.#successorSecret;
  }

  get keyRing(): KeyRing {
    return this.#o.keyRing;
  }

  /** Creates a user. Passwords are taken exactly as typed (8 to 1024 characters). */
  async register(input: {
    username: unknown;
    email: unknown;
    password: unknown;
    ip?: string;
  }): Promise<User> {
    if (input.ip !== undefined)
      await this.#limit(`register:ip:${input.ip}`, this.#o.rateLimits.registerPerIp);
    return createUserAccount(this.#o.store, {
      username: input.username,
      email: input.email,
      password: input.password,
      roles: this.#o.defaultRoles,
      passwordParams: this.#o.passwordParams,
      now: this.#o.now(),
      breachedPasswords: this.#o.breachedPasswords,
    });
  }

  async #limit(key: string, limit: Limit): Promise<void> {
    const now = this.#o.now();
    const { count, resetAt } = await this.#o.counters.hit(key, limit.window * 1000, now);
    if (count > limit.max) {
      throw new AuthError('too_many_requests', 'too many attempts; wait before trying again', {
        retryAfter: Math.max(1, Math.ceil((resetAt - now) / 1000)),
      });
    }
  }

  /**
   * Checks username-or-email and password; on success returns tokens for that user only, and a
   * fresh device token for the client to present with its next log-ins. The answer, and the time
   * it takes, are the same whether the user exists or not.
   *
   * Every attempt is counted before the password is hashed (`CounterStore.reserve`), against the
   * account's budgets (RateLimits): a client presenting a valid device token of the account spends
   * that device's budget only; any other client spends its address's budget and the budget shared
   * by all such clients. Of N attempts at once, at most the budget is hashed; the rest are 429.
   * A success gives its attempt back.
   */
  async login(input: {
    username?: unknown;
    email?: unknown;
    password: unknown;
    ip?: string;
    /** The device token an earlier successful log-in gave this client, if any. */
    deviceToken?: unknown;
  }): Promise<{
    user: User;
    tokens: TokenSet;
    deviceToken: string;
  }> {
    const { username, email } = input;
    if ((username === undefined) === (email === undefined)) {
      throw new AuthError('invalid_request', 'send either username or email, and password', {
        field: 'username',
      });
    }
    // The username's RFC 8265 key, so `ODIN` and fullwidth `ｏｄｉｎ` are odin (and share its
    // failure counter); the email lower-cased, as stored.
    const login =
      username !== undefined
        ? usernameKey(requireString(username, 'username'))
        : requireString(email, 'email').normalize('NFC').toLowerCase();
    const password = requirePassword(input.password);
    if (length(password) > PASSWORD_MAX) {
      throw new AuthError(
        'invalid_request',
        `password must be at most ${PASSWORD_MAX} characters`,
        { field: 'password' },
      );
    }
    const limits = this.#limits;
    if (input.ip !== undefined) await this.#limit(`login:ip:${input.ip}`, limits.loginPerIp);

    const { store } = this.#o;
    const user =
      username !== undefined
        ? await store.findUserByUsername(login)
        : await store.findUserByEmail(login);
    // One budget per account, whichever of its names is typed. A name no account has is counted
    // under the name, by the same rules, so that the limits say nothing about which names exist.
    const account = user ? `u:${user.id}` : `n:${login}`;
    const device =
      user && input.deviceToken !== undefined
        ? readDeviceToken(input.deviceToken, user, this.#o.now())
        : undefined;
    const reserved = await this.#reserveAttempt(account, device, input.ip);

    let verified: Awaited<ReturnType<typeof verifyPassword>>;
    try {
      const hash = user?.passwordHash ?? (await this.#dummyHash);
      verified = await verifyPassword(password, hash, this.#o.passwordParams);
    } catch (error) {
      // Not a guess that was checked: the attempt is given back.
      await this.#giveBack(reserved);
      throw error;
    }
    const { ok, needsRehash } = verified;
    if (!user || !ok) {
      // The reserved attempts stay counted: they are this failure.
      throw new AuthError('invalid_credentials', 'the username, email or password is not right');
    }
    // The password was right: this attempt is not a failure. Earlier failures still count until
    // their window ends (`unlock` clears the account's).
    await this.#giveBack(reserved);
    if (user.disabled) throw new AuthError('account_disabled', 'this account is disabled');
    let passwordHash = user.passwordHash;
    if (needsRehash) {
      passwordHash = await hashPassword(password, this.#o.passwordParams);
      await store.updatePasswordHash(user.id, passwordHash, this.#o.now());
    }
    const familyId = newId();
    const now = this.#o.now();
    const expiresAt = now + this.#o.refreshTtl * 1000;
    const refresh = `rt_${randomBytes(32).toString('base64url')}`;
    await store.createRefreshToken({
      tokenHash: sha256(refresh),
      familyId,
      userId: user.id,
      createdAt: now,
      expiresAt,
    });
    return {
      user,
      tokens: this.#tokens(user, familyId, refresh, expiresAt, now),
      deviceToken: issueDeviceToken({ id: user.id, passwordHash }, now),
    };
  }

  /**
   * Counts one log-in attempt on the account's budgets before the password is checked, or refuses
   * it (429) when a budget is spent. OWASP's device-cookie protocol: a known device spends its own
   * budget, and is refused when that is spent; any other client spends the budget of its address
   * (when known) and the budget shared by every unknown client of the account.
   * @returns the counters to give back if the attempt turns out not to be a failure.
   */
  async #reserveAttempt(
    account: string,
    device: string | undefined,
    ip: string | undefined,
  ): Promise<string[]> {
    const limits = this.#limits;
    const budgets: [string, Limit][] =
      device !== undefined
        ? [[`login:device:${account}:${device}`, limits.loginFailuresPerDevice]]
        : [
            ...(ip !== undefined
              ? [
                  [`login:client:${account}:${ip}`, limits.loginFailuresPerClient] as [
                    string,
                    Limit,
                  ],
                ]
              : []),
            [`login:account:${account}`, limits.loginFailuresPerAccount],
          ];
    const taken: string[] = [];
    try {
      for (const [key, limit] of budgets) {
        const now = this.#o.now();
        const { ok, resetAt } = await this.#o.counters.reserve(
          key,
          limit.max,
          limit.window * 1000,
          now,
        );
        if (!ok) {
          // Locked whether or not the account exists, so the lock says nothing about existence.
          throw new AuthError(
            'too_many_requests',
            'too many failed log-ins for this account; wait before trying again',
            { retryAfter: Math.max(1, Math.ceil((resetAt - now) / 1000)) },
          );
        }
        taken.push(key);
      }
    } catch (error) {
      await this.#giveBack(taken);
      throw error;
    }
    return taken;
  }

  /** Gives reserved attempts back. A counter that fails to is left higher: stricter, not looser. */
  async #giveBack(keys: readonly string[]): Promise<void> {
    const now = this.#o.now();
    await Promise.all(keys.map((key) => this.#o.counters.release(key, now).catch(() => {})));
  }

  /**
   * Lifts the lock-out of an account for clients without a device token (its shared budget), and
   * with `ip`, the budget of that address too: what an administrator or a completed password reset
   * does for an owner locked out by a guesser. Other addresses' budgets are left to run out, so a
   * guesser stays slowed down.
   */
  async unlock(userId: string, options: { ip?: string } = {}): Promise<void> {
    if (typeof userId !== 'string' || userId === '') throw new TypeError('userId must be a string');
    const account = `u:${userId}`;
    await this.#o.counters.reset(`login:account:${account}`);
    if (options.ip !== undefined)
      await this.#o.counters.reset(`login:client:${account}:${options.ip}`);
  }

  #tokens(user: User, familyId: string, refresh: string, expiresAt: number, now: number): TokenSet {
    const access = this.#o.keyRing.sign({ sub: user.id, sid: familyId, roles: user.roles });
    return {
      access_token: access,
      token_type: 'Bearer',
      expires_in: this.#o.accessTtl,
      refresh_token: refresh,
      refresh_expires_in: Math.max(0, Math.floor((expiresAt - now) / 1000)),
    };
  }

  /**
   * Exchanges a refresh token for a new pair and spends it (rotation). A spent token presented
   * again after the grace window means it was copied: the whole family is revoked.
   */
  async refresh(token: unknown): Promise<TokenSet> {
    const invalid = (why: string) => new AuthError('invalid_grant', why);
    if (typeof token !== 'string' || !REFRESH_TOKEN.test(token)) {
      throw invalid(
        typeof token === 'string' && token.split('.').length === 3
          ? 'that is an access token; send the refresh token'
          : 'the refresh token is not valid',
      );
    }
    const { store } = this.#o;
    const hash = sha256(token);
    // The token and its owner, in one read when the store can (one round trip on PostgreSQL).
    const found = store.findRefreshTokenWithUser
      ? await store.findRefreshTokenWithUser(hash)
      : await store
          .findRefreshToken(hash)
          .then(async (token) =>
            token ? { token, user: await store.findUserById(token.userId) } : null,
          );
    const now = this.#o.now();
    if (!found) throw invalid('the refresh token is not valid');
    const { token: record, user } = found;
    if (record.revokedAt !== null) throw this.#ended(record, user);
    if (record.expiresAt <= now) throw invalid('the session has expired; log in again');
    if (!user || user.disabled) {
      await store.revokeFamily(record.familyId, now, 'disabled');
      await this.#announce([record.familyId], now);
      throw invalid(
        user ? 'the account is disabled' : 'the session is no longer valid; log in again',
      );
    }
    const secret = await this.#secret();
    const next = successorOf(secret, token);
    const successor: NewRefreshToken = {
      tokenHash: sha256(next),
      familyId: record.familyId,
      userId: record.userId,
      createdAt: now,
      expiresAt: record.expiresAt,
    };
    const result = await store.rotateRefreshToken(hash, successor, now);
    switch (result.status) {
      case 'rotated':
        return this.#tokens(user, record.familyId, next, record.expiresAt, now);
      case 'spent':
        return this.#raced(result.token, token, user, secret, now);
      case 'revoked':
        throw this.#ended(result.token, user);
      case 'expired':
        throw invalid('the session has expired; log in again');
      case 'missing':
        throw invalid('the refresh token is not valid');
    }
  }

  /**
   * A token spent already. Within the grace window (racing tabs) the request gets the live token
   * of the family: the spent token's successor, which the rotation stored and this request derives
   * again (the same for every racer, so the family never forks), or, if that one was rotated too
   * within the window, its successor, and so on. After the window it is reuse: the family is
   * revoked.
   */
  async #raced(
    spent: RefreshToken,
    token: string,
    user: User,
    secret: Buffer,
    now: number,
  ): Promise<TokenSet> {
    const grace = this.#o.reuseGrace * 1000;
    let current = spent;
    let presented = token;
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      // Measured now, after the rotation (a racer may have read the clock after this request
      // did); with the grace window off, a spent token is always reuse.
      if (!(grace > 0 && this.#o.now() - (current.usedAt ?? 0) <= grace)) break;
      const next = successorOf(secret, presented);
      // Rotated with another secret (never, unless the store's secret was replaced): the live
      // token cannot be named, but nothing shows a theft either.
      if (current.replacedBy !== sha256(next)) {
        throw new AuthError(
          'invalid_grant',
          'the refresh token was just used by another request; log in again',
        );
      }
      const successor = await this.#o.store.findRefreshToken(sha256(next));
      if (!successor) throw new AuthError('invalid_grant', 'the refresh token is not valid');
      const refused = unrotatable(successor, now);
      if (refused === undefined) {
        return this.#tokens(user, successor.familyId, next, successor.expiresAt, now);
      }
      if (refused.status === 'revoked') throw this.#ended(successor, user);
      if (refused.status === 'expired') {
        throw new AuthError('invalid_grant', 'the session has expired; log in again');
      }
      current = successor;
      presented = next;
    }
    await this.#o.store.revokeFamily(spent.familyId, now, 'reuse');
    await this.#announce([spent.familyId], now);
    throw new AuthError(
      'invalid_grant',
      'the refresh token was already used; the session was revoked for safety; log in again',
    );
  }

  /**
   * Why a revoked token is refused, as much as its holder may know: the holder had the session,
   * so it may learn how the session ended (never anything about other sessions).
   */
  #ended(token: RefreshToken, user: User | null): AuthError {
    switch (token.revokedReason) {
      case 'reuse':
        return new AuthError(
          'invalid_grant',
          'the refresh token was reused; the session was revoked for safety; log in again',
        );
      case 'disabled':
        return new AuthError(
          'invalid_grant',
          user?.disabled
            ? 'the account is disabled'
            : 'the session was ended when the account was disabled; log in again',
        );
      case 'logout_all':
        return new AuthError(
          'invalid_grant',
          'the session was logged out everywhere; log in again',
        );
      default:
        return new AuthError('invalid_grant', 'the session was logged out; log in again');
    }
  }

  /** Revokes the refresh token's family. Idempotent; says nothing about unknown tokens. */
  async logout(token: unknown): Promise<void> {
    if (typeof token !== 'string' || !REFRESH_TOKEN.test(token)) return;
    const record = await this.#o.store.findRefreshToken(sha256(token));
    if (!record) return;
    const now = this.#o.now();
    await this.#o.store.revokeFamily(record.familyId, now, 'logout');
    await this.#announce([record.familyId], now);
  }

  /** Revokes every refresh-token family of the user. */
  async logoutAll(userId: string): Promise<number> {
    const now = this.#o.now();
    const sessions = this.#o.revocations ? await this.#o.store.listLiveFamilies(userId, now) : [];
    const revoked = await this.#o.store.revokeUserTokens(userId, now, 'logout_all');
    await this.#announce(sessions, now);
    return revoked;
  }

  /**
   * Tells the revocation list (if any) that these sessions ended: their access tokens, issued
   * until now, live at most accessTtl more seconds. A failure is reported, not thrown: the
   * refresh tokens are revoked in the database whatever happens here.
   */
  async #announce(sessions: readonly string[], now: number): Promise<void> {
    const list = this.#o.revocations;
    if (!list || sessions.length === 0) return;
    // A verifier with clock tolerance accepts a token a little past its exp; a minute covers that
    // and the clocks of this server and Redis differing.
    const until = now + this.#o.accessTtl * 1000 + 60_000;
    const results = await Promise.allSettled(sessions.map((sid) => list.revoke(sid, until)));
    for (const r of results) if (r.status === 'rejected') this.#o.onRevocationError(r.reason);
  }

  /** The user behind verified claims, fresh from the store. */
  async currentUser(claims: AccessClaims): Promise<User> {
    const user = await this.#o.store.findUserById(claims.sub);
    if (!user) throw new AuthError('invalid_token', 'the user of this token no longer exists');
    if (user.disabled) throw new AuthError('account_disabled', 'this account is disabled');
    return user;
  }
}

export { StoreUnavailableError };
