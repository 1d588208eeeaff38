// The SQLite store's one-time tokens (links sent by mail, each consumed once): the `Store` methods
// of one-time-tokens.ts over the store's connection (sqlite-connection.ts): each method one
// synchronous call, or one BEGIN IMMEDIATE transaction where it reads before it writes.
import { type OneTimeTokenStore, unconsumed } from './one-time-tokens.ts';
import type { SqliteConnection } from './sqlite-connection.ts';
import { toOneTimeToken } from './sqlite-statements.ts';

export function sqliteOneTimeTokens(c: SqliteConnection): OneTimeTokenStore {
  return {
    async createOneTimeToken(token, options = {}) {
      const s = c.s;
      c.run(
        'storing a one-time token',
        () =>
          c.transaction(() => {
            if (options.replace) s.dropUnusedOneTime.run(token.userId, token.purpose);
            s.insertOneTime.run(
              token.tokenHash,
              token.purpose,
              token.userId,
              token.payload,
              token.createdAt,
              token.expiresAt,
            );
          }),
        (error) =>
          new Error(
            /FOREIGN KEY/i.test(error.message)
              ? 'SQLite store: the one-time token names no existing user'
              : 'SQLite store: the one-time token violates a constraint',
            { cause: error },
          ),
      );
    },

    async findOneTimeToken(tokenHash) {
      const row = c.run('reading a one-time token', () => c.s.oneTimeByHash.get(tokenHash));
      return row ? toOneTimeToken(row) : null;
    },

    async consumeOneTimeToken(tokenHash, purpose, now) {
      const s = c.s;
      // One conditional UPDATE: SQLite runs it under the write lock, so of any number of callers
      // (in this process or another) exactly one finds used_at still NULL.
      return c.run('consuming a one-time token', () => {
        const row = s.consumeOneTime.get(now, tokenHash, purpose, now);
        if (row) return { status: 'consumed', token: toOneTimeToken(row) };
        const found = s.oneTimeByHash.get(tokenHash);
        return unconsumed(found ? toOneTimeToken(found) : null, purpose, now);
      });
    },

    async deleteExpiredOneTimeTokens(now) {
      const result = c.run('deleting expired one-time tokens', () =>
        c.s.deleteExpiredOneTime.run(now),
      );
      return Number(result.changes);
    },
  };
}
