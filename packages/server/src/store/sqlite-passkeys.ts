// The SQLite store's passkeys (and the challenges of WebAuthn ceremonies): the `Store` methods of
// passkeys.ts over the store's connection (sqlite-connection.ts): each method one synchronous
// call, or one BEGIN IMMEDIATE transaction where it reads before it writes.
import type { PasskeyStore } from './passkeys.ts';
import type { SqliteConnection } from './sqlite-connection.ts';
import { toPasskey, toWebAuthnChallenge } from './sqlite-statements.ts';

export function sqlitePasskeys(c: SqliteConnection): PasskeyStore {
  return {
    async createPasskey(passkey) {
      const result = c.run(
        'storing a passkey',
        () =>
          c.s.passkeys.insert.run(
            passkey.id,
            passkey.userId,
            passkey.publicKey,
            passkey.signCount,
            JSON.stringify(passkey.transports),
            passkey.name,
            passkey.backupEligible ? 1 : 0,
            passkey.backedUp ? 1 : 0,
            passkey.createdAt,
          ),
        (error) =>
          new Error(
            /FOREIGN KEY/i.test(error.message)
              ? 'SQLite store: the passkey names no existing user'
              : 'SQLite store: the passkey violates a constraint',
            { cause: error },
          ),
      );
      return Number(result.changes) === 1;
    },

    async findPasskey(id) {
      const row = c.run('reading a passkey', () => c.s.passkeys.byId.get(id));
      return row ? toPasskey(row) : null;
    },

    async listPasskeys(userId) {
      return c.run('listing passkeys', () => c.s.passkeys.ofUser.all(userId)).map(toPasskey);
    },

    async renamePasskey(userId, id, name, _now) {
      const result = c.run('renaming a passkey', () => c.s.passkeys.rename.run(name, userId, id));
      return Number(result.changes) > 0;
    },

    async deletePasskey(userId, id) {
      const result = c.run('deleting a passkey', () => c.s.passkeys.delete.run(userId, id));
      return Number(result.changes) > 0;
    },

    async usePasskey(id, counter, backedUp, now) {
      const result = c.run('recording a passkey log-in', () =>
        c.s.passkeys.use.run(counter.to, backedUp ? 1 : 0, now, id, counter.from),
      );
      return Number(result.changes) === 1;
    },

    async createWebAuthnChallenge(challenge) {
      const s = c.s.passkeys;
      c.run(
        'storing a webauthn challenge',
        () =>
          c.transaction(() => {
            s.dropExpiredChallenges.run(challenge.createdAt);
            s.insertChallenge.run(
              challenge.challengeHash,
              challenge.ceremony,
              challenge.userId,
              challenge.createdAt,
              challenge.expiresAt,
            );
          }),
        (error) =>
          new Error(
            /FOREIGN KEY/i.test(error.message)
              ? 'SQLite store: the webauthn challenge names no existing user'
              : 'SQLite store: the webauthn challenge violates a constraint',
            { cause: error },
          ),
      );
    },

    async consumeWebAuthnChallenge(challengeHash, ceremony, now) {
      const row = c.run('consuming a webauthn challenge', () =>
        c.s.passkeys.consumeChallenge.get(challengeHash, ceremony, now),
      );
      return row ? toWebAuthnChallenge(row) : null;
    },
  };
}
