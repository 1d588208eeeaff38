// What a signed-in user does to their own account: change the password and delete the account,
// each confirmed with the current password (under the log-in budgets, LoginGuard.confirm). No
// HTTP, no SQL: POST /auth/password and DELETE /auth/account come here through AuthService.
import type { Store, User } from '../store/types.ts';
import { usernameKey } from '../store/username-key.ts';
import { checkPassword } from './accounts.ts';
import { type AuditSink, NO_AUDIT } from './audit.ts';
import { AuthServiceError } from './errors.ts';
import type { LoginGuard } from './login.ts';
import { type Argon2Params, hashPassword } from './password.ts';
import {
  type BreachedPasswordOptions,
  checkPasswordStrength,
  isBreachedPassword,
} from './password-policy.ts';
import type { Sessions } from './sessions.ts';

/** How long the names of a deleted account stay reserved by default, seconds (30 days). */
export const DEFAULT_NAME_RESERVATION = 30 * 24 * 3600;

export interface AccountChangesOptions {
  store: Store;
  logins: LoginGuard;
  sessions: Sessions;
  passwordParams: Argon2Params;
  breachedPasswords: BreachedPasswordOptions | undefined;
  /** Seconds the username and email of a deleted account stay reserved. */
  nameReservation: number;
  now: () => number;
  /** Where the changes are recorded (audit.ts). Default: nowhere. */
  audit?: AuditSink;
}

export interface ChangePasswordInput {
  currentPassword: unknown;
  newPassword: unknown;
  /** The session making the change: it stays; every other session of the user ends. */
  sid: string | undefined;
  ip?: string | undefined;
}

const passwordChangedMeanwhile = () =>
  new AuthServiceError(
    'wrong_password',
    'the password was changed by another request meanwhile; the current password is not right',
  );

export class AccountChanges {
  readonly #o: AccountChangesOptions;

  constructor(options: AccountChangesOptions) {
    this.#o = options;
  }

  /**
   * Sets a new password after checking the current one. The new one passes the same policy as a
   * registration's. The hash is replaced only over the one the current password matched
   * (compare-and-set), so of two changes at once exactly one wins; the other is told the current
   * password is not right (it no longer is). Then every other session ends (announced to the
   * revocation list); the session that made the change stays. Device tokens are keyed to the hash
   * (device.ts): every one issued before is untrusted at once.
   * @returns how many other sessions ended.
   */
  async changePassword(user: User, input: ChangePasswordInput): Promise<number> {
    const { store, sessions } = this.#o;
    const next = checkPassword(input.newPassword);
    const current = await this.#o.logins.confirm(user, input.currentPassword, input.ip);
    if (next === input.currentPassword) {
      throw new AuthServiceError(
        'invalid_request',
        'the new password must differ from the current one',
        { field: 'new_password' },
      );
    }
    await checkPasswordStrength(next, { username: usernameKey(user.username), email: user.email });
    const breached = this.#o.breachedPasswords;
    if (breached && (await isBreachedPassword(next, breached))) {
      throw new AuthServiceError(
        'weak_password',
        'password appears in known data breaches; choose another',
        { field: 'new_password' },
      );
    }
    const hash = await hashPassword(next, this.#o.passwordParams);
    if (!(await store.replacePasswordHash(user.id, current, hash, this.#o.now()))) {
      throw passwordChangedMeanwhile();
    }
    const ended = await sessions.endOthers(user.id, input.sid, 'password_changed');
    await (this.#o.audit ?? NO_AUDIT).record({
      type: 'password.changed',
      actor: user.id,
      subject: user.id,
      ip: input.ip ?? null,
      details: { revoked: ended },
    });
    return ended;
  }

  /**
   * Deletes the account after checking its password: the user and every session go in one step
   * (the sessions are announced to the revocation list), and the username (its RFC 8265 key and
   * confusable skeleton) and email stay reserved for `nameReservation` seconds, so registration
   * refuses them as taken and a link in old mail cannot reach a newcomer with the same name.
   */
  async deleteAccount(user: User, password: unknown, ip?: string): Promise<void> {
    const { store, sessions } = this.#o;
    await this.#o.logins.confirm(user, password, ip);
    const live = await store.listLiveFamilies(user.id, this.#o.now());
    const hold = this.#o.nameReservation;
    const reserve = hold > 0 ? { reserveUntil: this.#o.now() + hold * 1000 } : {};
    if (!(await store.deleteUser(user.id, reserve))) {
      // Deleted by a racing request: this token's user is gone, as the next request would say.
      throw new AuthServiceError('invalid_token', 'the user of this token no longer exists');
    }
    await sessions.announceEnded(live);
    // The subject is an id no account has any more: the events before it stay (audit_events
    // keeps no foreign key), and nothing names the deleted user beyond it.
    await (this.#o.audit ?? NO_AUDIT).record({
      type: 'account.deleted',
      actor: user.id,
      subject: user.id,
      ip: ip ?? null,
      details: { revoked: live.length },
    });
  }
}
