// The SQLite store's second factors (TOTP factors, recovery codes, log-in challenges awaiting a
// factor): the `Store` methods of second-factors.ts over the store's connection
// (sqlite-connection.ts): each method one synchronous call, or one BEGIN IMMEDIATE transaction
// where it reads before it writes.
import type { SecondFactorStore } from './second-factors.ts';
import type { SqliteConnection } from './sqlite-connection.ts';
import { toMfaChallenge, toTotpFactor } from './sqlite-statements.ts';

export function sqliteSecondFactors(c: SqliteConnection): SecondFactorStore {
  return {
    async findTotpFactor(userId) {
      const row = c.run('reading a TOTP factor', () => c.s.totpByUser.get(userId));
      return row ? toTotpFactor(row) : null;
    },

    async saveTotpFactor(factor) {
      // One statement: the upsert's WHERE leaves a confirmed factor as it is (no change).
      const result = c.run('storing a TOTP factor', () =>
        c.s.saveTotp.run(factor.userId, factor.secret, factor.createdAt),
      );
      return Number(result.changes) === 1;
    },

    async confirmTotpFactor(userId, secret, step, now) {
      const result = c.run('confirming a TOTP factor', () =>
        c.s.confirmTotp.run(now, step, userId, secret),
      );
      return Number(result.changes) === 1;
    },

    async useTotpStep(userId, step) {
      // The condition and the write are one statement: of racers with one code, one changes the row.
      const result = c.run('using a TOTP code', () => c.s.useTotpStep.run(step, userId, step));
      return Number(result.changes) === 1;
    },

    async deleteTotpFactor(userId) {
      const result = c.run('deleting a TOTP factor', () => c.s.deleteTotp.run(userId));
      return Number(result.changes) > 0;
    },

    async replaceRecoveryCodes(userId, codeHashes, now) {
      c.run('storing recovery codes', () =>
        c.transaction(() => {
          c.s.deleteRecoveryCodes.run(userId);
          for (const hash of codeHashes) c.s.insertRecoveryCode.run(userId, hash, now);
        }),
      );
    },

    async useRecoveryCode(userId, codeHash, now) {
      const result = c.run('using a recovery code', () =>
        c.s.useRecoveryCode.run(now, userId, codeHash),
      );
      return Number(result.changes) === 1;
    },

    async countRecoveryCodes(userId) {
      const row = c.run('counting recovery codes', () => c.s.countRecoveryCodes.get(userId));
      return Number(row?.['n'] ?? 0);
    },

    async createMfaChallenge(challenge) {
      c.run('storing a log-in challenge', () =>
        c.s.insertChallenge.run(
          challenge.tokenHash,
          challenge.userId,
          JSON.stringify([...challenge.amr]),
          challenge.authTime,
          challenge.expiresAt,
        ),
      );
    },

    async findMfaChallenge(tokenHash) {
      const row = c.run('reading a log-in challenge', () => c.s.challengeByHash.get(tokenHash));
      return row ? toMfaChallenge(row) : null;
    },

    async consumeMfaChallenge(tokenHash, now) {
      const result = c.run('spending a log-in challenge', () =>
        c.s.consumeChallenge.run(now, tokenHash, now),
      );
      return Number(result.changes) === 1;
    },

    async deleteExpiredMfaChallenges(now) {
      const result = c.run('deleting expired log-in challenges', () =>
        c.s.deleteExpiredChallenges.run(now),
      );
      return Number(result.changes);
    },
  };
}
