// The PostgreSQL store's signing keys (added, retired, withdrawn, re-encrypted, deleted): the
// `Store` methods of signing-keys.ts over the store's pool (postgres-pool.ts): each method one
// statement, or one transaction where it needs several; races are settled by the database (see
// postgres.ts).
import { CONSTRAINTS } from './postgres-migrations.ts';
import type { PostgresConnection } from './postgres-pool.ts';
import { ms, msOrNull, SQL, toSigningKey } from './postgres-statements.ts';
import type { SigningKeyStore } from './signing-keys.ts';

export function postgresSigningKeys(c: PostgresConnection): SigningKeyStore {
  return {
    async listSigningKeys() {
      const { rows } = await c.query('listing signing keys', SQL.listKeys);
      return rows.map(toSigningKey);
    },

    async addSigningKey(key) {
      await c.query(
        'storing a signing key',
        SQL.insertKey,
        [
          key.kid,
          key.alg,
          key.privateJwk,
          key.publicJwk,
          ms(key.createdAt, 'createdAt'),
          ms(key.activatesAt, 'activatesAt'),
          msOrNull(key.retiresAt, 'retiresAt'),
        ],
        (error) =>
          error.constraint === CONSTRAINTS.kid
            ? new Error('PostgreSQL store: a signing key with this kid already exists', {
                cause: error,
              })
            : new Error('PostgreSQL store: the signing key violates a constraint', {
                cause: error,
              }),
      );
    },

    async retireKeysBefore(key, retiresAt) {
      await c.query('retiring signing keys', SQL.retireBefore, [
        ms(retiresAt, 'retiresAt'),
        ms(key.activatesAt, 'activatesAt'),
        key.kid,
      ]);
    },

    async withdrawKeysBefore(key, retiresAt) {
      await c.query('withdrawing signing keys', SQL.withdrawBefore, [
        ms(retiresAt, 'retiresAt'),
        ms(key.activatesAt, 'activatesAt'),
        key.kid,
      ]);
    },

    async replaceSigningKeyMaterial(changes) {
      if (changes.length === 0) return 0;
      c.check();
      return c.transaction('replacing signing key material', async (query) => {
        let changed = 0;
        for (const { kid, from, to } of changes) {
          changed += (await query(SQL.replaceKeyMaterial, [to, kid, from])).rowCount ?? 0;
        }
        return changed;
      });
    },

    async deleteRetiredKeys(now) {
      const result = await c.query('deleting retired signing keys', SQL.deleteRetiredKeys, [
        ms(now, 'now'),
      ]);
      return result.rowCount ?? 0;
    },
  };
}
