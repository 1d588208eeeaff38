// The PostgreSQL store's second factors (TOTP factors, recovery codes, log-in challenges awaiting
// a factor): the `Store` methods of second-factors.ts over the store's pool (postgres-pool.ts):
// each method one statement, or one transaction where it needs several; races are settled by the
// database (see postgres.ts).
import type { PostgresConnection } from './postgres-pool.ts';
import { ms, num, SQL, toMfaChallenge, toTotpFactor } from './postgres-statements.ts';
import type { SecondFactorStore } from './second-factors.ts';

export function postgresSecondFactors(c: PostgresConnection): SecondFactorStore {
  return {
    async findTotpFactor(userId) {
      const { rows } = await c.query('reading a TOTP factor', SQL.totpByUser, [userId]);
      return rows[0] ? toTotpFactor(rows[0]) : null;
    },

    async saveTotpFactor(factor) {
      const result = await c.query('storing a TOTP factor', SQL.saveTotp, [
        factor.userId,
        factor.secret,
        ms(factor.createdAt, 'createdAt'),
      ]);
      return result.rowCount === 1;
    },

    async confirmTotpFactor(userId, secret, step, now) {
      const result = await c.query('confirming a TOTP factor', SQL.confirmTotp, [
        ms(now, 'now'),
        ms(step, 'step'),
        userId,
        secret,
      ]);
      return result.rowCount === 1;
    },

    async useTotpStep(userId, step) {
      const result = await c.query('using a TOTP code', SQL.useTotpStep, [
        ms(step, 'step'),
        userId,
      ]);
      return result.rowCount === 1;
    },

    async deleteTotpFactor(userId) {
      const result = await c.query('deleting a TOTP factor', SQL.deleteTotp, [userId]);
      return (result.rowCount ?? 0) > 0;
    },

    async replaceRecoveryCodes(userId, codeHashes, now) {
      c.check();
      const at = ms(now, 'now');
      await c.transaction('storing recovery codes', async (query) => {
        await query(SQL.deleteRecoveryCodes, [userId]);
        if (codeHashes.length > 0)
          await query(SQL.insertRecoveryCodes, [userId, [...codeHashes], at]);
      });
    },

    async useRecoveryCode(userId, codeHash, now) {
      const result = await c.query('using a recovery code', SQL.useRecoveryCode, [
        ms(now, 'now'),
        userId,
        codeHash,
      ]);
      return result.rowCount === 1;
    },

    async countRecoveryCodes(userId) {
      const { rows } = await c.query('counting recovery codes', SQL.countRecoveryCodes, [userId]);
      return num(rows[0]?.['n'] ?? 0);
    },

    async createMfaChallenge(challenge) {
      await c.query('storing a log-in challenge', SQL.insertChallenge, [
        challenge.tokenHash,
        challenge.userId,
        JSON.stringify([...challenge.amr]),
        ms(challenge.authTime, 'authTime'),
        ms(challenge.expiresAt, 'expiresAt'),
      ]);
    },

    async findMfaChallenge(tokenHash) {
      const { rows } = await c.query('reading a log-in challenge', SQL.challengeByHash, [
        tokenHash,
      ]);
      return rows[0] ? toMfaChallenge(rows[0]) : null;
    },

    async consumeMfaChallenge(tokenHash, now) {
      const result = await c.query('spending a log-in challenge', SQL.consumeChallenge, [
        ms(now, 'now'),
        tokenHash,
      ]);
      return result.rowCount === 1;
    },

    async deleteExpiredMfaChallenges(now) {
      const result = await c.query(
        'deleting expired log-in challenges',
        SQL.deleteExpiredChallenges,
        [ms(now, 'now')],
      );
      return result.rowCount ?? 0;
    },
  };
}
