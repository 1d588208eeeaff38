// Log-in: the password check behind its budgets. Every attempt is counted before the password is
// hashed, against the account's budgets (RateLimits), following OWASP's device-cookie protocol;
// the answer, and the time it takes, are the same whether the user exists or not.
import type { Store, User } from '../store/types.ts';
import { usernameKey } from '../store/username-key.ts';
import { length, requirePassword, requireString } from './accounts.ts';
import { clientKeyOf } from './addresses.ts';
import type { AuditSink } from './audit.ts';
import { readDeviceToken } from './device.ts';
import { AuthServiceError } from './errors.ts';
import { type CounterStore, type Limit, type RateLimits, resolveRateLimits } from './limits.ts';
import {
  type Argon2Params,
  createDummyHash,
  hashPassword,
  PASSWORD_MAX,
  verifyPassword,
} from './password.ts';

export interface LoginGuardOptions {
  store: Store;
  now: () => number;
  passwordParams: Argon2Params;
  rateLimits: RateLimits | undefined;
  counters: CounterStore;
  /** Where failures and lock-outs are recorded. Default: nowhere. */
  audit?: AuditSink;
}

export interface LoginInput {
  username?: unknown;
  email?: unknown;
  password: unknown;
  /** The client's address in any spelling (IPv6 is counted by /64: `clientKeyOf`). */
  ip?: string;
  /** The device token an earlier successful log-in gave this client, if any. */
  deviceToken?: unknown;
}

export class LoginGuard {
  readonly #o: LoginGuardOptions;
  readonly #limits: Readonly<Required<RateLimits>>;
  readonly #dummyHash: Promise<string>;

  constructor(options: LoginGuardOptions) {
    this.#o = options;
    this.#limits = resolveRateLimits(options.rateLimits);
    this.#dummyHash = createDummyHash(options.passwordParams);
    // An unhandled rejection here would crash the process before the first log-in asks for it.
    this.#dummyHash.catch(() => {});
  }

  /** The resolved, frozen budgets. */
  get limits(): Readonly<Required<RateLimits>> {
    return this.#limits;
  }

  /** Counts one request under `key`; 429 `too_many_requests` once `limit` is spent. */
  async count(key: string, limit: Limit): Promise<void> {
    const now = this.#o.now();
    const { count, resetAt } = await this.#o.counters.hit(key, limit.window * 1000, now);
    if (count > limit.max) {
      throw new AuthServiceError(
        'too_many_requests',
        'too many attempts; wait before trying again',
        {
          retryAfter: Math.max(1, Math.ceil((resetAt - now) / 1000)),
        },
      );
    }
  }

