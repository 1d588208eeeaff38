// The PostgreSQL store's refresh tokens (families, that is sessions: stored at log-in, rotated,
// revoked, listed): the `Store` methods of refresh-tokens.ts over the store's pool
// (postgres-pool.ts): each method one statement, or one transaction where it needs several; races
// are settled by the database (see postgres.ts).
import { postgresTokenConstraint } from './postgres-errors.ts';
import type { PostgresConnection, Row } from './postgres-pool.ts';
import { ms, msOrNull, SQL, toRefreshToken, toSession, toUser } from './postgres-statements.ts';
import { checkReason, type RefreshTokenStore, unrotatable } from './refresh-tokens.ts';
import { amrText } from './rows.ts';

/**
 * A revocation: `lock` first takes the row locks of the owners, which waits for the rotations in
 * flight (they hold a share lock on their user's row until they commit); `revoke`, a later
 * statement, then sees their successors. How many tokens it revoked; 0 when `lock` found no owner.
 */
function lockedRevocation(
  c: PostgresConnection,
  lock: [text: string, values: unknown[]],
  revoke: [text: string, values: unknown[]],
): Promise<number> {
  return c.transaction('revoking refresh tokens', async (query) => {
    if ((await query(...lock)).rowCount === 0) return 0;
    return (await query(...revoke)).rowCount ?? 0;
  });
}

export function postgresRefreshTokens(c: PostgresConnection): Required<RefreshTokenStore> {
  return {
    async createRefreshToken(token) {
      await c.query(
        'storing a refresh token',
        SQL.insertToken,
        [
          token.tokenHash,
          token.familyId,
          token.userId,
          ms(token.createdAt, 'createdAt'),
          ms(token.expiresAt, 'expiresAt'),
          token.client?.ip ?? null,
          token.client?.device ?? null,
          token.scope ?? null,
          msOrNull(token.authTime ?? null, 'authTime'),
          amrText(token.amr),
          token.jkt ?? null,
        ],
        postgresTokenConstraint,
      );
    },

    async findRefreshToken(tokenHash) {
      const { rows } = await c.query('reading a refresh token', SQL.tokenByHash, [tokenHash]);
      return rows[0] ? toRefreshToken(rows[0]) : null;
    },

    async findRefreshTokenWithUser(tokenHash) {
      const { rows } = await c.query('reading a refresh token', SQL.tokenWithUser, [tokenHash]);
      const row = rows[0];
      if (!row) return null;
      // JSON keeps BIGINT as numbers, BOOLEAN as booleans and JSONB roles as arrays: the same
      // readers apply.
      const owner = row['owner'] as Row | null;
      return { token: toRefreshToken(row['token'] as Row), user: owner ? toUser(owner) : null };
    },

    async rotateRefreshToken(tokenHash, successor, now) {
      c.check();
      const values = [
        tokenHash,
        ms(now, 'now'),
        successor.tokenHash,
        successor.familyId,
        successor.userId,
        ms(successor.createdAt, 'createdAt'),
        ms(successor.expiresAt, 'expiresAt'),
      ];
      const doing = 'rotating a refresh token';
      const [result] = (await c.query(doing, SQL.rotate, values, postgresTokenConstraint)).rows;
      // No owner, no token (deleting a user deletes their tokens).
      if (!result || result['owners'] === 0) return { status: 'missing' };
      if (result['token_hash'] !== null)
        return { status: 'rotated', token: toRefreshToken(result) };
      // Nothing was spent: say why. A new statement, so it sees the winner's commit (the update
      // waited for it), and with it `usedAt` and `replacedBy`.
      const [row] = (await c.query(doing, SQL.tokenByHash, [tokenHash])).rows;
      if (!row) return { status: 'missing' };
      const refused = unrotatable(toRefreshToken(row), now);
      if (refused) return refused;
      throw new Error('PostgreSQL store: a live refresh token could not be spent');
    },

    async revokeFamily(familyId, now, reason = 'logout') {
      c.check();
      const at = ms(now, 'now');
      const why = checkReason(reason);
      // Waits for the rotations in flight in this family.
      return lockedRevocation(
        c,
        [SQL.lockFamilyOwners, [familyId]],
        [SQL.revokeFamily, [at, familyId, why]],
      );
    },

    async listLiveFamilies(userId, now) {
      const { rows } = await c.query('listing sessions', SQL.liveFamilies, [
        userId,
        ms(now, 'now'),
      ]);
      return rows.map((row) => String(row['family_id']));
    },

    async listSessions(userId, now) {
      const { rows } = await c.query('listing sessions', SQL.sessions, [userId, ms(now, 'now')]);
      return rows.map(toSession);
    },

    async revokeSession(userId, familyId, now, reason = 'logout') {
      c.check();
      const at = ms(now, 'now');
      const why = checkReason(reason);
      // As revokeUserTokens: waits for the user's rotations in flight.
      const revoked = await lockedRevocation(
        c,
        [SQL.lockUser, [userId]],
        [SQL.revokeSession, [at, familyId, userId, why]],
      );
      return revoked > 0;
    },

    async revokeUserTokens(userId, now, reason = 'logout_all') {
      c.check();
      const at = ms(now, 'now');
      const why = checkReason(reason);
      return lockedRevocation(c, [SQL.lockUser, [userId]], [SQL.revokeUser, [at, userId, why]]);
    },

    async deleteExpiredRefreshTokens(now) {
      const result = await c.query('deleting expired refresh tokens', SQL.deleteExpiredTokens, [
        ms(now, 'now'),
      ]);
      return result.rowCount ?? 0;
    },
  };
}
