// The SQLite store's users (accounts, their names and emails, and the names a deletion reserves):
// the `Store` methods of users.ts over the store's connection (sqlite-connection.ts): each method
// one synchronous call, or one BEGIN IMMEDIATE transaction where it reads before it writes.
import { rowNames } from './rows.ts';
import type { SqliteConnection } from './sqlite-connection.ts';
import { toUser } from './sqlite-statements.ts';
import { ConflictError } from './types.ts';
import { prefixNames, userNames, usernameKey } from './username-key.ts';
import { createdUser, type UserStore } from './users.ts';

export function sqliteUsers(c: SqliteConnection): UserStore {
  return {
    async createUser(user) {
      const created = createdUser(user);
      const { key, skeleton, email } = userNames(user);
      c.run(
        'creating a user',
        () =>
          // One transaction with the write lock: a deletion reserving these names cannot slip in
          // between the check and the insert.
          c.transaction(() => {
            const reserved = c.s.reservedNames.get(user.createdAt, key, skeleton, email);
            if (reserved)
              throw new ConflictError(reserved['kind'] === 'email' ? 'email' : 'username');
            c.s.insertUser.run(
              user.id,
              user.username,
              key,
              skeleton,
              email,
              user.passwordHash,
              JSON.stringify(created.roles),
              user.createdAt,
              user.createdAt,
            );
          }),
        (error) => {
          if (/\busers\.username_(key|skeleton)\b/.test(error.message))
            return new ConflictError('username');
          if (/\busers\.email\b/.test(error.message)) return new ConflictError('email');
          if (/\busers\.id\b/.test(error.message)) {
            return new Error('SQLite store: a user with this id already exists', { cause: error });
          }
          return new Error('SQLite store: the user violates a constraint', { cause: error });
        },
      );
      return created;
    },

    async findUserById(id) {
      const row = c.run('reading a user', () => c.s.userById.get(id));
      return row ? toUser(row) : null;
    },

    async findUserByUsername(username) {
      const row = c.run('reading a user', () => c.s.userByUsername.get(usernameKey(username)));
      return row ? toUser(row) : null;
    },

    async findUserByEmail(email) {
      const row = c.run('reading a user', () => c.s.userByEmail.get(email.toLowerCase()));
      return row ? toUser(row) : null;
    },

    async listUsers(options) {
      const limit = Math.floor(options.limit);
      // SQLite reads a negative LIMIT as "no limit"; NaN must not become that either.
      if (!(limit > 0)) return [];
      const { after, prefix } = options;
      const rows = c.run('listing users', () => {
        if (prefix !== undefined) {
          const forms = prefixNames(prefix);
          const named = { key: forms.key, email: forms.email, limit };
          return after === undefined
            ? c.s.listUsersMatching.all(named)
            : c.s.listUsersMatchingAfter.all({ ...named, after });
        }
        return after === undefined
          ? c.s.listUsers.all(limit)
          : c.s.listUsersAfter.all(after, limit);
      });
      return rows.map(toUser);
    },

    async setUserRoles(id, roles, now) {
      const result = c.run('updating a user', () =>
        c.s.setRoles.run(JSON.stringify([...roles]), now, id),
      );
      return Number(result.changes) > 0;
    },

    async updatePasswordHash(id, passwordHash, now) {
      c.run('updating a password hash', () => c.s.setPasswordHash.run(passwordHash, now, id));
    },

    async replacePasswordHash(id, from, to, now) {
      const result = c.run('updating a password hash', () =>
        c.s.replacePasswordHash.run(to, now, id, from),
      );
      return Number(result.changes) > 0;
    },

    async setUserDisabled(id, disabled, now) {
      const result = c.run('updating a user', () => c.s.setDisabled.run(disabled ? 1 : 0, now, id));
      return Number(result.changes) > 0;
    },

    async setUserAppMetadata(id, metadata, now) {
      const text = JSON.stringify(metadata);
      const result = c.run('updating a user', () => c.s.setAppMetadata.run(text, now, id));
      return Number(result.changes) > 0;
    },

    async markEmailVerified(id, email, now) {
      const result = c.run('verifying an email', () =>
        c.s.markEmailVerified.run(now, id, email.toLowerCase()),
      );
      return Number(result.changes) > 0;
    },

    async changeEmail(id, from, to, now) {
      const result = c.run(
        'changing an email',
        () => c.s.changeEmail.run(to.toLowerCase(), now, id, from.toLowerCase()),
        (error) =>
          /\busers\.email\b/.test(error.message)
            ? new ConflictError('email')
            : new Error('SQLite store: the email change violates a constraint', { cause: error }),
      );
      return Number(result.changes) > 0;
    },

    async deleteUser(id, options = {}) {
      const { reserveUntil } = options;
      if (reserveUntil === undefined) {
        // ON DELETE CASCADE (foreign_keys = ON) removes the user's refresh tokens in the same statement.
        const result = c.run('deleting a user', () => c.s.deleteUser.run(id));
        return Number(result.changes) > 0;
      }
      return c.run('deleting a user', () =>
        c.transaction(() => {
          const row = c.s.userById.get(id);
          if (!row) return false;
          c.s.deleteUser.run(id);
          const names = rowNames(row);
          c.s.reserveName.run('key', names.key, reserveUntil);
          c.s.reserveName.run('skeleton', names.skeleton, reserveUntil);
          c.s.reserveName.run('email', names.email, reserveUntil);
          return true;
        }),
      );
    },

    async deleteExpiredReservations(now) {
      const result = c.run('deleting expired reservations', () =>
        c.s.deleteExpiredReservations.run(now),
      );
      return Number(result.changes);
    },
  };
}
