// The SQLite store's OAuth clients (and the jtis of their assertions, against replays): the
// `Store` methods of clients.ts over the store's connection (sqlite-connection.ts): each method
// one synchronous call, or one BEGIN IMMEDIATE transaction where it reads before it writes.
import type { ClientStore } from './clients.ts';
import type { SqliteConnection } from './sqlite-connection.ts';
import { toClient } from './sqlite-statements.ts';

export function sqliteClients(c: SqliteConnection): ClientStore {
  return {
    async createClient(client) {
      const result = c.run('storing a client', () =>
        c.s.insertClient.run(
          client.id,
          client.name,
          client.secretHash,
          JSON.stringify([...client.scopes]),
          JSON.stringify([...client.grantTypes]),
          client.authMethod,
          client.jwks,
          client.jwksUri,
          client.createdAt,
          client.secretRotatedAt,
        ),
      );
      return Number(result.changes) === 1;
    },

    async findClient(id) {
      const row = c.run('reading a client', () => c.s.clientById.get(id));
      return row ? toClient(row) : null;
    },

    async listClients() {
      return c.run('listing clients', () => c.s.listClients.all()).map(toClient);
    },

    async deleteClient(id) {
      const result = c.run('deleting a client', () => c.s.deleteClient.run(id));
      return Number(result.changes) > 0;
    },

    async setClientSecret(id, secretHash, now) {
      const result = c.run('replacing a client secret', () =>
        c.s.setClientSecret.run(secretHash, now, id),
      );
      return Number(result.changes) > 0;
    },

    async useClientAssertion(clientId, jti, expiresAt, now) {
      return c.run('recording a client assertion', () =>
        c.transaction(() => {
          c.s.deleteExpiredAssertions.run(now);
          return Number(c.s.useAssertion.run(clientId, jti, expiresAt).changes) === 1;
        }),
      );
    },
  };
}
