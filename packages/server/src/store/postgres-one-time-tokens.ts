// The PostgreSQL store's one-time tokens (links sent by mail, each consumed once): the `Store`
// methods of one-time-tokens.ts over the store's pool (postgres-pool.ts): each method one
// statement, or one transaction where it needs several; races are settled by the database (see
// postgres.ts).
import { type OneTimeTokenStore, unconsumed } from './one-time-tokens.ts';
import { CONSTRAINTS } from './postgres-migrations.ts';
import type { OnConstraint, PostgresConnection } from './postgres-pool.ts';
import { ms, SQL, toOneTimeToken } from './postgres-statements.ts';

export function postgresOneTimeTokens(c: PostgresConnection): OneTimeTokenStore {
  return {
    async createOneTimeToken(token, options = {}) {
      c.check();
      const values = [
        token.tokenHash,
        token.purpose,
        token.userId,
        token.payload,
        ms(token.createdAt, 'createdAt'),
        ms(token.expiresAt, 'expiresAt'),
      ];
      const onConstraint: OnConstraint = (error) =>
        new Error(
          error.constraint === CONSTRAINTS.oneTimeTokenUser
            ? 'PostgreSQL store: the one-time token names no existing user'
            : 'PostgreSQL store: the one-time token violates a constraint',
          { cause: error },
        );
      await c.transaction('storing a one-time token', async (query) => {
        if (options.replace) await query(SQL.dropUnusedOneTime, [token.userId, token.purpose]);
        await query(SQL.insertOneTime, values, onConstraint);
      });
    },

    async findOneTimeToken(tokenHash) {
      const { rows } = await c.query('reading a one-time token', SQL.oneTimeByHash, [tokenHash]);
      return rows[0] ? toOneTimeToken(rows[0]) : null;
    },

    async consumeOneTimeToken(tokenHash, purpose, now) {
      const doing = 'consuming a one-time token';
      const at = ms(now, 'now');
      const [row] = (await c.query(doing, SQL.consumeOneTime, [at, tokenHash, purpose])).rows;
      if (row) return { status: 'consumed', token: toOneTimeToken(row) };
      // A new statement: it sees the winner's commit (the UPDATE waited for its row lock).
      const [found] = (await c.query(doing, SQL.oneTimeByHash, [tokenHash])).rows;
      return unconsumed(found ? toOneTimeToken(found) : null, purpose, now);
    },

    async deleteExpiredOneTimeTokens(now) {
      const result = await c.query('deleting expired one-time tokens', SQL.deleteExpiredOneTime, [
        ms(now, 'now'),
      ]);
      return result.rowCount ?? 0;
    },
  };
}
