// Administration: what an administrator does to other users' accounts (list and search, roles,
// disable and enable, end sessions, unlock, send a password reset), the same for the admin API
// (`/admin/…`, src/server/admin-routes.ts) and the CLI (`laissez users …`). No HTTP, no SQL:
// every action goes through the Store and the AuthService, and is recorded in the audit log with
// the administrator as its actor (a user id, or `cli`).
import type { AuditEvent, AuditQuery, Store, User } from '../store/types.ts';
import { ROLE } from './accounts.ts';
import type { AuditSink } from './audit.ts';
import { AuthServiceError } from './errors.ts';
import type { AuthService } from './service.ts';

/** Who acts, and from where: an admin's user id and address, or `cli`. */
export interface Actor {
  id: string;
  ip?: string | null;
}

/**
 * Sends a user a password-reset mail: the seam the mail flow fills (src/auth mail/reset, wired in
 * src/server/wiring.ts). Without one, `sendPasswordReset` answers `not_found`.
 */
export type PasswordResetSender = (user: User, actor: Actor) => Promise<void>;

/** Most roles one user may hold, and most users or events one page holds. */
export const ROLES_MAX = 16;
export const PAGE_MAX = 100;

export interface AdminServiceOptions {
  store: Store;
  auth: AuthService;
  audit: AuditSink;
  now: () => number;
  sendPasswordReset?: PasswordResetSender | undefined;
}

const notFound = () => new AuthServiceError('not_found', 'no such user');

/** A page limit from 1 to PAGE_MAX (default 50). */
function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_MAX) {
    throw new AuthServiceError(
      'invalid_request',
      `limit must be a whole number from 1 to ${PAGE_MAX}`,
      {
        field: 'limit',
      },
    );
  }
  return limit;
}

/** The roles of a `set roles`: each a role name, no duplicates kept, at most ROLES_MAX. */
export function checkRoles(roles: unknown): string[] {
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) {
    throw new AuthServiceError('invalid_request', 'roles must be an array of strings', {
      field: 'roles',
    });
  }
  const unique = [...new Set(roles as string[])];
  if (unique.length > ROLES_MAX) {
    throw new AuthServiceError('invalid_request', `a user has at most ${ROLES_MAX} roles`, {
      field: 'roles',
    });
  }
  for (const role of unique) {
    if (!ROLE.test(role)) {
      throw new AuthServiceError(
        'invalid_request',
        'a role is 1 to 32 lower-case letters, digits, "_", ":" or "-", starting with a letter',
        { field: 'roles' },
      );
    }
  }
  return unique;
}

export class AdminService {
  readonly #o: AdminServiceOptions;

  constructor(options: AdminServiceOptions) {
    this.#o = options;
  }

  /** Whether a password reset can be sent (the mail flow is wired). */
  get canSendPasswordReset(): boolean {
    return this.#o.sendPasswordReset !== undefined;
  }

