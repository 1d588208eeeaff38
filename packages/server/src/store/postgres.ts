/**
 * The PostgreSQL store: the same contract as the embedded SQLite store, over a pool of `pg`
 * connections, so that several servers can share one database.
 *
 * Races are settled by the database, never by this process:
 * - a unique index decides who gets a username or an email (of two racers, the second waits for
 *   the first's commit and then gets a unique violation: `ConflictError`);
 * - a refresh token is spent by a conditional `UPDATE … WHERE used_at IS NULL AND revoked_at IS
 *   NULL AND expires_at > now`: the second of two racers waits on the row lock, sees the row
 *   already spent and updates nothing, so exactly one wins; the successor is inserted by the same
 *   statement, only when the update took;
 * - revocations must also reach successors that are being stored at that very moment. So every
 *   change that adds a token to an existing family (a rotation) holds a `FOR SHARE`
 *   lock on its user's row until it commits, and every revocation first takes a `FOR NO KEY
 *   UPDATE` lock on that row: it waits for the additions in flight, and its `UPDATE`, a later
 *   statement with a later snapshot, sees their tokens. Log-ins (`createRefreshToken`) take no such
 *   lock: a new family after a "log out everywhere" is a later log-in, not a leak.
 * - migrations run in one transaction under a transaction-level advisory lock, so processes
 *   migrating at once apply each step exactly once.
 *
 * Times are BIGINT milliseconds, read back as numbers (never as the strings `pg` makes of int8).
 * Failures to reach or use the database become `StoreUnavailableError` (the server answers 503),
 * with messages built from SQLSTATE and errno codes only: never a connection string or password.
 */
import pg from 'pg';
import { AssembledStore } from './assembled-store.ts';
import { postgresAudit } from './postgres-audit.ts';
import { postgresClients } from './postgres-clients.ts';
import { MIGRATIONS } from './postgres-migrations.ts';
import { postgresOneTimeTokens } from './postgres-one-time-tokens.ts';
import { postgresPasskeys } from './postgres-passkeys.ts';
import {
  type InTransaction,
  PostgresConnection,
  type PostgresStoreOptions,
} from './postgres-pool.ts';
import { postgresRefreshTokens } from './postgres-refresh-tokens.ts';
import { postgresSecondFactors } from './postgres-second-factors.ts';
import { postgresSigningKeys } from './postgres-signing-keys.ts';
import { num } from './postgres-statements.ts';
import { postgresUsers } from './postgres-users.ts';
import { type Store, StoreUnavailableError } from './types.ts';

export type { PostgresPoolOptions, PostgresStoreOptions } from './postgres-pool.ts';

export function openPostgresStore(options: PostgresStoreOptions): Store {
  return new PostgresStore(options);
}

/** The PostgreSQL store: the parts of every concern (postgres-users.ts, …) over one pool. */
export class PostgresStore extends AssembledStore {
  readonly #c: PostgresConnection;

  constructor(options: PostgresStoreOptions) {
    const c = new PostgresConnection(options);
    super({
      users: postgresUsers(c),
      refreshTokens: postgresRefreshTokens(c),
      oneTimeTokens: postgresOneTimeTokens(c),
      clients: postgresClients(c),
      passkeys: postgresPasskeys(c),
      signingKeys: postgresSigningKeys(c),
      secondFactors: postgresSecondFactors(c),
      audit: postgresAudit(c),
    });
    this.#c = c;
  }

  async migrate(): Promise<void> {
    if (this.#c.closed) throw new StoreUnavailableError('PostgreSQL store: the store is closed');
    const known = MIGRATIONS.length;
    const schema = this.#c.pool.schema;
    // All pending steps in one transaction (PostgreSQL's DDL is transactional): a database is at
    // one version or the next, never between. The advisory lock makes a second process wait for
    // the first's commit; it then reads the version again and finds nothing left to do.
    const steps: InTransaction<void> = async (query) => {
      await query('SET LOCAL statement_timeout = 0');
      await query(
        `SELECT pg_advisory_xact_lock(
           hashtextextended('laissez migrate ' || COALESCE($1::text, current_schema(), ''), 0))`,
        [schema],
      );
      if (schema !== null) {
        // CREATE SCHEMA IF NOT EXISTS would still need the right to create schemas.
        const found = await query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
        if (found.rowCount === 0) await query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
      }
      await query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version    INTEGER PRIMARY KEY,
           applied_at BIGINT  NOT NULL
         )`,
      );
      const { rows } = await query(
        'SELECT COALESCE(MAX(version), 0)::bigint AS v FROM schema_migrations',
      );
      const version = num(rows[0]?.['v']);
      if (version > known) {
        throw new Error(
          `PostgreSQL store: the database is at schema version ${version}, newer than this ` +
            `version of laissez knows (${known}); upgrade laissez or use another database`,
        );
      }
      for (let v = version; v < known; v++) {
        const step = MIGRATIONS[v]!;
        await query(step.sql);
        await step.backfill?.(query);
        await query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [
          v + 1,
          Date.now(),
        ]);
      }
    };
    // No client-side query timeout: a migration may wait for another process's, then take long.
    await this.#c.transaction('migrating', steps, true);
    this.#c.migrated();
  }

  async close(): Promise<void> {
    await this.#c.close();
  }
}
