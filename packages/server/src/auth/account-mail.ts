// The account flows that go through the owner's mailbox: email verification, registration that
// says nothing about which addresses have accounts, password reset, sign-in links and change of
// address. Each sends a single-use link whose token is stored hashed (SHA-256, as refresh tokens
// are) with its purpose and expiry; the store consumes it exactly once (account-links.ts). No
// HTTP here: routes in src/server/account-mail-routes.ts.

import { ConflictError, type Store, type User } from '../store/types.ts';
import { usernameKey } from '../store/username-key.ts';
import { AccountLinks, linkError } from './account-links.ts';
import {
  checkEmail,
  checkPassword,
  insertUserAccount,
  prepareUserAccount,
  requirePassword,
} from './accounts.ts';
import { type AuditSink, NO_AUDIT } from './audit.ts';
import { AuthServiceError } from './errors.ts';
import type { SecurityEvent } from './events.ts';
import { sha256 } from './hash.ts';
import type { Limit } from './limits.ts';
import type { Mailer } from './mail.ts';
import { type Argon2Params, hashPassword, verifyPassword } from './password.ts';
import {
  type BreachedPasswordOptions,
  checkPasswordStrength,
  isBreachedPassword,
} from './password-policy.ts';

export { LINK_TTL } from './account-links.ts';

/**
 * Mail requests per address and per account, and link confirmations per client address. Counted
 * by the address as typed (lower-cased), whether or not an account has it, so a refusal says
 * nothing about existence.
 */
export const MAIL_LIMITS = Object.freeze({
  perAddress: { max: 3, window: 15 * 60 },
  perAccount: { max: 5, window: 60 * 60 },
  perIp: { max: 20, window: 15 * 60 },
  confirmPerIp: { max: 30, window: 15 * 60 },
});

export interface AccountMailOptions {
  store: Store;
  mailer: Mailer;
  now: () => number;
  /** Where links point: the server's public URL (no trailing slash needed). */
  publicUrl: string;
  product: string;
  /** Registration sends a verification link and answers the same whether the email is taken. */
  verifyEmail: boolean;
  /** Sign-in links (passwordless) are offered. */
  signInLinks: boolean;
  passwordParams: Argon2Params;
  defaultRoles: readonly string[];
  breachedPasswords: BreachedPasswordOptions | undefined;
  /** Counts one request under `key` (429 once `limit` is spent): the log-in guard's counter. */
  count(key: string, limit: Limit): Promise<void>;
  registerPerIp: Limit;
  /** Ends every session of the user (publishing revocations). */
  endSessions(userId: string): Promise<unknown>;
  /** Lifts a lock-out (AuthService.unlock). */
  unlock(userId: string): Promise<void>;
  /** Where the flows' security events are recorded (audit.ts). Default: nowhere. */
  audit?: AuditSink;
}

/** The owner's mail for each security event; none for an administrator's reset (told apart). */
const SECURITY_NOTICES: Partial<Record<SecurityEvent['type'], (event: SecurityEvent) => string>> = {
  totp_enrolled: () => 'An authenticator app (TOTP) was set up as a second factor.',
  totp_disabled: () => 'The authenticator app (TOTP) was turned off as a second factor.',
  recovery_codes_regenerated: () => 'New recovery codes were made; the old ones no longer work.',
  recovery_code_used: (event) =>
    `A recovery code was used to sign in${
      event.remaining === undefined ? '' : `; ${event.remaining} unused codes are left`
    }.`,
  second_factor_locked: () =>
    'Too many wrong second-factor codes were entered: the second step is locked for a while.',
  second_factors_reset: () => 'An administrator removed every second factor of the account.',
  passkey_added: () => 'A passkey was added to the account.',
  passkey_removed: () => 'A passkey was removed from the account.',
  passkey_cloned: () =>
    'A passkey of the account was used by a copy of its authenticator, and refused. Remove that passkey.',
};

export class AccountMail {
  readonly #o: AccountMailOptions;
  readonly #links: AccountLinks;
  readonly #audit: AuditSink;

