// The PostgreSQL store's OAuth clients (and the jtis of their assertions, against replays): the
// `Store` methods of clients.ts over the store's pool (postgres-pool.ts): each method one
// statement, or one transaction where it needs several; races are settled by the database (see
// postgres.ts).
import type { ClientStore } from './clients.ts';
import type { PostgresConnection } from './postgres-pool.ts';
import { ms, msOrNull, SQL, toClient } from './postgres-statements.ts';

export function postgresClients(c: PostgresConnection): ClientStore {
  return {
    async createClient(client) {
      const result = await c.query('storing a client', SQL.insertClient, [
        client.id,
        client.name,
        client.secretHash,
        [...client.scopes],
        [...client.grantTypes],
        client.authMethod,
        client.jwks,
        client.jwksUri,
        ms(client.createdAt, 'createdAt'),
        msOrNull(client.secretRotatedAt, 'secretRotatedAt'),
      ]);
      return result.rowCount === 1;
    },

    async findClient(id) {
      const [row] = (await c.query('reading a client', SQL.clientById, [id])).rows;
      return row ? toClient(row) : null;
    },

    async listClients() {
      return (await c.query('listing clients', SQL.listClients)).rows.map(toClient);
    },

    async deleteClient(id) {
      return ((await c.query('deleting a client', SQL.deleteClient, [id])).rowCount ?? 0) > 0;
    },

    async setClientSecret(id, secretHash, now) {
      const result = await c.query('replacing a client secret', SQL.setClientSecret, [
        secretHash,
        ms(now, 'now'),
        id,
      ]);
      return (result.rowCount ?? 0) > 0;
    },

    async useClientAssertion(clientId, jti, expiresAt, now) {
      c.check();
      const at = ms(now, 'now');
      const until = ms(expiresAt, 'expiresAt');
      // Expired records go first, in the same transaction, so that the insert sees only live ones;
      // of racers inserting one jti, the primary key lets one in and the others (waiting for its
      // commit) insert nothing.
      return c.transaction('recording a client assertion', async (query) => {
        await query(SQL.deleteExpiredAssertions, [at]);
        return (await query(SQL.useAssertion, [clientId, jti, until])).rowCount === 1;
      });
    },
  };
}
