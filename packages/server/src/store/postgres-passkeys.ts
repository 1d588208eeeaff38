// The PostgreSQL store's passkeys (and the challenges of WebAuthn ceremonies): the `Store` methods
// of passkeys.ts over the store's pool (postgres-pool.ts): each method one statement, or one
// transaction where it needs several; races are settled by the database (see postgres.ts).
import { PASSKEY_SQL } from './passkey-statements.ts';
import type { PasskeyStore } from './passkeys.ts';
import { CONSTRAINTS } from './postgres-migrations.ts';
import type { OnConstraint, PostgresConnection } from './postgres-pool.ts';
import { ms, toPasskey, toWebAuthnChallenge } from './postgres-statements.ts';

export function postgresPasskeys(c: PostgresConnection): PasskeyStore {
  return {
    async createPasskey(passkey) {
      const onConstraint: OnConstraint = (error) =>
        new Error(
          error.constraint === CONSTRAINTS.passkeyUser
            ? 'PostgreSQL store: the passkey names no existing user'
            : 'PostgreSQL store: the passkey violates a constraint',
          { cause: error },
        );
      const result = await c.query(
        'storing a passkey',
        PASSKEY_SQL.insert,
        [
          passkey.id,
          passkey.userId,
          passkey.publicKey,
          ms(passkey.signCount, 'signCount'),
          [...passkey.transports],
          passkey.name,
          passkey.backupEligible,
          passkey.backedUp,
          ms(passkey.createdAt, 'createdAt'),
        ],
        onConstraint,
      );
      return result.rowCount === 1;
    },

    async findPasskey(id) {
      const { rows } = await c.query('reading a passkey', PASSKEY_SQL.byId, [id]);
      return rows[0] ? toPasskey(rows[0]) : null;
    },

    async listPasskeys(userId) {
      const { rows } = await c.query('listing passkeys', PASSKEY_SQL.ofUser, [userId]);
      return rows.map(toPasskey);
    },

    async renamePasskey(userId, id, name, _now) {
      const result = await c.query('renaming a passkey', PASSKEY_SQL.rename, [name, userId, id]);
      return (result.rowCount ?? 0) > 0;
    },

    async deletePasskey(userId, id) {
      const result = await c.query('deleting a passkey', PASSKEY_SQL.delete, [userId, id]);
      return (result.rowCount ?? 0) > 0;
    },

    async usePasskey(id, counter, backedUp, now) {
      const result = await c.query('recording a passkey log-in', PASSKEY_SQL.use, [
        ms(counter.to, 'counter.to'),
        backedUp,
        ms(now, 'now'),
        id,
        ms(counter.from, 'counter.from'),
      ]);
      return result.rowCount === 1;
    },

    async createWebAuthnChallenge(challenge) {
      c.check();
      const onConstraint: OnConstraint = (error) =>
        new Error(
          error.constraint === CONSTRAINTS.webauthnChallengeUser
            ? 'PostgreSQL store: the webauthn challenge names no existing user'
            : 'PostgreSQL store: the webauthn challenge violates a constraint',
          { cause: error },
        );
      const values = [
        challenge.challengeHash,
        challenge.ceremony,
        challenge.userId,
        ms(challenge.createdAt, 'createdAt'),
        ms(challenge.expiresAt, 'expiresAt'),
      ];
      await c.transaction('storing a webauthn challenge', async (query) => {
        await query(PASSKEY_SQL.dropExpiredChallenges, [values[3]]);
        await query(PASSKEY_SQL.insertChallenge, values, onConstraint);
      });
    },

    async consumeWebAuthnChallenge(challengeHash, ceremony, now) {
      const { rows } = await c.query(
        'consuming a webauthn challenge',
        PASSKEY_SQL.consumeChallenge,
        [challengeHash, ceremony, ms(now, 'now')],
      );
      return rows[0] ? toWebAuthnChallenge(rows[0]) : null;
    },
  };
}