  constructor(options: AccountMailOptions) {
    this.#o = options;
    this.#links = new AccountLinks({
      store: options.store,
      mailer: options.mailer,
      now: options.now,
      publicUrl: options.publicUrl,
      product: options.product,
      count: (key, limit) => options.count(key, limit),
      confirmPerIp: MAIL_LIMITS.confirmPerIp,
    });
    this.#audit = options.audit ?? NO_AUDIT;
  }

  get verifyEmail(): boolean {
    return this.#o.verifyEmail;
  }

  get signInLinks(): boolean {
    return this.#o.signInLinks;
  }

  /**
   * Tells the owner of a change to the account's second factors (issue 20: using a recovery code
   * is a mail). Queued, never awaited into an answer; an unknown user gets nothing.
   */
  async notifySecurityEvent(event: SecurityEvent): Promise<void> {
    const notice = SECURITY_NOTICES[event.type]?.(event);
    if (notice === undefined) return;
    const user = await this.#o.store.findUserById(event.userId);
    if (!user) return;
    this.#o.mailer.enqueue(this.#links.mail('security_notice', user.email, { notice }));
  }

  /** Counts a mail request against the address, the client and (when known) the account. */
  async #countRequest(email: string, ip: string | undefined, user?: User | null): Promise<void> {
    await this.#o.count(`mail:address:${email}`, MAIL_LIMITS.perAddress);
    if (ip !== undefined) await this.#o.count(`mail:ip:${ip}`, MAIL_LIMITS.perIp);
    if (user) await this.#o.count(`mail:account:${user.id}`, MAIL_LIMITS.perAccount);
  }

  /**
   * Registration with verification: the account is created and a verification link sent, or,
   * when the email has an account already, its owner is told so by mail. The caller gets the
   * same answer either way, after the same work (the password is hashed in both), and no mail
   * outcome changes it: mail goes out in the background.
   * @throws AuthServiceError `invalid_request`, `weak_password`, `username_taken` (usernames are
   *   public: a taken one must be refused), `too_many_requests`.
   */
  async register(input: {
    username: unknown;
    email: unknown;
    password: unknown;
    ip?: string;
  }): Promise<void> {
    if (input.ip !== undefined)
      await this.#o.count(`register:ip:${input.ip}`, this.#o.registerPerIp);
    const prepared = await prepareUserAccount({
      username: input.username,
      email: input.email,
      password: input.password,
      roles: [...this.#o.defaultRoles],
      passwordParams: this.#o.passwordParams,
      now: this.#o.now(),
      breachedPasswords: this.#o.breachedPasswords,
    });
    // A username taken is said before the email is looked at, whichever index the store checks
    // first: otherwise "taken username + someone's email" would answer differently by the email.
    if (await this.#o.store.findUserByUsername(prepared.username)) {
      throw new AuthServiceError('username_taken', 'that username is already registered', {
        field: 'username',
      });
    }
    await this.#o.count(`mail:address:${prepared.email}`, MAIL_LIMITS.perAddress);
    let user: User;
    try {
      user = await insertUserAccount(this.#o.store, prepared);
    } catch (error) {
      if (!(error instanceof AuthServiceError && error.code === 'email_taken')) throw error;
      this.#o.mailer.enqueue(this.#links.mail('already_registered', prepared.email, {}));
      return;
    }
    await this.#audit.record({
      type: 'user.registered',
      actor: user.id,
      subject: user.id,
      ip: input.ip ?? null,
    });
    this.#o.mailer.enqueue(await this.#links.issue(user, 'verify_email', user.email, user.email));
  }

  /**
   * Sends a new verification link to `email` if an account has it and it is not verified yet;
   * otherwise nothing. The same answer, always (rate limited per address and per client).
   */
  async resendVerification(input: { email: unknown; ip?: string }): Promise<void> {
    const email = checkEmail(input.email);
    await this.#countRequest(email, input.ip);
    const user = await this.#o.store.findUserByEmail(email);
    if (!user || user.disabled || user.emailVerified) return;
    if (!(await this.#accountBudget(user))) return;
    this.#o.mailer.enqueue(await this.#links.issue(user, 'verify_email', user.email, user.email));
  }

  /** Consumes a verification link: the account's email is verified (if it is still that one). */
  async confirmVerification(input: { token: unknown; ip?: string }): Promise<User> {
    const { user, payload } = await this.#links.consume(input, 'verify_email');
    if (
      payload === null ||
      !(await this.#o.store.markEmailVerified(user.id, payload, this.#o.now()))
    )
      throw linkError('this link was sent to an address the account no longer has');
    await this.#audit.record({
      type: 'email.verified',
      actor: user.id,
      subject: user.id,
      ip: input.ip ?? null,
    });
    return { ...user, emailVerified: true };
  }

  /**
   * Sends a reset link to `email` if an active account has it; for an unknown or disabled one,
   * nothing. The same answer always (docs/accounts.md, "Password reset").
   */
  async requestPasswordReset(input: { email: unknown; ip?: string }): Promise<void> {
    const email = checkEmail(input.email);
    await this.#countRequest(email, input.ip);
    const user = await this.#o.store.findUserByEmail(email);
    if (!user || user.disabled) return;
    if (!(await this.#accountBudget(user))) return;
    this.#o.mailer.enqueue(await this.#links.issue(user, 'reset_password', user.email, user.email));
    // Only for an account that gets the mail: what was typed for an unknown one is not kept.
    await this.#audit.record({
      type: 'password.reset_requested',
      actor: 'anonymous',
      subject: user.id,
      ip: input.ip ?? null,
    });
  }

  /**
   * An administrator's "send a reset" (AdminService.sendPasswordReset): the same link and mail as
   * `requestPasswordReset`, to the account's address, under the account's mail budget. Delivery
   * is awaited, so the administrator is told (`temporarily_unavailable`) when it failed. The
   * caller records its own action; the user's `password.reset_done` follows if they use the link.
   */
  async sendPasswordReset(user: User): Promise<void> {
    await this.#o.count(`mail:account:${user.id}`, MAIL_LIMITS.perAccount);
    await this.#links.deliver(
      await this.#links.issue(user, 'reset_password', user.email, user.email),
      'the reset mail',
    );
  }

  /**
   * Sets a new password with a reset link: the password policy first (a refused password leaves
   * the link usable), then the link is consumed, the hash stored, every session ended and the
   * lock-out lifted. Following the link also proves the mailbox: the email becomes verified.
   */
  async confirmPasswordReset(input: {
    token: unknown;
    password: unknown;
    ip?: string;
  }): Promise<User> {
    const token = this.#links.tokenOf(input.token);
    if (input.ip !== undefined)
      await this.#o.count(`link:ip:${input.ip}`, MAIL_LIMITS.confirmPerIp);
    const password = checkPassword(input.password);
    // A look before the policy (which needs the user's names), without consuming.
    const peek = await this.#o.store.findOneTimeToken(sha256(token));
    const owner =
      peek?.purpose === 'reset_password' ? await this.#o.store.findUserById(peek.userId) : null;
    if (peek && owner) {
      if (peek.usedAt !== null) throw linkError('this link was already used; ask for a new one');
      if (peek.expiresAt <= this.#o.now())
        throw linkError('this link has expired; ask for a new one');
      await checkPasswordStrength(password, {
        username: usernameKey(owner.username),
        email: owner.email,
      });
      if (
        this.#o.breachedPasswords &&
        (await isBreachedPassword(password, this.#o.breachedPasswords))
      ) {
        throw new AuthServiceError(
          'weak_password',
          'password appears in known data breaches; choose another',
          {
            field: 'password',
          },
        );
      }
    }
    const hash = await hashPassword(password, this.#o.passwordParams);
    const { user, payload } = await this.#links.consume({ token }, 'reset_password', true);
    const now = this.#o.now();
    await this.#o.store.updatePasswordHash(user.id, hash, now);
    const ended = await this.#o.endSessions(user.id);
    await this.#o.unlock(user.id);
    if (payload !== null) await this.#o.store.markEmailVerified(user.id, payload, now);
    await this.#audit.record({
      type: 'password.reset_done',
      actor: user.id,
      subject: user.id,
      ip: input.ip ?? null,
      ...(typeof ended === 'number' ? { details: { revoked: ended } } : {}),
    });
    return user;
  }

  /** Sends a sign-in link to `email` if an active account has it; the same answer always. */
  async requestSignIn(input: { email: unknown; ip?: string }): Promise<void> {
    const email = checkEmail(input.email);
    await this.#countRequest(email, input.ip);
    const user = await this.#o.store.findUserByEmail(email);
    if (!user || user.disabled) return;
    if (!(await this.#accountBudget(user))) return;
    this.#o.mailer.enqueue(await this.#links.issue(user, 'sign_in', user.email, user.email));
  }

  /** Consumes a sign-in link; the caller starts a session for the user it returns. */
  async confirmSignIn(input: { token: unknown; ip?: string }): Promise<User> {
    const { user, payload } = await this.#links.consume(input, 'sign_in');
    // The link reached the mailbox: that proves the address, as a verification link does.
    if (
      payload !== null &&
      (await this.#o.store.markEmailVerified(user.id, payload, this.#o.now()))
    )
      return { ...user, emailVerified: true };
    return user;
  }

  /**
   * Asks to move the account to `newEmail`: the current password is required; a link goes to the
   * new address (awaited: the caller is told if it could not be sent) and a notice to the old
   * one. An address another account has gets a notice instead of a link, and the caller the same
   * answer: an account holder cannot probe which addresses are taken.
   */
  async requestEmailChange(input: {
    userId: string;
    email: unknown;
    password: unknown;
    ip?: string;
  }): Promise<void> {
    const email = checkEmail(input.email);
    const password = requirePassword(input.password);
    const user = await this.#o.store.findUserById(input.userId);
    if (!user)
      throw new AuthServiceError('invalid_token', 'the user of this token no longer exists');
    if (user.disabled) throw new AuthServiceError('account_disabled', 'this account is disabled');
    await this.#o.count(`mail:account:${user.id}`, MAIL_LIMITS.perAccount);
    const { ok } = await verifyPassword(password, user.passwordHash, this.#o.passwordParams);
    if (!ok) throw new AuthServiceError('invalid_credentials', 'the password is not right');
    if (email === user.email) {
      throw new AuthServiceError('invalid_request', 'that is already the account’s email', {
        field: 'email',
      });
    }
    await this.#o.count(`mail:address:${email}`, MAIL_LIMITS.perAddress);
    const holder = await this.#o.store.findUserByEmail(email);
    const toNew = holder
      ? this.#links.mail('email_taken_notice', email, {})
      : await this.#links.issue(user, 'change_email', email, email);
    await this.#links.deliver(toNew, 'the confirmation mail');
    this.#o.mailer.enqueue(
      this.#links.mail('email_change_requested', user.email, { address: email }),
    );
    // Recorded alike whether the address was taken (its owner got a notice): the log says what
    // the account holder did, and no address (personal data) goes into it.
    await this.#audit.record({
      type: 'email.change_requested',
      actor: user.id,
      subject: user.id,
      ip: input.ip ?? null,
    });
  }

  /** Consumes a change-of-address link: the email changes now, if no one took it meanwhile. */
  async confirmEmailChange(input: { token: unknown; ip?: string }): Promise<User> {
    const { user, payload } = await this.#links.consume(input, 'change_email');
    if (payload === null) throw linkError('this link is not valid');
    try {
      const changed = await this.#o.store.changeEmail(user.id, user.email, payload, this.#o.now());
      if (!changed) throw linkError('the account’s email changed since this link was sent');
    } catch (error) {
      if (error instanceof ConflictError) {
        throw new AuthServiceError('email_taken', 'that email is already registered', {
          field: 'email',
        });
      }
      throw error;
    }
    await this.#audit.record({
      type: 'email.changed',
      actor: user.id,
      subject: user.id,
      ip: input.ip ?? null,
    });
    return { ...user, email: payload, emailVerified: true };
  }

  /**
   * False (no mail, same answer) once the account's mail budget is spent: the address's budget
   * already answered for this request, so the caller learns nothing about the account.
   */
  async #accountBudget(user: User): Promise<boolean> {
    try {
      await this.#o.count(`mail:account:${user.id}`, MAIL_LIMITS.perAccount);
      return true;
    } catch (error) {
      if (error instanceof AuthServiceError && error.code === 'too_many_requests') return false;
      throw error;
    }
  }
}