  /**
   * Users in the order they registered, a page at a time (`after`: the last id of the previous
   * page), those whose username or email starts with `q` when given.
   */
  async listUsers(query: { q?: string; limit?: number; after?: string }): Promise<User[]> {
    const limit = pageLimit(query.limit);
    if (query.q !== undefined && (query.q.length === 0 || query.q.length > 254)) {
      throw new AuthServiceError('invalid_request', 'q must be 1 to 254 characters', {
        field: 'q',
      });
    }
    return this.#o.store.listUsers({
      limit,
      ...(query.after !== undefined ? { after: query.after } : {}),
      ...(query.q !== undefined ? { prefix: query.q } : {}),
    });
  }

  /** The user, or `not_found`. */
  async user(id: string): Promise<User> {
    const user = await this.#o.store.findUserById(id);
    if (!user) throw notFound();
    return user;
  }

  /**
   * Replaces the user's roles. An administrator cannot take the `admin` role from themself (a
   * slip that would lock them out of this API; another administrator, or the CLI, can). The
   * roles reach access tokens at the next log-in or refresh.
   */
  async setRoles(actor: Actor, id: string, roles: unknown): Promise<User> {
    const wanted = checkRoles(roles);
    const user = await this.user(id);
    if (actor.id === id && user.roles.includes('admin') && !wanted.includes('admin')) {
      throw new AuthServiceError(
        'invalid_request',
        'you cannot remove your own admin role; another administrator (or `laissez users set-roles`) can',
        { field: 'roles' },
      );
    }
    if (!(await this.#o.store.setUserRoles(id, wanted, this.#o.now()))) throw notFound();
    await this.#record(actor, 'admin.roles_set', id, {
      from: user.roles.join(','),
      to: wanted.join(','),
    });
    return { ...user, roles: wanted };
  }

  /**
   * Disables the user (log-in, refresh and /auth/me refuse them) and ends every session they
   * have, announcing it to the revocation list; or enables them again. An administrator cannot
   * disable themself.
   */
  async setDisabled(actor: Actor, id: string, disabled: boolean): Promise<{ revoked: number }> {
    if (disabled && actor.id === id) {
      throw new AuthServiceError('invalid_request', 'you cannot disable your own account');
    }
    if (!(await this.#o.store.setUserDisabled(id, disabled, this.#o.now()))) throw notFound();
    const revoked = disabled ? await this.#o.auth.endSessions(id, 'disabled') : 0;
    await this.#record(
      actor,
      disabled ? 'admin.user_disabled' : 'admin.user_enabled',
      id,
      disabled ? { revoked } : undefined,
    );
    return { revoked };
  }

  /** Ends every session of the user (refresh families revoked and announced). */
  async endSessions(actor: Actor, id: string): Promise<{ revoked: number }> {
    await this.user(id);
    const revoked = await this.#o.auth.endSessions(id, 'logout_all');
    await this.#record(actor, 'admin.sessions_ended', id, { revoked });
    return { revoked };
  }

  /** Lifts the lock-out of the user's account (the budget shared by unknown clients). */
  async unlock(actor: Actor, id: string): Promise<void> {
    await this.user(id);
    await this.#o.auth.unlock(id);
    await this.#record(actor, 'admin.user_unlocked', id);
  }

  /** Sends the user a password-reset mail, through the mail flow's sender. */
  async sendPasswordReset(actor: Actor, id: string): Promise<void> {
    const send = this.#o.sendPasswordReset;
    if (!send) {
      throw new AuthServiceError(
        'not_found',
        'password reset by mail is not set up on this server',
      );
    }
    const user = await this.user(id);
    if (user.disabled) {
      throw new AuthServiceError('account_disabled', 'the account is disabled; enable it first');
    }
    await send(user, actor);
    await this.#record(actor, 'admin.password_reset_sent', id);
  }

  /**
   * Replaces the user's app metadata (AuthService.setAppMetadata: a JSON object within
   * APP_METADATA_MAX_BYTES, else `invalid_request`). Recorded with its size, never its content:
   * the metadata is the app's, and may say more than the log should keep.
   */
  async setAppMetadata(actor: Actor, id: string, metadata: unknown): Promise<void> {
    if (!(await this.#o.auth.setAppMetadata(id, metadata))) throw notFound();
    await this.#record(actor, 'admin.app_metadata_set', id, {
      bytes: Buffer.byteLength(JSON.stringify(metadata)),
    });
  }

  /**
   * Removes every second factor of the user (TOTP, recovery codes), for an owner who lost their
   * device; their sessions stay. Recorded only when there was one. Returns whether there was.
   */
  async resetSecondFactors(actor: Actor, id: string): Promise<boolean> {
    await this.user(id);
    const had = await this.#o.auth.resetSecondFactors(id);
    if (had) await this.#record(actor, 'admin.second_factors_reset', id);
    return had;
  }

  /** The audit log, newest first. */
  async audit(query: Omit<AuditQuery, 'limit'> & { limit?: number }): Promise<AuditEvent[]> {
    return this.#o.store.listAuditEvents({ ...query, limit: pageLimit(query.limit) });
  }

  #record(
    actor: Actor,
    type: Parameters<AuditSink['record']>[0]['type'],
    subject: string,
    details?: Record<string, string | number>,
  ): Promise<void> {
    return this.#o.audit.record({
      type,
      actor: actor.id,
      subject,
      ip: actor.ip ?? null,
      ...(details ? { details } : {}),
    });
  }
}
