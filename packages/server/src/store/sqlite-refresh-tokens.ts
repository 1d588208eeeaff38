// The SQLite store's refresh tokens (families, that is sessions: stored at log-in, rotated,
// revoked, listed): the `Store` methods of refresh-tokens.ts over the store's connection
// (sqlite-connection.ts): each method one synchronous call, or one BEGIN IMMEDIATE transaction
// where it reads before it writes.
import {
  checkReason,
  type RefreshTokenStore,
  type RotateResult,
  unrotatable,
} from './refresh-tokens.ts';
import { amrText } from './rows.ts';
import type { SqliteConnection } from './sqlite-connection.ts';
import { sqliteTokenConstraint } from './sqlite-errors.ts';
import { toRefreshToken, toSession, toUser } from './sqlite-statements.ts';

export function sqliteRefreshTokens(c: SqliteConnection): Required<RefreshTokenStore> {
  return {
    async createRefreshToken(token) {
      c.run(
        'storing a refresh token',
        () =>
          c.s.insertFirstToken.run(
            token.tokenHash,
            token.familyId,
            token.userId,
            token.createdAt,
            token.expiresAt,
            token.client?.ip ?? null,
            token.client?.device ?? null,
            token.scope ?? null,
            token.authTime ?? null,
            amrText(token.amr),
            token.jkt ?? null,
          ),
        sqliteTokenConstraint,
      );
    },

    async findRefreshToken(tokenHash) {
      const row = c.run('reading a refresh token', () => c.s.tokenByHash.get(tokenHash));
      return row ? toRefreshToken(row) : null;
    },

    async findRefreshTokenWithUser(tokenHash) {
      // In-process and synchronous: two lookups cost no round trip, and nothing of this process
      // runs between them.
      return c.run('reading a refresh token', () => {
        const row = c.s.tokenByHash.get(tokenHash);
        if (!row) return null;
        const token = toRefreshToken(row);
        const owner = c.s.userById.get(token.userId);
        return { token, user: owner ? toUser(owner) : null };
      });
    },

    async rotateRefreshToken(tokenHash, successor, now) {
      const s = c.s;
      return c.run(
        'rotating a refresh token',
        () =>
          c.transaction((): RotateResult => {
            const row = s.tokenByHash.get(tokenHash);
            if (!row) return { status: 'missing' };
            const token = toRefreshToken(row);
            const refused = unrotatable(token, now);
            if (refused) return refused;
            // The write lock is ours since BEGIN IMMEDIATE, so this cannot miss; the conditions
            // stay anyway, so that the update alone decides who spent the token.
            const spent = s.spendToken.run(now, successor.tokenHash, tokenHash);
            if (Number(spent.changes) !== 1) {
              const again = s.tokenByHash.get(tokenHash);
              return again
                ? { status: 'spent', token: toRefreshToken(again) }
                : { status: 'missing' };
            }
            s.insertToken.run(
              successor.tokenHash,
              successor.familyId,
              successor.userId,
              successor.createdAt,
              successor.expiresAt,
              // The family's scope, log-in time, methods and DPoP key, from the spent token: never
              // the caller's.
              token.scope,
              token.authTime,
              amrText(token.amr),
              token.jkt,
            );
            return {
              status: 'rotated',
              token: { ...token, usedAt: now, replacedBy: successor.tokenHash },
            };
          }),
        sqliteTokenConstraint,
      );
    },

    async revokeFamily(familyId, now, reason = 'logout') {
      const why = checkReason(reason);
      const result = c.run('revoking refresh tokens', () =>
        c.s.revokeFamily.run(now, why, familyId),
      );
      return Number(result.changes);
    },

    async listLiveFamilies(userId, now) {
      return c
        .run('listing sessions', () => c.s.liveFamilies.all(userId, now))
        .map((row) => String(row['family_id']));
    },

    async listSessions(userId, now) {
      return c.run('listing sessions', () => c.s.sessions.all(userId, now)).map(toSession);
    },

    async revokeSession(userId, familyId, now, reason = 'logout') {
      const why = checkReason(reason);
      const result = c.run('revoking refresh tokens', () =>
        c.s.revokeSession.run(now, why, familyId, userId, now),
      );
      return Number(result.changes) > 0;
    },

    async revokeUserTokens(userId, now, reason = 'logout_all') {
      const why = checkReason(reason);
      const result = c.run('revoking refresh tokens', () => c.s.revokeUser.run(now, why, userId));
      return Number(result.changes);
    },

    async deleteExpiredRefreshTokens(now) {
      const result = c.run('deleting expired refresh tokens', () =>
        c.s.deleteExpiredTokens.run(now),
      );
      return Number(result.changes);
    },
  };
}
