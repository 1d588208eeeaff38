// The PostgreSQL store's users (accounts, their names and emails, and the names a deletion
// reserves): the `Store` methods of users.ts over the store's pool (postgres-pool.ts): each method
// one statement, or one transaction where it needs several; races are settled by the database (see
// postgres.ts).
import { CONSTRAINTS } from './postgres-migrations.ts';
import type { InTransaction, OnConstraint, PostgresConnection } from './postgres-pool.ts';
import { ms, SQL, toUser } from './postgres-statements.ts';
import { rowNames } from './rows.ts';
import { ConflictError } from './types.ts';
import { prefixNames, type UserNames, userNames, usernameKey } from './username-key.ts';
import { createdUser, type UserStore } from './users.ts';

/** Takes the advisory lock of each name (`SQL.lockName`), in sorted order so lockers never deadlock. */
async function lockNames(
  query: Parameters<InTransaction<void>>[0],
  names: readonly string[],
): Promise<void> {
  for (const name of [...names].sort()) await query(SQL.lockName, [name]);
}

/** The advisory-lock names of a user's names: one per kind and value. */
function lockNamesOf(names: UserNames): string[] {
  return [`key ${names.key}`, `skeleton ${names.skeleton}`, `email ${names.email}`];
}

export function postgresUsers(c: PostgresConnection): UserStore {
  return {
    async createUser(user) {
      c.check();
      const createdAt = ms(user.createdAt, 'createdAt');
      const created = createdUser(user);
      const names = userNames(user);
      const onConstraint: OnConstraint = (error) => {
        if (
          error.constraint === CONSTRAINTS.username ||
          error.constraint === CONSTRAINTS.usernameSkeleton
        )
          return new ConflictError('username');
        if (error.constraint === CONSTRAINTS.email) return new ConflictError('email');
        if (error.constraint === CONSTRAINTS.userId) {
          return new Error('PostgreSQL store: a user with this id already exists', {
            cause: error,
          });
        }
        return new Error('PostgreSQL store: the user violates a constraint', { cause: error });
      };
      await c.transaction('creating a user', async (query) => {
        const { key, skeleton, email } = names;
        await lockNames(query, lockNamesOf(names));
        // A statement after the locks: it sees any reservation committed before they were granted.
        const { rows } = await query(SQL.reservedNames, [createdAt, key, skeleton, email]);
        if (rows[0]) throw new ConflictError(rows[0]['kind'] === 'email' ? 'email' : 'username');
        const { username, passwordHash, roles } = created;
        await query(
          SQL.insertUser,
          [user.id, username, key, skeleton, email, passwordHash, roles, createdAt],
          onConstraint,
        );
      });
      return created;
    },

    async findUserById(id) {
      const { rows } = await c.query('reading a user', SQL.userById, [id]);
      return rows[0] ? toUser(rows[0]) : null;
    },

    async findUserByUsername(username) {
      const { rows } = await c.query('reading a user', SQL.userByUsername, [usernameKey(username)]);
      return rows[0] ? toUser(rows[0]) : null;
    },

    async findUserByEmail(email) {
      const { rows } = await c.query('reading a user', SQL.userByEmail, [email.toLowerCase()]);
      return rows[0] ? toUser(rows[0]) : null;
    },

    async listUsers(options) {
      const floor = Math.floor(options.limit);
      if (!(floor > 0)) return [];
      const limit = Number.isSafeInteger(floor) ? floor : null;
      if (options.prefix !== undefined) {
        const forms = prefixNames(options.prefix);
        const { rows } = await c.query('listing users', SQL.listUsersMatching, [
          forms.key,
          forms.email,
          options.after ?? null,
          limit,
        ]);
        return rows.map(toUser);
      }
      const { rows } =
        options.after === undefined
          ? await c.query('listing users', SQL.listUsers, [limit])
          : await c.query('listing users', SQL.listUsersAfter, [options.after, limit]);
      return rows.map(toUser);
    },

    async setUserRoles(id, roles, now) {
      const result = await c.query('updating a user', SQL.setRoles, [
        [...roles],
        ms(now, 'now'),
        id,
      ]);
      return (result.rowCount ?? 0) > 0;
    },

    async updatePasswordHash(id, passwordHash, now) {
      await c.query('updating a password hash', SQL.setPasswordHash, [
        passwordHash,
        ms(now, 'now'),
        id,
      ]);
    },

    async replacePasswordHash(id, from, to, now) {
      const result = await c.query('updating a password hash', SQL.replacePasswordHash, [
        to,
        ms(now, 'now'),
        id,
        from,
      ]);
      return (result.rowCount ?? 0) > 0;
    },

    async setUserDisabled(id, disabled, now) {
      const result = await c.query('updating a user', SQL.setDisabled, [
        disabled,
        ms(now, 'now'),
        id,
      ]);
      return (result.rowCount ?? 0) > 0;
    },

    async setUserAppMetadata(id, metadata, now) {
      const result = await c.query('updating a user', SQL.setAppMetadata, [
        JSON.stringify(metadata),
        ms(now, 'now'),
        id,
      ]);
      return (result.rowCount ?? 0) > 0;
    },

    async markEmailVerified(id, email, now) {
      const result = await c.query('verifying an email', SQL.markEmailVerified, [
        ms(now, 'now'),
        id,
        email.toLowerCase(),
      ]);
      return (result.rowCount ?? 0) > 0;
    },

    async changeEmail(id, from, to, now) {
      const result = await c.query(
        'changing an email',
        SQL.changeEmail,
        [to.toLowerCase(), ms(now, 'now'), id, from.toLowerCase()],
        (error) =>
          error.constraint === CONSTRAINTS.email
            ? new ConflictError('email')
            : new Error('PostgreSQL store: the email change violates a constraint', {
                cause: error,
              }),
      );
      return (result.rowCount ?? 0) > 0;
    },

    async deleteUser(id, options = {}) {
      if (options.reserveUntil === undefined) {
        // ON DELETE CASCADE removes the user's refresh tokens in the same statement.
        const result = await c.query('deleting a user', SQL.deleteUser, [id]);
        return (result.rowCount ?? 0) > 0;
      }
      c.check();
      const until = ms(options.reserveUntil, 'reserveUntil');
      return c.transaction('deleting a user', async (query) => {
        const found = (await query(SQL.userById, [id])).rows[0];
        if (!found) return false;
        const locked = lockNamesOf(rowNames(found));
        await lockNames(query, locked);
        const deleted = (await query(SQL.deleteUserReturning, [id])).rows[0];
        if (!deleted) return false;
        const names = rowNames(deleted);
        // The email changed between the read and the delete: its name is locked too (later, so out
        // of order: a deadlock here is detected by PostgreSQL and fails this call, never hangs).
        await lockNames(
          query,
          lockNamesOf(names).filter((name) => !locked.includes(name)),
        );
        await query(SQL.reserveNames, [
          ['key', 'skeleton', 'email'],
          [names.key, names.skeleton, names.email],
          [until, until, until],
        ]);
        return true;
      });
    },

    async deleteExpiredReservations(now) {
      const result = await c.query('deleting expired reservations', SQL.deleteExpiredReservations, [
        ms(now, 'now'),
      ]);
      return result.rowCount ?? 0;
    },
  };
}
