// The SQLite store's signing keys (added, retired, withdrawn, re-encrypted, deleted): the `Store`
// methods of signing-keys.ts over the store's connection (sqlite-connection.ts): each method one
// synchronous call, or one BEGIN IMMEDIATE transaction where it reads before it writes.
import type { SigningKeyStore } from './signing-keys.ts';
import type { SqliteConnection } from './sqlite-connection.ts';
import { toSigningKey } from './sqlite-statements.ts';

export function sqliteSigningKeys(c: SqliteConnection): SigningKeyStore {
  return {
    async listSigningKeys() {
      return c.run('listing signing keys', () => c.s.listKeys.all()).map(toSigningKey);
    },

    async addSigningKey(key) {
      c.run(
        'storing a signing key',
        () =>
          c.s.insertKey.run(
            key.kid,
            key.alg,
            key.privateJwk,
            key.publicJwk,
            key.createdAt,
            key.activatesAt,
            key.retiresAt,
          ),
        (error) =>
          /\bsigning_keys\.kid\b/.test(error.message)
            ? new Error('SQLite store: a signing key with this kid already exists', {
                cause: error,
              })
            : new Error('SQLite store: the signing key violates a constraint', { cause: error }),
      );
    },

    async retireKeysBefore(key, retiresAt) {
      c.run('retiring signing keys', () =>
        c.s.retireBefore.run(retiresAt, key.activatesAt, key.activatesAt, key.kid),
      );
    },

    async withdrawKeysBefore(key, retiresAt) {
      c.run('withdrawing signing keys', () =>
        c.s.withdrawBefore.run(
          retiresAt,
          retiresAt,
          key.activatesAt,
          key.activatesAt,
          key.kid,
          retiresAt,
        ),
      );
    },

    async replaceSigningKeyMaterial(changes) {
      return c.run('replacing signing key material', () =>
        c.transaction(() => {
          let changed = 0;
          for (const { kid, from, to } of changes) {
            changed += Number(c.s.replaceKeyMaterial.run(to, kid, from).changes);
          }
          return changed;
        }),
      );
    },

    async deleteRetiredKeys(now) {
      const result = c.run('deleting retired signing keys', () => c.s.deleteRetiredKeys.run(now));
      return Number(result.changes);
    },
  };
}