  /**
   * Checks username-or-email and password within the account's budgets and returns the user
   * (disabled accounts refused after the password proved right), with the password rehashed
   * under the current parameters when its hash used older ones.
   *
   * A client presenting a valid device token of the account spends that device's budget only;
   * any other client spends its address's budget and the budget shared by all such clients. Of
   * N attempts at once, at most the budget is hashed; the rest are 429. A success gives its
   * attempt back.
   */
  async check(input: LoginInput): Promise<{ user: User; passwordHash: string }> {
    const { username, email } = input;
    if ((username === undefined) === (email === undefined)) {
      throw new AuthServiceError('invalid_request', 'send either username or email, and password', {
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
      throw new AuthServiceError(
        'invalid_request',
        `password must be at most ${PASSWORD_MAX} characters`,
        { field: 'password' },
      );
    }
    // Every spelling of one address (and every address of one IPv6 /64) is one client.
    const ip = input.ip === undefined ? undefined : clientKeyOf(input.ip);
    if (ip !== undefined) await this.count(`login:ip:${ip}`, this.#limits.loginPerIp);

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
    const { taken: reserved, exhausted } = await this.#reserveAttempt(account, device, ip);

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
      // The reserved attempts stay counted: they are this failure. What was typed is not
      // recorded (people type passwords into the username field), only the account, if any.
      const about = { actor: 'anonymous', subject: user?.id ?? null, ip: ip ?? null };
      await this.#o.audit?.record({
        ...about,
        type: 'login.failed',
        details: { reason: 'password' },
      });
      // This failure spent the last attempt of a budget: the account is locked for such clients.
      if (exhausted.length > 0) {
        await this.#o.audit?.record({
          ...about,
          type: 'login.locked',
          details: { budgets: exhausted.join(',') },
        });
      }
      throw new AuthServiceError(
        'invalid_credentials',
        'the username, email or password is not right',
      );
    }
    // The password was right: this attempt is not a failure. Earlier failures still count until
    // their window ends (`unlock` clears the account's).
    await this.#giveBack(reserved);
    if (user.disabled) {
      await this.#o.audit?.record({
        type: 'login.failed',
        actor: 'anonymous',
        subject: user.id,
        ip: ip ?? null,
        details: { reason: 'disabled' },
      });
      throw new AuthServiceError('account_disabled', 'this account is disabled');
    }
    let passwordHash = user.passwordHash;
    if (needsRehash) {
      const rehashed = await hashPassword(password, this.#o.passwordParams);
      // Only over the hash just checked: a password change that committed meanwhile must not be
      // undone by the old password's new hash.
      if (await store.replacePasswordHash(user.id, user.passwordHash, rehashed, this.#o.now())) {
        passwordHash = rehashed;
      }
    }
    return { user, passwordHash };
  }

  /**
   * Checks the password of a signed-in user who confirms a change (new password, deletion) under
   * the same budgets as a log-in of that account from this address: a stolen access token does
   * not buy a faster way to guess the password. Wrong: `wrong_password` (403, not 401: the access
   * token is fine). Returns the hash the password matched, for a compare-and-set.
   */
  async confirm(user: User, password: unknown, ip: string | undefined): Promise<string> {
    const given = requirePassword(password);
    if (length(given) > PASSWORD_MAX) {
      throw new AuthServiceError(
        'invalid_request',
        `password must be at most ${PASSWORD_MAX} characters`,
        { field: 'password' },
      );
    }
    const { taken: reserved } = await this.#reserveAttempt(`u:${user.id}`, undefined, ip);
    let ok: boolean;
    try {
      ({ ok } = await verifyPassword(given, user.passwordHash, this.#o.passwordParams));
    } catch (error) {
      await this.#giveBack(reserved);
      throw error;
    }
    if (!ok) throw new AuthServiceError('wrong_password', 'the current password is not right');
    await this.#giveBack(reserved);
    return user.passwordHash;
  }

  /**
   * Counts one log-in attempt on the account's budgets before the password is checked, or refuses
   * it (429) when a budget is spent. OWASP's device-cookie protocol: a known device spends its own
   * budget, and is refused when that is spent; any other client spends the budget of its address
   * (when known) and the budget shared by every unknown client of the account.
   * @returns the counters to give back if the attempt turns out not to be a failure, and the
   * budgets (`device`, `client`, `account`) this attempt spent the last of.
   */
  async #reserveAttempt(
    account: string,
    device: string | undefined,
    ip: string | undefined,
  ): Promise<{ taken: string[]; exhausted: string[] }> {
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
    const exhausted: string[] = [];
    try {
      for (const [key, limit] of budgets) {
        const now = this.#o.now();
        const { ok, count, resetAt } = await this.#o.counters.reserve(
          key,
          limit.max,
          limit.window * 1000,
          now,
        );
        if (!ok) {
          // Locked whether or not the account exists, so the lock says nothing about existence.
          throw new AuthServiceError(
            'too_many_requests',
            'too many failed log-ins for this account; wait before trying again',
            { retryAfter: Math.max(1, Math.ceil((resetAt - now) / 1000)) },
          );
        }
        taken.push(key);
        if (count >= limit.max) exhausted.push(key.split(':')[1]!);
      }
    } catch (error) {
      await this.#giveBack(taken);
      throw error;
    }
    return { taken, exhausted };
  }

  /**
   * Reserves one second-factor attempt on the account's budget (`secondFactorFailuresPerAccount`)
   * before a code is checked, or refuses it (429). Of N checks at once, at most the budget run.
   * @returns the function that gives the attempt back when it turns out not to be a failure.
   */
  async reserveSecondFactor(userId: string): Promise<() => Promise<void>> {
    const limit = this.#limits.secondFactorFailuresPerAccount;
    const key = `mfa:account:u:${userId}`;
    const now = this.#o.now();
    const { ok, resetAt } = await this.#o.counters.reserve(
      key,
      limit.max,
      limit.window * 1000,
      now,
    );
    if (!ok) {
      throw new AuthServiceError(
        'too_many_requests',
        'too many wrong codes for this account; wait before trying again',
        { retryAfter: Math.max(1, Math.ceil((resetAt - now) / 1000)) },
      );
    }
    return () => this.#giveBack([key]);
  }

  /** Gives reserved attempts back. A counter that fails to is left higher: stricter, not looser. */
  async #giveBack(keys: readonly string[]): Promise<void> {
    const now = this.#o.now();
    await Promise.all(keys.map((key) => this.#o.counters.release(key, now).catch(() => {})));
  }

  /**
   * Lifts the lock-out of an account for clients without a device token (its shared budget), and
   * with `ip`, the budget of that address too. Other addresses' budgets are left to run out, so a
   * guesser stays slowed down.
   */
  async unlock(userId: string, options: { ip?: string } = {}): Promise<void> {
    if (typeof userId !== 'string' || userId === '') throw new TypeError('userId must be a string');
    const account = `u:${userId}`;
    await this.#o.counters.reset(`login:account:${account}`);
    await this.#o.counters.reset(`mfa:account:${account}`);
    // Keyed as `login` keyed it: the address as given, in any spelling.
    if (options.ip !== undefined)
      await this.#o.counters.reset(`login:client:${account}:${clientKeyOf(options.ip)}`);
  }
}
